// The memory planner: liveness over steps, slot reuse, and no aliasing within a step.
#include "passes/memory_plan.h"

#include <gtest/gtest.h>

namespace kiln::passes {
namespace {

TEST(MemoryPlan, ChainReusesDeadBuffers) {
  // b0 -> b1 -> b2 -> b3 (b0 an input, b3 the result): b1 and b2 are live at once in step
  // 1 (read and written), b1 is dead afterwards.
  std::vector<int64_t> bytes = {100, 400, 400, 100, 400};
  std::vector<bool> pinned = {true, false, false, true, false};
  std::vector<BufferUse> steps = {{{0}, {1}}, {{1}, {2}}, {{2}, {4}}, {{4}, {3}}};
  MemoryPlan p = plan_memory(bytes, pinned, steps);
  EXPECT_EQ(p.slot_of[0], -1);
  EXPECT_EQ(p.slot_of[3], -1);
  EXPECT_NE(p.slot_of[1], p.slot_of[2]);  // step 1 reads 1 while writing 2
  EXPECT_NE(p.slot_of[2], p.slot_of[4]);
  EXPECT_EQ(p.slot_of[4], p.slot_of[1]);  // 1 is dead by step 2
  EXPECT_EQ(p.slot_bytes.size(), 2u);
  EXPECT_EQ(p.planned_bytes, 800);
  EXPECT_EQ(p.unplanned_bytes, 1200);
}

TEST(MemoryPlan, LongLivedBufferKeepsItsSlot) {
  std::vector<int64_t> bytes = {64, 64, 64, 64};
  std::vector<bool> pinned(4, false);
  // 0 is read at the last step: nothing may take its slot before.
  std::vector<BufferUse> steps = {{{}, {0}}, {{}, {1}}, {{1}, {2}}, {{0, 2}, {3}}};
  MemoryPlan p = plan_memory(bytes, pinned, steps);
  for (int b : {1, 2, 3}) EXPECT_NE(p.slot_of[b], p.slot_of[0]);
  EXPECT_NE(p.slot_of[3], p.slot_of[2]);
}

TEST(MemoryPlan, GrowsAFreeSlotRatherThanAddingOne) {
  std::vector<int64_t> bytes = {10, 1000};
  std::vector<bool> pinned(2, false);
  std::vector<BufferUse> steps = {{{}, {0}}, {{0}, {}}, {{}, {1}}};
  MemoryPlan p = plan_memory(bytes, pinned, steps);
  EXPECT_EQ(p.slot_of[0], p.slot_of[1]);
  EXPECT_EQ(p.slot_bytes.size(), 1u);
  EXPECT_EQ(p.slot_bytes[0], 1000);
}

}  // namespace
}  // namespace kiln::passes
