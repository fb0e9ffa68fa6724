// fusion_cost: per-value inline costs and the cuts that bound them (see fusion_cost.h).
#include "passes/fusion_cost.h"

#include <unordered_map>
#include <unordered_set>

namespace kiln::passes {

namespace {

using ir::Node;

struct Cost {
  int64_t ops = 0;
  int64_t leaves = 0;
};

int64_t own_ops(const Node* n) { return ir::is_transcendental(n->op) ? kExpensiveOp : 1; }

class Capper {
 public:
  Capper(const std::function<bool(const Node*)>& stored,
         const std::function<bool(const Node*)>& inlined_leaf, const FusionLimits& limits)
      : stored_(stored), leaf_(inlined_leaf), limits_(limits) {}

  void add(const Node* n) {
    if (!inlined(n)) return;
    Cost total = inline_cost(n);
    while (over(total)) {
      const Node* heaviest = costliest_operand(n, total);
      if (!heaviest) break;  // only stored operands: nothing left to cut
      store_under_views(heaviest, n);
      total = inline_cost(n);
    }
    cost_[n] = total;
  }

  std::vector<FusionCut> take() { return std::move(cuts_); }

 private:
  bool inlined(const Node* n) const { return !cut_.count(n) && !stored_(n) && !leaf_(n); }

  bool over(const Cost& c) const {
    return c.ops > limits_.max_ops || c.leaves > limits_.max_leaves;
  }

  // What reading `o` adds to its reader's expression: a load or scalar argument for a
  // stored value, the whole inlined expression otherwise.
  Cost contribution(const Node* o) const {
    if (!inlined(o)) return {0, 1};
    // A product is a GEMM's root: what reads it is that GEMM's epilogue (one value per
    // result, none of the factors' expressions) or a kernel that loads it.
    if (o->info().category == ir::OpCategory::Contraction) return {1, 1};
    auto it = cost_.find(o);
    return it == cost_.end() ? Cost{1, 0} : it->second;
  }

  Cost inline_cost(const Node* n) const {
    Cost c{own_ops(n), 0};
    for (const ir::NodePtr& o : n->read_operands()) {
      Cost oc = contribution(o.get());
      c.ops += oc.ops;
      c.leaves += oc.leaves;
    }
    return c;
  }

  // The inlined operand of `n` that weighs most in the limit `total` exceeds.
  const Node* costliest_operand(const Node* n, const Cost& total) const {
    const bool by_ops = total.ops > limits_.max_ops;
    const Node* best = nullptr;
    int64_t best_weight = 0;
    for (const ir::NodePtr& o : n->read_operands()) {
      if (!inlined(o.get())) continue;
      Cost oc = contribution(o.get());
      int64_t weight = by_ops ? oc.ops : oc.leaves;
      if (weight > best_weight) best = o.get(), best_weight = weight;
    }
    return best;
  }

  // Stores the value under the views of `operand` (a view of a stored value is read as
  // cheaply as the value), then updates the costs of the views over it.
  void store_under_views(const Node* operand, const Node* reader) {
    std::vector<const Node*> views;
    const Node* value = operand;
    while (value->info().category == ir::OpCategory::Movement &&
           value->read_operands().size() == 1 && inlined(value->operands[0].get())) {
      views.push_back(value);
      value = value->operands[0].get();
    }
    const Cost before = contribution(value);
    cut_.insert(value);
    cuts_.push_back({value, "fusion limit: " + std::string(reader->info().text) +
                                " would inline more than " + std::to_string(limits_.max_ops) +
                                " ops or " + std::to_string(limits_.max_leaves) +
                                " loads; this value (" + std::to_string(before.ops) + " ops, " +
                                std::to_string(before.leaves) +
                                " loads) is stored and read from memory"});
    for (auto it = views.rbegin(); it != views.rend(); ++it) cost_[*it] = inline_cost(*it);
  }

  const std::function<bool(const Node*)>& stored_;
  const std::function<bool(const Node*)>& leaf_;
  FusionLimits limits_;
  std::unordered_map<const Node*, Cost> cost_;
  std::unordered_set<const Node*> cut_;
  std::vector<FusionCut> cuts_;
};

}  // namespace

std::vector<FusionCut> cap_fusion(const ir::Graph& graph,
                                  const std::function<bool(const ir::Node*)>& stored,
                                  const std::function<bool(const ir::Node*)>& inlined_leaf,
                                  const FusionLimits& limits) {
  Capper capper(stored, inlined_leaf, limits);
  for (const ir::NodePtr& n : graph.nodes) capper.add(n.get());
  return capper.take();
}

}  // namespace kiln::passes
