// choose_map_order: the outer loop consecutive work-items walk (see choose_map_order.h).
#include "codegen/choose_map_order.h"

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

// A warp's worth of work-items at least along the chosen loop, so that its accesses fill
// whole 128-byte lines.
constexpr int64_t kMinExtent = 32;

// Accesses to buffers larger than the cache that scatter when work-items walk `v`; with
// `loads_only`, those to buffers the kernel does not write.
int scattered(const Kernel& k, int v, bool loads_only) {
  auto large = [&](int buffer) {
    return past_cache(k, buffer) && !(loads_only && k.buffers[static_cast<size_t>(buffer)].written);
  };
  int n = 0;
  for (const Stage& st : k.stages) n += strided_accesses(st, v, large);
  return n;
}

// Whether a reordered map kernel can pass its stores through local memory tiles
// (GroupMapping::tiled): one unguarded store, contiguous along the last loop, of a value
// a tile can hold, in vectors that give every work-item of a group one per tile row.
bool tiles_stores(const Kernel& k, const WorkGroupTarget& target) {
  if (!target.tile_map_transposes || k.stages.size() != 1) return false;
  const Stage& st = k.stages[0];
  if (st.stores.size() != 1 || st.stores[0].guard) return false;
  const DType t = st.stores[0].value->dtype;
  if (t == DType::Bool || t == DType::C64) return false;
  const int lanes = k.groups.lanes;
  const int64_t tile_bytes = int64_t{kMapTile} * (kMapTile + 1) * 8;
  return access_pattern(st.stores[0].index, k.outer.back().var) == AccessPattern::Contiguous &&
         k.outer.back().extent >= kMapTile && kMapTile % lanes == 0 &&
         kMapTile * kMapTile / lanes >= kMapTileGroup &&
         target.max_work_group_size >= kMapTileGroup && target.local_mem_bytes >= tile_bytes;
}

}  // namespace

void choose_map_order(Kernel& kernel, const WorkGroupTarget& target) {
  GroupMapping& g = kernel.groups;
  g.fast_outer = -1;
  g.tiled = false;
  if (!target.coalesce_map_order || g.shape != GroupShape::Map || kernel.outer.size() < 2) return;
  for (const Stage& st : kernel.stages)
    if (st.kind != StageKind::Loop || !st.loops.empty()) return;
  // The lanes stay on the last loop: whole vectors of it per work-item.
  if (kernel.outer.back().extent % g.lanes != 0) return;
  // Tiles coalesce the store whichever loop the loads walk: only the loads count. Else, on
  // a tie (a plain transpose: one read, one write) with vector lanes, the reordered kernel
  // still writes whole vectors of the last loop, where the other would read its vectors
  // one scattered element at a time.
  const bool tiles = tiles_stores(kernel, target);
  const int last = scattered(kernel, kernel.outer.back().var, tiles);
  if (last == 0) return;
  int best = g.lanes > 1 && !tiles ? last + 1 : last;  // reordering must scatter fewer
  for (size_t i = 0; i + 1 < kernel.outer.size(); ++i) {
    if (kernel.outer[i].extent < kMinExtent) continue;
    const int n = scattered(kernel, kernel.outer[i].var, tiles);
    if (n < best) best = n, g.fast_outer = static_cast<int>(i);
  }
  g.tiled = tiles && g.fast_outer >= 0;
}

}  // namespace kiln::codegen
