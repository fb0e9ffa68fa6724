// Fusion tests: how many kernels a computation compiles to (graph passes, schedule,
// lowering; no backend needed), for graphs written with the public API.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include "codegen/program.h"
#include "ir/printer.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

// A program with the graph it was compiled from, which must outlive it: the program's
// node pointers (schedule boundaries, constants) point into that graph.
struct Compiled {
  ir::Graph graph;
  codegen::Program program;
};

Compiled compile(const std::vector<Tensor>& ts, passes::ScheduleOptions sopt = {}) {
  Compiled c{graph_of(ts), {}};
  passes::optimize_graph(c.graph);
  c.program = codegen::build_program(c.graph, {}, sopt);
  return c;
}

size_t kernels(const std::vector<Tensor>& ts, passes::ScheduleOptions sopt = {}) {
  return compile(ts, sopt).program.launches.size();
}

Tensor data(const Shape& s) {
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 13) * 0.125f - 0.7f;
  return from_data(v, s);
}

TEST(Fusion, ElementwiseChainWithBroadcastIsOneKernel) {
  Tensor x = data({64, 128});
  Tensor b = data({128});
  // Six ops, one of them a broadcast of b across the rows.
  Tensor y = tanh(maximum(subtract(exp(multiply(add(x, b), 2.0f)), x), 0.5f));
  EXPECT_EQ(kernels({y}), 1u) << print_ir({y});
}

TEST(Fusion, SumOfExpOfSumIsOneKernel) {
  Tensor a = data({32, 300});
  Tensor b = data({32, 300});
  Tensor y = sum(exp(add(a, b)), {1});
  EXPECT_EQ(kernels({y}), 1u) << print_ir({y});
}

TEST(Fusion, SoftmaxIsOneKernelWhenTheRowFits) {
  Tensor x = data({64, 1024});
  EXPECT_EQ(kernels({softmax(x)}), 1u);
}

TEST(Fusion, SoftmaxIsTwoKernelsWhenTheRowIsTooLarge) {
  Tensor x = data({4, 1024});
  passes::ScheduleOptions tiny;
  tiny.max_row_bytes = 256;
  EXPECT_EQ(kernels({softmax(x)}, tiny), 2u);
}

TEST(Fusion, LayerNormIsAtMostTwoKernels) {
  Tensor x = data({64, 768});
  Tensor w = data({768});
  Tensor b = data({768});
  EXPECT_LE(kernels({layer_norm(x, -1, w, b)}), 1u);
  passes::ScheduleOptions tiny;
  tiny.max_row_bytes = 256;
  EXPECT_LE(kernels({layer_norm(x, -1, w, b)}, tiny), 2u);
}

TEST(Fusion, SoftmaxAndItsMaximumAsResultsShareAKernel) {
  Tensor x = data({16, 256});
  Tensor m = kiln::max(x, {1}, true);
  EXPECT_EQ(kernels({softmax(x), m}), 1u);
}

TEST(Fusion, ReductionOverAnotherAxisIsABoundary) {
  Tensor x = data({64, 96});
  // The column sums are a reduction over axis 0, broadcast along the rows of a kernel
  // that reduces over axis 1: they need a kernel of their own.
  Tensor c = sum(x, {0}, true);
  Tensor y = sum(multiply(x, c), {1});
  Compiled compiled = compile({y});
  const codegen::Program& p = compiled.program;
  EXPECT_EQ(p.launches.size(), 2u);
  bool has_reason = false;
  for (const auto& bd : p.schedule.boundaries)
    has_reason |=
        bd.node->op == ir::OpKind::ReduceSum && bd.reason.find("reduction") != std::string::npos;
  EXPECT_TRUE(has_reason);
}

TEST(Fusion, RowAxesFollowTheReductionsThatShareThem) {
  Tensor x = data({64, 100});
  // The column sum (axis 0) is read first in the tree, but the two reductions of the
  // softmax share axis 1: the softmax is the row kernel, the column sum a kernel before it.
  Tensor y = softmax(multiply(x, sum(x, {0}, true)));
  EXPECT_EQ(kernels({y}), 2u);
}

TEST(Fusion, MatMulWithBiasAndActivationIsOneKernel) {
  Tensor x = data({16, 32});
  Tensor w = data({32, 24});
  Tensor b = data({24});
  EXPECT_EQ(kernels({tanh(add(matmul(x, w), b))}), 1u);
}

TEST(Fusion, ScalarsAreArgumentsNotPartOfTheKernel) {
  Tensor x = data({8, 40});
  codegen::Program p2 = compile({multiply(x, 2.5f)}).program;
  codegen::Program p3 = compile({multiply(x, -7.25f)}).program;
  ASSERT_EQ(p2.kernel_hashes.size(), 1u);
  ASSERT_EQ(p3.kernel_hashes.size(), 1u);
  EXPECT_EQ(p2.kernel_hashes[0], p3.kernel_hashes[0]);
  EXPECT_EQ(p2.kernels[0].scalars.size(), 1u);
}

TEST(Fusion, DeadIntermediatesShareMemory) {
  Tensor x = data({4, 1000});
  // Three row reductions in sequence, each broadcast back over another axis shape:
  // every stage is a kernel, and the intermediates live one after another.
  Tensor a = sum(x, {0}, true);
  Tensor b = sum(multiply(x, a), {1}, true);
  Tensor c = sum(multiply(x, b), {0}, true);
  Tensor d = sum(multiply(x, c), {1}, true);
  codegen::Program p = compile({d}).program;
  EXPECT_GE(p.launches.size(), 4u);
  EXPECT_LT(p.memory.planned_bytes, p.memory.unplanned_bytes);
}

}  // namespace
}  // namespace kiln
