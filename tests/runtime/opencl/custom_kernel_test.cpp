// Custom kernels: the depthwise 3-tap convolution written as an OpenCL body, checked
// against the same computation composed from ops; lazy inputs and fused consumers;
// several outputs from one launch; compile-once caching; template parameters; build logs
// that point into the user's body; declaration errors.
#include "runtime/custom_kernel.h"

#include <gmock/gmock.h>
#include <kiln/custom_kernel.h>

#include "ir/parser.h"
#include "ir/printer.h"
#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

const char* kConvBody = R"(
  const long i = get_global_id(0), c = get_global_id(1);
  const long n = x_shape[1];
  float acc = 0.0f;
  for (int k = 0; k < TAPS; ++k) {
    const long j = i + k - TAPS / 2;
    if (j >= 0 && j < n) acc += w[c * w_stride[0] + k] * x[c * x_stride[0] + j];
  }
  y[c * y_stride[0] + i] = acc;
)";

// y[c, i] = sum_k w[c, k] * x[c, i + k - 1], zero outside: the depthwise 3-tap convolution.
Tensor conv3_custom(const Tensor& x, const Tensor& w) {
  return custom_kernel({.name = "depthwise_conv3",
                        .source = kConvBody,
                        .inputs = {{"x", x}, {"w", w}},
                        .outputs = {{"y", x.shape(), DType::F32}},
                        .grid = {x.shape(1), x.shape(0)},
                        .params = {{"TAPS", "3"}}})[0];
}

Tensor conv3_ops(const Tensor& x, const Tensor& w) {
  const int64_t n = x.shape(1);
  Tensor p = pad(x, {{0, 0}, {1, 1}}, 0.0f);
  Tensor y = slice(w, 1, 0, 1) * slice(p, 1, 0, n);
  y = y + slice(w, 1, 1, 2) * slice(p, 1, 1, n + 1);
  return y + slice(w, 1, 2, 3) * slice(p, 1, 2, n + 2);
}

TEST(OpenCLCustomKernel, DepthwiseConvMatchesOps) {
  KILN_REQUIRE_OPENCL(device);
  Tensor a = test_data({8, 300}, DType::F32, 1), w = test_data({8, 3}, DType::F32, 2);
  Tensor x = a * 2.0 - 1.0;                      // a lazy input: computed by a fused kernel first
  Tensor mine = relu(conv3_custom(x, w)) + 1.0;  // the output feeds a fused kernel
  Tensor want = relu(conv3_ops(x, w)) + 1.0;
  frontend::Extraction ex = frontend::extract_graph({mine.node()}, false);
  frontend::Extraction ref = frontend::extract_graph({want.node()}, false);
  std::vector<BufferPtr> expected = runtime::evaluate(ref.graph, ref.inputs);
  reset_stats();
  std::vector<BufferPtr> got = device->run(ex.graph, ex.inputs);
  EXPECT_TRUE(buffers_close(*got[0], *expected[0], accumulated_tolerance(DType::F32, 3)));
  EXPECT_EQ(stats().launches, 3);  // the input's kernel, the convolution, the consumer's kernel
  // The reference evaluator runs the custom node through an OpenCL device too.
  std::vector<BufferPtr> reference = runtime::evaluate(ex.graph, ex.inputs);
  EXPECT_TRUE(buffers_close(*reference[0], *expected[0], accumulated_tolerance(DType::F32, 3)));
  // And so does the frontend on the default device.
  eval(device, {mine});
  EXPECT_TRUE(mine.is_evaluated());
}

TEST(OpenCLCustomKernel, CompiledOncePerSourceAndParameters) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({4, 100}, DType::F32, 3), w = test_data({4, 5}, DType::F32, 4);
  auto run = [&](const char* taps) {
    Tensor y = custom_kernel({.name = "depthwise_conv",
                              .source = kConvBody,
                              .inputs = {{"x", x}, {"w", w}},
                              .outputs = {{"y", x.shape(), DType::F32}},
                              .grid = {x.shape(1), x.shape(0)},
                              .params = {{"TAPS", taps}}})[0];
    frontend::Extraction ex = frontend::extract_graph({y.node()}, false);
    reset_stats();
    device->run(ex.graph, ex.inputs);
    return stats();
  };
  run("5");
  Stats again = run("5");
  EXPECT_EQ(again.kernels_compiled, 0);
  EXPECT_EQ(again.cache_hits_memory, 1);
  Stats other = run("3");
  EXPECT_EQ(other.cache_hits_memory + other.cache_hits_disk + other.kernels_compiled, 1);
  EXPECT_EQ(other.cache_hits_memory, 0);
}

