// The OpenCL device: discovery and selection, the errors for absent platforms and
// devices and for memory it cannot have, program build errors, executables replayed
// without recompiling, and the statistics it counts.
#include <gmock/gmock.h>
#include <kiln/custom_kernel.h>

#include <cstdlib>
#include <filesystem>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(OpenCLDevice, SelectsByIndexAndByName) {
  KILN_REQUIRE_OPENCL(device);
  auto first = runtime::make_device("opencl:" + std::to_string(device->info().index));
  EXPECT_EQ(first.get(), device.get());
  EXPECT_THAT(device->name(), StartsWith("opencl:"));
  EXPECT_THAT(device->name(), HasSubstr(device->info().name));
  // A part of the device's name, in any case, picks it.
  std::string part = device->info().name.substr(0, std::min<size_t>(6, device->info().name.size()));
  for (char& c : part) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto by_name = runtime::make_device(part);
  EXPECT_NE(std::dynamic_pointer_cast<runtime::opencl::OpenCLDevice>(by_name), nullptr);
}

TEST(OpenCLDevice, UnknownIndexListsTheDevices) {
  KILN_REQUIRE_OPENCL(device);
  try {
    runtime::make_device("opencl:999");
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no OpenCL device 'opencl:999'"));
    EXPECT_THAT(e.what(), HasSubstr(device->info().name));
  }
}

// Runs in a child process whose ICD loader finds no platform (OCL_ICD_VENDORS names an
// empty folder): every way of asking for an OpenCL device gives a DeviceError.
TEST(OpenCLNoPlatform, Child) {
  if (!std::getenv("KILN_TEST_NO_PLATFORM_CHILD"))
    GTEST_SKIP() << "run by OpenCLNoPlatform.ClearError";
  try {
    runtime::make_device("opencl");
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no OpenCL platform found"));
    EXPECT_THAT(e.what(), HasSubstr("OCL_ICD_VENDORS"));
  }
  EXPECT_THROW(runtime::make_device("opencl:1"), DeviceError);
  EXPECT_THROW(runtime::opencl::list_devices(), DeviceError);
  // A custom kernel on the reference evaluator has no OpenCL device to run on.
  Tensor x = test_data({64}, DType::F32, 1);
  Tensor y = custom_kernel({.name = "copy",
                            .source = "y[get_global_id(0)] = x[get_global_id(0)];",
                            .inputs = {{"x", x}},
                            .outputs = {{"y", {64}, DType::F32}},
                            .grid = {64}})[0];
  try {
    eval(runtime::make_device("reference"), {y});
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("custom kernel 'copy' needs an OpenCL device"));
    EXPECT_THAT(e.what(), HasSubstr("no OpenCL platform found"));
  }
  // A name part offered to every backend reports why OpenCL could not answer.
  try {
    runtime::make_device("SomeGPU");
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no OpenCL platform found"));
  }
}

TEST(OpenCLNoPlatform, ClearError) {
  std::filesystem::path empty = std::filesystem::temp_directory_path() / "kiln-empty-icd";
  std::filesystem::create_directories(empty);
  std::string cmd = "OCL_ICD_VENDORS=" + empty.string() + " KILN_TEST_NO_PLATFORM_CHILD=1 " +
                    std::filesystem::read_symlink("/proc/self/exe").string() +
                    " --gtest_filter=OpenCLNoPlatform.Child > " + (empty / "log").string() +
                    " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << "the child test failed; its output is in " << (empty / "log").string();
}

TEST(OpenCLDevice, BufferLargerThanTheDeviceAllowsIsADeviceError) {
  KILN_REQUIRE_OPENCL(device);
  try {
    device->allocate(device->info().max_alloc_bytes + 4096, CL_MEM_READ_WRITE, "a test buffer");
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("a test buffer"));
    EXPECT_THAT(e.what(), HasSubstr("allows at most"));
  }
  // A whole graph whose result cannot fit: the run fails cleanly.
  // (A 32-element input is a parameter, so no pass folds the broadcast on the host.)
  Tensor small = reshape(test_data({32}, DType::F32, 1), {32, 1});
  Tensor huge = broadcast_to(small, {32, int64_t{1} << 35});
  EXPECT_THROW(eval(device, {huge + 1.0f}), DeviceError);
}

