// GraphRewriter: how the local graph passes (canonicalize, fold_constants, simplify_algebra,
// fold_views, cse) change a graph. It rebuilds the body in one forward walk: each node's
// operands are first replaced by their rewritten values, then the pass's rule sees the
// node and may return the value that replaces it.
//
// Nodes are never mutated in place: a node whose operands changed is copied first. So a
// graph may share nodes with live tensors or with another graph, and a pass cannot corrupt
// either. A replaced node leaves the body; values that it leaves unused stay for dce.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "ir/graph.h"

namespace kiln::passes {

class GraphRewriter {
 public:
  // Returns nullptr (or `node` itself) to keep `node`, or the value that replaces it, which
  // must have the same type. The value may be a new node built over existing values and
  // other new nodes: new nodes are placed in the body before the node they replace, and
  // are offered to the rule in their turn, so rewrites compose.
  using Rule = std::function<ir::NodePtr(const ir::NodePtr& node, const GraphRewriter& rw)>;

  // Runs `rule` over the body of `graph`; true when the graph changed. `pass` names the
  // caller in the error thrown when a rule returns a value of the wrong type.
  static bool rewrite(ir::Graph& graph, std::string_view pass, const Rule& rule);

  // Definition order of a value already in the rewritten graph: parameters first, then the
  // body in order. -1 for a value that is not (yet) placed.
  int64_t position(const ir::Node* value) const;

 private:
  struct State;
  explicit GraphRewriter(State& state) : state_(state) {}
  State& state_;
};

}  // namespace kiln::passes
