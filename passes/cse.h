// cse: common subexpression elimination. Nodes with the same op, the same operands (after
// earlier merges), equal attributes and the same type merge into the first of them.
// Constants merge when they share a buffer, or when their data is equal bit for bit and
// small (at most 64 KiB, so that large weights are not compared byte by byte on every
// run). random_uniform with the same key merges too: its values are a pure function of
// the key and the element index.
// Requires a verified graph; guarantees one with the same values and no two structurally
// equal nodes (for constants within the size limit). Nodes made unused stay for dce.
// Tests: tests/ir/cse/*.kir, tests/passes/golden_test.cpp.
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

bool cse(ir::Graph& graph);

}  // namespace kiln::passes
