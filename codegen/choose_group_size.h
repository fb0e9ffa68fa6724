// choose_group_size: sets kernel.groups.group_size (work-items per group), split_groups
// (Split: groups per outer iteration) and in_registers (Row: which stages keep each
// work-item's share of the row unrolled in registers). Requires the shape and the lanes
// (choose_group_shape.h, choose_group_lanes.h).
//   map    the target's map group size.
//   row    enough work-items that each handles about eight vectors of the longest
//          distributed stage, within the target's row group size (at least 64 on GPUs); a
//          stage whose share is at most the target's register row is held in registers.
//   split  the target's row group size; groups enough to give the device its split groups
//          per compute unit over all outer iterations, but no more than the longest
//          reduction has work for.
// Tests: tests/codegen/work_group_passes_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen {

void choose_group_size(Kernel& kernel, const WorkGroupTarget& target);

}  // namespace kiln::codegen
