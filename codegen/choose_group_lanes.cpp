// choose_group_lanes: vector lanes per work-item (see choose_group_lanes.h).
#include "codegen/choose_group_lanes.h"

#include <algorithm>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

// The target's width, halved until every extent is a multiple of it.
int lanes_for(const std::vector<int64_t>& extents, const WorkGroupTarget& t) {
  for (int v = std::max(1, t.vector_width); v > 1; v /= 2) {
    bool ok = true;
    for (int64_t e : extents) ok = ok && e % v == 0;
    if (ok) return v;
  }
  return 1;
}

int map_lanes(const Kernel& k, const WorkGroupTarget& t) {
  if (k.outer.empty()) return 1;
  bool contig = false;
  for (const Stage& st : k.stages) {
    if (st.kind != StageKind::Loop || !st.loops.empty()) return 1;
    contig = contig || contiguous_along(st, k.outer.back().var);
  }
  return contig ? lanes_for({k.outer_count()}, t) : 1;
}

int row_lanes(const Kernel& k, const WorkGroupTarget& t) {
  std::vector<int64_t> extents;
  bool contig = false;
  for (const Stage& st : k.stages) {
    if (!distributable(st)) continue;
    extents.push_back(loop_product(st.loops));
    contig = contig || contiguous_along(st, st.loops.back().var);
  }
  return contig ? lanes_for(extents, t) : 1;
}

}  // namespace

void choose_group_lanes(Kernel& kernel, const WorkGroupTarget& target) {
  GroupMapping& g = kernel.groups;
  g.lanes = g.shape == GroupShape::Map ? map_lanes(kernel, target) : row_lanes(kernel, target);
  g.vector_loads.clear();
  for (const BufferParam& b : kernel.buffers) g.vector_loads.push_back(!b.written);
}

}  // namespace kiln::codegen
