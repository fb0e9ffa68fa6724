// Reference evaluation of the movement ops (reshape, permute, broadcast, slice, pad, flip,
// concat). Each maps an output coordinate to the input element it reads; elements are
// copied as bytes, so movement never depends on the dtype (except pad's fill value).
#include <cstring>
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/types.h"

namespace kiln::evaluator {

namespace {

// out[o] = x[source(coord of o)] for every output element; source returns -1 to leave
// the output element as it is.
template <class F>
void copy_elements(const Buffer& x, Buffer& out, F source) {
  const size_t size = dtype_size(x.dtype());
  for_each_coord(out.shape(), [&](int64_t o, std::span<const int64_t> coord) {
    const int64_t i = source(coord);
    if (i >= 0) std::memcpy(out.data() + o * size, x.data() + i * size, size);
  });
}

void check_same_dtype_and_rank(const ir::Node& node, const Buffer& x) {
  check(x.dtype() == node.type.dtype, node, "operand dtype " + x.type().str() + " differs");
  check(x.type().rank() == node.type.rank(), node,
        "operand rank " + std::to_string(x.type().rank()) + " differs");
}

void check_per_dim(const ir::Node& node, const std::vector<int64_t>& values, int rank,
                   const char* attr) {
  check(static_cast<int>(values.size()) == rank, node,
        std::string(attr) + " " + list_str(values) + " needs one value per dimension (" +
            std::to_string(rank) + ")");
}

}  // namespace

BufferPtr eval_reshape(const ir::Node& node, const Buffer& x) {
  check(x.dtype() == node.type.dtype && x.type().numel() == node.type.numel(), node,
        "cannot reshape " + x.type().str() + ": the element counts differ");
  auto out = new_output(node);
  if (out->nbytes() > 0) std::memcpy(out->data(), x.data(), out->nbytes());
  return out;
}

BufferPtr eval_permute(const ir::Node& node, const Buffer& x) {
  check_same_dtype_and_rank(node, x);
  const auto& perm = node.attr_i64s("perm");
  const int rank = x.type().rank();
  check_per_dim(node, perm, rank, "perm");
  std::vector<bool> seen(rank, false);
  for (int d = 0; d < rank; ++d) {
    check_axis(node, perm[d], rank, "perm entry");
    check(!seen[perm[d]], node, "perm " + list_str(perm) + " repeats an axis");
    seen[perm[d]] = true;
    check(node.type.shape[d] == x.shape()[perm[d]], node,
          "permuting " + shape_str(x.shape()) + " by " + list_str(perm) + " changes a size");
  }
  const auto strides = contiguous_strides(x.shape());
  auto out = new_output(node);
  copy_elements(x, *out, [&](std::span<const int64_t> c) {
    int64_t i = 0;
    for (int d = 0; d < rank; ++d) i += c[d] * strides[perm[d]];
    return i;
  });
  return out;
}

BufferPtr eval_broadcast(const ir::Node& node, const Buffer& x) {
  check_same_dtype_and_rank(node, x);
  const int rank = x.type().rank();
  for (int d = 0; d < rank; ++d)
    check(x.shape()[d] == node.type.shape[d] || x.shape()[d] == 1, node,
          "cannot broadcast " + shape_str(x.shape()) +
              ": each dimension must equal the "
              "result's or be 1");
  const auto strides = contiguous_strides(x.shape());
  auto out = new_output(node);
  copy_elements(x, *out, [&](std::span<const int64_t> c) {
    int64_t i = 0;
    for (int d = 0; d < rank; ++d) i += (x.shape()[d] == 1 ? 0 : c[d]) * strides[d];
    return i;
  });
  return out;
}

BufferPtr eval_slice(const ir::Node& node, const Buffer& x) {
  check_same_dtype_and_rank(node, x);
  const auto& start = node.attr_i64s("start");
  const auto& step = node.attr_i64s("step");
  const int rank = x.type().rank();
  check_per_dim(node, start, rank, "start");
  check_per_dim(node, step, rank, "step");
  for (int d = 0; d < rank; ++d) {
    const int64_t n = node.type.shape[d], size = x.shape()[d];
    check(step[d] != 0, node, "step 0 in dimension " + std::to_string(d));
    if (n == 0) continue;
    int64_t last = 0;
    bool overflow = __builtin_mul_overflow(n - 1, step[d], &last) ||
                    __builtin_add_overflow(start[d], last, &last);
    check(!overflow && start[d] >= 0 && start[d] < size && last >= 0 && last < size, node,
          "dimension " + std::to_string(d) + " reads outside [0, " + std::to_string(size) +
              ") (start " + std::to_string(start[d]) + ", step " + std::to_string(step[d]) + ", " +
              std::to_string(n) + " elements)");
  }
  const auto strides = contiguous_strides(x.shape());
  auto out = new_output(node);
  copy_elements(x, *out, [&](std::span<const int64_t> c) {
    int64_t i = 0;
    for (int d = 0; d < rank; ++d) i += (start[d] + c[d] * step[d]) * strides[d];
    return i;
  });
  return out;
}

BufferPtr eval_pad(const ir::Node& node, const Buffer& x) {
  check_same_dtype_and_rank(node, x);
  const auto& low = node.attr_i64s("low");
  const auto& high = node.attr_i64s("high");
  const double value = node.attr_f64("value");
  const int rank = x.type().rank();
  check_per_dim(node, low, rank, "low");
  check_per_dim(node, high, rank, "high");
  for (int d = 0; d < rank; ++d) {
    check(low[d] >= 0 && high[d] >= 0, node, "pads must not be negative");
    check(node.type.shape[d] == x.shape()[d] + low[d] + high[d], node,
          "padding " + shape_str(x.shape()) + " by " + list_str(low) + " and " + list_str(high) +
              " gives another shape");
  }
  auto out = new_output(node);
  visit_dtype(x.dtype(), [&]<class E>(E) {
    auto* dst = out->as<typename E::Storage>();
    const auto fill = convert<E>(value);
    for (int64_t i = 0; i < out->type().numel(); ++i) dst[i] = fill;
  });
  const auto strides = contiguous_strides(x.shape());
  copy_elements(x, *out, [&](std::span<const int64_t> c) -> int64_t {
    int64_t i = 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t at = c[d] - low[d];
      if (at < 0 || at >= x.shape()[d]) return -1;  // in the padding: keep the fill
      i += at * strides[d];
    }
    return i;
  });
  return out;
}

