// Reference evaluation of gather and scatter_add along one axis (take_along_axis shaped):
// gather wraps a negative index once and clamps what is still out of range; scatter_add
// wraps once and drops what is still out of range.
#include <algorithm>
#include <cstring>
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/types.h"

namespace kiln::evaluator {

namespace {

int64_t read_index(const Buffer& idx, int64_t i) {
  return idx.dtype() == DType::I32 ? idx.as<int32_t>()[i] : idx.as<int64_t>()[i];
}

// Checks the shared shape rules: indices are i32/i64 of the data's rank, and no larger
// than the data in any dimension but the axis.
void check_indices(const ir::Node& node, const Buffer& data, const Buffer& idx, int64_t axis) {
  check(idx.dtype() == DType::I32 || idx.dtype() == DType::I64, node,
        "indices are " + idx.type().str() + "; use i32 or i64");
  check(idx.type().rank() == data.type().rank(), node,
        "indices " + idx.type().str() + " must have the rank of the data " + data.type().str());
  check_axis(node, axis, data.type().rank(), "axis");
  for (int d = 0; d < data.type().rank(); ++d)
    check(d == axis || idx.shape()[d] <= data.shape()[d], node,
          "indices " + idx.type().str() + " are larger than the data " + data.type().str() +
              " in dimension " + std::to_string(d));
}

// The flat offset in the data of index coordinate `coord` with the axis replaced by `at`.
int64_t data_offset(std::span<const int64_t> coord, const std::vector<int64_t>& strides,
                    int64_t axis, int64_t at) {
  int64_t o = 0;
  for (size_t d = 0; d < coord.size(); ++d)
    o += (static_cast<int64_t>(d) == axis ? at : coord[d]) * strides[d];
  return o;
}

}  // namespace

BufferPtr eval_gather(const ir::Node& node, const Buffer& data, const Buffer& idx) {
  const int64_t axis = node.attr_i64("axis");
  check_indices(node, data, idx, axis);
  check(node.type.dtype == data.dtype() && node.type.shape == idx.shape(), node,
        "the result should be " + std::string(dtype_name(data.dtype())) + shape_str(idx.shape()));
  const int64_t n = data.shape()[axis];
  const auto strides = contiguous_strides(data.shape());
  const size_t size = dtype_size(data.dtype());
  auto out = new_output(node);
  if (n == 0) return out;  // nothing to read: the result stays zero
  for_each_coord(idx.shape(), [&](int64_t i, std::span<const int64_t> coord) {
    int64_t at = read_index(idx, i);
    if (at < 0) at += n;
    at = std::clamp<int64_t>(at, 0, n - 1);
    std::memcpy(out->data() + i * size, data.data() + data_offset(coord, strides, axis, at) * size,
                size);
  });
  return out;
}

BufferPtr eval_scatter_add(const ir::Node& node, const Buffer& base, const Buffer& idx,
                           const Buffer& upd) {
  const int64_t axis = node.attr_i64("axis");
  check_indices(node, base, idx, axis);
  check(upd.dtype() == base.dtype() && upd.shape() == idx.shape(), node,
        "updates " + upd.type().str() + " should be " + std::string(dtype_name(base.dtype())) +
            shape_str(idx.shape()));
  check(node.type == base.type(), node, "the result should have the base's type");
  const int64_t n = base.shape()[axis];
  const auto strides = contiguous_strides(base.shape());
  auto out = new_output(node);
  visit_dtype(base.dtype(), [&]<class E>(E) {
    // Accumulate wide, so that several updates of one element round once.
    using W = Wide<typename E::Value>;
    std::vector<W> acc(base.type().numel());
    for (size_t i = 0; i < acc.size(); ++i) acc[i] = widen(load<E>(base, i));
    for_each_coord(idx.shape(), [&](int64_t i, std::span<const int64_t> coord) {
      int64_t at = read_index(idx, i);
      if (at < 0) at += n;
      if (at < 0 || at >= n) return;  // dropped
      acc[data_offset(coord, strides, axis, at)] += widen(load<E>(upd, i));
    });
    auto* dst = out->as<typename E::Storage>();
    for (size_t i = 0; i < acc.size(); ++i) dst[i] = convert<E>(acc[i]);
  });
  return out;
}

}  // namespace kiln::evaluator
