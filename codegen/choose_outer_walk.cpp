// choose_outer_walk: the outer loop a CPU kernel's steps walk (see choose_outer_walk.h).
#include "codegen/choose_outer_walk.h"

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

// Steps along the walked loop before the walk moves on: enough to reuse each gathered line.
constexpr int64_t kMinExtent = 16;

}  // namespace

void choose_outer_walk(Kernel& kernel, const LowerOptions& options) {
  kernel.walk_outer = -1;
  if (!options.walk_gathered_lines || kernel.vector_mode != VectorMode::Outer ||
      kernel.outer.size() < 2)
    return;
  for (const Stage& st : kernel.stages)
    if (st.kind != StageKind::Loop || !st.loops.empty() || st.sequential) return;
  auto large_load = [&](int buffer) {
    return !kernel.buffers[static_cast<size_t>(buffer)].written && past_cache(kernel, buffer);
  };
  const int last = kernel.outer.back().var;
  int gathers = 0;
  for (const Stage& st : kernel.stages) gathers += strided_accesses(st, last, large_load);
  if (gathers == 0) return;
  // Most of the gathers must run along the walked loop: the others gain nothing.
  int best = (gathers - 1) / 2;
  for (size_t i = 0; i + 1 < kernel.outer.size(); ++i) {
    const Loop& l = kernel.outer[i];
    if (l.extent < kMinExtent) continue;
    int along = 0;
    for (const Stage& st : kernel.stages)
      along += gathers_contiguous_along(st, last, l.var, large_load);
    if (along > best) best = along, kernel.walk_outer = static_cast<int>(i);
  }
}

}  // namespace kiln::codegen
