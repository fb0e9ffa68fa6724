// ONNX import rules: reductions (Reduce*, ArgMax / ArgMin) and the normalizations along one
// axis (Softmax, LogSoftmax, Hardmax). The Reduce* ops share one rule over a table of
// {op, kiln reduction}; their axes are an attribute until opset 13 (ReduceSum) or 18 (the
// others) and an optional input after. Tests: tests/onnx/nn_test.cpp and the conformance
// cases test_reduce_*, test_arg*, test_*softmax*, test_hardmax_*.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

// A reduction over `axes` (empty: every axis) keeping the reduced axes as size 1 or not.
using Reducer = Tensor (*)(const Tensor& x, const Axes& axes, bool keepdims);

// The Reduce* ops' shared rule: reads the axes (attribute or input by opset), keepdims and
// noop_with_empty_axes, and keeps the input's dtype (kiln's sum of i8 gives i32, its mean
// of integers f32; ONNX keeps the element type).
std::vector<Tensor> reduce(NodeContext& ctx, Reducer reducer, int64_t axes_input_opset) {
  const Tensor& x = ctx.input(0);
  std::vector<int> axes;
  bool noop_with_empty_axes = false;
  if (ctx.opset() >= axes_input_opset) {
    noop_with_empty_axes = ctx.attr_int("noop_with_empty_axes", 0) != 0;
    if (ctx.has_input(1))
      for (int64_t a : ctx.constant_ints(1)) axes.push_back(ctx.normalize_axis(a, x.ndim()));
  } else {
    for (int64_t a : ctx.attr_ints("axes", std::vector<int64_t>{}))
      axes.push_back(ctx.normalize_axis(a, x.ndim()));
  }
  bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  if (axes.empty() && noop_with_empty_axes) return {x};
  if (x.ndim() == 0) return {x};
  Tensor y = reducer(x, Axes(axes), keepdims);
  return {y.dtype() == x.dtype() ? y : cast(y, x.dtype())};
}

Tensor reduce_sum(const Tensor& x, const Axes& a, bool k) { return sum(x, a, k); }
Tensor reduce_mean(const Tensor& x, const Axes& a, bool k) { return mean(x, a, k); }
Tensor reduce_max(const Tensor& x, const Axes& a, bool k) { return max(x, a, k); }
Tensor reduce_min(const Tensor& x, const Axes& a, bool k) { return min(x, a, k); }
Tensor reduce_prod(const Tensor& x, const Axes& a, bool k) { return prod(x, a, k); }
Tensor reduce_l1(const Tensor& x, const Axes& a, bool k) { return sum(abs(x), a, k); }
Tensor reduce_l2(const Tensor& x, const Axes& a, bool k) { return sqrt(sum(x * x, a, k)); }
Tensor reduce_log_sum(const Tensor& x, const Axes& a, bool k) { return log(sum(x, a, k)); }
Tensor reduce_log_sum_exp(const Tensor& x, const Axes& a, bool k) { return logsumexp(x, a, k); }
Tensor reduce_sum_square(const Tensor& x, const Axes& a, bool k) { return sum(x * x, a, k); }

// ArgMax / ArgMin: kiln returns the first extremum; select_last_index finds the first one of
// the input reversed along the axis and counts it from the end.
std::vector<Tensor> arg_extremum(NodeContext& ctx, bool is_max) {
  const Tensor& x = ctx.input(0);
  int axis = ctx.normalize_axis(ctx.attr_int("axis", 0), x.ndim());
  bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  bool last = ctx.opset() >= 12 && ctx.attr_int("select_last_index", 0) != 0;
  auto arg = [&](const Tensor& t) {
    return is_max ? argmax(t, axis, keepdims) : argmin(t, axis, keepdims);
  };
  if (!last) return {arg(x)};
  return {cast(x.shape(axis) - 1 - arg(flip(x, axis)), DType::I64)};
}

// Softmax-like ops see their input as a matrix before opset 13: the axes before `axis`
// flattened into rows, the rest into one axis of columns (default axis 1). From opset 13
// they run along the one axis `axis` (default -1).
using AxisOp = Tensor (*)(const Tensor& x, int axis);

std::vector<Tensor> along_axis(NodeContext& ctx, AxisOp op) {
  const Tensor& x = ctx.input(0);
  if (ctx.opset() >= 13) return {op(x, ctx.normalize_axis(ctx.attr_int("axis", -1), x.ndim()))};
  int axis = x.ndim() == 0 ? 0 : ctx.normalize_axis(ctx.attr_int("axis", 1), x.ndim());
  int64_t rows = 1;
  for (int i = 0; i < axis; ++i) rows *= x.shape(i);
  return {reshape(op(reshape(x, {rows, -1}), 1), x.shape())};
}

Tensor softmax_along(const Tensor& x, int axis) { return softmax(x, axis); }
Tensor log_softmax_along(const Tensor& x, int axis) { return log_softmax(x, axis); }
// 1 at the first maximum along the axis, 0 elsewhere.
Tensor hardmax_along(const Tensor& x, int axis) {
  Shape s(static_cast<size_t>(x.ndim()), 1);
  s[static_cast<size_t>(axis)] = x.shape(axis);
  Tensor position = reshape(arange(x.shape(axis), DType::I64), s);
  return cast(equal(position, argmax(x, axis, true)), x.dtype());
}

}  // namespace

void add_reduction_ops(OpTable& table) {
  // The opset from which each op's axes are an input rather than an attribute.
  struct ReduceOp {
    const char* name;
    Reducer reducer;
    int64_t axes_input_opset;
  };
  static constexpr ReduceOp reduce_ops[] = {
      {"ReduceSum", reduce_sum, 13},
      {"ReduceMean", reduce_mean, 18},
      {"ReduceMax", reduce_max, 18},
      {"ReduceMin", reduce_min, 18},
      {"ReduceProd", reduce_prod, 18},
      {"ReduceL1", reduce_l1, 18},
      {"ReduceL2", reduce_l2, 18},
      {"ReduceLogSum", reduce_log_sum, 18},
      {"ReduceLogSumExp", reduce_log_sum_exp, 18},
      {"ReduceSumSquare", reduce_sum_square, 18},
  };
  for (const ReduceOp& op : reduce_ops)
    table[op.name] = [op](NodeContext& ctx) {
      return reduce(ctx, op.reducer, op.axes_input_opset);
    };
  table["ArgMax"] = [](NodeContext& ctx) { return arg_extremum(ctx, true); };
  table["ArgMin"] = [](NodeContext& ctx) { return arg_extremum(ctx, false); };
  table["Softmax"] = [](NodeContext& ctx) { return along_axis(ctx, softmax_along); };
  table["LogSoftmax"] = [](NodeContext& ctx) { return along_axis(ctx, log_softmax_along); };
  table["Hardmax"] = [](NodeContext& ctx) { return along_axis(ctx, hardmax_along); };
}

}  // namespace kiln::onnx::detail
