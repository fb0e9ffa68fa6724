// The work-group passes (choose_group_shape, choose_group_lanes, choose_group_size) on small
// kernels lowered from IR text: the shape, lanes, group sizes, split groups and rows held
// in registers they annotate, for a GPU-like and a CPU-like (PoCL) target.
#include <gtest/gtest.h>

#include "codegen/choose_group_lanes.h"
#include "codegen/choose_group_shape.h"
#include "codegen/choose_group_size.h"
#include "codegen/kernel_passes.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

WorkGroupTarget gpu() {
  WorkGroupTarget t;
  t.is_gpu = true;
  t.compute_units = 100;
  t.max_work_group_size = 1024;
  t.local_mem_bytes = 48 * 1024;
  return t;
}

WorkGroupTarget cpu() {
  WorkGroupTarget t;
  t.compute_units = 16;
  t.max_work_group_size = 4096;
  return t;
}

// The one kernel of `text`, lowered as the OpenCL device lowers for `target`, mapped by
// map_to_work_groups.
Kernel mapped(const std::string& text, const WorkGroupTarget& target) {
  ir::Graph g = ir::parse_graph(text);
  LowerOptions o;
  o.vector_lanes = target.vector_width;
  Program p = build_program(g, o);
  EXPECT_EQ(p.kernels.size(), 1u);
  Kernel k = p.kernels.at(0);
  map_to_work_groups(k, target);
  return k;
}

std::string unary(int64_t n) {
  const std::string t = "f32[" + std::to_string(n) + "]";
  return "func @f(%x: " + t + ") -> (" + t + ") {\n  %0 = exp %x : " + t + "\n  return %0\n}";
}

const char* kRowSum = R"(func @f(%x: f32[64,1024]) -> (f32[64]) {
    %0 = reduce_sum %x {axes = [1], keepdims = false} : f32[64]
    return %0
  })";

const char* kSoftmax = R"(func @f(%x: f32[8,1000]) -> (f32[8,1000]) {
    %0 = reduce_max %x {axes = [1], keepdims = true} : f32[8,1]
    %1 = broadcast %0 : f32[8,1000]
    %2 = sub %x, %1 : f32[8,1000]
    %3 = exp %2 : f32[8,1000]
    %4 = reduce_sum %3 {axes = [1], keepdims = true} : f32[8,1]
    %5 = broadcast %4 : f32[8,1000]
    %6 = div %3, %5 : f32[8,1000]
    return %6
  })";

TEST(WorkGroupPasses, ElementwiseIsAVectorMapKernel) {
  Kernel k = mapped(unary(1024), gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Map);
  EXPECT_EQ(k.groups.lanes, 4);
  EXPECT_EQ(k.groups.group_size, 256);
  // x may be read as vectors, not the output the kernel writes.
  ASSERT_EQ(k.groups.vector_loads.size(), 2u);
  for (size_t b = 0; b < k.buffers.size(); ++b)
    EXPECT_EQ(k.groups.vector_loads[b], !k.buffers[b].written) << "buffer " << b;
  EXPECT_EQ(mapped(unary(1024), cpu()).groups.group_size, 64);
}

// y[c, l] = x[l, c] * w[c] + x[l + 1, c]: channels-last data written channels-first.
std::string transposing(int64_t l, int64_t c) {
  const std::string n = std::to_string(l), m = std::to_string(c), n1 = std::to_string(l + 1);
  return "func @f(%x: f32[" + n1 + "," + m + "], %w: f32[" + m + "]) -> (f32[" + m + "," + n +
         "]) {\n  %0 = permute %x {perm = [1, 0]} : f32[" + m + "," + n1 +
         "]\n  %1 = slice %0 {start = [0, 0], step = [1, 1]} : f32[" + m + "," + n +
         "]\n  %2 = slice %0 {start = [0, 1], step = [1, 1]} : f32[" + m + "," + n +
         "]\n  %3 = reshape %w : f32[" + m + ",1]\n  %4 = broadcast %3 : f32[" + m + "," + n +
         "]\n  %5 = mul %1, %4 : f32[" + m + "," + n + "]\n  %6 = add %5, %2 : f32[" + m + "," + n +
         "]\n  return %6\n}";
}

