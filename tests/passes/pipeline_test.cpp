// The default pipeline and the pass registry.
#include "passes/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "expr.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "pass_test_util.h"

namespace kiln::passes {
namespace {

using ::testing::HasSubstr;
using namespace testing;

std::vector<std::string> names(const std::vector<Pass>& passes) {
  std::vector<std::string> out;
  for (const Pass& p : passes) out.push_back(p.name);
  return out;
}

TEST(Pipeline, RegistersThePassesInPipelineOrder) {
  auto all = registered_passes();
  EXPECT_EQ(names({all.begin(), all.end()}),
            (std::vector<std::string>{"canonicalize", "fold_constants", "simplify_algebra",
                                      "fold_views", "cse", "dce"}));
  EXPECT_EQ(names(default_pipeline().passes()), names({all.begin(), all.end()}));
}

TEST(Pipeline, ParsesPassLists) {
  EXPECT_EQ(names(parse_pass_list("cse,dce")), (std::vector<std::string>{"cse", "dce"}));
  EXPECT_EQ(names(parse_pass_list("dce,cse,dce")), (std::vector<std::string>{"dce", "cse", "dce"}));
  EXPECT_EQ(parse_pass_list("default").size(), registered_passes().size());
}

TEST(Pipeline, RejectsUnknownPasses) {
  try {
    parse_pass_list("cse,fold_everything");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown pass 'fold_everything'"));
    EXPECT_THAT(e.what(), HasSubstr("canonicalize, fold_constants"));
  }
}

TEST(Pipeline, RejectsEmptyNames) {
  for (const char* list : {"", "cse,,dce", "cse,"}) {
    try {
      parse_pass_list(list);
      FAIL() << "no error for '" << list << "'";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("empty pass name"));
    }
  }
}

TEST(Pipeline, SimplifiesToAFixedPoint) {
  // (x * 1 + y * 1) - (y + x) on integers: mul_one, then canonical order makes both sums
  // x + y, cse merges them, sub_self_int gives 0, dce removes the rest: the result is a
  // zero constant. That takes more than one round.
  const Type I32{DType::I32, {3}};
  Expr x = param("x", I32), y = param("y", I32);
  Expr e = (x * splat(I32, 1) + y * splat(I32, 1)) - (y + x);
  ir::Graph before = graph_of({e});
  ir::Graph after = before;
  PassOptions o;
  o.verify_each = true;
  PassReport report = optimize_graph(after, o);
  EXPECT_GT(report.rounds, 1);
  EXPECT_FALSE(report.runs.back().changed);
  EXPECT_TRUE(same_expr(after.results[0], full(I32, 0).node)) << ir::print_graph(after);
  EXPECT_LE(after.nodes.size(), 2u) << ir::print_graph(after);
  EXPECT_TRUE(same_results(before, after));
}

}  // namespace
}  // namespace kiln::passes
