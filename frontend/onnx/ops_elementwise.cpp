// ONNX import rules: elementwise ops (math, comparisons, logic, casts, activations).
// ONNX broadcasts multidirectionally as NumPy does, as kiln's binary ops do.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

template <Tensor (*Op)(const Tensor&, Loc)>
std::vector<Tensor> unary(NodeContext& ctx) {
  return {Op(ctx.input(0), Loc::current())};
}

template <Tensor (*Op)(const TensorLike&, const TensorLike&, Loc)>
std::vector<Tensor> binary(NodeContext& ctx) {
  return {Op(ctx.input(0), ctx.input(1), Loc::current())};
}

}  // namespace

void add_elementwise_ops(OpTable& table) {
  table["Abs"] = unary<abs>;
  table["Neg"] = unary<neg>;
  table["Exp"] = unary<exp>;
  table["Log"] = unary<log>;
  table["Sqrt"] = unary<sqrt>;
  table["Relu"] = unary<relu>;
  table["Add"] = binary<add>;
  table["Sub"] = binary<subtract>;
  table["Mul"] = binary<multiply>;
  table["Div"] = binary<divide>;
}

}  // namespace kiln::onnx::detail
