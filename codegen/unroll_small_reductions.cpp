// unroll_small_reductions: sums over a few iterations as expressions (see the header).
#include "codegen/unroll_small_reductions.h"

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

bool unrollable(const Stage& st) {
  if (st.kind != StageKind::Reduce || st.op != ReduceOp::Sum || !is_floating(st.acc_dtype) ||
      !st.stores.empty() || st.sequential || st.pairwise_block != 0 || st.loops.empty())
    return false;
  for (const Loop& l : st.loops)
    if (l.begin || l.end) return false;
  const int64_t terms = loop_product(st.loops);
  return terms >= 1 && terms <= kMaxUnrolledTerms;
}

// The stage's value at every iteration of its loops, added in loop order.
ExprPtr written_out(const Stage& st, int num_vars) {
  std::vector<ExprPtr> subst(static_cast<size_t>(num_vars));
  ExprPtr sum;
  const int64_t n = loop_product(st.loops);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i;
    for (size_t l = st.loops.size(); l-- > 0;) {
      subst[static_cast<size_t>(st.loops[l].var)] = index_const(rest % st.loops[l].extent);
      rest /= st.loops[l].extent;
    }
    ExprPtr term = substitute(st.value, subst);
    if (term->dtype != st.acc_dtype) term = cast(st.acc_dtype, term);
    sum = sum ? binary(ir::OpKind::Add, st.acc_dtype, sum, term) : term;
  }
  return sum;
}

// Rewrites the references of stages after `removed` to stage values: `removed`'s becomes
// `value`, later ones move down by one.
ExprPtr renumber(const ExprPtr& e, const Kernel& k, int removed, const ExprPtr& value) {
  ExprPtr out = replace_subexpr(e, stage_value(k.stages[removed].acc_dtype, removed), value);
  for (int s = removed + 1; s < static_cast<int>(k.stages.size()); ++s)
    if (k.stages[s].kind == StageKind::Reduce)
      out = replace_subexpr(out, stage_value(k.stages[s].acc_dtype, s),
                            stage_value(k.stages[s].acc_dtype, s - 1));
  return out;
}

}  // namespace

void unroll_small_reductions(Kernel& kernel) {
  if (kernel.groups.shape != GroupShape::Map) return;
  // Only where the result is a kernel of loop-free stores (the others gain nothing).
  bool any = false;
  for (const Stage& st : kernel.stages) {
    const bool store_only = st.kind == StageKind::Loop && st.loops.empty();
    if (!store_only && !unrollable(st)) return;
    any = any || !store_only;
  }
  if (!any) return;
  for (int s = 0; s < static_cast<int>(kernel.stages.size());) {
    if (kernel.stages[s].kind == StageKind::Loop) {
      ++s;
      continue;
    }
    const ExprPtr value = written_out(kernel.stages[s], kernel.num_vars);
    for (int later = s + 1; later < static_cast<int>(kernel.stages.size()); ++later) {
      Stage& st = kernel.stages[later];
      auto fix = [&](ExprPtr& e) {
        if (e) e = renumber(e, kernel, s, value);
      };
      fix(st.value);
      for (Store& store : st.stores) {
        fix(store.index);
        fix(store.value);
        fix(store.guard);
      }
    }
    kernel.stages.erase(kernel.stages.begin() + s);
  }
}

}  // namespace kiln::codegen
