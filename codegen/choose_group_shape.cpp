// choose_group_shape: map, row or split (see choose_group_shape.h).
#include "codegen/choose_group_shape.h"

#include <algorithm>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

GroupShape shape_of(const Kernel& k, const WorkGroupTarget& t) {
  const int64_t outer = k.outer_count();
  bool any_reduce = false, split_ok = true, seen_loop = false;
  bool inner_contig = false, outer_contig = false;
  int64_t inner = 0;
  for (const Stage& st : k.stages) {
    if (st.kind == StageKind::Reduce && distributable(st)) {
      any_reduce = true;
      inner = std::max(inner, loop_product(st.loops));
      inner_contig = inner_contig || contiguous_along(st, st.loops.back().var);
      if (!k.outer.empty()) outer_contig = outer_contig || contiguous_along(st, k.outer.back().var);
      if (seen_loop) split_ok = false;
    } else if (st.kind == StageKind::Loop && st.loops.empty()) {
      seen_loop = true;
    } else {
      split_ok = false;
    }
  }
  if (!any_reduce) return GroupShape::Map;
  switch (t.shape_hint) {
    case ShapeHint::Map: return GroupShape::Map;
    case ShapeHint::Row: return GroupShape::Row;
    case ShapeHint::Split: return split_ok ? GroupShape::Split : GroupShape::Row;
    case ShapeHint::Auto: break;
  }
  // Too few outer iterations to fill the device: spread each row over many groups.
  if (split_ok && inner >= 4096 && outer < 2 * static_cast<int64_t>(t.compute_units))
    return GroupShape::Split;
  // A column reduction (rows strided, outer iterations contiguous): work-items side by
  // side read side by side in the map shape.
  if (!inner_contig && outer_contig && outer >= 32 * t.map_wg()) return GroupShape::Map;
  if (inner >= 8) return GroupShape::Row;
  return GroupShape::Map;
}

}  // namespace

void choose_group_shape(Kernel& kernel, const WorkGroupTarget& target) {
  kernel.groups.shape = shape_of(kernel, target);
}

}  // namespace kiln::codegen
