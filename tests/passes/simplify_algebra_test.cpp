// One line per rule of the algebraic rule table (passes/simplify_algebra.cpp): the input,
// and what it must become. Each line also checks that the named rule is the one that
// fired, and that the values are unchanged, bit for bit, on random inputs full of NaN,
// infinities and signed zeros. A second table lists look-alikes that must stay as they
// are, each for the reason the rule table gives.
#include "passes/simplify_algebra.h"

#include <gtest/gtest.h>

#include <set>

#include "expr.h"
#include "ir/printer.h"
#include "pass_test_util.h"
#include "passes/dce.h"
#include "passes/statistic.h"

namespace kiln::passes {
namespace {

using namespace testing;
using ir::OpKind;

const Type F32{DType::F32, {5}}, F16{DType::F16, {5}}, I32{DType::I32, {5}}, I8{DType::I8, {5}},
    U8{DType::U8, {5}}, BOOL{DType::Bool, {5}}, C64{DType::C64, {5}};

const Expr x = param("x", F32), y = param("y", F32);
const Expr i = param("i", I32), j = param("j", I32);
const Expr h = param("h", F16), b = param("b", I8), u = param("u", U8);
const Expr p = param("p", BOOL), q = param("q", BOOL), z = param("z", C64);

Expr f(double v) { return full(F32, v); }
Expr n(double v) { return full(I32, v); }
Expr t(bool v) { return full(BOOL, v); }
Expr un(OpKind op, Expr a) { return unary(op, a); }
Expr bin(OpKind op, Expr a, Expr b) { return binary(op, a, b); }
Expr cmp(OpKind op, Expr a, Expr b) { return compare(op, a, b); }
Expr not_(Expr a) { return unary(OpKind::Not, a, DType::Bool); }

struct RuleCase {
  const char* rule;
  Expr input;
  Expr expected;
};

// clang-format off
const RuleCase kRuleCases[] = {
  {"add_zero_int",    i + n(0),                         i},
  {"add_neg_zero",    x + f(-0.0),                      x},
  {"sub_zero_int",    i - n(0),                         i},
  {"sub_pos_zero",    x - f(0.0),                       x},
  {"sub_self_int",    i - i,                            n(0)},
  {"add_neg",         x + -y,                           x - y},
  {"sub_neg",         x - -y,                           x + y},
  {"neg_neg",         -(-x),                            x},
  {"mul_one",         x * f(1),                         x},
  {"mul_minus_one",   i * n(-1),                        -i},
  {"mul_zero_int",    n(0) * i,                         n(0)},
  {"mul_neg_neg",     -x * -y,                          x * y},
  {"div_one",         i / n(1),                         i},
  {"pow_one",         bin(OpKind::Pow, x, f(1)),        x},
  {"pow_zero",        bin(OpKind::Pow, x, f(0)),        f(1)},
  {"pow_two",         bin(OpKind::Pow, x, f(2)),        x * x},
  {"and_self",        bin(OpKind::And, p, p),           p},
  {"or_self",         bin(OpKind::Or, i, i),            i},
  {"xor_self",        bin(OpKind::Xor, i, i),           n(0)},
  {"and_all_ones",    bin(OpKind::And, i, n(-1)),       i},
  {"and_zero",        bin(OpKind::And, p, t(false)),    t(false)},
  {"or_zero",         bin(OpKind::Or, u, full(U8, 0)),  u},
  {"or_all_ones",     bin(OpKind::Or, u, full(U8, 255)), full(U8, 255)},
  {"xor_zero",        bin(OpKind::Xor, p, t(false)),    p},
  {"not_not",         not_(not_(p)),                    p},
  {"not_eq",          not_(cmp(OpKind::Eq, x, y)),      cmp(OpKind::Ne, x, y)},
  {"not_ne",          not_(cmp(OpKind::Ne, x, y)),      cmp(OpKind::Eq, x, y)},
  {"eq_self_int",     cmp(OpKind::Eq, i, i),            t(true)},
  {"ne_self_int",     cmp(OpKind::Ne, p, p),            t(false)},
  {"le_self_int",     cmp(OpKind::Le, i, i),            t(true)},
  {"ge_self_int",     cmp(OpKind::Ge, i, i),            t(true)},
  {"lt_self_int",     cmp(OpKind::Lt, i, i),            t(false)},
  {"gt_self_int",     cmp(OpKind::Gt, i, i),            t(false)},
  {"max_self",        bin(OpKind::Max, x, x),           x},
  {"min_self",        bin(OpKind::Min, x, x),           x},
  {"select_same",     select(p, x, x),                  x},
  {"select_true",     select(t(true), x, y),            x},
  {"select_false",    select(t(false), x, y),           y},
  {"select_not",      select(not_(p), x, y),            select(p, y, x)},
  {"abs_abs",         un(OpKind::Abs, un(OpKind::Abs, x)), un(OpKind::Abs, x)},
  {"abs_neg",         un(OpKind::Abs, -x),              un(OpKind::Abs, x)},
  {"sign_sign",       un(OpKind::Sign, un(OpKind::Sign, x)), un(OpKind::Sign, x)},
  {"floor_floor",     un(OpKind::Floor, un(OpKind::Floor, x)), un(OpKind::Floor, x)},
  {"ceil_ceil",       un(OpKind::Ceil, un(OpKind::Ceil, x)), un(OpKind::Ceil, x)},
  {"round_round",     un(OpKind::Round, un(OpKind::Round, x)), un(OpKind::Round, x)},
  {"floor_int",       un(OpKind::Floor, i),             i},
  {"ceil_int",        un(OpKind::Ceil, i),              i},
  {"round_int",       un(OpKind::Round, i),             i},
  {"cast_round_trip", cast(cast(h, DType::F32), DType::F16), h},
  {"cast_cast",       cast(cast(b, DType::I32), DType::F32), cast(b, DType::F32)},
};

// Look-alikes that no rule may touch.
const std::pair<const char*, Expr> kUnchanged[] = {
  {"x + +0 turns -0 into +0",           x + f(0.0)},
  {"x - -0 turns -0 into +0",           x - f(-0.0)},
  {"float x * 0 is NaN for inf, NaN",   x * f(0)},
  {"float x - x is NaN for inf, NaN",   x - x},
  {"float x == x is false for NaN",     cmp(OpKind::Eq, x, x)},
  {"float x <= x is false for NaN",     cmp(OpKind::Le, x, x)},
  {"complex z * 1 has a 0 * inf term",  z * full(C64, 1)},
  {"not(not(int)) is int != 0",         not_(not_(i))},
  {"f32 -> f16 -> f32 rounds",          cast(cast(x, DType::F16), DType::F32)},
  {"i32 -> f32 -> i32 rounds",          cast(cast(i, DType::F32), DType::I32)},
  {"u8 -> i8 -> u8 wraps",              cast(cast(u, DType::I8), DType::U8)},
  {"i8 -> i32 -> u8 is not exact",      cast(cast(b, DType::I32), DType::U8)},
  {"float max(x, y) is not max(x, x)",  bin(OpKind::Max, x, y)},
  {"x / x is NaN for 0, inf",           x / x},
  {"floor of a float",                  un(OpKind::Floor, x)},
  {"integer pow keeps its own rules",   bin(OpKind::Pow, i, n(2))},
  {"pow(x, 0.5) is NaN for -inf",       bin(OpKind::Pow, x, f(0.5))},
};
// clang-format on

// The rule table's counters bumped while `graph` was simplified.
std::set<std::string> rules_fired(ir::Graph& graph) {
  StatisticScope scope;
  simplify_algebra(graph);
  std::set<std::string> fired;
  for (const StatisticCount& c : scope.counts())
    fired.insert(c.description.substr(std::string("rewrites by ").size()));
  return fired;
}

TEST(SimplifyAlgebra, EveryRuleRewritesItsExample) {
  for (const RuleCase& c : kRuleCases) {
    SCOPED_TRACE(c.rule);
    ir::Graph before = graph_of({c.input});
    ir::Graph after = before;
    std::set<std::string> fired = rules_fired(after);
    EXPECT_TRUE(fired.count(c.rule)) << "the rule did not fire";
    dce(after);
    EXPECT_TRUE(same_expr(after.results[0], c.expected.node))
        << "got:\n"
        << ir::print_graph(after) << "expected:\n"
        << ir::print_graph(graph_of({c.expected}));
    EXPECT_TRUE(same_results(before, after, 16));
  }
}

TEST(SimplifyAlgebra, LookAlikesStayUnchanged) {
  for (const auto& [why, input] : kUnchanged) {
    SCOPED_TRACE(why);
    ir::Graph graph = graph_of({input});
    std::string text = ir::print_graph(graph);
    EXPECT_TRUE(rules_fired(graph).empty());
    EXPECT_EQ(text, ir::print_graph(graph));
  }
}

TEST(SimplifyAlgebra, EveryRuleHasATestLine) {
  std::set<std::string> tested;
  for (const RuleCase& c : kRuleCases) tested.insert(c.rule);
  for (const AlgebraRule& r : algebra_rules())
    EXPECT_TRUE(tested.count(std::string(r.name))) << r.name << " has no line in kRuleCases";
  EXPECT_EQ(tested.size(), std::size(kRuleCases)) << "two lines test the same rule";
}

TEST(SimplifyAlgebra, RuleNamesAreUniqueAndExplained) {
  std::set<std::string_view> names;
  for (const AlgebraRule& r : algebra_rules()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name << " appears twice";
    EXPECT_FALSE(r.why.empty()) << r.name << " does not say why it is exact";
  }
}

TEST(SimplifyAlgebra, MatchesConstantsSpelledAsBroadcasts) {
  // The frontend spells scalars as broadcast(constant [1]); rules see through that.
  ir::Graph graph = graph_of({x * splat(F32, 1.0)});
  simplify_algebra(graph);
  EXPECT_EQ(graph.results[0], x.node);
}

TEST(SimplifyAlgebra, RewritesCompose) {
  // -(-(x + -0.0)) * 1: three rules, one walk.
  ir::Graph graph = graph_of({-(-(x + f(-0.0))) * f(1)});
  simplify_algebra(graph);
  EXPECT_EQ(graph.results[0], x.node);
}

}  // namespace
}  // namespace kiln::passes