TEST(WorkGroupPasses, TransposingMapsWalkTheLoopTheirReadsRunAlong) {
  WorkGroupTarget t = gpu();
  t.coalesce_map_order = true;
  // Two reads of x run along c (the first outer loop), the store along l: work-items walk c,
  // each still storing four consecutive l.
  Kernel k = mapped(transposing(256, 192), t);
  ASSERT_EQ(k.outer.size(), 2u);
  EXPECT_EQ(k.groups.fast_outer, 0);
  EXPECT_EQ(k.groups.lanes, 4);
  // Elementwise kernels keep the last loop; so does every kernel where not asked for, and
  // one whose buffers all fit in cache (8 x 8 floats).
  EXPECT_EQ(mapped(unary(1024), t).groups.fast_outer, -1);
  EXPECT_EQ(mapped(transposing(256, 192), gpu()).groups.fast_outer, -1);
  EXPECT_EQ(mapped(transposing(8, 8), t).groups.fast_outer, -1);
  // Fewer than a warp's rows along c: no reordering either.
  EXPECT_EQ(mapped(transposing(4096, 16), t).groups.fast_outer, -1);
  EXPECT_FALSE(k.groups.tiled);  // not asked for
}

TEST(WorkGroupPasses, TransposingMapsPassTheirStoresThroughTiles) {
  WorkGroupTarget t = gpu();
  t.coalesce_map_order = true;
  t.tile_map_transposes = true;
  Kernel k = mapped(transposing(256, 192), t);
  EXPECT_EQ(k.groups.fast_outer, 0);
  EXPECT_TRUE(k.groups.tiled);
  EXPECT_EQ(k.groups.group_size, kMapTileGroup);
  // A plain transpose in scalar lanes (rows of 301): a tie without tiles, reordered with.
  const std::string plain = R"(
  func @f(%x: f32[67,301]) -> (f32[301,67]) {
    %0 = permute %x {perm = [1, 0]} : f32[301,67]
    %1 = add %0, %0 : f32[301,67]
    return %1
  })";
  WorkGroupTarget untiled = t;
  untiled.tile_map_transposes = false;
  EXPECT_EQ(mapped(plain, untiled).groups.fast_outer, -1);
  Kernel p = mapped(plain, t);
  EXPECT_EQ(p.groups.lanes, 1);
  EXPECT_EQ(p.groups.fast_outer, 0);
  EXPECT_TRUE(p.groups.tiled);
  // Two stores (the transpose and its square): no tiles, and two scattered stores would
  // cost more than the one scattered load.
  const std::string two = R"(
  func @f(%x: f32[256,192]) -> (f32[192,256], f32[192,256]) {
    %0 = permute %x {perm = [1, 0]} : f32[192,256]
    %1 = mul %0, %0 : f32[192,256]
    return %0, %1
  })";
  Kernel q = mapped(two, t);
  EXPECT_EQ(q.groups.fast_outer, -1);
  EXPECT_FALSE(q.groups.tiled);
  // A device whose work-groups are smaller than a tile's group gets no tiles.
  WorkGroupTarget small = t;
  small.max_work_group_size = 128;
  EXPECT_FALSE(mapped(transposing(256, 192), small).groups.tiled);
}

TEST(WorkGroupPasses, LanesDivideTheIterations) {
  EXPECT_EQ(mapped(unary(1022), gpu()).groups.lanes, 2);
  EXPECT_EQ(mapped(unary(1023), gpu()).groups.lanes, 1);
  WorkGroupTarget narrow = gpu();
  narrow.vector_width = 1;
  EXPECT_EQ(mapped(unary(1024), narrow).groups.lanes, 1);
}

TEST(WorkGroupPasses, RowReductionOnAGpuHoldsItsRowInRegisters) {
  Kernel k = mapped(kRowSum, gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Row);
  EXPECT_EQ(k.groups.lanes, 4);
  // 256 vectors per row, about eight per work-item, but at least 64 work-items on a GPU.
  EXPECT_EQ(k.groups.group_size, 64);
  ASSERT_EQ(k.groups.in_registers.size(), k.stages.size());
  EXPECT_TRUE(k.groups.in_registers[0]);  // 4 vectors per work-item
}

TEST(WorkGroupPasses, RowReductionOnACpuLoopsOverItsRow) {
  Kernel k = mapped(kRowSum, cpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Row);
  EXPECT_EQ(k.groups.group_size, 16);      // the CPU row group
  EXPECT_FALSE(k.groups.in_registers[0]);  // 16 vectors per work-item: more than 2
  WorkGroupTarget wide = cpu();
  wide.max_register_row = 16;
  EXPECT_TRUE(mapped(kRowSum, wide).groups.in_registers[0]);
}

