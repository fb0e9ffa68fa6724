// Helpers of the CPU device's own tests: the device, and its launches for one graph. The
// graph builder, inputs and comparison with the reference are tests/differential.h's.
#pragma once

#include "runtime/cpu/cpu_device.h"
#include "runtime/stats.h"
#include "tests/differential.h"

namespace kiln::testing {

inline runtime::cpu::CpuDevice& cpu() {
  static runtime::cpu::CpuDevice d;
  return d;
}

inline int64_t launches_of(const ir::Graph& g, const std::vector<BufferPtr>& inputs) {
  int64_t before = stats().launches;
  cpu().run(g, inputs);
  return stats().launches - before;
}

}  // namespace kiln::testing
