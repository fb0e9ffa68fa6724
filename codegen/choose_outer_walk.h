// choose_outer_walk: sets kernel.walk_outer, the outer loop whose iterations a CPU kernel
// runs consecutively. An outer-vectorized kernel computes a vector of the last outer loop
// per step, and by default its steps walk the last loop. A kernel that changes layout
// (an FFT convolution's channels-first output read back channels-last) then gathers each
// vector from as many cache lines as it has lanes, a row of memory apart, and moves on to
// other lines at the next step: every element comes from L2 or farther. Walking the loop
// those loads run along instead, the next step reads the next element of the same lines,
// from L1. The pass picks the outer loop along which most of the gathered loads of large
// buffers are contiguous, where the options ask for it (LowerOptions::walk_gathered_lines);
// flat map kernels only (loop-free stages, no sequential ones).
// Tests: tests/codegen/outer_walk_test.cpp, tests/runtime (differential).
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"

namespace kiln::codegen {

void choose_outer_walk(Kernel& kernel, const LowerOptions& options);

}  // namespace kiln::codegen
