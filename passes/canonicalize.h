// canonicalize: puts equivalent graphs into one form so that later passes match fewer
// patterns and cse finds more duplicates.
//
// Rewrites:
//  - commutative ops (passes/op_traits.h) order their operands: non-constants before
//    constants, then by definition order; `lt/le/gt/ge` swap into the same order (a < b
//    becomes b > a);
//  - ops that change nothing are removed: cast to the same dtype, identity views (reshape
//    or broadcast to the same shape, identity permute, full slice, zero pad, flip of
//    length-1 dims, concat of one operand), and reductions over no axes or over axes of
//    length 1 (prod/max/min always; sum only for integers, as a float sum starts at +0
//    and turns -0 into +0); over length-1 axes without keepdims they become a reshape.
// Requires a verified graph; guarantees one with the same values, bit for bit (NaN
// payloads aside). Double negation and other algebra are simplify_algebra's.
// Tests: tests/ir/canonicalize/*.kir, tests/passes/golden_test.cpp.
#pragma once

#include "ir/graph.h"

namespace kiln::passes {

bool canonicalize(ir::Graph& graph);

}  // namespace kiln::passes
