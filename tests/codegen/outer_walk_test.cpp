// choose_outer_walk (codegen/choose_outer_walk.h) on kernels lowered from IR text: which
// outer loop a CPU kernel's steps walk when its loads gather.
#include <gtest/gtest.h>

#include "codegen/kernel_passes.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

// The one kernel of `text`, lowered with 16 lanes, as the CPU device lowers (walk on or off).
Kernel lowered(const std::string& text, bool walk = true) {
  ir::Graph g = ir::parse_graph(text);
  LowerOptions o;
  o.vector_lanes = 16;
  o.walk_gathered_lines = walk;
  Program p = build_program(g, o);
  EXPECT_EQ(p.kernels.size(), 1u);
  return p.kernels.at(0);
}

// y[l, c] = a[c, l] + b[c, l] * x[l, c]: two channels-first buffers read channels-last.
std::string gathering(int64_t l, int64_t c) {
  const std::string lc = "f32[" + std::to_string(l) + "," + std::to_string(c) + "]";
  const std::string cl = "f32[" + std::to_string(c) + "," + std::to_string(l) + "]";
  return "func @f(%a: " + cl + ", %b: " + cl + ", %x: " + lc + ") -> (" + lc +
         ") {\n  %0 = permute %a {perm = [1, 0]} : " + lc +
         "\n  %1 = permute %b {perm = [1, 0]} : " + lc + "\n  %2 = mul %1, %x : " + lc +
         "\n  %3 = add %0, %2 : " + lc + "\n  return %3\n}";
}

TEST(OuterWalk, GatheringKernelsWalkTheLoopTheirLoadsRunAlong) {
  Kernel k = lowered(gathering(512, 256));
  ASSERT_EQ(k.vector_mode, VectorMode::Outer);
  ASSERT_EQ(k.outer.size(), 2u);
  EXPECT_EQ(k.walk_outer, 0);  // l: both gathers run along it
  EXPECT_NE(print_kernel(k).find(" walk=0"), std::string::npos);
  // Not asked for; buffers that stay in cache (32 x 32 floats); an elementwise kernel.
  EXPECT_EQ(lowered(gathering(512, 256), false).walk_outer, -1);
  EXPECT_EQ(lowered(gathering(32, 32)).walk_outer, -1);
  const std::string unary =
      "func @f(%x: f32[64,64]) -> (f32[64,64]) {\n  %0 = exp %x : f32[64,64]\n  return %0\n}";
  EXPECT_EQ(lowered(unary).walk_outer, -1);
  // Fewer than 16 steps along l: nothing to reuse.
  EXPECT_EQ(lowered(gathering(8, 4096)).walk_outer, -1);
}

}  // namespace
}  // namespace kiln::codegen
