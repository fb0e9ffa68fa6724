// Helpers of the OpenCL tests: the device under test (PoCL in CI, or whatever
// KILN_TEST_OPENCL_DEVICE names), running lazy tensors on it and on the reference
// evaluator, and comparing buffers with the per-dtype tolerances of tests/tolerance.h.
#pragma once

#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "frontend/evaluate.h"
#include "runtime/evaluator.h"
#include "runtime/opencl/opencl_device.h"
#include "tests/devices.h"
#include "tests/tolerance.h"

namespace kiln::testing {

// The OpenCL device of the tests, or nullptr (with the reason in `why`) when none exists.
inline std::shared_ptr<runtime::opencl::OpenCLDevice> test_device(std::string* why = nullptr) {
  return std::dynamic_pointer_cast<runtime::opencl::OpenCLDevice>(find_device("opencl", why));
}

// Declares `device`, the OpenCL device under test; skips the test when there is none, or
// fails it under KILN_REQUIRE_OPENCL=1 (tests/devices.h).
#define KILN_REQUIRE_OPENCL(device)                                                      \
  std::string kiln_no_device_reason;                                                     \
  auto device = ::kiln::testing::test_device(&kiln_no_device_reason);                    \
  if (!device) {                                                                         \
    if (::kiln::testing::opencl_required())                                              \
      FAIL() << "KILN_REQUIRE_OPENCL=1 but no OpenCL device: " << kiln_no_device_reason; \
    GTEST_SKIP() << "no OpenCL device: " << kiln_no_device_reason;                       \
  }

// Runs the graph of `outputs` on `device` and on the reference evaluator and compares every
// result (tolerance from the dtype unless given).
inline ::testing::AssertionResult matches_reference(runtime::Device& device,
                                                    const std::vector<Tensor>& outputs,
                                                    std::optional<Tolerance> tol = std::nullopt,
                                                    const std::vector<std::string>& names = {}) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  std::vector<BufferPtr> want = runtime::evaluate(ex.graph, ex.inputs);
  std::vector<BufferPtr> got;
  try {
    got = device.run(ex.graph, ex.inputs);
  } catch (const Error& e) {
    return ::testing::AssertionFailure() << "device threw: " << e.what();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    auto r = buffers_close(*got[i], *want[i], tol.value_or(tolerance_for(want[i]->dtype())));
    if (!r)
      return r << " (result " << i << (i < names.size() ? " " + names[i] : std::string()) << ")";
  }
  return ::testing::AssertionSuccess();
}

// Like matches_reference, but builds few kernels: the outputs are flattened and
// concatenated per dtype, so that each group becomes one kernel (one program build instead
// of one per output, which is what makes the differential suite affordable on PoCL). On a
// mismatch the outputs are checked one by one, to name the op.
inline ::testing::AssertionResult matches_reference_packed(runtime::Device& device,
                                                           const std::vector<Tensor>& outputs,
                                                           std::optional<Tolerance> tol,
                                                           const std::vector<std::string>& names) {
  std::vector<DType> order;
  std::vector<std::vector<Tensor>> groups;
  for (const Tensor& t : outputs) {
    size_t g = 0;
    while (g < order.size() && order[g] != t.dtype()) ++g;
    if (g == order.size()) {
      order.push_back(t.dtype());
      groups.emplace_back();
    }
    groups[g].push_back(reshape(t, {t.size()}));
  }
  std::vector<Tensor> packed;
  for (auto& g : groups) packed.push_back(g.size() == 1 ? g[0] : concatenate(g, 0));
  auto r = matches_reference(device, packed, tol);
  if (r) return r;
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto one = matches_reference(device, {outputs[i]}, tol);
    if (!one)
      return one << " (" << (i < names.size() ? names[i] : "output " + std::to_string(i)) << ")";
  }
  return r;
}

// Deterministic test data in [lo, hi) of `dtype` and `shape`, made on the host in that
// dtype (so that no kernel needs another dtype to produce it).
inline Tensor test_data(const Shape& shape, DType dtype, uint64_t seed, double lo = -2,
                        double hi = 2) {
  int64_t n = numel(shape);
  std::vector<double> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0;
    if (is_integer(dtype) || dtype == DType::Bool) x = std::floor(x);
  }
  auto as = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> out;
    for (double x : v) out.push_back(static_cast<T>(x));
    return out;
  };
  switch (dtype) {
    case DType::Bool: {
      std::vector<bool> b;
      for (double x : v) b.push_back(x > 0);
      return from_data(b, shape);
    }
    case DType::I8: return from_data(as(int8_t{}), shape);
    case DType::U8: return from_data(as(uint8_t{}), shape);
    case DType::I32: return from_data(as(int32_t{}), shape);
    case DType::I64: return from_data(as(int64_t{}), shape);
    case DType::F64: return from_data(v, shape);
    default: return from_data(as(float{}), shape, dtype);
  }
}

}  // namespace kiln::testing
