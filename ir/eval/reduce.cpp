// Reference evaluation of reductions (sum, prod, max, min over a set of axes; argmax and
// argmin over one) and inclusive scans (cumsum, cumprod). Sums and products accumulate
// wide: double for floats, complex<double> for c64, 64 bits for integers.
#include <limits>
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/scalar.h"
#include "ir/eval/types.h"

namespace kiln::evaluator {

namespace {

using ir::OpKind;

// The identity of max (the lowest value) and of min (the highest) of a real dtype.
template <class V>
V lowest() {
  if constexpr (std::floating_point<V>)
    return -std::numeric_limits<V>::infinity();
  else
    return std::numeric_limits<V>::lowest();
}
template <class V>
V highest() {
  if constexpr (std::floating_point<V>)
    return std::numeric_limits<V>::infinity();
  else
    return std::numeric_limits<V>::max();
}

// Where each input element lands in the output: the output's row-major stride for every
// kept dimension, 0 for reduced ones (so keepdims does not change the flat index).
struct ReduceGeometry {
  std::vector<int64_t> out_stride;
  int64_t out_numel = 1;

  int64_t out_index(std::span<const int64_t> coord) const {
    int64_t o = 0;
    for (size_t d = 0; d < coord.size(); ++d) o += coord[d] * out_stride[d];
    return o;
  }
};

ReduceGeometry reduce_geometry(const ir::Node& node, const Shape& in) {
  const auto& axes = node.attr_i64s("axes");
  const bool keepdims = node.attr_bool("keepdims");
  const int rank = static_cast<int>(in.size());
  std::vector<bool> reduced(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    check_axis(node, axes[i], rank, "axis");
    check(i == 0 || axes[i] > axes[i - 1], node,
          "axes " + list_str(axes) + " must be sorted and unique");
    reduced[axes[i]] = true;
  }
  Shape expected;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d])
      expected.push_back(in[d]);
    else if (keepdims)
      expected.push_back(1);
  }
  check(node.type.shape == expected, node,
        "reducing " + shape_str(in) + " over " + list_str(axes) + " gives " + shape_str(expected));
  ReduceGeometry g;
  g.out_stride.assign(rank, 0);
  for (int d = rank - 1; d >= 0; --d) {
    if (reduced[d]) continue;
    g.out_stride[d] = g.out_numel;
    g.out_numel *= in[d];
  }
  return g;
}

// acc[out] = combine(acc[out], x) over the input in row-major order, then stored.
template <class E, class Acc, class Combine>
void reduce_into(const Buffer& x, Buffer& out, const ReduceGeometry& g, Acc init, Combine combine) {
  std::vector<Acc> acc(g.out_numel, init);
  for_each_coord(x.shape(), [&](int64_t i, std::span<const int64_t> coord) {
    const int64_t o = g.out_index(coord);
    acc[o] = combine(acc[o], load<E>(x, i));  // not a reference: Acc may be bool
  });
  auto* dst = out.as<typename E::Storage>();
  for (int64_t o = 0; o < g.out_numel; ++o) dst[o] = convert<E>(acc[o]);
}

// argmax / argmin: the first index of the best value along the one axis. NaN counts as
// larger than every number: argmax picks the first NaN, argmin skips NaNs (unless all are).
// An empty axis gives index 0.
template <class E>
void arg_reduce(const ir::Node& node, const Buffer& x, Buffer& out, const ReduceGeometry& g) {
  using V = typename E::Value;
  const int64_t axis = node.attr_i64s("axes")[0];
  const bool is_max = node.op == OpKind::ArgMax;
  auto better = [&](V v, V best) {
    if (is_max) return !has_nan(best) && (has_nan(v) || best < v);
    return !has_nan(v) && (has_nan(best) || v < best);
  };
  std::vector<V> best(g.out_numel);
  auto* index = out.as<int64_t>();  // zeroed: index 0 where the axis is empty
  for_each_coord(x.shape(), [&](int64_t i, std::span<const int64_t> coord) {
    const int64_t o = g.out_index(coord);
    const V v = load<E>(x, i);
    if (coord[axis] == 0 || better(v, best[o])) {
      best[o] = v;
      index[o] = coord[axis];
    }
  });
}

// max, min (on bool: any, all), argmax and argmin. Orders exist for real dtypes only: the
// op table refuses c64 (check_accepts), so no complex version is compiled.
template <class E>
void order_reduce(const ir::Node& node, const Buffer& x, Buffer& out, const ReduceGeometry& g) {
  using V = typename E::Value;
  if constexpr (!table_accepts<V>(OpKind::ReduceMax)) {
    unsupported_dtype(node, x.dtype());
  } else if (node.op == OpKind::ReduceMax) {
    reduce_into<E>(x, out, g, lowest<V>(), [](V a, V v) { return nan_max(a, v); });
  } else if (node.op == OpKind::ReduceMin) {
    reduce_into<E>(x, out, g, highest<V>(), [](V a, V v) { return nan_min(a, v); });
  } else {
    arg_reduce<E>(node, x, out, g);
  }
}

}  // namespace

BufferPtr eval_reduce(const ir::Node& node, const Buffer& x) {
  const ReduceGeometry g = reduce_geometry(node, x.shape());
  const bool is_arg = node.op == OpKind::ArgMax || node.op == OpKind::ArgMin;
  if (is_arg) {
    check(node.attr_i64s("axes").size() == 1, node, "takes exactly one axis");
    check(node.type.dtype == DType::I64, node, "gives i64 indices");
  } else {
    check(node.type.dtype == x.dtype(), node, "keeps the operand's dtype " + x.type().str());
  }
  check_accepts(node, x.dtype());
  auto out = new_output(node);
  visit_dtype(x.dtype(), [&]<class E>(E) {
    using V = typename E::Value;
    using W = Wide<V>;
    switch (node.op) {
      case OpKind::ReduceSum:
        return reduce_into<E>(x, *out, g, W(0), [](W a, V v) { return a + widen(v); });
      case OpKind::ReduceProd:
        return reduce_into<E>(x, *out, g, W(1), [](W a, V v) { return a * widen(v); });
      case OpKind::ReduceMax:
      case OpKind::ReduceMin:
      case OpKind::ArgMax:
      case OpKind::ArgMin: return order_reduce<E>(node, x, *out, g);
      default: unhandled_op(node);
    }
  });
  return out;
}

BufferPtr eval_scan(const ir::Node& node, const Buffer& x) {
  const int64_t axis = node.attr_i64("axis");
  check_axis(node, axis, x.type().rank(), "axis");
  check(node.type == x.type(), node, "keeps the operand's type " + x.type().str());
  // The operand seen as [outer, n, inner], scanned along n.
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t n = s[axis];
  if (node.op != OpKind::CumSum && node.op != OpKind::CumProd) unhandled_op(node);
  const bool is_sum = node.op == OpKind::CumSum;
  auto out = new_output(node);
  visit_dtype(x.dtype(), [&]<class E>(E) {
    using V = typename E::Value;
    using W = Wide<V>;
    auto* dst = out->as<typename E::Storage>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        W acc = is_sum ? W(0) : W(1);
        for (int64_t k = 0; k < n; ++k) {
          const int64_t at = (o * n + k) * inner + i;
          const W v = widen(load<E>(x, at));
          acc = is_sum ? acc + v : acc * v;
          dst[at] = convert<E>(acc);
        }
      }
    }
  });
  return out;
}

}  // namespace kiln::evaluator
