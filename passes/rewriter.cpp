// The forward walk behind GraphRewriter: remap operands, offer each node to the rule, place
// what comes back.
#include "passes/rewriter.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/error.h"

namespace kiln::passes {

namespace {
// A rule chain longer than this is a rule that keeps undoing itself; the node is placed as
// it stands instead of looping.
constexpr int kMaxRewritesPerNode = 64;
}  // namespace

struct GraphRewriter::State {
  std::string_view pass;
  const Rule& rule;
  std::vector<ir::NodePtr> body;
  std::unordered_map<const ir::Node*, int64_t> position;      // placed values
  std::unordered_map<const ir::Node*, ir::NodePtr> replaced;  // old node -> its value
  bool changed = false;
  GraphRewriter* rw = nullptr;

  bool placed(const ir::Node* n) const { return position.count(n) != 0; }

  void place(const ir::NodePtr& n) {
    position.emplace(n.get(), static_cast<int64_t>(position.size()));
    body.push_back(n);
  }

  // `n` with each operand replaced by its value; a copy when any operand changed. Operands
  // that are new nodes (built by a rule) are settled first.
  ir::NodePtr remap(const ir::NodePtr& n) {
    // The operands are copied only once one differs: most nodes keep theirs, and a pass
    // over a large graph should not allocate for each of them.
    std::vector<ir::NodePtr> operands;
    for (size_t i = 0; i < n->operands.size(); ++i) {
      const ir::NodePtr& op = n->operands[i];
      ir::NodePtr value;
      if (auto it = replaced.find(op.get()); it != replaced.end())
        value = it->second;
      else if (!placed(op.get()))
        value = settle(op);
      if (operands.empty() && value && value != op)
        operands.assign(n->operands.begin(), n->operands.end());
      if (!operands.empty() && value) operands[i] = std::move(value);
    }
    if (operands.empty()) return n;
    auto copy = std::make_shared<ir::Node>(*n);
    copy->operands = std::move(operands);
    changed = true;
    return copy;
  }

  // Offers `n` (operands remapped) to the rule until it keeps it or returns a value that is
  // already placed; places and returns the final value.
  ir::NodePtr settle(const ir::NodePtr& start) {
    ir::NodePtr cur = remap(start);
    for (int i = 0; i < kMaxRewritesPerNode; ++i) {
      ir::NodePtr next = rule(cur, *rw);
      if (!next || next == cur) break;
      if (next->type != cur->type)
        throw VerifyError(std::string(pass) + ": internal error: a rule replaced a " +
                          std::string(cur->info().text) + " of type " + cur->type.str() + " by a " +
                          std::string(next->info().text) + " of type " + next->type.str() +
                          "; please report this with the input IR");
      changed = true;
      if (placed(next.get())) return next;
      cur = remap(next);
    }
    place(cur);
    return cur;
  }
};

int64_t GraphRewriter::position(const ir::Node* value) const {
  auto it = state_.position.find(value);
  return it == state_.position.end() ? -1 : it->second;
}

bool GraphRewriter::rewrite(ir::Graph& graph, std::string_view pass, const Rule& rule) {
  State state{pass, rule, {}, {}, {}, false, nullptr};
  GraphRewriter rw(state);
  state.rw = &rw;
  state.position.reserve(graph.params.size() + graph.nodes.size());
  for (const ir::NodePtr& p : graph.params)
    state.position.emplace(p.get(), static_cast<int64_t>(state.position.size()));
  state.body.reserve(graph.nodes.size());
  for (const ir::NodePtr& n : graph.nodes) {
    ir::NodePtr value = state.settle(n);
    if (value != n) state.replaced.emplace(n.get(), value);
  }
  for (ir::NodePtr& r : graph.results)
    if (auto it = state.replaced.find(r.get()); it != state.replaced.end()) r = it->second;
  graph.nodes = std::move(state.body);
  return state.changed;
}

}  // namespace kiln::passes
