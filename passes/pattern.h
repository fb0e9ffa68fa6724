// Patterns over IR values: the two sides of the algebraic rule table in
// simplify_algebra.cpp, written the way the rules read, `rewrite(x + neg_zero, x)`.
//
// A pattern is a small tree of
//  - variables (x, y, c): match any value; a variable used twice must bind one value;
//  - constant tests (zero, one, ...): match a splat constant (passes/constants.h) whose
//    value passes the test;
//  - ops with operand patterns: match a node of that op; commutative ops (op_traits.h)
//    also try their operands swapped, so `x + zero` matches 0 + x.
// `as(p, y)` matches p and also binds what it matched to y, so that the replacement can
// reuse a matched constant or inner node instead of building a copy.
// Built as a replacement, a variable stands for its value, `splat(v)` makes a constant of
// the matched root's type, and an op makes a node of the root's type (so a replacement op
// must take no attributes and have the root's type, which the table's rules keep).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "ir/node.h"
#include "passes/constants.h"

namespace kiln::passes::pattern {

struct Pattern {
  enum class Kind { Var, Constant, Op, Splat };
  Kind kind = Kind::Var;
  int var = 0;                                // Var
  const char* name = "";                      // Constant: how the pattern prints
  bool (*test)(const SplatValue&) = nullptr;  // Constant
  ir::OpKind op = ir::OpKind::Parameter;      // Op
  std::vector<Pattern> operands;              // Op
  double value = 0;                           // Splat
  int bind = -1;                              // set by as(): also bind the match here
};

inline constexpr int kMaxVars = 3;

// What a successful match bound: the matched node and each variable's value.
struct Match {
  const ir::Node* root = nullptr;
  std::array<ir::NodePtr, kMaxVars> vars;
  const ir::Node& var(int i) const { return *vars.at(static_cast<size_t>(i)); }
};

// Matches `p` against `value`; on success fills `m` (its root is `value`).
bool match(const Pattern& p, const ir::NodePtr& value, Match& m);
// Builds the replacement `p` for the match `m`.
ir::NodePtr build(const Pattern& p, const Match& m);
// The pattern in the table's notation: "x + -0.0", "select(not(c), x, y)".
std::string to_string(const Pattern& p);

// Building blocks of the table.
Pattern var(int slot);
Pattern constant(const char* name, bool (*test)(const SplatValue&));
Pattern splat(double value);
Pattern as(Pattern p, const Pattern& variable);
Pattern op(ir::OpKind kind, std::vector<Pattern> operands);
template <class... P>
Pattern op(ir::OpKind kind, P... operands) {
  return op(kind, std::vector<Pattern>{operands...});
}
inline Pattern operator+(Pattern a, Pattern b) { return op(ir::OpKind::Add, a, b); }
inline Pattern operator-(Pattern a, Pattern b) { return op(ir::OpKind::Sub, a, b); }
inline Pattern operator*(Pattern a, Pattern b) { return op(ir::OpKind::Mul, a, b); }
inline Pattern operator/(Pattern a, Pattern b) { return op(ir::OpKind::Div, a, b); }
inline Pattern operator-(Pattern a) { return op(ir::OpKind::Neg, a); }

}  // namespace kiln::passes::pattern
