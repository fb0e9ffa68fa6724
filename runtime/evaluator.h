// The reference evaluator (ir/eval/evaluator.h) with the process's custom kernel runner
// (runtime/custom_kernel.h), so graphs holding custom kernels evaluate too. Tests and the
// reference device use these. Tests: tests/runtime/eval_*_test.cpp.
#pragma once

#include <vector>

#include "ir/eval/evaluator.h"

namespace kiln::runtime {

using evaluator::EvalCounts;

// evaluator::evaluate with custom kernels run by run_custom_kernel.
std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                EvalCounts& counts);
std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs);

}  // namespace kiln::runtime
