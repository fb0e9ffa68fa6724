// unroll_small_reductions: a map-shaped kernel (GroupShape::Map) whose reductions are sums
// over a few fixed iterations (a convolution's taps) gets each such sum written out as one
// expression, and the Reduce stage removed; a kernel of loop-free stages can then run
// several outer iterations per work-item as vectors (choose_group_lanes). The terms are
// added in the loop's order, as the loop would add them. Sums of at most
// kMaxUnrolledTerms floating-point terms without stores or split bounds qualify, in kernels
// whose other stages are loop-free stores. Runs before choose_group_lanes.
// Tests: tests/codegen/work_group_passes_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"

namespace kiln::codegen {

inline constexpr int64_t kMaxUnrolledTerms = 16;

void unroll_small_reductions(Kernel& kernel);

}  // namespace kiln::codegen
