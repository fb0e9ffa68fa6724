// split_divided_loop (codegen/split_divided_loop.h): the last outer loop split where the
// indices divide it, so that they become affine along the lanes.
#include <gtest/gtest.h>

#include "codegen/kernel_passes.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

Kernel lowered(const std::string& text, int lanes = 16) {
  ir::Graph g = ir::parse_graph(text);
  LowerOptions o;
  o.vector_lanes = lanes;
  o.split_divided_loops = true;
  Program p = build_program(g, o);
  EXPECT_EQ(p.kernels.size(), 1u);
  return p.kernels.at(0);
}

// The gate of a gated MLP: the two halves of [L, 4 blocks, B] read as [L, 4 B].
std::string gate(int64_t b) {
  const std::string B = std::to_string(b), B2 = std::to_string(2 * b), B4 = std::to_string(4 * b);
  return "func @f(%u: f32[4,64," + B + "]) -> (f32[64," + B2 +
         "]) {\n"
         "  %0 = permute %u {perm = [1, 0, 2]} : f32[64,4," +
         B +
         "]\n"
         "  %1 = reshape %0 : f32[64," +
         B4 +
         "]\n"
         "  %2 = slice %1 {start = [0, 0], step = [1, 1]} : f32[64," +
         B2 +
         "]\n"
         "  %3 = slice %1 {start = [0, " +
         B2 + "], step = [1, 1]} : f32[64," + B2 +
         "]\n"
         "  %4 = mul %2, %3 : f32[64," +
         B2 + "]\n  return %4\n}";
}

TEST(SplitDividedLoop, SlicesOfAMergedDimensionReadAffine) {
  Kernel k = lowered(gate(96));
  // [64, 192] -> [64, 2, 96]: the loads index blocks by the new middle loop.
  ASSERT_EQ(k.outer.size(), 3u);
  EXPECT_EQ(k.outer[1].extent, 2);
  EXPECT_EQ(k.outer[2].extent, 96);
  for (const Stage& st : k.stages)
    for (const Store& s : st.stores) {
      EXPECT_EQ(count_div_mod(s.index), 0) << expr_str(s.index);
      EXPECT_EQ(count_div_mod(s.value), 0) << expr_str(s.value);
    }
  EXPECT_EQ(k.vector_mode, VectorMode::Outer);
  // A block narrower than the lanes, or not a multiple of them, stays one loop.
  EXPECT_EQ(lowered(gate(8)).outer.size(), 2u);
  EXPECT_EQ(lowered(gate(24)).outer.size(), 2u);
}

}  // namespace
}  // namespace kiln::codegen
