// The devices under test, made from their spec strings ("reference", "cpu", "opencl"), and
// what a test does when one is missing. A device that is not built or, for OpenCL, has no
// platform on this machine makes its tests skip, unless KILN_REQUIRE_OPENCL=1 (set by
// .ci/run) asks for OpenCL: then a missing OpenCL device is a failure. Tests:
// tests/runtime/device_test.cpp (RequiredOpenCL).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "ir/error.h"
#include "runtime/device.h"

namespace kiln::testing {

inline bool opencl_required() {
  const char* v = std::getenv("KILN_REQUIRE_OPENCL");
  return v && std::string(v) == "1";
}

// The device `spec` names ("opencl" may be replaced by KILN_TEST_OPENCL_DEVICE, e.g.
// "opencl:1"), or nullptr with the reason in `why`.
inline std::shared_ptr<runtime::Device> find_device(std::string spec, std::string* why) {
  if (spec == "opencl") {
    const char* chosen = std::getenv("KILN_TEST_OPENCL_DEVICE");
    if (chosen && *chosen) spec = chosen;
  }
  try {
    return runtime::make_device(spec);
  } catch (const Error& e) {
    if (why) *why = e.what();
    return nullptr;
  }
}

// Whether a missing device `spec` fails the test instead of skipping it.
inline bool device_required(const std::string& spec) {
  return opencl_required() && spec.rfind("opencl", 0) == 0;
}

}  // namespace kiln::testing

// Declares `var`, the device `spec` names; skips the test when there is none, or fails it
// when that device is required (KILN_REQUIRE_OPENCL=1 for OpenCL).
#define KILN_TEST_DEVICE_OR_SKIP(var, spec)                                                   \
  std::string kiln_missing_device_reason;                                                     \
  auto var = ::kiln::testing::find_device(spec, &kiln_missing_device_reason);                 \
  if (!var) {                                                                                 \
    if (::kiln::testing::device_required(spec))                                               \
      FAIL() << "KILN_REQUIRE_OPENCL=1 but no OpenCL device: " << kiln_missing_device_reason; \
    GTEST_SKIP() << "no " << (spec) << " device: " << kiln_missing_device_reason;             \
  }
