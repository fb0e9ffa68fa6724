// choose_group_lanes: sets kernel.groups.lanes, the consecutive elements one work-item
// handles as a vector, and kernel.groups.vector_loads, the buffers whose loads at
// consecutive elements may become vector loads. Requires the shape (choose_group_shape.h).
//   map       flat kernels (only loop-free stores) with an access contiguous along the last
//             outer loop: the target's vector width, halved until it divides the outer
//             iterations; otherwise 1.
//   row/split kernels with an access contiguous along some distributed stage's innermost
//             loop: the width, halved until it divides every distributed stage's
//             iterations; otherwise 1.
// Loads may be vector loads from buffers the kernel does not write.
// Tests: tests/codegen/work_group_passes_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen {

void choose_group_lanes(Kernel& kernel, const WorkGroupTarget& target);

}  // namespace kiln::codegen
