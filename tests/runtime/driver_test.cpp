// The driver over a fake device that implements the small Device interface and records
// each call: one compile, copies and allocations per run, one bind and launch per program
// launch, one synchronize; plans reused by structure; prepared executables that replay
// launches; the one input check, with its InputError and message, before any device call.
#include "runtime/driver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ir/error.h"
#include "runtime/stats.h"
#include "tests/expect_error.h"
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

using kiln::testing::expect_error;
using runtime::BoundLaunch;
using runtime::DeviceBuffer;
using runtime::DeviceBufferPtr;
using runtime::DeviceCounts;
using runtime::DeviceKernels;

struct FakeMemory : DeviceBuffer {
  std::vector<uint8_t> bytes;
};
struct FakeLaunch : BoundLaunch {
  size_t index = 0;
};

Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

ir::NodePtr param(std::string name, Type type) {
  auto p = ir::make_node(OpKind::Parameter, {}, {}, std::move(type));
  p->name = std::move(name);
  return p;
}

// Host memory and launches that compute nothing: the calls are what the tests look at.
class RecordingDevice : public runtime::Device {
 public:
  std::string name() const override { return "recording"; }
  std::shared_ptr<const DeviceKernels> compile(const codegen::Program& program,
                                               DeviceCounts& counts) override {
    calls.push_back("compile " + std::to_string(program.kernels.size()));
    counts.kernels_compiled += static_cast<int64_t>(program.kernels.size());
    return std::make_shared<DeviceKernels>();
  }
  DeviceBufferPtr allocate(int64_t bytes, const std::string&, DeviceCounts& counts) override {
    calls.push_back("allocate " + std::to_string(bytes));
    counts.bytes_allocated += bytes;
    auto m = std::make_shared<FakeMemory>();
    m->bytes.resize(static_cast<size_t>(bytes));
    return m;
  }
  DeviceBufferPtr allocate_result(const Type& type, DeviceCounts& counts) override {
    calls.push_back("allocate_result " + type.str());
    counts.bytes_allocated += static_cast<int64_t>(type.nbytes());
    auto m = std::make_shared<FakeMemory>();
    m->bytes.resize(type.nbytes());
    return m;
  }
  DeviceBufferPtr copy_in(const BufferPtr& host, DeviceCounts&) override {
    calls.push_back("copy_in " + host->type().str());
    auto m = std::make_shared<FakeMemory>();
    const auto* p = reinterpret_cast<const uint8_t*>(host->data());
    m->bytes.assign(p, p + host->nbytes());
    return m;
  }
  BufferPtr copy_out(const DeviceBufferPtr& mem, const Type& type, bool keep) override {
    calls.push_back(std::string("copy_out ") + type.str() + (keep ? " keep" : ""));
    auto host = std::make_shared<Buffer>(type);
    const auto& m = static_cast<const FakeMemory&>(*mem);
    std::memcpy(host->data(), m.bytes.data(), host->nbytes());
    return host;
  }
  std::unique_ptr<BoundLaunch> bind(const DeviceKernels&, const codegen::Program& program,
                                    size_t index,
                                    const std::vector<DeviceBuffer*>& buffers) override {
    EXPECT_EQ(buffers.size(), program.launches[index].buffers.size());
    calls.push_back("bind " + std::to_string(index));
    auto b = std::make_unique<FakeLaunch>();
    b->index = index;
    b->launches = 1;
    return b;
  }
  void launch(const BoundLaunch& b) override {
    calls.push_back("launch " + std::to_string(static_cast<const FakeLaunch&>(b).index));
  }
  void synchronize() override { calls.push_back("synchronize"); }

  std::vector<std::string> calls;
};

// out = neg(x) + 1 over f32[4]: one kernel.
ir::Graph one_kernel() {
  auto x = param("x", t(DType::F32, {4}));
  auto one = cst(buf(DType::F32, {4}, {1, 1, 1, 1}));
  auto n = node(OpKind::Neg, {x}, {}, t(DType::F32, {4}));
  auto g = graph_of({node(OpKind::Add, {n, one}, {}, t(DType::F32, {4}))}, {x});
  g.name = "one_kernel";
  return g;
}

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_stats(); }
  RecordingDevice device;
  ir::Graph graph = one_kernel();
  BufferPtr x = buf(DType::F32, {4}, {1, 2, 3, 4});
};

