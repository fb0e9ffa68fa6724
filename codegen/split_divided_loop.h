// split_divided_loop: a flat map kernel whose last outer loop v (extent E) its indices read
// as v / d and v % d, with d dividing E, gets two loops in its place: v = d * hi + lo. The
// indices then read hi and lo, affine in the loop the lanes run along, where before every
// vector was a gather. This is the layout a slice of a merged dimension leaves: the halves
// of a gated MLP's [L, 4, 1536] product read as [L, 6144] and cut at 3072. The smallest
// such d at least `options.vector_lanes` (and a multiple of it) is taken, so that larger
// divisors become divisions of hi, outside the lanes. Where the options ask for it
// (LowerOptions::split_divided_loops: the CPU, whose gathers cost a load per lane).
// Tests: tests/codegen/split_divided_loop_test.cpp, tests/runtime/cpu (differential).
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"

namespace kiln::codegen {

// Returns whether it split the loop.
bool split_divided_loop(Kernel& kernel, const LowerOptions& options);

}  // namespace kiln::codegen
