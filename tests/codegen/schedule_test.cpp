// The scheduler on IR text: group shapes and row axes, boundaries and their reasons.
#include "passes/schedule.h"

#include <gtest/gtest.h>

#include "ir/parser.h"

namespace kiln::passes {
namespace {

std::string reason_for(const Schedule& s, ir::OpKind op) {
  for (const Boundary& b : s.boundaries)
    if (b.node->op == op) return b.reason;
  return "";
}

TEST(Schedule, LayerNormIsOneRowGroup) {
  ir::Graph g = ir::parse_graph(R"(func @f(%x: f32[16,64], %w: f32[64]) -> (f32[16,64]) {
    %0 = reduce_sum %x {axes = [1], keepdims = true} : f32[16,1]
    %1 = constant dense<0.015625> : f32[]
    %2 = reshape %1 : f32[1,1]
    %20 = broadcast %2 : f32[16,1]
    %3 = mul %0, %20 : f32[16,1]
    %4 = broadcast %3 : f32[16,64]
    %5 = sub %x, %4 : f32[16,64]
    %6 = mul %5, %5 : f32[16,64]
    %7 = reduce_sum %6 {axes = [1], keepdims = true} : f32[16,1]
    %8 = rsqrt %7 : f32[16,1]
    %9 = broadcast %8 : f32[16,64]
    %10 = mul %5, %9 : f32[16,64]
    %11 = reshape %w : f32[1,64]
    %12 = broadcast %11 : f32[16,64]
    %13 = mul %10, %12 : f32[16,64]
    return %13
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].shape, (Shape{16, 64}));
  EXPECT_EQ(s.groups[0].axes, (std::vector<int64_t>{1}));
  EXPECT_EQ(s.groups[0].inputs.size(), 2u);
  EXPECT_EQ(reason_for(s, ir::OpKind::Mul), "graph result");
}

TEST(Schedule, ScanIsAKernelOfItsOwn) {
  ir::Graph g = ir::parse_graph(R"(func @f(%x: f32[8,8]) -> (f32[8,8]) {
    %0 = exp %x : f32[8,8]
    %1 = cumsum %0 {axis = 1} : f32[8,8]
    %2 = neg %1 : f32[8,8]
    return %2
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[0].kind, GroupKind::Scan);
  EXPECT_EQ(s.groups[0].nodes.size(), 2u);  // the exp fuses into the scan
  EXPECT_NE(reason_for(s, ir::OpKind::CumSum).find("kernel of its own"), std::string::npos);
}

TEST(Schedule, MatMulOperandsThatAreNotViewsAreStored) {
  ir::Graph g = ir::parse_graph(R"(func @f(%a: f32[8,8], %b: f32[8,8]) -> (f32[8,8]) {
    %0 = exp %a : f32[8,8]
    %1 = permute %b {perm = [1, 0]} : f32[8,8]
    %2 = matmul %0, %1 : f32[8,8]
    return %2
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_NE(reason_for(s, ir::OpKind::Exp).find("matmul"), std::string::npos);
}

TEST(Schedule, CheapOperandProloguesAreFusedIntoTheProduct) {
  // A scale and a cast are evaluated as the GEMM packs its operand: no kernel of their own.
  ir::Graph g = ir::parse_graph(R"(func @f(%a: f16[8,8], %b: f32[8,8], %s: f32[]) -> (f32[8,8]) {
    %0 = cast %a : f32[8,8]
    %1 = reshape %s : f32[1,1]
    %2 = broadcast %1 : f32[8,8]
    %3 = mul %0, %2 : f32[8,8]
    %4 = matmul %3, %b : f32[8,8]
    return %4
  })");
  EXPECT_EQ(schedule(g).groups.size(), 1u);
  // A device whose GEMM wants plain loads (asynchronous copies) stores the scaled operand;
  // the cast stays a view-like read.
  ScheduleOptions plain;
  plain.max_operand_prologue_ops = 0;
  Schedule stored = schedule(g, plain);
  ASSERT_EQ(stored.groups.size(), 2u);
  EXPECT_NE(reason_for(stored, ir::OpKind::Mul).find("matmul"), std::string::npos);
}

// A computed weight that two skinny products read (an MLP step with weights built in the
// graph) is stored once, not packed through its prologue by each; one skinny product, or
// two that use each element many times, keep it fused.
TEST(Schedule, AComputedOperandOfSeveralSkinnyProductsIsStoredOnce) {
  auto graph = [](int rows) {
    const std::string m = std::to_string(rows);
    return ir::parse_graph(R"(func @f(%x: f32[)" + m + R"(,64], %w: f32[64,64]) -> (f32[)" + m +
                           R"(,64]) {
    %0 = neg %w : f32[64,64]
    %1 = matmul %x, %0 : f32[)" +
                           m + R"(,64]
    %2 = matmul %1, %0 : f32[)" +
                           m + R"(,64]
    return %2
  })");
  };
  // A schedule points into its graph: the graphs outlive them.
  const ir::Graph skinny_graph = graph(8), wide_graph = graph(64);
  Schedule skinny = schedule(skinny_graph);
  ASSERT_EQ(skinny.groups.size(), 3u);
  EXPECT_EQ(reason_for(skinny, ir::OpKind::Neg),
            "operand computed for 2 products: stored once, not recomputed as each packs it");
  EXPECT_EQ(schedule(wide_graph).groups.size(), 2u);
  ir::Graph single = ir::parse_graph(R"(func @f(%x: f32[8,64], %w: f32[64,64]) -> (f32[8,64]) {
    %0 = neg %w : f32[64,64]
    %1 = matmul %x, %0 : f32[8,64]
    return %1
  })");
  EXPECT_EQ(schedule(single).groups.size(), 1u);
}

