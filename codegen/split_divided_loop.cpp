// split_divided_loop: the last outer loop split where indices divide it (see the header).
#include "codegen/split_divided_loop.h"

#include <functional>
#include <unordered_set>

namespace kiln::codegen {

namespace {

// The divisors d of `v` that `e` reads as v / d or v % d.
void divisors_of(const ExprPtr& e, int v, std::unordered_set<const Expr*>& seen,
                 std::vector<int64_t>& out) {
  if (!e || !seen.insert(e.get()).second) return;
  if ((e->kind == ExprKind::IndexDiv || e->kind == ExprKind::IndexMod) &&
      e->args[0]->kind == ExprKind::Var && e->args[0]->slot == v && e->ival > 1)
    out.push_back(e->ival);
  for (const ExprPtr& a : e->args) divisors_of(a, v, seen, out);
}

// Every expression of `k`'s stages, rewritten by `f` in place (or just visited).
void each_expr(Kernel& k, const std::function<void(ExprPtr&)>& f) {
  for (Stage& st : k.stages) {
    for (Loop& l : st.loops) {
      if (l.begin) f(l.begin);
      if (l.end) f(l.end);
    }
    if (st.value) f(st.value);
    if (st.position) f(st.position);
    for (Store& s : st.stores) {
      f(s.index);
      f(s.value);
      if (s.guard) f(s.guard);
    }
  }
}

}  // namespace

bool split_divided_loop(Kernel& kernel, const LowerOptions& options) {
  if (!options.split_divided_loops || kernel.outer.empty()) return false;
  for (const Stage& st : kernel.stages)
    if (st.kind != StageKind::Loop) return false;
  const Loop last = kernel.outer.back();
  if (last.begin || last.end) return false;  // a chunk of a loop: not a whole range to split
  const int64_t lanes = std::max(options.vector_lanes, 1);
  std::vector<int64_t> found;
  std::unordered_set<const Expr*> seen;
  each_expr(kernel, [&](ExprPtr& e) { divisors_of(e, last.var, seen, found); });
  int64_t d = 0;
  for (int64_t f : found)
    if (f < last.extent && last.extent % f == 0 && f >= lanes && f % lanes == 0 &&
        (d == 0 || f < d))
      d = f;
  if (d == 0) return false;
  const int hi = kernel.num_vars++, lo = kernel.num_vars++;
  std::vector<ExprPtr> subst(static_cast<size_t>(kernel.num_vars));
  subst[static_cast<size_t>(last.var)] = iadd(imul(var(hi, last.extent / d), d), var(lo, d));
  each_expr(kernel, [&](ExprPtr& e) { e = substitute(e, subst); });
  kernel.outer.back() = Loop{hi, last.extent / d, nullptr, nullptr};
  kernel.outer.push_back(Loop{lo, d, nullptr, nullptr});
  return true;
}

}  // namespace kiln::codegen
