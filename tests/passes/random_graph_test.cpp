// Every pass, and the default pipeline, keeps the values of seeded random graphs bit for
// bit (NaN payloads aside). The graphs come from tests/random_graph.h's passes profile,
// built to hit the rewrites: constants 0, -0, 1, -1 (full or broadcast), repeated
// subexpressions, chains of views that cancel or compose, casts, comparisons and selects.
// A failure names the seed and prints both graphs.
#include "tests/random_graph.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/error.h"
#include "ir/printer.h"
#include "pass_test_util.h"
#include "passes/pipeline.h"
#include "passes/statistic.h"

namespace kiln::passes {
namespace {

using namespace testing;
using ir::OpKind;
using kiln::testing::RandomGraph;
using kiln::testing::RandomGraphProfile;

constexpr int kGraphs = 150;

// Runs `passes` over the random graphs; returns what they counted.
std::vector<StatisticCount> check_pass_list(const std::vector<Pass>& passes, bool repeat) {
  StatisticScope scope;
  PassOptions options;
  options.verify_each = true;
  if (repeat) options.max_rounds = 4;
  PassManager pm = pipeline_of(passes, options);
  for (int seed = 1; seed <= kGraphs; ++seed) {
    ir::Graph before =
        RandomGraph(static_cast<uint64_t>(seed), RandomGraphProfile::for_passes()).build();
    ir::Graph after = before;
    try {
      pm.run(after);
    } catch (const Error& e) {
      ADD_FAILURE() << "seed " << seed << ": " << e.what() << "\n" << ir::print_graph(before);
      continue;
    }
    EXPECT_TRUE(same_results(before, after, 3)) << "graph seed " << seed;
  }
  return scope.counts();
}

TEST(RandomGraphs, EachPassKeepsTheValues) {
  for (const Pass& p : registered_passes()) {
    SCOPED_TRACE(p.name);
    check_pass_list({p}, false);
  }
}

TEST(RandomGraphs, TheDefaultPipelineKeepsTheValues) {
  auto all = registered_passes();
  std::vector<StatisticCount> counts = check_pass_list({all.begin(), all.end()}, true);
  // The generator must reach every pass, or the test above proves little.
  for (const Pass& p : all) {
    int64_t changes = 0;
    for (const StatisticCount& c : counts)
      if (c.pass == p.name) changes += c.count;
    EXPECT_GT(changes, 0) << p.name << " never changed a random graph";
  }
}

}  // namespace
}  // namespace kiln::passes
