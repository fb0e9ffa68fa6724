// Seeded random graphs (tests/random_graph.h, the device profile with dimensions up to 40)
// on the OpenCL device against the reference evaluator. A failure prints the seed and the
// graph's IR text (the reproducer). KILN_RANDOM_GRAPHS sets how many graphs to run
// (default 40: PoCL compiles slowly, so CI runs a few and a developer many).
#include "tests/random_graph.h"

#include <cstdlib>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

TEST(OpenCLRandomGraphs, MatchTheReference) {
  KILN_REQUIRE_OPENCL(device);
  int count = 40;
  if (const char* env = std::getenv("KILN_RANDOM_GRAPHS")) count = std::atoi(env);
  for (int seed = 1; seed <= count; ++seed) {
    ir::Graph g =
        RandomGraph(static_cast<uint64_t>(seed), RandomGraphProfile::for_devices(40)).build();
    expect_matches_reference(*device, g, static_cast<uint64_t>(seed), Values::Normal,
                             accumulated_tolerance(DType::F32, 40), "seed " + std::to_string(seed));
    if (HasFailure()) break;  // one reproducer is enough
  }
}

}  // namespace
}  // namespace kiln::testing
