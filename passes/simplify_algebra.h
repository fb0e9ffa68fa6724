// simplify_algebra: algebraic identities from a declarative rule table
// (simplify_algebra.cpp), such as x * 1 -> x, select(c, x, x) -> x, not(not(x)) -> x.
//
// Every rule is exact: for every input, NaN and infinities and signed zeros included, the
// rewritten value equals the original bit for bit (up to a NaN's payload). Float identities
// that only hold "numerically" are left out or restricted, each with its reason in the
// table: x + 0 -> x holds only for x + -0 (since -0 + +0 is +0), x * 0 -> 0 only for
// integers (inf * 0 is NaN), x - x -> 0 only for integers, exp(log(x)) never.
// Requires a verified graph; constants as the second operand of commutative ops are
// matched either way, so canonicalize need not run first. Chains of views are fold_views'.
// Tests: tests/passes/simplify_algebra_test.cpp (one line per rule) and
// tests/ir/simplify_algebra/*.kir.
#pragma once

#include <span>
#include <string_view>

#include "ir/graph.h"
#include "passes/pattern.h"

namespace kiln::passes {

bool simplify_algebra(ir::Graph& graph);

// One identity: a node matching `from` whose bindings pass `when` becomes `to`.
struct AlgebraRule {
  std::string_view name;  // counted as "simplify_algebra: N rewrites by <name>"
  pattern::Pattern from;
  pattern::Pattern to;
  bool (*when)(const pattern::Match&);
  std::string_view why;  // why the rewrite is exact under `when`
};

// The table, in the order rules are tried.
std::span<const AlgebraRule> algebra_rules();

}  // namespace kiln::passes
