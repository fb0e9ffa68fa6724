// The one check of the buffers a graph is run on: one per parameter, in order, each of the
// parameter's type. The driver (runtime/driver.h) runs it before any device sees the inputs
// and the reference evaluator before evaluating, so every device reports a bad input with
// the same InputError and message. Tests: tests/runtime/driver_test.cpp,
// tests/runtime/eval_graph_test.cpp.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::ir {

// Throws InputError naming the graph, the parameter, the expected and given types, and the
// fix.
void check_inputs(const Graph& graph, const std::vector<BufferPtr>& inputs);

}  // namespace kiln::ir
