// The inspection library behind kiln-ir (kiln/inspect.h), called from C++: source
// locations in the schedule, the Graphviz text, input generation and summaries.
#include <kiln/inspect.h>

#include <cmath>
#include <cstring>

#include "passes/pipeline.h"
#include "tools_test_util.h"

namespace kiln::testing {
namespace {

TEST(Inspect, ScheduleNamesSourceLines) {
  Tensor x = uniform(Key(1), {4, 8});  // random: the passes cannot fold it away
  Tensor y = exp(x) + 1.0f;            // the line the report must name
  const int line = __LINE__ - 1;
  ir::Graph g = graph_of(y);
  passes::optimize_graph(g);
  std::string report = inspect::schedule_report(g);
  EXPECT_THAT(report,
              ::testing::HasSubstr("= exp (inspect_test.cpp:" + std::to_string(line) + ")"));
  EXPECT_THAT(report, ::testing::HasSubstr("(graph result)"));
  EXPECT_THAT(report, ::testing::EndsWith("kernels: 1\n"));
}

TEST(Inspect, DotHasOneClusterPerKernelGroup) {
  Tensor x = uniform(Key(1), {4, 8});
  Tensor s = sum(exp(x), 1);
  Tensor c = cumsum(s, 0);  // a scan: a second group
  ir::Graph g = graph_of(c);
  passes::optimize_graph(g);
  std::string dot = inspect::dot_graph(g);
  EXPECT_THAT(dot, ::testing::StartsWith("digraph \"main\" {\n"));
  EXPECT_THAT(dot, ::testing::HasSubstr("subgraph cluster_0 {"));
  EXPECT_THAT(dot, ::testing::HasSubstr("subgraph cluster_1 {"));
  EXPECT_THAT(dot, ::testing::Not(::testing::HasSubstr("subgraph cluster_2 {")));
  EXPECT_THAT(dot, ::testing::HasSubstr("-> result0;"));
  EXPECT_EQ(std::count(dot.begin(), dot.end(), '{'), std::count(dot.begin(), dot.end(), '}'));
}

TEST(Inspect, RandomBuffersAreSeededAndInRange) {
  Type t{DType::F32, {1000}};
  BufferPtr a = inspect::random_buffer(t, 3), b = inspect::random_buffer(t, 3);
  BufferPtr c = inspect::random_buffer(t, 4);
  EXPECT_EQ(std::memcmp(a->data(), b->data(), a->nbytes()), 0);
  EXPECT_NE(std::memcmp(a->data(), c->data(), a->nbytes()), 0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_GE(a->as<float>()[i], -1.0f);
    EXPECT_LT(a->as<float>()[i], 1.0f);
  }
  BufferPtr u = inspect::random_buffer({DType::U8, {500}}, 1);
  BufferPtr k = inspect::random_buffer({DType::I32, {500}}, 1);
  BufferPtr z = inspect::random_buffer({DType::Bool, {500}}, 1);
  for (int i = 0; i < 500; ++i) {
    EXPECT_LT(u->as<uint8_t>()[i], 16);
    EXPECT_GE(k->as<int32_t>()[i], -8);
    EXPECT_LT(k->as<int32_t>()[i], 8);
    EXPECT_LE(z->as<uint8_t>()[i], 1);
  }
}

TEST(Inspect, SummaryOfABuffer) {
  auto b = std::make_shared<Buffer>(Type{DType::F32, {8}});
  float v[8] = {-1, 3, 1, 1, NAN, INFINITY, 0, 0};
  std::memcpy(b->data(), v, sizeof v);
  // Finite values -1, 3, 1, 1, 0, 0: min -1, max 3, mean 4/6.
  EXPECT_EQ(inspect::summarize_buffer(*b).substr(0, 51),
            "f32[8] min -1 max 3 mean 0.666667 nan 1 inf 1 [-1, ");
  EXPECT_THAT(inspect::summarize_buffer(*b), ::testing::EndsWith(", ...]"));
  EXPECT_EQ(inspect::summarize_buffer(Buffer(Type{DType::I32, {0, 3}})), "i32[0,3] (empty)");
}

TEST(Inspect, RunInputsCheckTypes) {
  ir::Graph g = graph_of(zeros({2, 3}) + 1.0f);  // no parameters: nothing to give
  EXPECT_TRUE(inspect::run_inputs(g, {}, {}, 0).empty());
  Tensor x = zeros({2, 3});
  ScratchDir dir;
  save_ir(dir / "f.kir", {x * 2.0f}, {.inputs = {{"x", x}}});
  IrFunction f = load_ir(dir / "f.kir");
  auto wrong = std::make_shared<Buffer>(Type{DType::F32, {3, 2}});
  expect_error<Error>([&] { inspect::run_inputs(f.graph(), f.bound(), {wrong}, 0); },
                      {"input 0 is f32[3,2], but parameter %x is f32[2,3]"});
  expect_error<Error>(
      [&] {
        inspect::run_inputs(f.graph(), f.bound(), {wrong, wrong}, 0);
      },
      {"2 inputs given, but the graph takes 1"});
  auto given = std::make_shared<Buffer>(Type{DType::F32, {2, 3}});
  auto r = inspect::run_graph(f.graph(), inspect::run_inputs(f.graph(), f.bound(), {given}, 0),
                              runtime::make_device("reference"), 1);
  EXPECT_EQ(r.device, "reference");
  EXPECT_EQ(r.warm_ms.size(), 1u);
  EXPECT_EQ(r.stats.host_syncs, 2);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0]->type().str(), "f32[2,3]");
}

}  // namespace
}  // namespace kiln::testing