TEST(OpenCLCustomKernel, SeveralOutputsFromOneLaunch) {
  KILN_REQUIRE_OPENCL(device);
  Tensor a = test_data({1000}, DType::F32, 5), b = test_data({1000}, DType::I32, 6, -50, 50);
  auto outs = custom_kernel({.name = "sum_and_count",
                             .source = R"(
                               const int i = get_global_id(0);
                               if (i >= a_numel) return;
                               s[i] = a[i] + (float)b[i];
                               positive[i] = b[i] > 0;
                               twice[i] = 2 * (long)b[i];)",
                             .inputs = {{"a", a}, {"b", b}},
                             .outputs = {{"s", {1000}, DType::F32},
                                         {"positive", {1000}, DType::Bool},
                                         {"twice", {1000}, DType::I64}},
                             .grid = {1024},
                             .local = {64}});
  ASSERT_EQ(outs.size(), 3u);
  std::vector<Tensor> want = {a + cast(b, DType::F32), b > 0, cast(b, DType::I64) * 2};
  frontend::Extraction ex =
      frontend::extract_graph({outs[0].node(), outs[1].node(), outs[2].node()}, false);
  frontend::Extraction ref =
      frontend::extract_graph({want[0].node(), want[1].node(), want[2].node()}, false);
  std::vector<BufferPtr> expected = runtime::evaluate(ref.graph, ref.inputs);
  reset_stats();
  std::vector<BufferPtr> got = device->run(ex.graph, ex.inputs);
  EXPECT_EQ(stats().launches, 1);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(buffers_close(*got[i], *expected[i], Tolerance{0, 0})) << i;
}

TEST(OpenCLCustomKernel, BuildErrorsPointIntoTheBody) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({64}, DType::F32, 7);
  Tensor y =
      custom_kernel({.name = "broken",
                     .source = "const int i = get_global_id(0);\ny[i] = x[i] * no_such_thing;",
                     .inputs = {{"x", x}},
                     .outputs = {{"y", {64}, DType::F32}},
                     .grid = {64}})[0];
  try {
    eval(device, {y});
    FAIL() << "expected CompileError";
  } catch (const CompileError& e) {
    EXPECT_THAT(e.what(), HasSubstr("custom kernel broken failed to build"));
    EXPECT_THAT(e.what(), HasSubstr("no_such_thing"));
    // Where the body starts in the numbered source (PoCL also reports "broken:2"; NVIDIA
    // ignores the #line that would make it).
    EXPECT_THAT(e.what(), HasSubstr("line 1 of the body of broken is line 8 of this source"));
    EXPECT_THAT(e.what(), HasSubstr("    9| y[i] = x[i] * no_such_thing;"));
  }
}

TEST(OpenCLCustomKernel, DeclarationErrors) {
  Tensor x = full({4}, 1.0f);
  auto with = [&](auto edit) {
    CustomKernel k{.name = "k",
                   .source = "",
                   .inputs = {{"x", x}},
                   .outputs = {{"y", {4}, DType::F32}},
                   .grid = {4}};
    edit(k);
    return k;
  };
  auto message = [&](const CustomKernel& k) -> std::string {
    try {
      custom_kernel(k);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(message(with([](CustomKernel& k) { k.name = "2fast"; })),
              HasSubstr("not a C identifier"));
  EXPECT_THAT(message(with([](CustomKernel& k) { k.outputs[0].name = "x"; })),
              HasSubstr("'x' is used twice"));
  EXPECT_THAT(message(with([](CustomKernel& k) { k.inputs.clear(); })),
              HasSubstr("at least one input"));
  EXPECT_THAT(message(with([](CustomKernel& k) {
                k.grid = {1, 2, 3, 4};
              })),
              HasSubstr("give 1 to 3"));
  EXPECT_THAT(message(with([](CustomKernel& k) { k.local = {3}; })),
              HasSubstr("not a multiple of the work-group's"));
  EXPECT_THAT(message(with([](CustomKernel& k) {
                k.params = {{"N", "1;2"}};
              })),
              HasSubstr("may not hold ';'"));
}

TEST(OpenCLCustomKernel, PrintsAndParsesAsIr) {
  Tensor x = test_data({8, 32}, DType::F32, 8), w = test_data({8, 3}, DType::F32, 9);
  Tensor y = conv3_custom(x, w);
  frontend::Extraction ex = frontend::extract_graph({y.node()}, false);
  EXPECT_EQ(ex.graph.nodes.back()->op, ir::OpKind::Custom);
  EXPECT_EQ(ex.graph.nodes.back()->attr_str("params"), "TAPS=3");
  EXPECT_EQ(ex.graph.nodes.back()->attr_i64s("grid"), (std::vector<int64_t>{32, 8}));
  // The text form round-trips, the multi-line source included.
  std::string text = ir::print_graph(ex.graph);
  EXPECT_THAT(text, HasSubstr("custom"));
  EXPECT_EQ(ir::print_graph(ir::parse_graph(text)), text);
}

}  // namespace
}  // namespace kiln::testing
