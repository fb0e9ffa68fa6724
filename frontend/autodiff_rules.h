// The autodiff rule table: for every IR op of ir/ops.def, how reverse-mode differentiation
// treats it, and its vector-Jacobian product (vjp) when it has one. The transform that walks
// a graph and applies the rules is frontend/autodiff.cpp; docs/autodiff.md says how to add a
// rule. Tests: tests/autodiff/ (the numerical check iterates this table over every op).
#pragma once

#include <kiln/kiln.h>

#include <optional>
#include <vector>

namespace kiln::frontend {

// How reverse-mode autodiff treats an op.
enum class GradKind : uint8_t {
  Source,        // no operands: a leaf of every graph
  Rule,          // differentiable: `vjp` gives the operands' cotangents
  Zero,          // piecewise constant or non-floating result: passes no gradient
  Unsupported,   // differentiating through it throws (complex values)
  CustomKernel,  // a user's kernel: differentiable only through a registered vjp
};

// What a rule sees: the node (for its attributes), its operands and result as tensors, and
// the cotangent of the result (the node's type).
struct VjpArgs {
  const ir::Node& node;
  const std::vector<Tensor>& in;
  const Tensor& out;
  const Tensor& g;
};

// One cotangent per operand, of the operand's type; nullopt where none flows (an index, a
// condition, an integer operand).
using Cotangents = std::vector<std::optional<Tensor>>;
using VjpRule = Cotangents (*)(const VjpArgs&);

struct GradRule {
  GradKind kind;
  VjpRule vjp = nullptr;  // set for GradKind::Rule
};

// The row for `op`. One switch without a default: a new op in ir/ops.def does not build
// (-Werror=switch) until it has a row here.
GradRule grad_rule(ir::OpKind op);
// Whether op's rule is written for complex operands too (docs/autodiff.md): their
// cotangents follow PyTorch's convention, dL/da + i dL/db for z = a + ib.
bool complex_rule(ir::OpKind op);

}  // namespace kiln::frontend
