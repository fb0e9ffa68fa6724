// fold_views: composes a view with the view it reads (see fold_views.h). The walk is
// forward, so by the time a view is seen its operand chain is already one view long.
#include "passes/fold_views.h"

#include "passes/rewriter.h"
#include "passes/statistic.h"
#include "passes/views.h"

namespace kiln::passes {

namespace {

Statistic num_folded("fold_views", "view pairs folded into one");
Statistic num_permutes("fold_views", "permutes of length-1 dims made reshapes");

using ir::OpKind;

bool is_strided(OpKind op) { return op == OpKind::Slice || op == OpKind::Flip; }

// `view` over `inner`'s operand, or that operand itself when `view` is the identity there.
ir::NodePtr over(const ir::NodePtr& inner, OpKind op, std::vector<ir::AttrValue> attrs,
                 const Type& type) {
  const ir::NodePtr& x = inner->operands[0];
  if (op != OpKind::Permute && x->type == type) return x;
  auto node = ir::make_node(op, {x}, std::move(attrs), type, inner->loc);
  return is_identity_view(*node) ? x : node;
}

ir::NodePtr compose_permutes(const ir::Node& outer, const ir::NodePtr& inner) {
  // out dim i is inner dim p2[i], which is input dim p1[p2[i]].
  const auto& p1 = inner->attr_i64s("perm");
  const auto& p2 = outer.attr_i64s("perm");
  std::vector<int64_t> perm;
  for (int64_t p : p2) perm.push_back(p1.at(static_cast<size_t>(p)));
  return over(inner, OpKind::Permute, {perm}, outer.type);
}

ir::NodePtr fold_view(const ir::NodePtr& node, const GraphRewriter&) {
  if (node->op == OpKind::Permute &&
      permute_is_reshape(node->operands[0]->type.shape, node->attr_i64s("perm"))) {
    ++num_permutes;
    if (node->operands[0]->type == node->type) return node->operands[0];  // the identity
    return ir::make_node(OpKind::Reshape, {node->operands[0]}, {}, node->type, node->loc);
  }
  if (ir::op_category(node->op) != ir::OpCategory::Movement || node->operands.size() != 1)
    return nullptr;
  const ir::NodePtr& inner = node->operands[0];
  ir::NodePtr folded;
  if (node->op == inner->op && (node->op == OpKind::Reshape || node->op == OpKind::Broadcast)) {
    folded = over(inner, node->op, {}, node->type);
  } else if (node->op == OpKind::Permute && inner->op == OpKind::Permute) {
    folded = compose_permutes(*node, inner);
  } else if (is_strided(node->op) && is_strided(inner->op)) {
    StridedView v = StridedView::compose(StridedView::of(*inner), StridedView::of(*node));
    folded = v.build(inner->operands[0], node->type.dtype);
  } else {
    return nullptr;
  }
  ++num_folded;
  return folded;
}

}  // namespace

bool fold_views(ir::Graph& graph) { return GraphRewriter::rewrite(graph, "fold_views", fold_view); }

}  // namespace kiln::passes
