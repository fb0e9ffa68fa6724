// Deep copies of graphs, for passes that rewrite a copy and keep the original for
// comparison (and for tests). Tests: tests/ir/clone_test.cpp.
#pragma once

#include <unordered_map>

#include "ir/graph.h"

namespace kiln::ir {

// Old node -> its copy.
using CloneMap = std::unordered_map<const Node*, NodePtr>;

// Copies every parameter and body node (op, attrs, type, loc, name), rewiring operands
// and results to the copies. Buffers are shared, not copied: constants are immutable.
// An operand that is not in the graph keeps pointing at the original node. When `map` is
// given it receives the old -> new correspondence.
Graph clone_graph(const Graph& graph, CloneMap* map = nullptr);

}  // namespace kiln::ir
