// fold_constants: computes, at compile time, what depends on constants only.
//
// Rewrites:
//  - an op whose operands are all constants becomes a constant, computed by the reference
//    evaluator (ir/eval/evaluator.h), so folding agrees with every backend's oracle;
//  - an elementwise op whose operands are all broadcasts of constants of one shape is
//    computed at that shape and broadcast: 2 + 3 spelled as broadcasts to [4096,4096]
//    folds to broadcast(5) without materializing 16M elements.
// Only results of at most kMaxFoldedElements elements are made, so constant data cannot
// explode. Sources (iota, random_uniform) and broadcasts of a constant stay: they cost
// nothing to recompute inside a kernel and are smaller as ops than as data.
// Requires a verified graph; guarantees the same values bit for bit.
// Tests: tests/ir/fold_constants/*.kir, tests/passes/golden_test.cpp.
#pragma once

#include <cstdint>

#include "ir/graph.h"

namespace kiln::passes {

inline constexpr int64_t kMaxFoldedElements = 4096;

bool fold_constants(ir::Graph& graph);

}  // namespace kiln::passes
