// split_reduction: a reduction as partials plus their fold (see split_reduction.h).
#include "codegen/split_reduction.h"

#include <algorithm>

namespace kiln::codegen {

namespace {

// Reductions shorter than this run fine on one thread.
constexpr int64_t kMinSplitWork = 1 << 15;

}  // namespace

std::optional<std::pair<LoweredKernel, LoweredKernel>> split_reduction(
    const LoweredKernel& lk, std::vector<TempBuffer>& temps, const LowerOptions& options) {
  const Kernel& k = lk.kernel;
  if (options.threads <= 1 || k.stages.size() != 2) return std::nullopt;
  const Stage& red = k.stages[0];
  const Stage& stores = k.stages[1];
  if (red.kind != StageKind::Reduce || red.loops.empty() || red.loops[0].begin) return std::nullopt;
  if (red.op == ReduceOp::ArgMax || red.op == ReduceOp::ArgMin) return std::nullopt;
  if (stores.kind != StageKind::Loop || !stores.loops.empty()) return std::nullopt;
  const int64_t outer = k.outer_count();
  int64_t work = 1;
  for (const Loop& l : red.loops) work *= l.extent;
  if (outer >= 2 * options.threads || work < kMinSplitWork) return std::nullopt;

  const Loop& first = red.loops[0];
  const int64_t chunks = std::clamp<int64_t>(options.threads * 8, 2, first.extent);
  const int64_t chunk = (first.extent + chunks - 1) / chunks;
  const int temp = static_cast<int>(temps.size());
  temps.push_back({red.acc_dtype, outer * chunks});

  // The flat outer index (row-major over the outer loops).
  std::vector<ExprPtr> outer_vars;
  std::vector<int64_t> outer_extents;
  for (const Loop& l : k.outer) {
    outer_vars.push_back(var(l.var, l.extent));
    outer_extents.push_back(l.extent);
  }
  ExprPtr flat = linear_index(outer_vars, outer_extents);

  // Kernel A: partials.
  LoweredKernel a = lk;
  Kernel& ka = a.kernel;
  for (BufferParam& b : ka.buffers) b.written = false;
  const int partial_a = static_cast<int>(ka.buffers.size());
  ka.buffers.push_back({red.acc_dtype, outer * chunks, false, true});
  a.buffers.push_back({nullptr, temp});
  const int c = ka.num_vars++;
  ka.outer.push_back({c, chunks, nullptr, nullptr});
  ExprPtr cv = var(c, chunks);
  Stage ra = red;
  ra.loops[0].begin = imul(cv, chunk);
  ra.loops[0].end = imin(iadd(imul(cv, chunk), chunk), index_const(first.extent));
  Stage sa;
  sa.stores.push_back(
      {partial_a, iadd(imul(flat, chunks), cv), stage_value(red.acc_dtype, 0), nullptr});
  ka.stages = {ra, sa};
  ka.vector_mode = VectorMode::None;

  // Kernel B: the fold of the partials, then the original stores.
  LoweredKernel b = lk;
  Kernel& kb = b.kernel;
  const int partial_b = static_cast<int>(kb.buffers.size());
  kb.buffers.push_back({red.acc_dtype, outer * chunks, true, false});
  b.buffers.push_back({nullptr, temp});
  const int p = kb.num_vars++;
  Stage fold;
  fold.kind = StageKind::Reduce;
  fold.op = red.op;
  fold.acc_dtype = red.acc_dtype;
  fold.loops = {{p, chunks, nullptr, nullptr}};
  fold.value = load(red.acc_dtype, partial_b, iadd(imul(flat, chunks), var(p, chunks)));
  kb.stages = {fold, stores};
  kb.vector_mode = VectorMode::None;
  return std::make_pair(std::move(a), std::move(b));
}

}  // namespace kiln::codegen
