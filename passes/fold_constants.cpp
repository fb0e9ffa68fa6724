// fold_constants: evaluates constant subexpressions with the reference evaluator (see
// fold_constants.h).
#include "passes/fold_constants.h"

#include <algorithm>

#include "ir/eval/evaluator.h"
#include "passes/rewriter.h"
#include "passes/statistic.h"

namespace kiln::passes {

namespace {

Statistic num_folded("fold_constants", "nodes folded");
Statistic num_under_broadcast("fold_constants", "elementwise ops folded under a broadcast");

using ir::OpKind;

bool is_constant(const ir::NodePtr& n) { return n->op == OpKind::Constant && n->buffer; }

// The value of `node` applied to `operands` (all constants), as a new constant node.
ir::NodePtr evaluate(const ir::Node& node, std::vector<ir::NodePtr> operands, const Type& type) {
  ir::Graph g;
  g.nodes = operands;
  auto op = ir::make_node(node.op, std::move(operands), node.attrs, type, node.loc);
  g.nodes.push_back(op);
  g.results = {op};
  evaluator::EvalCounts counts;
  return ir::make_constant(evaluator::evaluate(g, {}, counts).at(0), node.loc);
}

ir::NodePtr fold_node(const ir::NodePtr& node, const GraphRewriter&) {
  const auto& ops = node->operands;
  // Custom kernels run on an OpenCL device, never at compile time; a barrier is kept.
  if (ops.empty() || node->op == OpKind::Broadcast || node->op == OpKind::Custom ||
      node->op == OpKind::OptimizationBarrier)
    return nullptr;
  if (std::all_of(ops.begin(), ops.end(), is_constant)) {
    if (node->type.numel() > kMaxFoldedElements) return nullptr;
    ++num_folded;
    return evaluate(*node, ops, node->type);
  }
  // An elementwise op over broadcasts of equally shaped constants: fold under the
  // broadcast, as elementwise ops commute with it.
  if (!ir::is_elementwise(node->op)) return nullptr;
  std::vector<ir::NodePtr> sources;
  for (const ir::NodePtr& op : ops) {
    if (op->op != OpKind::Broadcast || !is_constant(op->operands[0])) return nullptr;
    sources.push_back(op->operands[0]);
    if (sources.back()->type.shape != sources.front()->type.shape) return nullptr;
  }
  const Shape& shape = sources.front()->type.shape;
  if (numel(shape) > kMaxFoldedElements) return nullptr;
  ++num_under_broadcast;
  ir::NodePtr folded = evaluate(*node, sources, Type{node->type.dtype, shape});
  return ir::make_node(OpKind::Broadcast, {folded}, {}, node->type, node->loc);
}

}  // namespace

bool fold_constants(ir::Graph& graph) {
  return GraphRewriter::rewrite(graph, "fold_constants", fold_node);
}

}  // namespace kiln::passes
