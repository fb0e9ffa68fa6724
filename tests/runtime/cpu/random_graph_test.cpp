// Seeded random graphs (tests/random_graph.h, the device profile) on the CPU device against
// the reference evaluator. A failure prints the seed and the graph's IR text (the
// reproducer). KILN_RANDOM_GRAPHS sets how many graphs to run (default 2000, about 20 s);
// the run stops early, passing, when it has taken KILN_RANDOM_GRAPHS_SECONDS (default 60),
// so that a slow machine bounds its time instead of timing out.
#include "tests/random_graph.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

TEST(CpuRandomGraphs, MatchTheReference) {
  const int count = env_int("KILN_RANDOM_GRAPHS", 2000);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(env_int("KILN_RANDOM_GRAPHS_SECONDS", 60));
  int seed = 1;
  for (; seed <= count && std::chrono::steady_clock::now() < deadline; ++seed) {
    ir::Graph g =
        RandomGraph(static_cast<uint64_t>(seed), RandomGraphProfile::for_devices(9)).build();
    expect_matches_reference(cpu(), g, static_cast<uint64_t>(seed), Values::Normal,
                             accumulated_tolerance(DType::F32, 16), "seed " + std::to_string(seed));
    if (HasFailure()) break;  // one reproducer is enough
  }
  RecordProperty("graphs", seed - 1);
}

}  // namespace
}  // namespace kiln::testing
