// The device registry: specs by name, "name:N" and device-name substring, errors that list
// what is available, and the default device (explicit, KILN_DEVICE, best built backend).
#include "runtime/device.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ir/error.h"
#include "tests/devices.h"
#include "tests/runtime/eval_test_util.h"
#include "tests/runtime/scoped_env.h"

namespace kiln::test {
namespace {

// A device that records the spec it was made from.
class FakeDevice : public runtime::Device {
 public:
  explicit FakeDevice(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::vector<BufferPtr> run(const ir::Graph&, const std::vector<BufferPtr>&) override {
    return {};
  }

 private:
  std::string name_;
};

bool registered(const std::string& name) {
  auto names = runtime::available_devices();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Under KILN_REQUIRE_OPENCL=1 (CI) an OpenCL device must exist: built and with a
// platform. Elsewhere the OpenCL tests skip without one.
TEST(Device, OpenCLIsThereWhenRequired) {
  if (!::kiln::testing::opencl_required()) GTEST_SKIP() << "KILN_REQUIRE_OPENCL is not 1";
  std::string why;
  EXPECT_NE(::kiln::testing::find_device("opencl", &why), nullptr)
      << "KILN_REQUIRE_OPENCL=1 but no OpenCL device: " << why;
}

TEST(Device, ReferenceIsAlwaysThere) {
  EXPECT_EQ(runtime::available_devices().front(), "reference");
  auto d = runtime::make_device("reference");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name(), "reference");
  auto x = cst(buf(DType::I32, {3}, {1, 2, 3}));
  auto g = graph_of({node(ir::OpKind::Neg, {x}, {}, Type{DType::I32, {3}})});
  auto r = d->run(g, {});
  EXPECT_TRUE(same(*r[0], Type{DType::I32, {3}}, {-1, -2, -3}));
}

TEST(Device, UnknownDeviceListsTheAvailableOnes) {
  expect_error<DeviceError>([] { runtime::make_device("tpu"); },
                            {"unknown device 'tpu'", "available devices: reference"});
  expect_error<DeviceError>([] { runtime::make_device(""); }, {"empty", "reference"});
}

TEST(Device, UnbuiltBackendsSayWhatTheyNeed) {
  if (!registered("opencl"))
    expect_error<DeviceError>(
        [] { runtime::make_device("opencl:1"); },
        {"'opencl:1' is not built", "OpenCL", "available devices: reference"});
  if (!registered("cpu"))
    expect_error<DeviceError>([] { runtime::make_device("cpu"); },
                              {"'cpu' is not built", "LLVM", "available devices: reference"});
}

TEST(Device, FactoriesGetTheWholeSpec) {
  // The factory outlives this test (the registry is process-wide): it owns what it records.
  auto seen = std::make_shared<std::string>();
  runtime::register_device_factory(
      "fake", [seen](std::string_view spec) -> std::shared_ptr<runtime::Device> {
        *seen = spec;
        if (spec == "fake" || spec == "fake:0")
          return std::make_shared<FakeDevice>("fake:0 (Fancy Accelerator)");
        if (spec.find("Fancy") != std::string_view::npos)
          return std::make_shared<FakeDevice>("fake:0 (Fancy Accelerator)");
        return nullptr;  // not one of ours
      });
  EXPECT_TRUE(registered("fake"));
  EXPECT_EQ(runtime::make_device("fake:0")->name(), "fake:0 (Fancy Accelerator)");
  EXPECT_EQ(*seen, "fake:0");
  EXPECT_EQ(runtime::make_device("fake")->name(), "fake:0 (Fancy Accelerator)");
  // A substring of a device name, offered to every factory.
  EXPECT_EQ(runtime::make_device("Fancy")->name(), "fake:0 (Fancy Accelerator)");
  EXPECT_EQ(*seen, "Fancy");
  // The factory's own prefix with an index it does not have.
  expect_error<DeviceError>([] { runtime::make_device("fake:7"); },
                            {"no device 'fake:7'", "reference", "fake"});
  expect_error<DeviceError>([] { runtime::make_device("Dull"); },
                            {"unknown device 'Dull'", "reference, ", "fake"});
}

TEST(Device, FailingFactoriesGiveTheirReason) {
  runtime::register_device_factory("broken",
                                   [](std::string_view) -> std::shared_ptr<runtime::Device> {
                                     throw DeviceError("no platform found");
                                   });
  expect_error<DeviceError>([] { runtime::make_device("broken"); }, {"no platform found"});
  expect_error<DeviceError>([] { runtime::make_device("Quantum"); },
                            {"unknown device 'Quantum'", "broken: no platform found"});
  runtime::register_device_factory("broken", [](std::string_view) { return nullptr; });
}

TEST(Device, DefaultDevice) {
  ScopedEnv env("KILN_DEVICE", nullptr);
  runtime::set_default_device(nullptr);
  EXPECT_EQ(runtime::default_device()->name(), registered("cpu") ? "cpu" : "reference");
  EXPECT_EQ(runtime::default_device(), runtime::default_device());  // made once

  auto mine = std::make_shared<FakeDevice>("mine");
  runtime::set_default_device(mine);
  EXPECT_EQ(runtime::default_device(), mine);
  runtime::set_default_device(nullptr);
  EXPECT_NE(runtime::default_device(), mine);

  {
    ScopedEnv dev("KILN_DEVICE", "reference");
    EXPECT_EQ(runtime::default_device()->name(), "reference");
  }
  {
    ScopedEnv dev("KILN_DEVICE", "abacus");
    expect_error<DeviceError>([] { runtime::default_device(); },
                              {"KILN_DEVICE", "unknown device 'abacus'", "reference"});
  }
}

}  // namespace
}  // namespace kiln::test
