// The OpenCL renderer on its own (no device needed): which kernel shape it picks for a
// GPU-like target, vector widths, 32-bit index arithmetic, launches, and the errors for
// what a device lacks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include "codegen/opencl/render_kernel.h"
#include "codegen/program.h"
#include "frontend/evaluate.h"
#include "passes/pipeline.h"

namespace kiln::codegen::opencl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

OpenCLTarget gpu_target() {
  OpenCLTarget t;
  t.device_name = "test GPU";
  t.is_gpu = true;
  t.fp64 = true;
  t.compute_units = 100;
  t.max_work_group_size = 1024;
  t.local_mem_bytes = 48 * 1024;
  return t;
}

// The rendered kernels of the graph computing `outputs`.
std::vector<RenderedKernel> render(const std::vector<Tensor>& outputs, const OpenCLTarget& target) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  passes::optimize_graph(ex.graph);
  LowerOptions lower;
  lower.vector_lanes = target.vector_width;
  Program p = build_program(ex.graph, lower);
  std::vector<RenderedKernel> out;
  for (size_t i = 0; i < p.kernels.size(); ++i)
    out.push_back(render_kernel(p.kernels[i], target, "k" + std::to_string(i)));
  return out;
}

Tensor input(const Shape& shape, DType dtype = DType::F32) {
  return from_data(std::vector<float>(static_cast<size_t>(numel(shape)), 1.0f), shape, dtype);
}

TEST(OpenCLRender, ElementwiseChainIsOneVectorizedMapKernel) {
  Tensor x = input({1024, 1024}), b = input({1024});
  auto k = render({maximum((x + b) * 1.5 - x * x, 0.0) + 0.25}, gpu_target());
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].shape, GroupShape::Map);
  EXPECT_EQ(k[0].vector_width, 4);
  ASSERT_EQ(k[0].launches.size(), 1u);
  EXPECT_EQ(k[0].launches[0].global, 1024 * 1024 / 4);
  EXPECT_EQ(k[0].launches[0].local, 256);
  // Aligned vector loads and stores of x and y; 32-bit index arithmetic only.
  EXPECT_THAT(k[0].body, HasSubstr("(__global const float4*)"));
  EXPECT_THAT(k[0].body, HasSubstr("vstore4("));
  EXPECT_THAT(k[0].body, Not(HasSubstr("const long")));
}

// A causal depthwise conv's interior reads each tap's window of 4 at an offset past a
// vector boundary: from the two aligned float4 around it, which the taps share, instead of
// an unaligned vload4 per tap.
TEST(OpenCLRender, ShiftedWindowsReadAlignedVectors) {
  Tensor x = input({2, 8, 4096}), w = input({8, 1, 4});  // big enough for an interior
  auto k = render({conv1d(x, w, {.padding = ConvPadding::causal(), .groups = 8})}, gpu_target());
  ASSERT_FALSE(k.empty());
  EXPECT_EQ(k[0].vector_width, 4);
  EXPECT_THAT(k[0].body, Not(HasSubstr("vload4(")));
  EXPECT_THAT(k[0].body, HasSubstr("(__global const float4*)b0)[("));
}

TEST(OpenCLRender, SoftmaxRowIsOneRowKernelHeldInRegisters) {
  Tensor x = input({64, 8192});
  auto k = render({softmax(x, -1)}, gpu_target());
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].shape, GroupShape::Row);
  EXPECT_TRUE(k[0].unrolled);
  EXPECT_EQ(k[0].vector_width, 4);
  ASSERT_EQ(k[0].launches.size(), 1u);
  EXPECT_EQ(k[0].launches[0].global, 64 * 256);
  EXPECT_EQ(k[0].launches[0].local, 256);
  EXPECT_THAT(k[0].body, HasSubstr("barrier(CLK_LOCAL_MEM_FENCE)"));
  // Each element of the row is loaded from memory once, whatever the stages.
  size_t loads = 0;
  for (size_t at = 0; (at = k[0].body.find("(__global const float4*)b", at)) != std::string::npos;
       ++at)
    ++loads;
  EXPECT_EQ(loads, 8u);
}

TEST(OpenCLRender, LayerNormIsOneRowKernel) {
  Tensor x = input({16, 4096}), w = input({4096}), b = input({4096});
  auto k = render({layer_norm(x, -1, w, b, 1e-5)}, gpu_target());
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].shape, GroupShape::Row);
}

TEST(OpenCLRender, FullReductionIsSplitAcrossWorkGroups) {
  Tensor x = input({1 << 22});
  auto k = render({sum(x)}, gpu_target());
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].shape, GroupShape::Split);
  ASSERT_EQ(k[0].launches.size(), 2u);  // partial pass, final pass
  EXPECT_GT(k[0].launches[0].global / k[0].launches[0].local, 100);
  EXPECT_EQ(k[0].launches[1].global, k[0].launches[1].local);
  EXPECT_GT(k[0].scratch_bytes, 0);
}

TEST(OpenCLRender, ColumnReductionMapsOneWorkItemPerColumn) {
  Tensor x = input({512, 1 << 16});
  auto k = render({sum(x, 0)}, gpu_target());
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].shape, GroupShape::Map);
}

TEST(OpenCLRender, F64WithoutTheExtensionNamesIt) {
  Tensor x = input({64}, DType::F64);
  OpenCLTarget t = gpu_target();
  t.fp64 = false;
  try {
    render({exp(x)}, t);
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cl_khr_fp64"));
    EXPECT_THAT(e.what(), HasSubstr("test GPU"));
  }
}

TEST(OpenCLRender, F16NeedsOnlyCoreHalfLoadsAndStores) {
  Tensor x = input({64}, DType::F16);
  OpenCLTarget t = gpu_target();
  t.fp16 = false;
  auto k = render({exp(x) * 2.0}, t);
  ASSERT_EQ(k.size(), 1u);
  EXPECT_THAT(k[0].body, HasSubstr("vstore_half4_rte"));
  EXPECT_THAT(k[0].source, Not(HasSubstr("#pragma OPENCL EXTENSION cl_khr_fp16")));
}

TEST(OpenCLRender, CombinedSourcesShareOnePrelude) {
  Tensor x = input({128, 128});
  auto k = render({sum(x, 1), cumsum(x, 0)}, gpu_target());
  ASSERT_EQ(k.size(), 2u);
  std::string s = combine_sources({&k[0], &k[1]});
  EXPECT_THAT(s, HasSubstr(k[0].body));
  EXPECT_THAT(s, HasSubstr(k[1].body));
  size_t first = s.find("kiln_philox_word0(ulong");
  EXPECT_EQ(s.find("kiln_philox_word0(ulong", first + 1), std::string::npos);
}

}  // namespace
}  // namespace kiln::codegen::opencl
