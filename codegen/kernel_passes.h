// Kernel-level passes over KernelIR, shared by every backend.
//
// choose_vectorization picks which loop becomes vector lanes: the last outer loop (in
// blocks, every stage running once per block; what elementwise kernels and reductions over
// a non-contiguous axis want) or the innermost loop of each stage (rows reduced or stored
// along contiguous memory). It counts the accesses each choice makes non-contiguous
// (gathers and scatters) and takes the cheaper. cache_row_values trades recomputation for a
// private row buffer; choose_pairwise_sums (choose_pairwise_sums.h) blocks long f32 sums.
// map_to_work_groups runs the passes that map a kernel onto a device of
// work-groups (choose_group_shape.h, unroll_small_reductions.h, choose_group_lanes.h,
// choose_map_order.h, choose_group_size.h).
// Tests: tests/codegen/lower_group_test.cpp, tests/codegen/work_group_passes_test.cpp.
#pragma once

#include <functional>

#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen {

// How an access moves when the vector loop advances: not at all, contiguously, or
// otherwise (a gather or scatter).
enum class AccessPattern : uint8_t { Uniform, Contiguous, Strided };
AccessPattern access_pattern(const ExprPtr& index, int vector_var);

// The variable that Inner vectorization turns into lanes in `stage`, or -1 when the
// stage runs scalar (no loops, sequential, scans, arg reductions).
int inner_vector_var(const Stage& stage);

void choose_vectorization(Kernel& kernel, const LowerOptions& options);

// Iterations of a loop nest.
int64_t loop_product(const std::vector<Loop>& loops);

// Whether a stage's loops can be split across the work-items of a group: it has loops,
// all of them full ranges, and its iterations may run in any order.
bool distributable(const Stage& stage);

// Accesses of `stage` that would be gathers or scatters with lanes along `v` (only those to
// the buffers `counted` accepts, where it is given).
int strided_accesses(const Stage& stage, int v,
                     const std::function<bool(int buffer)>& counted = {});

// Whether buffer `buffer` of `k` is past the bytes that stay in cache however they are read
// (a filter's taps, a bias): the passes that reorder loops for memory count only those.
bool past_cache(const Kernel& k, int buffer);

// Loads of `stage` (of the buffers `counted` accepts) that would be gathers with lanes along
// `lanes_var` and walk memory contiguously along `walk_var`.
int gathers_contiguous_along(const Stage& stage, int lanes_var, int walk_var,
                             const std::function<bool(int buffer)>& counted);

// Whether some load or store of `stage` walks memory contiguously along loop variable `v`.
bool contiguous_along(const Stage& stage, int v);

// In a row kernel (not vectorized along its outer loop), an expensive value that a Reduce
// stage computes and a later Loop stage computes again at the same row position (the
// exp of softmax) is stored by the first into a local row buffer and loaded by the second.
// Returns whether it changed the kernel.
bool cache_row_values(Kernel& kernel, const LowerOptions& options);

// Every kernel-level pass, in order.
void optimize_kernel(Kernel& kernel, const LowerOptions& options);

// The passes that set kernel.groups for a device of work-groups, in order.
void map_to_work_groups(Kernel& kernel, const WorkGroupTarget& target);

}  // namespace kiln::codegen
