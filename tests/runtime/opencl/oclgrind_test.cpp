// A selection of generated kernels small enough for oclgrind, the OpenCL simulator that
// checks every memory access and work-group barrier. ctest runs these under
// `oclgrind --check-api --data-races` (run_oclgrind.cmake) and fails on any finding;
// elsewhere they are ordinary differential tests. (oclgrind 21.10's --uninitialized check
// stops at the `freeze` instructions LLVM 14 emits, so it is not used.) Every kernel shape is
// covered, in the CPU's and in a GPU's configuration, and a custom kernel between two
// fused ones.
#include <kiln/custom_kernel.h>

#include <cstdlib>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

using codegen::ShapeHint;

// The device with its target changed: `gpu` gives a GPU's group sizes and register rows.
std::shared_ptr<runtime::opencl::OpenCLDevice> variant(runtime::opencl::OpenCLDevice& d,
                                                       ShapeHint hint, bool gpu) {
  codegen::opencl::OpenCLTarget t = d.target();
  t.shape_hint = hint;
  if (gpu) {
    t.is_gpu = true;
    t.compute_units = 2;
    t.row_group_size = 32;
    t.map_group_size = 32;
  }
  return std::make_shared<runtime::opencl::OpenCLDevice>(d.info(), t);
}

// run_oclgrind.cmake sets KILN_EXPECT_DEVICE, so that the selection cannot pass on another
// device than the simulator.
TEST(OpenCLOclgrind, OnTheExpectedDevice) {
  KILN_REQUIRE_OPENCL(device);
  const char* expected = std::getenv("KILN_EXPECT_DEVICE");
  if (!expected) GTEST_SKIP() << "KILN_EXPECT_DEVICE not set";
  EXPECT_NE(device->info().name.find(expected), std::string::npos) << device->info().name;
}

TEST(OpenCLOclgrind, Elementwise) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({6, 64}, DType::F32, 1), b = test_data({64}, DType::F32, 2);
  Tensor h = test_data({6, 64}, DType::F16, 3);
  for (bool gpu : {false, true}) {
    auto d = variant(*device, ShapeHint::Auto, gpu);
    EXPECT_TRUE(matches_reference(*d, {maximum((x + b) * 1.5 - x * x, 0.0) + 0.25, exp(h) * 0.5}));
  }
}

// A causal depthwise conv large enough for an interior kernel, whose taps read their
// windows from the two aligned vectors around them (codegen/opencl/render_kernel.cpp):
// the second vector of the last window must stay inside the buffer.
TEST(OpenCLOclgrind, ShiftedWindowsStayInside) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({1, 4, 16384}, DType::F32, 12), w = test_data({4, 1, 4}, DType::F32, 13);
  for (bool gpu : {false, true}) {
    auto d = variant(*device, ShapeHint::Auto, gpu);
    EXPECT_TRUE(matches_reference(*d,
                                  {conv1d(x, w, {.padding = ConvPadding::causal(), .groups = 4})},
                                  accumulated_tolerance(DType::F32, 4)));
  }
}

TEST(OpenCLOclgrind, ReductionsInEveryShape) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({3, 130}, DType::F32, 4);
  Tensor flat = test_data({600}, DType::F32, 5);
  for (bool gpu : {false, true}) {
    for (ShapeHint hint : {ShapeHint::Map, ShapeHint::Row, ShapeHint::Split}) {
      auto d = variant(*device, hint, gpu);
      EXPECT_TRUE(matches_reference(*d, {sum(x, 1), argmax(x, 1), max(x, 0), sum(flat)},
                                    accumulated_tolerance(DType::F32, 600)));
    }
  }
}

TEST(OpenCLOclgrind, SoftmaxAndLayerNorm) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({3, 700}, DType::F32, 6);
  Tensor w = test_data({700}, DType::F32, 7), b = test_data({700}, DType::F32, 8);
  for (bool gpu : {false, true}) {
    auto d = variant(*device, ShapeHint::Auto, gpu);
    EXPECT_TRUE(matches_reference(*d, {softmax(x, -1), layer_norm(x, -1, w, b, 1e-5)},
                                  accumulated_tolerance(DType::F32, 700)));
  }
}

TEST(OpenCLOclgrind, GatherPadScanScatter) {
  KILN_REQUIRE_OPENCL(device);
  Tensor data = test_data({6, 40}, DType::F32, 9);
  Tensor idx = test_data({4, 40}, DType::I32, 10, -8, 8);
  Tensor upd = test_data({4, 40}, DType::F32, 11);
  EXPECT_TRUE(matches_reference(*device,
                                {gather(data, idx, 0), pad(data, {{1, 2}, {3, 0}}, 0.5),
                                 cumsum(data, 1), scatter_add(data, idx, upd, 0)},
                                accumulated_tolerance(DType::F32, 40)));
}

TEST(OpenCLOclgrind, CustomKernelBetweenFusedKernels) {
  KILN_REQUIRE_OPENCL(device);
  Tensor a = test_data({4, 96}, DType::F32, 12);
  Tensor y = custom_kernel({.name = "shift_add",
                            .source = R"(
                              const long i = get_global_id(0), r = get_global_id(1);
                              const long n = x_shape[1];
                              y[r * n + i] = x[r * n + i] + (i > 0 ? x[r * n + i - 1] : 0.0f);)",
                            .inputs = {{"x", a * 2.0}},
                            .outputs = {{"y", a.shape(), DType::F32}},
                            .grid = {96, 4},
                            .local = {32, 1}})[0];
  Tensor want = a * 2.0 + pad(slice(a * 2.0, 1, 0, 95), {{0, 0}, {1, 0}}, 0.0f);
  frontend::Extraction ex = frontend::extract_graph({(y + 1.0).node()}, false);
  frontend::Extraction ref = frontend::extract_graph({(want + 1.0).node()}, false);
  EXPECT_TRUE(buffers_close(*device->run(ex.graph, ex.inputs)[0],
                            *runtime::evaluate(ref.graph, ref.inputs)[0],
                            tolerance_for(DType::F32)));
}

}  // namespace
}  // namespace kiln::testing
