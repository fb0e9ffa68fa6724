// Kernel-level passes: the vectorization choice (see kernel_passes.h).
#include "codegen/kernel_passes.h"

#include <functional>
#include <unordered_set>

#include "codegen/choose_group_lanes.h"
#include "codegen/choose_group_shape.h"
#include "codegen/choose_group_size.h"
#include "codegen/choose_map_order.h"
#include "codegen/choose_outer_walk.h"
#include "codegen/choose_pairwise_sums.h"
#include "codegen/contraction.h"
#include "codegen/split_divided_loop.h"
#include "codegen/unroll_small_reductions.h"

namespace kiln::codegen {

AccessPattern access_pattern(const ExprPtr& index, int vector_var) {
  Stride s = stride_along(index, vector_var);
  if (!s.affine) return AccessPattern::Strided;
  if (s.stride == 0) return AccessPattern::Uniform;
  if (s.stride == 1) return AccessPattern::Contiguous;
  return AccessPattern::Strided;
}

int inner_vector_var(const Stage& stage) {
  if (stage.loops.empty() || stage.sequential || stage.kind == StageKind::Scan) return -1;
  if (stage.op == ReduceOp::ArgMax || stage.op == ReduceOp::ArgMin) {
    if (stage.kind == StageKind::Reduce) return -1;
  }
  return stage.loops.back().var;
}

int64_t loop_product(const std::vector<Loop>& loops) {
  int64_t n = 1;
  for (const Loop& l : loops) n *= l.extent;
  return n;
}

bool distributable(const Stage& st) {
  if (st.loops.empty() || st.sequential || st.kind == StageKind::Scan) return false;
  for (const Loop& l : st.loops)
    if (l.begin || l.end) return false;
  return true;
}

namespace {

// Calls `f` with the index and buffer of every memory access of `stage`: each distinct load
// once (as `store` false), then each store.
void for_each_access(const Stage& stage,
                     const std::function<void(const ExprPtr& index, bool store, int buffer)>& f) {
  std::unordered_set<const Expr*> seen;
  std::function<void(const ExprPtr&)> walk = [&](const ExprPtr& e) {
    if (!e || !seen.insert(e.get()).second) return;
    if (e->kind == ExprKind::Load) f(e->args[0], false, e->slot);
    for (const ExprPtr& a : e->args) walk(a);
  };
  walk(stage.value);
  walk(stage.position);
  for (const Store& s : stage.stores) {
    walk(s.value);
    walk(s.guard);
    walk(s.index);
  }
  for (const Store& s : stage.stores) f(s.index, true, s.buffer);
}

}  // namespace

int strided_accesses(const Stage& stage, int v, const std::function<bool(int buffer)>& counted) {
  int n = 0;
  for_each_access(stage, [&](const ExprPtr& index, bool store, int buffer) {
    if (counted && !counted(buffer)) return;
    AccessPattern p = access_pattern(index, v);
    if (store ? p != AccessPattern::Contiguous : p == AccessPattern::Strided) ++n;
  });
  return n;
}

bool past_cache(const Kernel& k, int buffer) {
  constexpr int64_t kCachedBytes = 64 * 1024;
  const BufferParam& b = k.buffers[static_cast<size_t>(buffer)];
  return b.numel * static_cast<int64_t>(dtype_size(b.dtype)) > kCachedBytes;
}

int gathers_contiguous_along(const Stage& stage, int lanes_var, int walk_var,
                             const std::function<bool(int buffer)>& counted) {
  int n = 0;
  for_each_access(stage, [&](const ExprPtr& index, bool store, int buffer) {
    if (store || !counted(buffer)) return;
    if (access_pattern(index, lanes_var) == AccessPattern::Strided &&
        access_pattern(index, walk_var) == AccessPattern::Contiguous)
      ++n;
  });
  return n;
}

bool contiguous_along(const Stage& stage, int v) {
  bool found = false;
  for_each_access(stage, [&](const ExprPtr& index, bool, int) {
    found = found || access_pattern(index, v) == AccessPattern::Contiguous;
  });
  return found;
}

void choose_vectorization(Kernel& k, const LowerOptions& options) {
  k.vector_mode = VectorMode::None;
  if (options.vector_lanes <= 1) return;
  bool outer_ok = !k.outer.empty() && k.outer.back().extent >= 2;
  for (const Stage& s : k.stages) {
    if (s.sequential) outer_ok = false;  // lanes would run a read-modify-write out of order
    for (const Loop& l : s.loops)        // loop bounds must not differ between lanes
      if (outer_ok && l.begin &&
          (l.begin->depends_on_var(k.outer.back().var) ||
           l.end->depends_on_var(k.outer.back().var)))
        outer_ok = false;
  }
  int inner_stages = 0, inner_gathers = 0;
  int64_t min_inner = INT64_MAX;
  for (const Stage& s : k.stages) {
    int v = inner_vector_var(s);
    if (v < 0) continue;
    ++inner_stages;
    inner_gathers += strided_accesses(s, v);
    min_inner = std::min(min_inner, s.loops.back().extent);
  }
  int outer_gathers = 0;
  if (outer_ok)
    for (const Stage& s : k.stages) outer_gathers += strided_accesses(s, k.outer.back().var);

  const int64_t lanes = options.vector_lanes;
  if (inner_stages > 0 && inner_gathers == 0 && min_inner >= lanes / 2) {
    k.vector_mode = VectorMode::Inner;
  } else if (outer_ok && outer_gathers == 0 &&
             (inner_stages == 0 || k.outer.back().extent >= lanes / 2)) {
    k.vector_mode = VectorMode::Outer;
  } else if (inner_stages > 0 && min_inner >= lanes / 2 &&
             (!outer_ok || inner_gathers <= outer_gathers)) {
    k.vector_mode = VectorMode::Inner;
  } else if (outer_ok) {
    k.vector_mode = VectorMode::Outer;
  } else if (inner_stages > 0) {
    k.vector_mode = VectorMode::Inner;
  }
  // Unroll while the vectorized loop is long enough: up to 4 vectors at once for inner
  // loops (independent accumulators), 8 for the outer loop of kernels with inner loops (a
  // column reduction then reads 8 contiguous vectors per row).
  k.vector_unroll = 1;
  int64_t extent = 0;
  int max_unroll = 4;
  if (k.vector_mode == VectorMode::Outer) {
    extent = k.outer.back().extent;
    for (const Stage& s : k.stages)
      if (!s.loops.empty()) max_unroll = 8;
  } else if (k.vector_mode == VectorMode::Inner) {
    extent = min_inner;
  }
  while (k.vector_unroll < max_unroll && extent >= 2 * k.vector_unroll * lanes)
    k.vector_unroll *= 2;
  // An outer loop of at most half the lanes: fewer lanes, down to 4 (7 values in 8 lanes
  // do the work of 16 in half the vector instructions).
  k.vector_narrowing = 1;
  if (k.vector_mode == VectorMode::Outer)
    while (lanes / k.vector_narrowing > 4 && 2 * extent <= lanes / k.vector_narrowing)
      k.vector_narrowing *= 2;
}

namespace {

// Work to compute `e` once, in rough units of a load.
int compute_cost(const ExprPtr& e) {
  std::unordered_set<const Expr*> seen;
  int c = 0;
  std::function<void(const Expr*)> walk = [&](const Expr* x) {
    if (!seen.insert(x).second) return;
    if ((x->kind == ExprKind::Unary || x->kind == ExprKind::Binary) && ir::is_transcendental(x->op))
      c += 8;
    if (x->kind == ExprKind::Binary && x->op == ir::OpKind::Div && is_inexact(x->dtype)) c += 2;
    for (const ExprPtr& a : x->args) walk(a.get());
  };
  walk(e.get());
  return c;
}

std::vector<ExprPtr> subexprs(const ExprPtr& e) {
  std::unordered_set<const Expr*> seen;
  std::vector<ExprPtr> out;
  std::function<void(const ExprPtr&)> walk = [&](const ExprPtr& x) {
    if (!x || !seen.insert(x.get()).second) return;
    out.push_back(x);
    for (const ExprPtr& a : x->args) walk(a);
  };
  walk(e);
  return out;
}

ExprPtr row_index(const std::vector<Loop>& loops) {
  std::vector<ExprPtr> vars;
  std::vector<int64_t> extents;
  for (const Loop& l : loops) {
    vars.push_back(var(l.var, l.extent));
    extents.push_back(l.extent);
  }
  return linear_index(vars, extents);
}

bool same_loops(const Stage& a, const Stage& b) {
  if (a.loops.size() != b.loops.size() || a.loops.empty()) return false;
  for (size_t i = 0; i < a.loops.size(); ++i)
    if (a.loops[i].extent != b.loops[i].extent || a.loops[i].begin || b.loops[i].begin)
      return false;
  return true;
}

}  // namespace

bool cache_row_values(Kernel& k, const LowerOptions& options) {
  if (options.row_cache_bytes <= 0 || k.vector_mode == VectorMode::Outer) return false;
  bool changed = false;
  for (size_t j = 0; j < k.stages.size(); ++j) {
    if (k.stages[j].kind != StageKind::Loop || k.stages[j].stores.empty()) continue;
    for (size_t i = 0; i < j; ++i) {
      Stage& r = k.stages[i];
      Stage& s = k.stages[j];
      if (r.kind != StageKind::Reduce || !same_loops(r, s)) continue;
      uint64_t r_vars = 0;
      std::vector<ExprPtr> subst(static_cast<size_t>(k.num_vars));
      for (size_t t = 0; t < r.loops.size(); ++t) {
        r_vars |= 1ull << std::min(r.loops[t].var, 63);
        subst[r.loops[t].var] = var(s.loops[t].var, s.loops[t].extent);
      }
      // Candidates: expensive values of the reduction that vary along its row, largest
      // first.
      std::vector<std::pair<int, ExprPtr>> candidates;
      for (const ExprPtr& e : subexprs(r.value))
        if ((e->var_mask & r_vars) && compute_cost(e) >= 8)
          candidates.emplace_back(compute_cost(e), e);
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      std::vector<ExprPtr> in_s;
      for (const Store& st : s.stores)
        for (const ExprPtr& e : subexprs(st.value)) in_s.push_back(e);
      int64_t numel = 1;
      for (const Loop& l : s.loops) numel *= l.extent;
      for (const auto& [cost, cand] : candidates) {
        ExprPtr mapped = substitute(cand, subst);
        bool found = false;
        for (const ExprPtr& e : in_s) found |= e->hash == mapped->hash && expr_equal(e, mapped);
        if (!found) continue;
        if (numel * static_cast<int64_t>(dtype_size(cand->dtype)) > options.row_cache_bytes) break;
        const int buf = static_cast<int>(k.buffers.size());
        k.buffers.push_back({cand->dtype, numel, true, true, true});
        r.stores.push_back({buf, row_index(r.loops), cand, nullptr});
        ExprPtr cached = load(cand->dtype, buf, row_index(s.loops));
        for (Store& st : s.stores) st.value = replace_subexpr(st.value, mapped, cached);
        changed = true;
        break;
      }
    }
  }
  return changed;
}

void optimize_kernel(Kernel& kernel, const LowerOptions& options) {
  split_divided_loop(kernel, options);
  choose_vectorization(kernel, options);
  choose_outer_walk(kernel, options);
  cache_row_values(kernel, options);
  choose_pairwise_sums(kernel);
  match_contraction(kernel);
}

void map_to_work_groups(Kernel& kernel, const WorkGroupTarget& target) {
  choose_group_shape(kernel, target);
  unroll_small_reductions(kernel);
  choose_group_lanes(kernel, target);
  choose_map_order(kernel, target);
  choose_group_size(kernel, target);
}

}  // namespace kiln::codegen
