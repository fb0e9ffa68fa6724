// fold_views: collapses chains of views into one view where that is exact.
//
// Rewrites, for a view whose operand is a view:
//   reshape(reshape(x))       -> reshape(x)
//   permute(permute(x))       -> permute(x) with the composed permutation
//   broadcast(broadcast(x))   -> broadcast(x)
//   slice/flip of slice/flip  -> one slice (or a flip when each dim is kept or reversed
//                                whole; flip(flip(x)) on the same axes -> x)
// and a permute that moves only length-1 dims becomes a reshape (no element moves), which
// then folds with neighbouring reshapes. A chain that composes to the identity is removed.
// Requires a verified graph; guarantees the same values, and no view whose operand is a
// view of the same family (reshape, permute, broadcast, or slice/flip).
// Tests: tests/ir/fold_views/*.kir, tests/passes/golden_test.cpp.
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

bool fold_views(ir::Graph& graph);

}  // namespace kiln::passes