TEST_F(DriverTest, ARunCompilesCopiesLaunchesAndSynchronizesOnce) {
  std::vector<BufferPtr> out = device.run(graph, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->type(), t(DType::F32, {4}));
  // The constant 1 may be folded into the kernel or uploaded: only the fixed part is checked.
  ASSERT_FALSE(device.calls.empty());
  EXPECT_EQ(device.calls.front(), "compile 1");
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const std::string& c : device.calls) n += c.rfind(prefix, 0) == 0;
    return n;
  };
  EXPECT_EQ(count("compile"), 1);
  EXPECT_EQ(count("copy_in f32[4]"), count("copy_in"));
  EXPECT_GE(count("copy_in"), 1);
  EXPECT_EQ(count("allocate_result f32[4]"), 1);
  EXPECT_EQ(count("bind"), count("launch"));
  EXPECT_GE(count("launch"), 1);
  EXPECT_EQ(count("copy_out f32[4] keep"), 1);
  EXPECT_EQ(device.calls.back(), "synchronize");
  // The driver counts the run.
  Stats s = stats();
  EXPECT_EQ(s.graphs_run, 1);
  EXPECT_EQ(s.launches, count("launch"));
  EXPECT_EQ(s.kernels_compiled, 1);
  EXPECT_GE(s.bytes_allocated, 16);
  EXPECT_EQ(s.plans_reused, 0);
}

TEST_F(DriverTest, TheSameGraphReusesItsPlan) {
  device.run(graph, {x});
  device.run(one_kernel(), {buf(DType::F32, {4}, {5, 6, 7, 8})});
  EXPECT_EQ(stats().plans_reused, 1);
  EXPECT_EQ(stats().graphs_run, 2);
  EXPECT_EQ(device.plans().size(), 1u);
}

TEST_F(DriverTest, APreparedExecutableReplaysItsLaunches) {
  auto exe = runtime::prepare(device, graph, {x});
  const size_t prepared = device.calls.size();
  EXPECT_EQ(exe->kernels(), 1);
  ASSERT_GE(exe->launches_per_run(), 1);
  for (int i = 0; i < 3; ++i) exe->enqueue();
  exe->finish();
  std::vector<std::string> after(device.calls.begin() + static_cast<long>(prepared),
                                 device.calls.end());
  ASSERT_EQ(after.size(), static_cast<size_t>(3 * exe->launches_per_run() + 1));
  for (size_t i = 0; i + 1 < after.size(); ++i) EXPECT_EQ(after[i].rfind("launch", 0), 0u);
  EXPECT_EQ(after.back(), "synchronize");
  EXPECT_EQ(exe->read_results().size(), 1u);
}

TEST_F(DriverTest, BadInputsAreOneErrorBeforeAnyDeviceCall) {
  expect_error<InputError>([&] { device.run(graph, {}); },
                           {"graph 'one_kernel' takes 1 input(s) (f32[4]), got 0",
                            "pass one buffer per parameter, in order"});
  expect_error<InputError>(
      [&] {
        device.run(graph, {buf(DType::F64, {4}, {1, 2, 3, 4})});
      },
      {"parameter 'x' (#0) of graph 'one_kernel' expects f32[4], got f64[4]",
       "cast or reshape an input first"});
  expect_error<InputError>(
      [&] {
        device.run(graph, {buf(DType::F32, {2}, {1, 2})});
      },
      {"expects f32[4], got f32[2]"});
  expect_error<InputError>([&] { device.run(graph, {nullptr}); }, {"got no buffer"});
  expect_error<InputError>([&] { runtime::prepare(device, graph, {}); }, {"takes 1 input(s)"});
  EXPECT_TRUE(device.calls.empty());
  // Every device reports the same error: the reference device too.
  runtime::ReferenceDevice reference;
  expect_error<InputError>([&] { reference.run(graph, {}); },
                           {"graph 'one_kernel' takes 1 input(s) (f32[4]), got 0"});
}

TEST_F(DriverTest, AnInterpretingDeviceGetsTheWholeGraph) {
  runtime::ReferenceDevice reference;
  std::vector<BufferPtr> out = reference.run(graph, {x});
  EXPECT_TRUE(same(*out[0], t(DType::F32, {4}), {0, -1, -2, -3}));
  Stats s = stats();
  EXPECT_EQ(s.graphs_run, 1);
  EXPECT_EQ(s.nodes_evaluated, 2);
  EXPECT_EQ(s.launches, 0);
}

TEST_F(DriverTest, ADeviceWithoutKernelsSaysSo) {
  class RunsNothing : public runtime::Device {
   public:
    std::string name() const override { return "nothing"; }
  };
  RunsNothing nothing;
  expect_error<UnsupportedError>([&] { nothing.run(graph, {x}); },
                                 {"device nothing does not compile kernels"});
}

}  // namespace
}  // namespace kiln::test