BufferPtr eval_flip(const ir::Node& node, const Buffer& x) {
  check(x.type() == node.type, node, "operand type " + x.type().str() + " differs");
  const int rank = x.type().rank();
  std::vector<bool> flipped(rank, false);
  for (int64_t axis : node.attr_i64s("axes")) {
    check_axis(node, axis, rank, "axis");
    flipped[axis] = true;
  }
  const auto strides = contiguous_strides(x.shape());
  auto out = new_output(node);
  copy_elements(x, *out, [&](std::span<const int64_t> c) {
    int64_t i = 0;
    for (int d = 0; d < rank; ++d) i += (flipped[d] ? x.shape()[d] - 1 - c[d] : c[d]) * strides[d];
    return i;
  });
  return out;
}

BufferPtr eval_concat(const ir::Node& node, std::span<const BufferPtr> xs) {
  const int64_t axis = node.attr_i64("axis");
  const int rank = node.type.rank();
  check_axis(node, axis, rank, "axis");
  int64_t total = 0;
  for (const BufferPtr& x : xs) {
    check_same_dtype_and_rank(node, *x);
    for (int d = 0; d < rank; ++d)
      check(d == axis || x->shape()[d] == node.type.shape[d], node,
            "operand " + x->type().str() + " differs outside the concatenation axis");
    total += x->shape()[axis];
  }
  check(total == node.type.shape[axis], node,
        "the operands' sizes along the axis add up to " + std::to_string(total));
  // The result seen as [outer, total * inner]; each operand supplies a run of each row.
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= node.type.shape[d];
  for (int d = axis + 1; d < rank; ++d) inner *= node.type.shape[d];
  const size_t size = dtype_size(node.type.dtype);
  auto out = new_output(node);
  std::byte* dst = out->data();
  for (int64_t o = 0; o < outer; ++o) {
    for (const BufferPtr& x : xs) {
      const size_t run = static_cast<size_t>(x->shape()[axis] * inner) * size;
      if (run == 0) continue;
      std::memcpy(dst, x->data() + o * run, run);
      dst += run;
    }
  }
  return out;
}

}  // namespace kiln::evaluator