TEST(WorkGroupPasses, SoftmaxIsOneRowKernelWithEveryRowStageInRegisters) {
  Kernel k = mapped(kSoftmax, gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Row);
  EXPECT_EQ(k.groups.lanes, 4);
  EXPECT_EQ(k.groups.group_size, 64);  // 250 vectors per row: 4 per work-item
  ASSERT_EQ(k.groups.in_registers.size(), 3u);
  for (bool held : k.groups.in_registers) EXPECT_TRUE(held);
  // Split is forced only where the kernel allows it: not with a row stage after the sums.
  WorkGroupTarget split = gpu();
  split.shape_hint = ShapeHint::Split;
  EXPECT_EQ(mapped(kSoftmax, split).groups.shape, GroupShape::Row);
  WorkGroupTarget map = gpu();
  map.shape_hint = ShapeHint::Map;
  EXPECT_EQ(mapped(kSoftmax, map).groups.shape, GroupShape::Map);
}

TEST(WorkGroupPasses, FullReductionIsSplitOverManyGroups) {
  Kernel k = mapped(R"(func @f(%x: f32[1048576]) -> (f32[]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f32[]
    return %0
  })",
                    gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Split);
  EXPECT_EQ(k.groups.lanes, 4);
  EXPECT_EQ(k.groups.group_size, 1024);
  // 8 groups per compute unit, and the row has work for 256 groups of 1024 vectors.
  EXPECT_EQ(k.groups.split_groups, 256);
}

TEST(WorkGroupPasses, WideColumnReductionStaysMap) {
  Kernel k = mapped(R"(func @f(%x: f32[64,8192]) -> (f32[8192]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f32[8192]
    return %0
  })",
                    gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Map);
  EXPECT_EQ(k.groups.lanes, 1);  // map lanes only for kernels without loops
  EXPECT_EQ(k.stages.size(), 2u);
}

TEST(WorkGroupPasses, FewTermSumsAreWrittenOutAndGetLanes) {
  // 16 rows: the column sum becomes one expression per column, in the loop's order, and
  // work-items take 4 columns each.
  Kernel k = mapped(R"(func @f(%x: f32[16,8192]) -> (f32[8192]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f32[8192]
    return %0
  })",
                    gpu());
  EXPECT_EQ(k.groups.shape, GroupShape::Map);
  ASSERT_EQ(k.stages.size(), 1u);
  EXPECT_EQ(k.stages[0].kind, StageKind::Loop);
  EXPECT_EQ(k.groups.lanes, 4);
  const std::string value = expr_str(k.stages[0].stores.at(0).value);
  EXPECT_LT(value.find("8192"), value.find("16384")) << value;  // row 1 before row 2
  // A depthwise convolution's 4 taps, behind a stage that reads the sum.
  Kernel conv = mapped(R"(func @f(%x: f32[2,8,64], %w: f32[8,1,4]) -> (f32[2,8,61]) {
    %0 = conv %x, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 8} : f32[2,8,61]
    %1 = exp %0 : f32[2,8,61]
    return %1
  })",
                       gpu());
  EXPECT_EQ(conv.stages.size(), 1u);
  EXPECT_GT(conv.groups.lanes, 1);
}

TEST(WorkGroupPasses, PassesRunAloneGiveWhatThePipelineGives) {
  ir::Graph g = ir::parse_graph(kSoftmax);
  Program p = build_program(g, {});
  Kernel k = p.kernels.at(0);
  choose_group_shape(k, gpu());
  choose_group_lanes(k, gpu());
  choose_group_size(k, gpu());
  Kernel m = p.kernels.at(0);
  map_to_work_groups(m, gpu());
  EXPECT_EQ(k.groups.shape, m.groups.shape);
  EXPECT_EQ(k.groups.lanes, m.groups.lanes);
  EXPECT_EQ(k.groups.group_size, m.groups.group_size);
  EXPECT_EQ(k.groups.in_registers, m.groups.in_registers);
  // The mapping is not part of the kernel's text, so its hash (and cache key) stays.
  EXPECT_EQ(kernel_hash(m), kernel_hash(p.kernels.at(0)));
}

}  // namespace
}  // namespace kiln::codegen
