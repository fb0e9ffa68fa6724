// The reference evaluator: plain loops over every IR op, written to be obviously correct
// rather than fast. It is the oracle of the differential tests, the core of the reference
// device (runtime/device.h) and what constant folding (passes/fold_constants.cpp) computes
// with, so it depends on ir/ only. Op semantics: ir/ops.def and docs/ir.md.
// Tests: tests/runtime/eval_*_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::evaluator {

// What one evaluation did, for the devices' statistics.
struct EvalCounts {
  int64_t nodes_evaluated = 0;  // body nodes computed (constants and evaluated nodes are not)
  int64_t bytes_allocated = 0;  // bytes of the buffers created for them
};

// Runs the custom kernel behind `node` (ir op `custom`) on its operands' values and returns
// every output of the kernel. The evaluator has no device of its own: the runtime passes
// one (runtime/custom_kernel.h); without one, a custom node is an UnsupportedError.
using CustomKernelRunner = std::function<std::vector<BufferPtr>(
    const ir::Node& node, const std::vector<BufferPtr>& operands)>;

// Evaluates `graph` with one input buffer per graph parameter (in order; checked by
// ir::check_inputs) and returns one buffer per result. A result that is a parameter or a
// constant shares that buffer. A body node that already holds a buffer (an evaluated node)
// is not recomputed: its buffer is its value.
std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                EvalCounts& counts, const CustomKernelRunner& custom = nullptr);

}  // namespace kiln::evaluator
