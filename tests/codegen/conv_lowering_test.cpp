// conv lowered as a reduction: one fusion group over the output and the (channel, tap)
// space, its bias and activation fused as the epilogue, computed inputs stored first, and
// the kernel a dense conv gives matched as an implicit GEMM (M = c_out, N = batch and
// spatial positions, K = channels of a group times taps) while a depthwise one stays a
// loop nest, split into its interior (no padding read: plain contiguous loads) and its
// border when it reads padding.
#include <gtest/gtest.h>

#include "codegen/contraction.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

struct Compiled {
  ir::Graph g;
  Program p;
  explicit Compiled(const std::string& text) : g(ir::parse_graph(text)), p(build_program(g)) {}
};

TEST(ConvLowering, DenseConv2dWithBiasAndReluIsOneImplicitGemm) {
  Compiled c(
      R"(func @f(%x: f32[2,16,12,12], %w: f32[32,16,3,3], %b: f32[32]) -> (f32[2,32,12,12]) {
    %0 = conv %x, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 1} : f32[2,32,12,12]
    %1 = reshape %b : f32[1,32,1,1]
    %2 = broadcast %1 : f32[2,32,12,12]
    %3 = add %0, %2 : f32[2,32,12,12]
    %4 = constant dense<0.0> : f32[]
    %5 = reshape %4 : f32[1,1,1,1]
    %6 = broadcast %5 : f32[2,32,12,12]
    %7 = max %3, %6 : f32[2,32,12,12]
    return %7
  })");
  ASSERT_EQ(c.p.kernels.size(), 1u);
  ASSERT_EQ(c.p.schedule.groups.size(), 1u);
  const Kernel& k = c.p.kernels[0];
  ASSERT_TRUE(k.contraction);
  EXPECT_TRUE(k.contraction->batch.vars.empty());
  EXPECT_EQ(k.contraction->m.size(), 32);           // c_out
  EXPECT_EQ(k.contraction->n.size(), 2 * 12 * 12);  // batch and output positions
  EXPECT_EQ(k.contraction->k.size(), 16 * 3 * 3);   // input channels and taps
  EXPECT_EQ(k.contraction->acc, DType::F32);
  // The weight is the first factor, read with stride 1 along the innermost tap.
  ASSERT_EQ(k.contraction->a->kind, ExprKind::Load);
  EXPECT_EQ(stride_along(k.contraction->a->args[0], k.contraction->k.vars.back()).stride, 1);
}

TEST(ConvLowering, DepthwiseCausalConv1dIsAnInteriorAndABorderLoopNest) {
  Compiled c(R"(func @f(%x: f32[8,64,1024], %w: f32[64,1,4]) -> (f32[8,64,1024]) {
    %0 = conv %x, %w {stride = [1], dilation = [1], pad_low = [3], pad_high = [0], groups = 64} : f32[8,64,1024]
    return %0
  })");
  // The interior (outputs 16..1023, whose taps all read inside x, starting at an aligned
  // row offset) and the border (outputs 0..15).
  ASSERT_EQ(c.p.kernels.size(), 2u);
  const Kernel& interior = c.p.kernels[0];
  const Kernel& border = c.p.kernels[1];
  ASSERT_EQ(interior.outer.size(), 3u);
  EXPECT_EQ(interior.outer.back().extent, 1024 - 16);
  EXPECT_EQ(border.outer.back().extent, 16);
  for (const Kernel* k : {&interior, &border}) {
    EXPECT_FALSE(k->contraction);
    // Both factors depend on the channel (a batch of 1 x 4 by 4 x n products): K = 4 taps.
    auto form = find_contraction(*k);
    ASSERT_TRUE(form);
    EXPECT_EQ(form->batch.size(), 64);
    EXPECT_EQ(form->m.size(), 1);
    EXPECT_EQ(form->k.size(), 4);
  }
  // The interior reads x without a guard or a clamp: contiguous along the output row.
  const auto interior_form = find_contraction(interior);  // keeps the factors alive
  const ExprPtr& xv = interior_form->b;
  ASSERT_EQ(xv->kind, ExprKind::Load) << expr_str(xv);
  EXPECT_EQ(stride_along(xv->args[0], interior.outer.back().var).stride, 1);
  EXPECT_NE(find_contraction(border)->b->kind, ExprKind::Load);  // select(guard, load, 0)
  // The interior's stores start at multiples of 16 elements: aligned vectors.
  EXPECT_EQ(linearize(interior.stages.back().stores[0].index).constant % 16, 0);
}

