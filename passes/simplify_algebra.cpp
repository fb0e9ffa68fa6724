// simplify_algebra: the rule table and the pass that applies it (see simplify_algebra.h).
// To add a rule: one row below, with `why` saying what makes it exact, and one line in
// tests/passes/simplify_algebra_test.cpp (a test fails for a rule that has none).
#include "passes/simplify_algebra.h"

#include <deque>
#include <string>
#include <vector>

#include "passes/rewriter.h"
#include "passes/statistic.h"

namespace kiln::passes {

namespace {

using namespace pattern;
using ir::OpKind;

// Conditions on the bindings. x is variable 0 throughout the table, c the condition of a
// select.
DType x_dtype(const Match& m) { return m.var(0).type.dtype; }
bool any(const Match&) { return true; }
bool integer(const Match& m) { return is_integer(x_dtype(m)); }
bool floating(const Match& m) { return is_floating(x_dtype(m)); }
bool real(const Match& m) { return is_integer(x_dtype(m)) || is_floating(x_dtype(m)); }
bool int_or_bool(const Match& m) { return is_integer(x_dtype(m)) || is_bool(x_dtype(m)); }
bool boolean(const Match& m) { return is_bool(x_dtype(m)); }
bool bool_condition(const Match& m) { return is_bool(m.var(2).type.dtype); }

// Whether every value of dtype `from` converts to `to` exactly (and so back again).
bool cast_is_exact(DType from, DType to) {
  if (from == to || from == DType::Bool) return true;
  switch (from) {
    case DType::I8:
    case DType::U8:  // |x| <= 255 fits the 8 significand bits of bf16 and 11 of f16
      return to != DType::Bool && to != DType::I8 && to != DType::U8;
    case DType::I32: return to == DType::I64 || to == DType::F64;
    case DType::F16:
    case DType::BF16: return to == DType::F32 || to == DType::F64 || to == DType::C64;
    case DType::F32: return to == DType::F64 || to == DType::C64;
    default: return false;
  }
}

// cast(cast(x)): the dtypes of x, of the inner cast, and of the root.
struct CastChain {
  DType x, mid, out;
};
CastChain cast_chain(const Match& m) {
  return {x_dtype(m), m.root->operands[0]->type.dtype, m.root->type.dtype};
}
bool widening_round_trip(const Match& m) {
  CastChain c = cast_chain(m);
  return c.out == c.x && cast_is_exact(c.x, c.mid);
}
bool both_casts_exact(const Match& m) {
  CastChain c = cast_chain(m);
  return cast_is_exact(c.x, c.mid) && cast_is_exact(c.x, c.out);
}

const Pattern x = var(0), y = var(1), c = var(2);
const Pattern zero = constant("0", [](const SplatValue& v) { return v.is_zero(); });
const Pattern pos_zero = constant("+0.0", [](const SplatValue& v) { return v.is_positive_zero(); });
const Pattern neg_zero = constant("-0.0", [](const SplatValue& v) { return v.is_negative_zero(); });
const Pattern one = constant("1", [](const SplatValue& v) { return v.is_one(); });
const Pattern minus_one = constant("-1", [](const SplatValue& v) { return v.is_minus_one(); });
const Pattern two = constant("2", [](const SplatValue& v) { return v.is_floating_two(); });
const Pattern all_ones = constant("~0", [](const SplatValue& v) { return v.is_all_ones(); });
const Pattern true_ =
    constant("true", [](const SplatValue& v) { return v.dtype == DType::Bool && v.integer == 1; });
const Pattern false_ =
    constant("false", [](const SplatValue& v) { return v.dtype == DType::Bool && v.integer == 0; });

Pattern un(OpKind k, const Pattern& a) { return op(k, a); }
Pattern bin(OpKind k, const Pattern& a, const Pattern& b) { return op(k, a, b); }

// clang-format off
const std::vector<AlgebraRule> kRules = {
  // Additive identities.
  {"add_zero_int", x + zero, x, integer, "integers have a single zero"},
  {"add_neg_zero", x + neg_zero, x, floating,
   "x + -0 is x for every x, +0 too (+0 + -0 is +0); x + +0 is not, as -0 + +0 is +0"},
  {"sub_zero_int", x - zero, x, integer, "integers have a single zero"},
  {"sub_pos_zero", x - pos_zero, x, floating, "x - +0 is x + -0, which is x (above)"},
  {"sub_self_int", x - x, splat(0), integer, "for floats inf - inf and NaN - NaN are NaN"},
  {"add_neg", x + (-y), x - y, any,
   "IEEE 754 defines x - y as x + (-y), exactly; integers wrap alike"},
  {"sub_neg", x - (-y), x + y, any, "x - (-y) is x + (-(-y)), and negation is exact"},
  {"neg_neg", -(-x), x, any, "negation flips the sign bit (floats) or wraps (integers)"},

  // Multiplicative identities.
  {"mul_one", x * one, x, real,
   "x * 1 is x exactly; not for complex, where (a+bi)(1+0i) has a 0*b term, NaN for b = inf"},
  {"mul_minus_one", x * minus_one, -x, real,
   "x * -1 flips the sign exactly, as neg does; integers wrap alike"},
  {"mul_zero_int", x * as(zero, y), y, integer,
   "only integers: inf * 0 and NaN * 0 are NaN, and -1.0 * 0 is -0"},
  {"mul_neg_neg", (-x) * (-y), x * y, real, "the sign rule; the magnitude rounds the same"},
  {"div_one", x / one, x, real, "x / 1 is x exactly; integer floor division by 1 too"},
  {"pow_one", bin(OpKind::Pow, x, one), x, real,
   "the exact result x is representable, so a correctly rounded pow returns it"},
  {"pow_zero", bin(OpKind::Pow, x, zero), splat(1), real,
   "pow(x, +-0) is 1 for every x, NaN included (C Annex F); integer x^0 is 1, 0^0 too"},
  {"pow_two", bin(OpKind::Pow, x, two), x * x, floating,
   "x * x is the correctly rounded square, as a correctly rounded pow(x, 2) is; for every "
   "x, infinities, signed zeros and NaN included (C Annex F: pow(-inf, 2) is +inf). A "
   "layer norm's variance squares every element: a libm call each before"},

  // Bitwise and logical identities, for bool and integers.
  {"and_self", bin(OpKind::And, x, x), x, int_or_bool, "x & x is x bit by bit"},
  {"or_self", bin(OpKind::Or, x, x), x, int_or_bool, "x | x is x bit by bit"},
  {"xor_self", bin(OpKind::Xor, x, x), splat(0), int_or_bool, "x ^ x is 0 bit by bit"},
  {"and_all_ones", bin(OpKind::And, x, all_ones), x, int_or_bool, "x & ~0 is x"},
  {"and_zero", bin(OpKind::And, x, as(zero, y)), y, int_or_bool, "x & 0 is 0"},
  {"or_zero", bin(OpKind::Or, x, zero), x, int_or_bool, "x | 0 is x"},
  {"or_all_ones", bin(OpKind::Or, x, as(all_ones, y)), y, int_or_bool, "x | ~0 is ~0"},
  {"xor_zero", bin(OpKind::Xor, x, zero), x, int_or_bool, "x ^ 0 is x"},
  {"not_not", un(OpKind::Not, un(OpKind::Not, x)), x, boolean,
   "only bool: not of an integer is a bool (x == 0), so twice is x != 0"},
  {"not_eq", un(OpKind::Not, bin(OpKind::Eq, x, y)), bin(OpKind::Ne, x, y), any,
   "ne is the negation of eq, NaN included (eq is false, ne true); not so lt and ge"},
  {"not_ne", un(OpKind::Not, bin(OpKind::Ne, x, y)), bin(OpKind::Eq, x, y), any,
   "the same identity read backwards"},

  // Comparisons of a value with itself: only for integers and bool, as NaN != NaN.
  {"eq_self_int", bin(OpKind::Eq, x, x), splat(1), int_or_bool, "x == x unless x is NaN"},
  {"ne_self_int", bin(OpKind::Ne, x, x), splat(0), int_or_bool, "x != x only for NaN"},
  {"le_self_int", bin(OpKind::Le, x, x), splat(1), int_or_bool, "x <= x unless x is NaN"},
  {"ge_self_int", bin(OpKind::Ge, x, x), splat(1), int_or_bool, "x >= x unless x is NaN"},
  {"lt_self_int", bin(OpKind::Lt, x, x), splat(0), int_or_bool, "x < x never holds"},
  {"gt_self_int", bin(OpKind::Gt, x, x), splat(0), int_or_bool, "x > x never holds"},
  {"max_self", bin(OpKind::Max, x, x), x, any, "max(x, x) is x, NaN included"},
  {"min_self", bin(OpKind::Min, x, x), x, any, "min(x, x) is x, NaN included"},

  // select.
  {"select_same", op(OpKind::Select, c, x, x), x, any, "both branches are the same value"},
  {"select_true", op(OpKind::Select, true_, x, y), x, any, "the condition is always true"},
  {"select_false", op(OpKind::Select, false_, x, y), y, any, "the condition is always false"},
  {"select_not", op(OpKind::Select, un(OpKind::Not, c), x, y), op(OpKind::Select, c, y, x),
   bool_condition, "swapping the branches negates the condition; only for a bool c, as "
   "not of an integer is c == 0"},

  // Idempotent unary ops: their result is a fixed point.
  {"abs_abs", un(OpKind::Abs, as(un(OpKind::Abs, x), y)), y, any,
   "abs(x) is non-negative or NaN (a real dtype even for complex x), which abs keeps"},
  {"abs_neg", un(OpKind::Abs, -x), un(OpKind::Abs, x), any,
   "abs ignores the sign (for complex, hypot(-a, -b) is hypot(a, b))"},
  {"sign_sign", un(OpKind::Sign, as(un(OpKind::Sign, x), y)), y, real,
   "sign(x) is -1, 0, 1 or NaN, each its own sign"},
  {"floor_floor", un(OpKind::Floor, as(un(OpKind::Floor, x), y)), y, floating,
   "floor(x) is integral (or inf, NaN), which floor keeps"},
  {"ceil_ceil", un(OpKind::Ceil, as(un(OpKind::Ceil, x), y)), y, floating,
   "ceil(x) is integral (or inf, NaN), which ceil keeps"},
  {"round_round", un(OpKind::Round, as(un(OpKind::Round, x), y)), y, floating,
   "round(x) is integral (or inf, NaN), which round keeps"},
  {"floor_int", un(OpKind::Floor, x), x, integer, "an integer is integral already"},
  {"ceil_int", un(OpKind::Ceil, x), x, integer, "an integer is integral already"},
  {"round_int", un(OpKind::Round, x), x, integer, "an integer is integral already"},

  // Casts.
  {"cast_round_trip", un(OpKind::Cast, un(OpKind::Cast, x)), x, widening_round_trip,
   "the inner cast holds every value of x's dtype exactly, and the outer one returns it"},
  {"cast_cast", un(OpKind::Cast, un(OpKind::Cast, x)), un(OpKind::Cast, x), both_casts_exact,
   "both dtypes hold every value of x's dtype exactly, so either way gives x's value"},
};
// clang-format on

// The rules by root op, and one counter per rule.
struct RuleIndex {
  std::vector<std::vector<const AlgebraRule*>> by_op;
  std::deque<std::string> descriptions;
  std::deque<Statistic> counters;
  std::vector<Statistic*> counter_of;  // parallel to kRules

  RuleIndex() : by_op(ir::all_ops().size()) {
    for (const AlgebraRule& r : kRules) {
      by_op[static_cast<size_t>(r.from.op)].push_back(&r);
      descriptions.push_back("rewrites by " + std::string(r.name));
      counter_of.push_back(&counters.emplace_back("simplify_algebra", descriptions.back()));
    }
  }
};

const RuleIndex& rule_index() {
  static const RuleIndex index;
  return index;
}

ir::NodePtr apply_rules(const ir::NodePtr& node, const GraphRewriter&) {
  const RuleIndex& index = rule_index();
  for (const AlgebraRule* rule : index.by_op[static_cast<size_t>(node->op)]) {
    Match m;
    m.root = node.get();
    if (!match(rule->from, node, m) || !rule->when(m)) continue;
    ++*index.counter_of[static_cast<size_t>(rule - kRules.data())];
    return build(rule->to, m);
  }
  return nullptr;
}

}  // namespace

std::span<const AlgebraRule> algebra_rules() { return kRules; }

bool simplify_algebra(ir::Graph& graph) {
  return GraphRewriter::rewrite(graph, "simplify_algebra", apply_rules);
}

}  // namespace kiln::passes