TEST(OpenCLDevice, BuildErrorCarriesTheLog) {
  KILN_REQUIRE_OPENCL(device);
  try {
    device->program("__kernel void broken(__global float* p) { p[0] = undefined_name; }",
                    "a broken test kernel", nullptr);
    FAIL() << "expected CompileError";
  } catch (const CompileError& e) {
    EXPECT_THAT(e.what(), HasSubstr("a broken test kernel failed to build"));
    EXPECT_THAT(e.what(), HasSubstr("undefined_name"));
    EXPECT_THAT(e.what(), HasSubstr("Build log"));
  }
}

TEST(OpenCLDevice, ExecutableReplaysWithoutRecompiling) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({64, 100}, DType::F32, 5);
  Tensor y = softmax(x * 2.0, -1) + sum(x, 1, true);
  frontend::Extraction ex = frontend::extract_graph({y.node()}, false);
  std::vector<BufferPtr> want = runtime::evaluate(ex.graph, ex.inputs);
  auto exe = runtime::prepare(*device, ex.graph, ex.inputs);
  EXPECT_GE(exe->launches_per_run(), 1);
  reset_stats();
  for (int i = 0; i < 3; ++i) exe->enqueue();
  std::vector<BufferPtr> got = exe->read_results();
  EXPECT_TRUE(buffers_close(*got[0], *want[0], accumulated_tolerance(DType::F32, 100)));
  EXPECT_EQ(stats().kernels_compiled, 0);
  // A second run of the same graph finds every kernel in memory.
  device->run(ex.graph, ex.inputs);
  Stats s = stats();
  EXPECT_EQ(s.kernels_compiled, 0);
  EXPECT_GE(s.cache_hits_memory, 1);
  EXPECT_EQ(s.graphs_run, 1);
  EXPECT_EQ(s.launches, exe->launches_per_run());
  EXPECT_EQ(s.plans_reused, 1);  // prepare() planned this graph already
  // New inputs for the same graph: the plan is reused, the values are the new ones.
  Tensor x2 = test_data({64, 100}, DType::F32, 6);
  std::vector<BufferPtr> inputs2 = ex.inputs;
  inputs2[0] = frontend::extract_graph({x2.node()}, false).inputs.at(0);
  got = device->run(ex.graph, inputs2);
  EXPECT_EQ(stats().plans_reused, 2);
  EXPECT_TRUE(buffers_close(*got[0], *runtime::evaluate(ex.graph, inputs2)[0],
                            accumulated_tolerance(DType::F32, 100)));
}

TEST(OpenCLDevice, InputsStayOnTheDeviceWhileTheyLive) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({64, 100}, DType::F32, 7);
  frontend::Extraction ex = frontend::extract_graph({(x * 2.0 + 1.0).node()}, false);
  ASSERT_EQ(ex.inputs.size(), 1u);
  const int64_t input_bytes = 64 * 100 * 4;
  reset_stats();
  device->run(ex.graph, ex.inputs);  // uploads x and allocates the result
  const int64_t first = stats().bytes_allocated;
  reset_stats();
  std::vector<BufferPtr> got = device->run(ex.graph, ex.inputs);
  EXPECT_EQ(first - stats().bytes_allocated, input_bytes) << "the input was uploaded again";
  EXPECT_GE(device->resident_bytes(), input_bytes);
  EXPECT_TRUE(buffers_close(*got[0], *runtime::evaluate(ex.graph, ex.inputs)[0], {1e-6, 1e-6}));
  // A result that run() read back keeps its device copy: fed to the next eval, no upload.
  reset_stats();
  std::vector<BufferPtr> twice = device->run(ex.graph, got);
  EXPECT_EQ(first - stats().bytes_allocated, input_bytes) << "the result was uploaded";
  EXPECT_TRUE(buffers_close(*twice[0], *runtime::evaluate(ex.graph, got)[0], {1e-6, 1e-6}));
  // Fresh buffers (the allocator may hand out the same addresses) are uploaded anew.
  for (uint64_t seed = 100; seed < 106; ++seed) {
    std::vector<BufferPtr> fresh =
        frontend::extract_graph({test_data({64, 100}, DType::F32, seed).node()}, false).inputs;
    reset_stats();
    got = device->run(ex.graph, fresh);
    EXPECT_EQ(stats().bytes_allocated, first) << seed;
    EXPECT_TRUE(buffers_close(*got[0], *runtime::evaluate(ex.graph, fresh)[0], {1e-6, 1e-6}))
        << seed;
  }
}

TEST(OpenCLDevice, DefaultDeviceFromTheEnvironmentRunsTheFrontend) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = from_data<float>({1, 2, 3, 4}, {2, 2});
  Tensor y = sum(x * x, 1);
  eval(device, {y});
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{5, 25}));
}

}  // namespace
}  // namespace kiln::testing
