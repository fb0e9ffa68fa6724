// choose_group_shape: sets kernel.groups.shape, how a device of work-groups runs the kernel
// (GroupShape, kernel_ir.h). Kernels without a distributable reduction are Map. Few outer
// iterations over long rows are Split (when the reductions come first and only loop-free
// stores follow them), a column reduction with many outer iterations stays Map (work-items
// side by side read side by side), other rows of at least 8 elements are Row. The target's
// shape hint overrides the choice for reductions (Split only where the kernel allows it).
// Tests: tests/codegen/work_group_passes_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen {

void choose_group_shape(Kernel& kernel, const WorkGroupTarget& target);

}  // namespace kiln::codegen
