// The pass manager: order, verification (entry, after each pass, exit), printing the IR
// after passes, statistics, timing and repetition to a fixed point.
#include "passes/pass_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "expr.h"
#include "ir/error.h"

namespace kiln::passes {
namespace {

using testing::Expr;
using ::testing::HasSubstr;

const Type F32{DType::F32, {4}};

// x + y, a graph every test starts from.
ir::Graph small_graph() {
  Expr x = testing::param("x", F32), y = testing::param("y", F32);
  return testing::graph_of({x + y});
}

PassOptions quiet_options(std::ostream* out = nullptr) {
  PassOptions o;
  o.verify_each = true;
  o.ir_stream = out;
  return o;
}

Pass unchanged(const std::string& name, std::vector<std::string>* log = nullptr) {
  return {name, [=](ir::Graph&) {
            if (log) log->push_back(name);
            return false;
          }};
}

// Swaps the add's operands: a real change that keeps the graph valid.
Pass swapper(const std::string& name) {
  return {name, [](ir::Graph& g) {
            auto& n = g.nodes.back();
            n = ir::make_node(n->op, {n->operands[1], n->operands[0]}, {}, n->type);
            g.results = {n};
            return true;
          }};
}

// Gives the add a wrong type: the verifier must catch it.
Pass breaker() {
  return {"breaker", [](ir::Graph& g) {
            auto& n = g.nodes.back();
            n = ir::make_node(n->op, n->operands, {}, Type{DType::F32, {5}});
            g.results = {n};
            return true;
          }};
}

TEST(PassManager, RunsPassesInOrder) {
  std::vector<std::string> log;
  PassManager pm(quiet_options());
  pm.add(unchanged("a", &log)).add(unchanged("b", &log)).add(unchanged("c", &log));
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(report.runs.size(), 3u);
  EXPECT_EQ(report.runs[1].name, "b");
  EXPECT_FALSE(report.changed);
  EXPECT_EQ(report.rounds, 1);
}

TEST(PassManager, ReportsWhichPassChangedTheGraph) {
  PassManager pm(quiet_options());
  pm.add(unchanged("a")).add(swapper("swap"));
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  EXPECT_FALSE(report.runs[0].changed);
  EXPECT_TRUE(report.runs[1].changed);
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(report.str(), HasSubstr("swap"));
}

TEST(PassManager, RejectsAnInvalidInput) {
  ir::Graph g = small_graph();
  g.results = {ir::make_node(ir::OpKind::Neg, {g.params[0]}, {}, F32)};  // not in the body
  PassManager pm(quiet_options());
  try {
    pm.run(g);
    FAIL() << "no error";
  } catch (const VerifyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the pass pipeline's input does not verify"));
  }
}

TEST(PassManager, BlamesThePassThatBrokeTheGraph) {
  PassManager pm(quiet_options());
  pm.add(unchanged("a")).add(breaker()).add(unchanged("c"));
  ir::Graph g = small_graph();
  try {
    pm.run(g);
    FAIL() << "no error";
  } catch (const VerifyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("after pass 'breaker'"));
    EXPECT_THAT(e.what(), HasSubstr("add"));
  }
}

TEST(PassManager, ChecksTheOutputEvenWithoutVerifyEach) {
  PassOptions o = quiet_options();
  o.verify_each = false;
  PassManager pm(o);
  pm.add(breaker()).add(unchanged("c"));
  ir::Graph g = small_graph();
  try {
    pm.run(g);
    FAIL() << "no error";
  } catch (const VerifyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the pass pipeline's output does not verify"));
  }
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string printed_ir(const std::string& print_after) {
  std::ostringstream out;
  PassOptions o = quiet_options(&out);
  o.print_ir_after = PrintIrAfter::parse(print_after);
  PassManager pm(o);
  pm.add(unchanged("a")).add(swapper("swap")).add(unchanged("c"));
  ir::Graph g = small_graph();
  pm.run(g);
  return out.str();
}

TEST(PassManager, PrintsIrAfterEveryPass) {
  std::string out = printed_ir("all");
  EXPECT_EQ(count(out, "// IR after "), 3);
  EXPECT_EQ(count(out, "func @main("), 3);
  EXPECT_THAT(out, HasSubstr("// IR after swap (round 1, changed)\nfunc @main("));
}

TEST(PassManager, PrintsIrAfterChangesOnly) {
  std::string out = printed_ir("change");
  EXPECT_EQ(count(out, "// IR after "), 1);
  EXPECT_THAT(out, HasSubstr("// IR after swap"));
}

TEST(PassManager, PrintsIrAfterNamedPasses) {
  std::string out = printed_ir("c,a");
  EXPECT_EQ(count(out, "// IR after "), 2);
  EXPECT_THAT(out, HasSubstr("// IR after a (round 1, unchanged)"));
  EXPECT_THAT(out, HasSubstr("// IR after c (round 1, unchanged)"));
  EXPECT_EQ(printed_ir(""), "");
}

TEST(PassManager, ParsesPrintIrAfter) {
  EXPECT_EQ(PrintIrAfter::parse("").mode, PrintIrAfter::Mode::None);
  EXPECT_EQ(PrintIrAfter::parse("all").mode, PrintIrAfter::Mode::All);
  EXPECT_EQ(PrintIrAfter::parse("change").mode, PrintIrAfter::Mode::Change);
  PrintIrAfter named = PrintIrAfter::parse("cse,,dce");
  EXPECT_EQ(named.mode, PrintIrAfter::Mode::Named);
  EXPECT_EQ(named.names, (std::vector<std::string>{"cse", "dce"}));
  EXPECT_TRUE(named.wants("dce", false));
  EXPECT_FALSE(named.wants("canonicalize", true));
}

TEST(PassManager, ReadsOptionsFromTheEnvironment) {
  setenv("KILN_PRINT_IR_AFTER", "change", 1);
  setenv("KILN_VERIFY_EACH", "0", 1);
  PassOptions o = PassOptions::from_env();
  EXPECT_EQ(o.print_ir_after.mode, PrintIrAfter::Mode::Change);
  EXPECT_FALSE(o.verify_each);
  setenv("KILN_VERIFY_EACH", "1", 1);
  EXPECT_TRUE(PassOptions::from_env().verify_each);
  unsetenv("KILN_PRINT_IR_AFTER");
  unsetenv("KILN_VERIFY_EACH");
  EXPECT_EQ(PassOptions::from_env().print_ir_after.mode, PrintIrAfter::Mode::None);
  EXPECT_EQ(PassOptions::from_env().verify_each, kVerifyEachByDefault);
}

Statistic test_things("counting", "things counted");

TEST(PassManager, CollectsEachPassStatistics) {
  PassManager pm(quiet_options());
  pm.add({"counting", [](ir::Graph&) {
            test_things += 3;
            ++test_things;
            return false;
          }});
  pm.add(unchanged("other"));
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  ASSERT_EQ(report.runs[0].statistics.size(), 1u);
  EXPECT_EQ(report.runs[0].statistics[0].count, 4);
  EXPECT_EQ(report.runs[0].statistics[0].str(), "counting: 4 things counted");
  EXPECT_TRUE(report.runs[1].statistics.empty());
  EXPECT_THAT(report.str(), HasSubstr("4 things counted"));
}

TEST(PassManager, TimesEachPass) {
  PassManager pm(quiet_options());
  pm.add(unchanged("a")).add(swapper("b"));
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  double sum = 0;
  for (const PassRun& r : report.runs) {
    EXPECT_GE(r.ms, 0.0);
    sum += r.ms;
  }
  EXPECT_DOUBLE_EQ(report.total_ms, sum);
}

TEST(PassManager, RepeatsUntilARoundChangesNothing) {
  int remaining = 2;  // the pass changes the graph twice, then settles
  PassOptions o = quiet_options();
  o.max_rounds = 10;
  PassManager pm(o);
  pm.add({"settling", [&](ir::Graph&) { return remaining-- > 0; }});
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  EXPECT_EQ(report.rounds, 3);
  EXPECT_EQ(report.runs.back().round, 3);
  EXPECT_FALSE(report.runs.back().changed);
}

TEST(PassManager, StopsAtTheRoundLimit) {
  PassOptions o = quiet_options();
  o.max_rounds = 3;
  PassManager pm(o);
  pm.add(swapper("forever"));
  ir::Graph g = small_graph();
  PassReport report = pm.run(g);
  EXPECT_EQ(report.rounds, 3);
  EXPECT_EQ(report.runs.size(), 3u);
}

}  // namespace
}  // namespace kiln::passes