TEST(Schedule, AGemmGroupComputesOneProduct) {
  ir::Graph g = ir::parse_graph(R"(func @f(%a: f32[8,8], %b: f32[8,8], %c: f32[8,8]) -> (f32[8,8]) {
    %0 = matmul %a, %b : f32[8,8]
    %1 = matmul %a, %c : f32[8,8]
    %2 = add %0, %1 : f32[8,8]
    %3 = tanh %2 : f32[8,8]
    return %3
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_NE(reason_for(s, ir::OpKind::MatMul).find("one product"), std::string::npos);
  // The second product's group keeps the epilogue: add and tanh.
  EXPECT_EQ(s.groups[1].nodes.size(), 3u);
}

TEST(Schedule, ExpensiveValuesAreNotRecomputedPerBroadcastCopy) {
  ir::Graph g = ir::parse_graph(R"(func @f(%a: f32[64], %x: f32[32,64]) -> (f32[32,64]) {
    %0 = exp %a : f32[64]
    %1 = tanh %0 : f32[64]
    %2 = reshape %1 : f32[1,64]
    %3 = broadcast %2 : f32[32,64]
    %4 = add %x, %3 : f32[32,64]
    return %4
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_NE(reason_for(s, ir::OpKind::Tanh).find("broadcast copies"), std::string::npos);
}

TEST(Schedule, CheapValuesAreRecomputed) {
  ir::Graph g = ir::parse_graph(R"(func @f(%a: f32[64], %x: f32[32,64]) -> (f32[32,64], f32[64]) {
    %0 = neg %a : f32[64]
    %1 = reshape %0 : f32[1,64]
    %2 = broadcast %1 : f32[32,64]
    %3 = add %x, %2 : f32[32,64]
    return %3, %0
  })");
  Schedule s = schedule(g);
  // Two results of two shapes: two groups, the neg recomputed inside the first.
  ASSERT_EQ(s.groups.size(), 2u);
  for (const FusionGroup& grp : s.groups) {
    if (grp.shape == Shape{32, 64}) {
      EXPECT_EQ(grp.inputs.size(), 2u);
    }
  }
}

TEST(Schedule, GroupsComeInDependencyOrder) {
  ir::Graph g = ir::parse_graph(R"(func @f(%x: f32[16,16]) -> (f32[16]) {
    %0 = reduce_sum %x {axes = [0], keepdims = true} : f32[1,16]
    %1 = broadcast %0 : f32[16,16]
    %2 = mul %x, %1 : f32[16,16]
    %3 = reduce_sum %2 {axes = [1], keepdims = false} : f32[16]
    return %3
  })");
  Schedule s = schedule(g);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[0].outputs[0]->op, ir::OpKind::ReduceSum);
  EXPECT_EQ(s.groups[0].axes, (std::vector<int64_t>{0}));
  EXPECT_EQ(s.groups[1].axes, (std::vector<int64_t>{1}));
  std::string text = print_schedule(g, s);
  EXPECT_NE(text.find("boundary"), std::string::npos);
}

}  // namespace
}  // namespace kiln::passes
