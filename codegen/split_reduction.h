// split_reduction: per-thread partials for reductions with too few outer iterations to
// keep every thread busy (a full sum, a sum over the rows of a 2-row matrix).
//
// A kernel of one Reduce stage (sum, prod, max or min) followed by stores of its result
// becomes two: the first splits the first reduced loop into P chunks, adds the chunk as a
// parallel outer loop and stores each chunk's partial into a temporary; the second folds
// the P partials of each outer iteration with the same operation and runs the original
// stores. Argmax/argmin and kernels with other stages are left alone.
// Tests: tests/codegen/lower_group_test.cpp, tests/runtime/differential_test.cpp.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "codegen/lower_group.h"

namespace kiln::codegen {

// The two kernels, or nullopt when the kernel is not worth (or not fit for) splitting.
// Appends the partials' temporary to `temps`.
std::optional<std::pair<LoweredKernel, LoweredKernel>> split_reduction(
    const LoweredKernel& kernel, std::vector<TempBuffer>& temps, const LowerOptions& options);

}  // namespace kiln::codegen
