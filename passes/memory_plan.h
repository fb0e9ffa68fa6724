// memory_plan: assigns the intermediate buffers of a scheduled program to reusable slots.
//
// Input: buffer sizes, which buffers are pinned (parameters, constants, results: they
// live outside the plan), and the steps (kernel launches) in order with the buffers each
// reads and writes. A buffer lives from the first step that writes it to the last step
// that touches it; a slot is reused once its buffer is dead, by the best-fitting later
// buffer. A step's outputs never share a slot with its own inputs, because a kernel reads
// while it writes. Tests: tests/codegen/memory_plan_test.cpp.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::passes {

struct BufferUse {
  std::vector<int> reads;
  std::vector<int> writes;
};

struct MemoryPlan {
  std::vector<int> slot_of;         // per buffer: its slot, -1 for pinned or unused ones
  std::vector<int64_t> slot_bytes;  // per slot: its size
  int64_t planned_bytes = 0;        // sum of the slots
  int64_t unplanned_bytes = 0;      // what one buffer each would take
};

MemoryPlan plan_memory(const std::vector<int64_t>& bytes, const std::vector<bool>& pinned,
                       const std::vector<BufferUse>& steps);

}  // namespace kiln::passes
