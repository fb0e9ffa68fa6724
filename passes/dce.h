// dce: dead code elimination. Removes every body node that no result depends on.
// Parameters stay, used or not: they are the graph's signature.
// Requires the body in topological order (operands before users); keeps that order.
// Tests: tests/ir/dce/*.kir, tests/passes/golden_test.cpp.
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

bool dce(ir::Graph& graph);

}  // namespace kiln::passes
