// The reference evaluator: plain loops over every IR op, written to be obviously correct
// rather than fast. It is the oracle of the differential tests and the fallback device
// when no compiled backend is built. Op semantics: ir/ops.def and docs/ir.md.
// Tests: tests/runtime/eval_*_test.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::runtime {

// Evaluates `graph` with one input buffer per graph parameter (in order; their types must
// match, else kiln::Error naming the parameter) and returns one buffer per result. A
// result that is a parameter or a constant shares that buffer. A body node that already
// holds a buffer (an evaluated node) is not recomputed: its buffer is its value.
std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs);

// What one evaluation did, for the devices' statistics.
struct EvalCounts {
  int64_t nodes_evaluated = 0;  // body nodes computed (constants and evaluated nodes are not)
  int64_t bytes_allocated = 0;  // bytes of the buffers created for them
};
std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                EvalCounts& counts);

}  // namespace kiln::runtime
