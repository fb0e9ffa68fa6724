// match_contraction: which kernels are a GEMM with an epilogue, and how their loops split
// into batch, m, n and k.
#include "codegen/contraction.h"

#include <gtest/gtest.h>

#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

struct Compiled {
  ir::Graph g;
  Program p;
  explicit Compiled(const std::string& text) : g(ir::parse_graph(text)), p(build_program(g)) {}
};

TEST(Contraction, PlainMatmulIsAGemm) {
  Compiled c(R"(func @f(%a: f32[64,128], %b: f32[128,32]) -> (f32[64,32]) {
    %0 = matmul %a, %b : f32[64,32]
    return %0
  })");
  ASSERT_EQ(c.p.kernels.size(), 1u);
  const auto& con = c.p.kernels[0].contraction;
  ASSERT_TRUE(con);
  EXPECT_TRUE(con->batch.vars.empty());
  EXPECT_EQ(con->m.size(), 64);
  EXPECT_EQ(con->n.size(), 32);
  EXPECT_EQ(con->k.size(), 128);
  EXPECT_EQ(con->acc, DType::F32);
}

TEST(Contraction, BatchedProductKeepsTheBatchAndFoldsABroadcastWeightIntoM) {
  // Both factors depend on the batch of a batched product; a weight shared by the batch
  // makes the batch part of M (one taller GEMM).
  Compiled c(
      R"(func @f(%a: f32[4,16,64], %b: f32[4,64,8], %w: f32[64,8]) -> (f32[4,16,8], f32[4,16,8]) {
    %0 = matmul %a, %b : f32[4,16,8]
    %1 = reshape %w : f32[1,64,8]
    %2 = broadcast %1 : f32[4,64,8]
    %3 = matmul %a, %2 : f32[4,16,8]
    return %0, %3
  })");
  ASSERT_EQ(c.p.kernels.size(), 2u);
  const auto& batched = c.p.kernels[0].contraction;
  ASSERT_TRUE(batched);
  EXPECT_EQ(batched->batch.size(), 4);
  EXPECT_EQ(batched->m.size(), 16);
  const auto& shared = c.p.kernels[1].contraction;
  ASSERT_TRUE(shared);
  EXPECT_TRUE(shared->batch.vars.empty());
  EXPECT_EQ(shared->m.size(), 64);
  EXPECT_EQ(shared->n.size(), 8);
}

TEST(Contraction, EpilogueFusesAndTheFactorsReadTransposedViewsInPlace) {
  Compiled c(R"(func @f(%a: f32[128,64], %b: f32[128,96], %bias: f32[96]) -> (f32[64,96]) {
    %0 = permute %a {perm = [1, 0]} : f32[64,128]
    %1 = matmul %0, %b : f32[64,96]
    %2 = reshape %bias : f32[1,96]
    %3 = broadcast %2 : f32[64,96]
    %4 = add %1, %3 : f32[64,96]
    %5 = tanh %4 : f32[64,96]
    return %5
  })");
  ASSERT_EQ(c.p.kernels.size(), 1u);
  const Kernel& k = c.p.kernels[0];
  ASSERT_TRUE(k.contraction);
  const ExprPtr& a = k.contraction->a;
  // a(m, k) reads a[k, m]: stride 64 along k, 1 along m.
  ASSERT_EQ(a->kind, ExprKind::Load);
  EXPECT_EQ(stride_along(a->args[0], k.contraction->k.vars[0]).stride, 64);
  EXPECT_EQ(stride_along(a->args[0], k.contraction->m.vars[0]).stride, 1);
}

TEST(Contraction, SmallOrShortProductsStayLoopNests) {
  Compiled tiny(R"(func @f(%a: f32[2,3], %b: f32[3,2]) -> (f32[2,2]) {
    %0 = matmul %a, %b : f32[2,2]
    return %0
  })");
  EXPECT_FALSE(tiny.p.kernels[0].contraction);
  EXPECT_TRUE(find_contraction(tiny.p.kernels[0]));  // the form matches; the size does not
  Compiled ints(R"(func @f(%a: i32[64,64], %b: i32[64,64]) -> (i32[64,64]) {
    %0 = matmul %a, %b : i32[64,64]
    return %0
  })");
  EXPECT_FALSE(ints.p.kernels[0].contraction);
  Compiled reduce(R"(func @f(%a: f32[64,4096]) -> (f32[64]) {
    %0 = reduce_sum %a {axes = [1], keepdims = false} : f32[64]
    return %0
  })");
  EXPECT_FALSE(find_contraction(reduce.p.kernels[0]));
}

}  // namespace
}  // namespace kiln::codegen
