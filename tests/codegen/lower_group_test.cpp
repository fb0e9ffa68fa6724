// Lowering fusion groups to KernelIR: loop merging over contiguous data, row kernels,
// vectorization choices, row caching and reduction splitting, on IR written as text.
#include <gtest/gtest.h>

#include "codegen/choose_pairwise_sums.h"
#include "codegen/kernel_passes.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

// Keeps the graph alive with the program (programs point into it).
struct Compiled {
  ir::Graph g;
  Program p;
  Compiled(const std::string& text, LowerOptions o = {})
      : g(ir::parse_graph(text)), p(build_program(g, o)) {}
};

int divisions(const Kernel& k) {
  int n = 0;
  for (const Stage& s : k.stages) {
    if (s.value) n += count_div_mod(s.value);
    for (const Store& st : s.stores) n += count_div_mod(st.index) + count_div_mod(st.value);
  }
  return n;
}

TEST(LowerGroup, ContiguousElementwiseIsOneLoop) {
  Compiled c(R"(func @f(%x: f32[4,8,16], %y: f32[4,8,16]) -> (f32[4,8,16]) {
    %0 = add %x, %y : f32[4,8,16]
    %1 = exp %0 : f32[4,8,16]
    return %1
  })");
  ASSERT_EQ(c.p.kernels.size(), 1u);
  const Kernel& k = c.p.kernels[0];
  ASSERT_EQ(k.outer.size(), 1u);
  EXPECT_EQ(k.outer[0].extent, 4 * 8 * 16);
  EXPECT_EQ(divisions(k), 0);
  EXPECT_EQ(k.vector_mode, VectorMode::Outer);
}

TEST(LowerGroup, ReshapesAndPermutesOfContiguousDataNeedNoDivision) {
  Compiled c(R"(func @f(%x: f32[6,20]) -> (f32[2,3,4,5]) {
    %0 = reshape %x : f32[2,3,4,5]
    %1 = neg %0 : f32[2,3,4,5]
    return %1
  })");
  EXPECT_EQ(divisions(c.p.kernels[0]), 0);
  EXPECT_EQ(c.p.kernels[0].outer.size(), 1u);
}

TEST(LowerGroup, BroadcastKeepsTwoLoops) {
  Compiled c(R"(func @f(%x: f32[32,100], %b: f32[100]) -> (f32[32,100]) {
    %0 = reshape %b : f32[1,100]
    %1 = broadcast %0 : f32[32,100]
    %2 = mul %x, %1 : f32[32,100]
    return %2
  })");
  const Kernel& k = c.p.kernels[0];
  EXPECT_EQ(k.outer.size(), 2u);
  EXPECT_EQ(divisions(k), 0);
  EXPECT_EQ(k.scalars.size(), 0u);
}

TEST(LowerGroup, RowReductionVectorizesTheRowColumnReductionTheColumns) {
  Compiled rows(R"(func @f(%x: f32[64,512]) -> (f32[64]) {
    %0 = reduce_sum %x {axes = [1], keepdims = false} : f32[64]
    return %0
  })",
                {true, 16, 1, 0});
  EXPECT_EQ(rows.p.kernels[0].vector_mode, VectorMode::Inner);
  Compiled cols(R"(func @f(%x: f32[512,64]) -> (f32[64]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f32[64]
    return %0
  })",
                {true, 16, 1, 0});
  EXPECT_EQ(cols.p.kernels[0].vector_mode, VectorMode::Outer);
}

TEST(LowerGroup, SoftmaxIsOneRowKernelThatCachesItsExponentials) {
  const char* softmax = R"(func @f(%x: f32[8,1000]) -> (f32[8,1000]) {
    %0 = reduce_max %x {axes = [1], keepdims = true} : f32[8,1]
    %1 = broadcast %0 : f32[8,1000]
    %2 = sub %x, %1 : f32[8,1000]
    %3 = exp %2 : f32[8,1000]
    %4 = reduce_sum %3 {axes = [1], keepdims = true} : f32[8,1]
    %5 = broadcast %4 : f32[8,1000]
    %6 = div %3, %5 : f32[8,1000]
    return %6
  })";
  LowerOptions o;
  o.vector_lanes = 16;
  Compiled plain(softmax, o);
  ASSERT_EQ(plain.p.kernels.size(), 1u);
  const Kernel& k = plain.p.kernels[0];
  ASSERT_EQ(k.stages.size(), 3u);
  EXPECT_EQ(k.stages[0].kind, StageKind::Reduce);
  EXPECT_EQ(k.stages[1].kind, StageKind::Reduce);
  EXPECT_EQ(k.stages[2].kind, StageKind::Loop);
  EXPECT_EQ(k.outer.size(), 1u);
  for (const BufferParam& b : k.buffers) EXPECT_FALSE(b.local);
  o.row_cache_bytes = 1 << 16;
  Compiled cached(softmax, o);
  const Kernel& kc = cached.p.kernels[0];
  ASSERT_EQ(kc.buffers.size(), 3u);
  EXPECT_TRUE(kc.buffers[2].local);
  EXPECT_EQ(kc.buffers[2].numel, 1000);
  EXPECT_EQ(kc.stages[1].stores.size(), 1u);
  // The program's launch passes only the two real buffers.
  EXPECT_EQ(cached.p.launches[0].buffers.size(), 2u);
}

