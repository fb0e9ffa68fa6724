// dce: mark what the results reach, walking the body backwards, and keep only that.
#include "passes/dce.h"

#include <unordered_set>

#include "passes/statistic.h"

namespace kiln::passes {

namespace {
Statistic num_removed("dce", "nodes removed");
}  // namespace

bool dce(ir::Graph& graph) {
  std::unordered_set<const ir::Node*> live;
  for (const ir::NodePtr& r : graph.results) live.insert(r.get());
  // Users come after their operands, so one backward sweep marks everything live.
  for (auto it = graph.nodes.rbegin(); it != graph.nodes.rend(); ++it)
    if (live.count(it->get()))
      for (const ir::NodePtr& op : (*it)->operands) live.insert(op.get());

  std::vector<ir::NodePtr> kept;
  kept.reserve(graph.nodes.size());
  for (ir::NodePtr& n : graph.nodes)
    if (live.count(n.get())) kept.push_back(std::move(n));
  int64_t removed = static_cast<int64_t>(graph.nodes.size() - kept.size());
  graph.nodes = std::move(kept);
  num_removed += removed;
  return removed != 0;
}

}  // namespace kiln::passes
