// Kernel-level passes: the vectorization choice (see kernel_passes.h).
#include "codegen/kernel_passes.h"

#include <functional>
#include <unordered_set>

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

namespace {

// Accesses of `stage` that would be gathers or scatters with lanes along `v`.
int strided_accesses(const Stage& stage, int v) {
  int n = 0;
  std::unordered_set<const Expr*> seen;
  std::function<void(const ExprPtr&)> walk = [&](const ExprPtr& e) {
    if (!e || !seen.insert(e.get()).second) return;
    if (e->kind == ExprKind::Load && access_pattern(e->args[0], v) == AccessPattern::Strided) ++n;
    for (const ExprPtr& a : e->args) walk(a);
  };
  walk(stage.value);
  walk(stage.position);
  for (const Store& s : stage.stores) {
    walk(s.value);
    walk(s.guard);
    walk(s.index);
    if (access_pattern(s.index, v) != AccessPattern::Contiguous) ++n;
  }
  return n;
}

}  // namespace

void choose_vectorization(Kernel& k, const LowerOptions& options) {
  k.vector_mode = VectorMode::None;
  if (options.vector_lanes <= 1) return;
  bool outer_ok = !k.outer.empty() && k.outer.back().extent >= 2;
  for (const Stage& s : k.stages) {
    if (s.sequential) outer_ok = false;  // lanes would run a read-modify-write out of order
    for (const Loop& l : s.loops)        // loop bounds must not differ between lanes
      if (outer_ok && l.begin && (l.begin->depends_on_var(k.outer.back().var) || l.end->depends_on_var(k.outer.back().var)))
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
  } else if (outer_ok && outer_gathers == 0 && (inner_stages == 0 || k.outer.back().extent >= lanes / 2)) {
    k.vector_mode = VectorMode::Outer;
  } else if (inner_stages > 0 && min_inner >= lanes / 2 && (!outer_ok || inner_gathers <= outer_gathers)) {
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
  while (k.vector_unroll < max_unroll && extent >= 2 * k.vector_unroll * lanes) k.vector_unroll *= 2;
}

void optimize_kernel(Kernel& kernel, const LowerOptions& options) { choose_vectorization(kernel, options); }

}  // namespace kiln::codegen
