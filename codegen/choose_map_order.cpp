// choose_map_order: the outer loop consecutive work-items walk (see choose_map_order.h).
#include "codegen/choose_map_order.h"

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

// Buffers up to this many bytes stay in cache, however they are read (a filter's taps, a
// bias): their scattered reads cost nothing worth reordering for.
constexpr int64_t kCachedBytes = 64 * 1024;

// A warp's worth of work-items at least along the chosen loop, so that its accesses fill
// whole 128-byte lines.
constexpr int64_t kMinExtent = 32;

// Accesses to buffers larger than the cache that scatter when work-items walk `v`.
int scattered(const Kernel& k, int v) {
  auto large = [&](int buffer) {
    const BufferParam& b = k.buffers[static_cast<size_t>(buffer)];
    return b.numel * static_cast<int64_t>(dtype_size(b.dtype)) > kCachedBytes;
  };
  int n = 0;
  for (const Stage& st : k.stages) n += strided_accesses(st, v, large);
  return n;
}

}  // namespace

void choose_map_order(Kernel& kernel, const WorkGroupTarget& target) {
  GroupMapping& g = kernel.groups;
  g.fast_outer = -1;
  if (!target.coalesce_map_order || g.shape != GroupShape::Map || kernel.outer.size() < 2) return;
  for (const Stage& st : kernel.stages)
    if (st.kind != StageKind::Loop || !st.loops.empty()) return;
  // The lanes stay on the last loop: whole vectors of it per work-item.
  if (kernel.outer.back().extent % g.lanes != 0) return;
  // On a tie (a plain transpose: one read, one write) with vector lanes, the reordered
  // kernel still writes whole vectors of the last loop, where the other would read its
  // vectors one scattered element at a time.
  const int last = scattered(kernel, kernel.outer.back().var);
  if (last == 0) return;
  int best = g.lanes > 1 ? last + 1 : last;  // reordering must scatter fewer (or as few)
  for (size_t i = 0; i + 1 < kernel.outer.size(); ++i) {
    if (kernel.outer[i].extent < kMinExtent) continue;
    const int n = scattered(kernel, kernel.outer[i].var);
    if (n < best) best = n, g.fast_outer = static_cast<int>(i);
  }
}

}  // namespace kiln::codegen