TEST(ConvLowering, DepthwiseConv2dIsSplitEvenWhenItHasTheFormOfAGemm) {
  // 3x3 taps make K = 9: the form of a batch of 1 x 9 by 9 x n products, but a direct
  // kernel runs it: the interior and four border slabs.
  Compiled c(R"(func @f(%x: f32[2,32,64,64], %w: f32[32,1,3,3]) -> (f32[2,32,64,64]) {
    %0 = conv %x, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 32} : f32[2,32,64,64]
    return %0
  })");
  ASSERT_EQ(c.p.kernels.size(), 5u);
  // Columns 1..62: starting the interior at the aligned column 16 would move 15 of its 62
  // columns into the border, whose clamped reads are gathers.
  EXPECT_EQ(c.p.kernels[0].outer.back().extent, 62);
}

TEST(ConvLowering, SmallOrUnpaddedConvsAreOneKernel) {
  Compiled small(R"(func @f(%x: f32[2,64,256], %w: f32[64,1,4]) -> (f32[2,64,256]) {
    %0 = conv %x, %w {stride = [1], dilation = [1], pad_low = [3], pad_high = [0], groups = 64} : f32[2,64,256]
    return %0
  })");
  EXPECT_EQ(small.p.kernels.size(), 1u);
  Compiled unpadded(R"(func @f(%x: f32[8,64,1024], %w: f32[64,1,4]) -> (f32[8,64,1021]) {
    %0 = conv %x, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 64} : f32[8,64,1021]
    return %0
  })");
  EXPECT_EQ(unpadded.p.kernels.size(), 1u);
}

TEST(ConvLowering, ComputedInputsAreStoredFirst) {
  Compiled c(R"(func @f(%x: f32[1,4,32], %w: f32[4,4,3]) -> (f32[1,4,30]) {
    %0 = exp %x : f32[1,4,32]
    %1 = conv %0, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 1} : f32[1,4,30]
    return %1
  })");
  ASSERT_EQ(c.p.kernels.size(), 2u);
  bool found = false;
  for (const passes::Boundary& b : c.p.schedule.boundaries)
    if (b.node->op == ir::OpKind::Exp) {
      found = true;
      EXPECT_EQ(b.reason, "conv reads each operand element many times: stored, not recomputed");
    }
  EXPECT_TRUE(found);
}

// A conv with several taps reads its input through views only: an elementwise value (a
// ReLU's mask applied to a cotangent) is stored rather than computed once per tap. The
// value under the views is what is stored, so other readers share it.
TEST(ConvLowering, ElementwiseInputsOfAConvWithTapsAreStored) {
  Compiled c(R"(func @f(%x: f32[1,4,32], %w: f32[4,4,3]) -> (f32[1,4,30]) {
    %0 = constant dense<0.0> : f32[]
    %1 = reshape %0 : f32[1,1,1]
    %2 = broadcast %1 : f32[1,4,32]
    %3 = max %x, %2 : f32[1,4,32]
    %4 = conv %3, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 1} : f32[1,4,30]
    return %4
  })");
  ASSERT_EQ(c.p.kernels.size(), 2u);
  ASSERT_EQ(c.p.schedule.boundaries.size(), 2u);
  EXPECT_EQ(c.p.schedule.boundaries[0].node->op, ir::OpKind::Max);
  EXPECT_EQ(c.p.schedule.boundaries[0].reason,
            "conv reads each operand element many times: stored, not recomputed");
  // One tap: the prologue stays fused.
  Compiled one(R"(func @f(%x: f32[1,4,32], %w: f32[4,4,1]) -> (f32[1,4,32]) {
    %0 = constant dense<0.0> : f32[]
    %1 = reshape %0 : f32[1,1,1]
    %2 = broadcast %1 : f32[1,4,32]
    %3 = max %x, %2 : f32[1,4,32]
    %4 = conv %3, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 1} : f32[1,4,32]
    return %4
  })");
  EXPECT_EQ(one.p.kernels.size(), 1u);
  // Transposed before the conv (a weight gradient's cotangent): exp is stored, not the
  // permute, and the sum beside the conv reads it too.
  Compiled shared(R"(func @f(%x: f32[4,2,32], %w: f32[3,4,30]) -> (f32[2,3,3], f32[2]) {
    %0 = exp %x : f32[4,2,32]
    %1 = permute %0 {perm = [1, 0, 2]} : f32[2,4,32]
    %2 = conv %1, %w {stride = [1], dilation = [1], pad_low = [0], pad_high = [0], groups = 1} : f32[2,3,3]
    %3 = reduce_sum %0 {axes = [0, 2], keepdims = false} : f32[2]
    return %2, %3
  })");
  bool found = false;
  for (const passes::Boundary& b : shared.p.schedule.boundaries)
    if (b.reason == "conv reads each operand element many times: stored, not recomputed") {
      found = true;
      EXPECT_EQ(b.node->op, ir::OpKind::Exp);
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(shared.p.kernels.size(), 3u);
}

}  // namespace
}  // namespace kiln::codegen
