// choose_group_size: work-group sizes and rows in registers (see choose_group_size.h).
#include "codegen/choose_group_size.h"

#include <algorithm>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

void size_row(Kernel& k, const WorkGroupTarget& t) {
  GroupMapping& g = k.groups;
  int64_t vectors = 1;
  for (const Stage& st : k.stages)
    if (distributable(st)) vectors = std::max(vectors, loop_product(st.loops) / g.lanes);
  const int64_t limit = t.row_wg();
  int64_t wg = 1;
  while (wg < limit && wg * 8 < vectors) wg *= 2;
  g.group_size = std::max<int64_t>(std::min<int64_t>(t.is_gpu ? 64 : 1, limit), wg);
  for (size_t s = 0; s < k.stages.size(); ++s) {
    const Stage& st = k.stages[s];
    const int64_t stage_vectors = distributable(st) ? loop_product(st.loops) / g.lanes : 0;
    const int64_t steps = (stage_vectors + g.group_size - 1) / g.group_size;
    g.in_registers[s] = stage_vectors > 0 && steps <= t.register_row();
  }
}

void size_split(Kernel& k, const WorkGroupTarget& t) {
  GroupMapping& g = k.groups;
  g.group_size = t.row_wg();
  int64_t longest = 1;
  for (const Stage& st : k.stages) {
    if (st.kind != StageKind::Reduce) break;  // the leading reductions get partial passes
    longest = std::max(longest, loop_product(st.loops) / g.lanes);
  }
  const int64_t target_groups =
      std::max<int64_t>(1, int64_t{t.compute_units} * t.split_groups_per_unit);
  g.split_groups = std::clamp<int64_t>(target_groups / std::max<int64_t>(k.outer_count(), 1), 1,
                                       (longest + g.group_size - 1) / g.group_size);
}

}  // namespace

void choose_group_size(Kernel& kernel, const WorkGroupTarget& target) {
  GroupMapping& g = kernel.groups;
  g.group_size = 1;
  g.split_groups = 1;
  g.in_registers.assign(kernel.stages.size(), false);
  switch (g.shape) {
    case GroupShape::Map: g.group_size = g.tiled ? kMapTileGroup : target.map_wg(); break;
    case GroupShape::Row: size_row(kernel, target); break;
    case GroupShape::Split: size_split(kernel, target); break;
    case GroupShape::Gemm: break;  // sized by its tiles (kernels/opencl/gemm.h)
    case GroupShape::Fft: break;   // sized by its passes (kernels/opencl/fft.h)
  }
}

}  // namespace kiln::codegen