TEST(LowerGroup, FullReductionSplitsIntoPartialsForThreads) {
  const char* text = R"(func @f(%x: f32[1000,100]) -> (f32[]) {
    %0 = reduce_sum %x {axes = [0, 1], keepdims = false} : f32[]
    return %0
  })";
  LowerOptions one;
  EXPECT_EQ(Compiled(text, one).p.launches.size(), 1u);
  LowerOptions four;
  four.threads = 4;
  Compiled c(text, four);
  ASSERT_EQ(c.p.launches.size(), 2u);
  EXPECT_EQ(c.p.kernels[0].outer.back().extent, 32);  // 8 chunks per thread
  int temps = 0;
  for (const ProgramValue& v : c.p.values) temps += v.kind == ProgramValue::Kind::Temp;
  EXPECT_EQ(temps, 1);
}

TEST(LowerGroup, LongFloatSumsAccumulatePairwise) {
  auto stage0 = [](const char* text) {
    Compiled c(text, {true, 16, 1, 0});
    return c.p.kernels.at(0).stages.at(0);
  };
  // f32 and f16 sums (accumulated in f32), matmul's dot products: blocks of 16 additions.
  Stage s = stage0(R"(func @f(%x: f32[4,5000]) -> (f32[4]) {
    %0 = reduce_sum %x {axes = [1], keepdims = false} : f32[4]
    return %0
  })");
  EXPECT_EQ(s.pairwise_block, kPairwiseBlock);
  EXPECT_EQ(stage0(R"(func @f(%x: f16[3000]) -> (f16[]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f16[]
    return %0
  })")
                .pairwise_block,
            kPairwiseBlock);
  EXPECT_EQ(stage0(R"(func @f(%a: f32[2,4000], %b: f32[4000,2]) -> (f32[2,2]) {
    %0 = matmul %a, %b : f32[2,2]
    return %0
  })")
                .pairwise_block,
            kPairwiseBlock);
  // Short sums, f64 sums and other reductions keep one running accumulator.
  EXPECT_EQ(stage0(R"(func @f(%x: f32[4,16]) -> (f32[4]) {
    %0 = reduce_sum %x {axes = [1], keepdims = false} : f32[4]
    return %0
  })")
                .pairwise_block,
            0);
  EXPECT_EQ(stage0(R"(func @f(%x: f64[5000]) -> (f64[]) {
    %0 = reduce_sum %x {axes = [0], keepdims = false} : f64[]
    return %0
  })")
                .pairwise_block,
            0);
  EXPECT_EQ(stage0(R"(func @f(%x: f32[5000]) -> (f32[]) {
    %0 = reduce_max %x {axes = [0], keepdims = false} : f32[]
    return %0
  })")
                .pairwise_block,
            0);
  // The cascade's levels: block counts below 2^(levels - 1).
  EXPECT_EQ(pairwise_levels(16, 16), 2);
  EXPECT_EQ(pairwise_levels(17, 16), 3);
  EXPECT_EQ(pairwise_levels(int64_t{10'000'000}, 16), 21);
}

TEST(LowerGroup, ScalarConstantsAreArguments) {
  Compiled c(R"(func @f(%x: f32[10]) -> (f32[10]) {
    %0 = constant dense<2.5> : f32[]
    %1 = reshape %0 : f32[1]
    %2 = broadcast %1 : f32[10]
    %3 = mul %x, %2 : f32[10]
    return %3
  })");
  const Kernel& k = c.p.kernels[0];
  ASSERT_EQ(k.scalars.size(), 1u);
  EXPECT_EQ(k.scalars[0], DType::F32);
  EXPECT_EQ(k.buffers.size(), 2u);
  EXPECT_EQ(scalar_slot(c.p.launches[0].scalars[0]), 0x40200000u);  // 2.5f
}

TEST(LowerGroup, PadAndConcatAreGuardedClampedReads) {
  Compiled c(R"(func @f(%x: f32[4], %y: f32[3]) -> (f32[9]) {
    %0 = pad %x {low = [1], high = [1], value = 0.0} : f32[6]
    %1 = concat %0, %y {axis = 0} : f32[9]
    return %1
  })");
  const Kernel& k = c.p.kernels[0];
  EXPECT_EQ(c.p.kernels.size(), 1u);
  EXPECT_NE(print_kernel(k).find("select"), std::string::npos);
  EXPECT_NE(print_kernel(k).find("binary.min"), std::string::npos);
}

TEST(LowerGroup, ScatterAddAccumulatesInTheWideDtype) {
  Compiled c(R"(func @f(%b: f32[5,3], %i: i64[4,3], %u: f32[4,3]) -> (f32[5,3]) {
    %0 = scatter_add %b, %i, %u {axis = 0} : f32[5,3]
    return %0
  })");
  ASSERT_EQ(c.p.launches.size(), 3u);  // copy into f64, accumulate, convert back
  bool sequential = false;
  for (const Kernel& k : c.p.kernels)
    for (const Stage& s : k.stages) sequential |= s.sequential;
  EXPECT_TRUE(sequential);
}

}  // namespace
}  // namespace kiln::codegen
