// Graph deep copy.
#include "ir/clone.h"

namespace kiln::ir {

Graph clone_graph(const Graph& graph, CloneMap* map) {
  CloneMap local;
  CloneMap& m = map ? *map : local;
  auto copy_of = [&](const NodePtr& n) -> NodePtr {
    if (!n) return nullptr;
    auto it = m.find(n.get());
    return it == m.end() ? n : it->second;
  };
  auto clone = [&](const NodePtr& n) -> NodePtr {
    if (!n) return nullptr;
    if (auto it = m.find(n.get()); it != m.end()) return it->second;
    std::vector<NodePtr> operands;
    for (const NodePtr& o : n->operands) operands.push_back(copy_of(o));
    NodePtr c = make_node(n->op, std::move(operands), n->attrs, n->type, n->loc);
    c->name = n->name;
    c->buffer = n->buffer;
    m.emplace(n.get(), c);
    return c;
  };
  Graph out;
  out.name = graph.name;
  for (const NodePtr& p : graph.params) out.params.push_back(clone(p));
  for (const NodePtr& n : graph.nodes) out.nodes.push_back(clone(n));
  for (const NodePtr& r : graph.results) out.results.push_back(copy_of(r));
  return out;
}

}  // namespace kiln::ir
