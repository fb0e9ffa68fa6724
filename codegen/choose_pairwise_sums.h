// choose_pairwise_sums: sets Stage::pairwise_block on the Reduce stages that sum floats
// accumulated in f32 (f32, f16 and bf16 inputs, matmul's dot products) over more than one
// block of values. A backend then adds that many values (fewer than twice as many where a
// remainder runs into a whole block) into each accumulator before it folds the
// accumulator into a binary-counter cascade of block sums, which combines blocks as a
// pairwise sum does: the error grows with the block size plus the logarithm of the count,
// as in NumPy's pairwise summation (blocks of 128 in 8 accumulators, 16 values each),
// instead of with the count. Vector lanes, threads and
// work-items each keep such an accumulator, so the memory-bound loops stay as fast.
// Max, min, products and f64 sums are left alone.
// Tests: tests/codegen/lower_group_test.cpp (the annotation), tests/runtime/summation_test.cpp
// (the accuracy on every device).
#pragma once

#include "codegen/kernel_ir.h"

namespace kiln::codegen {

// Values one accumulator adds before its block joins the cascade: NumPy's 16 per
// accumulator.
constexpr int kPairwiseBlock = 16;

void choose_pairwise_sums(Kernel& kernel);

// The levels a cascade needs for `additions` values in blocks of `block`: block counts
// below 2^(levels - 1), so a carry never runs past the last level.
int pairwise_levels(int64_t additions, int64_t block);

}  // namespace kiln::codegen
