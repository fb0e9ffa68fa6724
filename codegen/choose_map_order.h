// choose_map_order: sets kernel.groups.fast_outer, the outer loop that consecutive
// work-items of a map kernel walk. By default they walk the last outer loop (in steps of
// the lanes), which coalesces every access that runs along it. A kernel that changes
// layout ([L, C] to [C, L] around an FFT convolution, a depthwise convolution along L of
// channels-last data) reads most of its memory along another loop: each work-item's loads
// then land 4 bytes in a separate 32-byte sector, a tenth of the bandwidth. On GPUs (where
// the target asks for it, WorkGroupTarget::coalesce_map_order) the pass picks the outer
// loop along which the fewest accesses to large buffers are scattered, when that is fewer
// than along the last loop, or as few with vector lanes (a plain transpose then reads
// whole lines and writes whole vectors); the lanes stay on the last loop. Requires the lanes
// (choose_group_lanes.h); flat map kernels only (loop-free stages).
// The stores of such a kernel then scatter instead. Where the target asks for it
// (tile_map_transposes) and the kernel stores one value along the last loop, the pass sets
// groups.tiled: a work-group computes a 32 x 32 tile of (the chosen loop, the last loop)
// with work-items walking the chosen loop, puts the values in local memory, and stores
// them with work-items walking the last loop, as a GPU transpose does.
// Tests: tests/codegen/work_group_passes_test.cpp, tests/runtime/opencl (differential).
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen {

void choose_map_order(Kernel& kernel, const WorkGroupTarget& target);

}  // namespace kiln::codegen
