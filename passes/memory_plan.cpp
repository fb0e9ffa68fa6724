// memory_plan: liveness over launch steps and best-fit slot reuse (see memory_plan.h).
#include "passes/memory_plan.h"

#include <algorithm>
#include <limits>

namespace kiln::passes {

MemoryPlan plan_memory(const std::vector<int64_t>& bytes, const std::vector<bool>& pinned,
                       const std::vector<BufferUse>& steps) {
  const size_t n = bytes.size();
  MemoryPlan plan;
  plan.slot_of.assign(n, -1);
  std::vector<int> first(n, -1), last(n, -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    auto touch = [&](int b) {
      if (first[b] < 0) first[b] = static_cast<int>(s);
      last[b] = static_cast<int>(s);
    };
    for (int b : steps[s].writes) touch(b);
    for (int b : steps[s].reads) touch(b);
  }
  // The buffers whose last use is each step, so that freeing is linear in the program.
  std::vector<std::vector<int>> ending(steps.size());
  for (size_t b = 0; b < n; ++b)
    if (last[b] >= 0) ending[static_cast<size_t>(last[b])].push_back(static_cast<int>(b));
  std::vector<bool> slot_free;
  for (size_t s = 0; s < steps.size(); ++s) {
    // Allocate what this step writes first, so that its outputs avoid its inputs' slots.
    for (int b : steps[s].writes) {
      if (pinned[b] || plan.slot_of[b] >= 0 || first[b] != static_cast<int>(s)) continue;
      plan.unplanned_bytes += bytes[b];
      int best = -1;
      int64_t best_waste = std::numeric_limits<int64_t>::max();
      for (size_t k = 0; k < slot_free.size(); ++k) {
        if (!slot_free[k] || plan.slot_bytes[k] < bytes[b]) continue;
        int64_t waste = plan.slot_bytes[k] - bytes[b];
        if (waste < best_waste) best = static_cast<int>(k), best_waste = waste;
      }
      if (best < 0) {
        // Grow the largest free slot rather than add one, when some slot is free.
        for (size_t k = 0; k < slot_free.size(); ++k)
          if (slot_free[k] && (best < 0 || plan.slot_bytes[k] > plan.slot_bytes[best]))
            best = static_cast<int>(k);
        if (best >= 0) {
          plan.slot_bytes[best] = bytes[b];
        } else {
          best = static_cast<int>(plan.slot_bytes.size());
          plan.slot_bytes.push_back(bytes[b]);
          slot_free.push_back(false);
        }
      }
      slot_free[best] = false;
      plan.slot_of[b] = best;
    }
    // Free the slots of buffers whose last use was this step.
    for (int b : ending[s])
      if (plan.slot_of[b] >= 0) slot_free[plan.slot_of[b]] = true;
  }
  for (int64_t sz : plan.slot_bytes) plan.planned_bytes += sz;
  return plan;
}

}  // namespace kiln::passes
