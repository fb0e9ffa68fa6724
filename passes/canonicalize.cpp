// canonicalize: operand order for commutative ops and comparisons, and removal of ops that
// change nothing (see canonicalize.h).
#include "passes/canonicalize.h"

#include <tuple>

#include "passes/constants.h"
#include "passes/op_traits.h"
#include "passes/rewriter.h"
#include "passes/statistic.h"
#include "passes/views.h"

namespace kiln::passes {

namespace {

Statistic num_reordered("canonicalize", "operand pairs reordered");
Statistic num_removed("canonicalize", "no-op nodes removed");
Statistic num_reshaped("canonicalize", "reductions over length-1 axes made reshapes");

// Operands sort by this key: non-constants first, then in definition order.
std::tuple<bool, int64_t> order_key(const ir::Node& value, const GraphRewriter& rw) {
  return {is_constant_like(value), rw.position(&value)};
}

ir::NodePtr order_operands(const ir::NodePtr& node, const GraphRewriter& rw) {
  const ir::Node& a = *node->operands[0];
  const ir::Node& b = *node->operands[1];
  if (!(order_key(b, rw) < order_key(a, rw))) return nullptr;
  ir::OpKind op = node->op;
  if (!is_commutative(op, a.type.dtype)) {
    auto swapped = swapped_comparison(op);
    if (!swapped) return nullptr;
    op = *swapped;
  }
  ++num_reordered;
  return ir::make_node(op, {node->operands[1], node->operands[0]}, node->attrs, node->type,
                       node->loc);
}

// Whether reducing `node` over length-1 axes gives each element unchanged (see the header
// for why float sums are excluded).
bool reduction_keeps_values(const ir::Node& node) {
  switch (node.op) {
    case ir::OpKind::ReduceProd:
    case ir::OpKind::ReduceMax:
    case ir::OpKind::ReduceMin: return true;
    case ir::OpKind::ReduceSum: return !is_inexact(node.type.dtype);
    default: return false;
  }
}

ir::NodePtr remove_unit_reduction(const ir::NodePtr& node) {
  const ir::NodePtr& x = node->operands[0];
  if (x->type.dtype != node->type.dtype || !reduction_keeps_values(*node)) return nullptr;
  for (int64_t axis : node->attr_i64s("axes"))
    if (x->type.shape.at(static_cast<size_t>(axis)) != 1) return nullptr;
  if (x->type == node->type) {
    ++num_removed;
    return x;
  }
  ++num_reshaped;
  return ir::make_node(ir::OpKind::Reshape, {x}, {}, node->type, node->loc);
}

ir::NodePtr canonicalize_node(const ir::NodePtr& node, const GraphRewriter& rw) {
  switch (ir::op_category(node->op)) {
    case ir::OpCategory::Binary: return order_operands(node, rw);
    case ir::OpCategory::Cast:
      if (node->operands[0]->type != node->type) return nullptr;
      ++num_removed;
      return node->operands[0];
    case ir::OpCategory::Movement:
      if (!is_identity_view(*node)) return nullptr;
      ++num_removed;
      return node->operands[0];
    case ir::OpCategory::Reduce: return remove_unit_reduction(node);
    default: return nullptr;
  }
}

}  // namespace

bool canonicalize(ir::Graph& graph) {
  return GraphRewriter::rewrite(graph, "canonicalize", canonicalize_node);
}

}  // namespace kiln::passes
