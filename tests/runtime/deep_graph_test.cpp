// Graphs as deep as a user's loop makes them, on the device under test: elementwise chains
// of 20,000 ops and more, chains through reductions and through views, each checked
// against the same recurrence computed on the host; a million-op chain (label `slow`);
// a long training-style loop whose resident memory must stay flat; and allocations too
// large for the machine, which must fail with an error that says what to do.
//
// Compiled into one test program per built device, like the differential suite
// (KILN_TEST_DEVICE names the device, KILN_TEST_DEVICE_ID prefixes the suite's name).
#include <gtest/gtest.h>
#include <kiln/kiln.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/devices.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

// The suite's name: CpuDeepGraphs, OpenclDeepGraphs, ReferenceDeepGraphs.
#define KILN_PASTE(a, b) a##b
#define KILN_SUITE_OF(id) KILN_PASTE(id, DeepGraphs)
#define KILN_SUITE KILN_SUITE_OF(KILN_TEST_DEVICE_ID)

namespace kiln::testing {
namespace {

#define KILN_DEVICE_UNDER_TEST(var) KILN_TEST_DEVICE_OR_SKIP(var, KILN_TEST_DEVICE)

// Step k of the elementwise recurrence, on a tensor and on a host float alike: a mix of
// multiplies, adds, subtracts, a maximum and a tanh, with constants that vary with k, so
// that the value depends on every recent step and no two adjacent kernels are alike.
Tensor step(const Tensor& x, int k) {
  const float c = 0.25f + 0.125f * static_cast<float>(k % 5);
  switch (k % 4) {
    case 0: return x * 0.75f + c;
    case 1: return x - c * 0.5f;
    case 2: return maximum(x, -c);
    default: return k % 8 == 3 ? tanh(x) * 2.0f : x + 0.125f;
  }
}

float step(float x, int k) {
  const float c = 0.25f + 0.125f * static_cast<float>(k % 5);
  switch (k % 4) {
    case 0: return x * 0.75f + c;
    case 1: return x - c * 0.5f;
    case 2: return std::max(x, -c);
    default: return k % 8 == 3 ? std::tanh(x) * 2.0f : x + 0.125f;
  }
}

std::vector<float> start_values(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i)
    v.push_back(-2.0f + 4.0f * static_cast<float>(i) / static_cast<float>(n));
  return v;
}

// Builds `ops` steps of the recurrence over 64 values, runs them on `device` and compares
// with the host. The recurrence contracts, so rounding differences stay small.
void check_chain(const std::shared_ptr<runtime::Device>& device, int ops) {
  std::vector<float> host = start_values(64);
  Tensor x = from_data(host, {64});
  for (int k = 0; k < ops; ++k) x = step(x, k);
  for (float& v : host)
    for (int k = 0; k < ops; ++k) v = step(v, k);
  eval(device, {x});
  std::vector<float> got = x.to_vector<float>();
  ASSERT_EQ(got.size(), host.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], host[i], 1e-4f * (1.0f + std::fabs(host[i]))) << "element " << i;
}

TEST(KILN_SUITE, ElementwiseChain20k) {
  KILN_DEVICE_UNDER_TEST(device);
  check_chain(device, 20000);
}

TEST(KILN_SUITE, ElementwiseChain100k) {
  KILN_DEVICE_UNDER_TEST(device);
  check_chain(device, 100000);
}

// A million ops whose second operands are tensors rather than scalars (one node per op
// instead of about five: the scalar's constant and its views), so the graph is the size of
// the chain: x <- max(x * a, b) - a, a and b fixed vectors.
TEST(KILN_SUITE, ElementwiseChainMillion) {
  KILN_DEVICE_UNDER_TEST(device);
  constexpr int kN = 64, kSteps = 1000000 / 3;
  std::vector<float> host = start_values(kN), a(kN), b(kN);
  for (int i = 0; i < kN; ++i) {
    a[i] = 0.5f + 0.25f * static_cast<float>(i % 3);
    b[i] = -1.0f + 0.03125f * static_cast<float>(i);
  }
  Tensor ta = from_data(a, {kN}), tb = from_data(b, {kN}), x = from_data(host, {kN});
  for (int k = 0; k < kSteps; ++k) x = maximum(x * ta, tb) - ta;
  for (int i = 0; i < kN; ++i)
    for (int k = 0; k < kSteps; ++k) host[i] = std::max(host[i] * a[i], b[i]) - a[i];
  eval(device, {x});
  std::vector<float> got = x.to_vector<float>();
  for (int i = 0; i < kN; ++i)
    ASSERT_NEAR(got[i], host[i], 1e-4f * (1.0f + std::fabs(host[i]))) << "element " << i;
}

// x <- x - max(x, rows) * 0.5 + 1, 5,000 times: every step a reduction broadcast back
// over the rows it reduced (one row computation per step).
TEST(KILN_SUITE, ChainThroughReductions) {
  KILN_DEVICE_UNDER_TEST(device);
  constexpr int kRows = 4, kCols = 8, kSteps = 5000;
  std::vector<float> host = start_values(kRows * kCols);
  Tensor x = from_data(host, {kRows, kCols});
  for (int k = 0; k < kSteps; ++k) x = x - max(x, {1}, true) * 0.5f + 1.0f;
  for (int r = 0; r < kRows; ++r) {
    float* row = host.data() + r * kCols;
    for (int k = 0; k < kSteps; ++k) {
      float m = row[0];
      for (int c = 1; c < kCols; ++c) m = std::max(m, row[c]);
      for (int c = 0; c < kCols; ++c) row[c] = row[c] - m * 0.5f + 1.0f;
    }
  }
  eval(device, {x});
  std::vector<float> got = x.to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], host[i], 1e-4f * (1.0f + std::fabs(host[i]))) << "element " << i;
}

// x <- transpose(flip(x)) + 1, 20,000 times: views all the way down. An even number of
// steps brings every element home, 20,000 higher.
TEST(KILN_SUITE, ChainThroughViews) {
  KILN_DEVICE_UNDER_TEST(device);
  constexpr int kSteps = 20000;
  std::vector<float> host = start_values(4 * 6);
  Tensor x = from_data(host, {4, 6});
  for (int k = 0; k < kSteps; ++k) x = transpose(flip(x, {0})) + 1.0f;
  eval(device, {x});
  ASSERT_EQ(x.shape(), (Shape{4, 6}));
  std::vector<float> got = x.to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], host[i] + kSteps, 1e-2f) << "element " << i;
}

// The resident set in bytes, from /proc/self/statm.
int64_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  const int read = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return read == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

// w <- w - lr * (w * x - y) * x with fresh inputs and a learning rate that changes every
// step, evaluated each step: what a training loop does. After a warm-up, 10,000 steps must
// not grow the resident set by more than a leak of 400 bytes a step would.
TEST(KILN_SUITE, TrainingLoopKeepsMemoryFlat) {
  KILN_DEVICE_UNDER_TEST(device);
  constexpr int kN = 1024, kWarmup = 1000, kSteps = 10000;
  std::vector<float> data = start_values(kN);
  Tensor w = zeros({kN});
  eval(device, {w});
  int64_t after_warmup = 0;
  for (int s = 0; s < kWarmup + kSteps; ++s) {
    data[static_cast<size_t>(s) % kN] += 0.001f;
    Tensor x = from_data(data, {kN});
    Tensor y = x * 0.5f;
    const float lr = 0.01f / (1.0f + 0.001f * static_cast<float>(s));
    w = w - (w * x - y) * x * lr;
    eval(device, {w});
    if (s + 1 == kWarmup) after_warmup = resident_bytes();
  }
  const int64_t at_end = resident_bytes();
  ASSERT_GT(after_warmup, 0);
  std::printf("resident set: %.1f MiB after %d warm-up steps, %.1f MiB after %d more\n",
              static_cast<double>(after_warmup) / (1 << 20), kWarmup,
              static_cast<double>(at_end) / (1 << 20), kSteps);
#ifndef __SANITIZE_ADDRESS__
  EXPECT_LT(at_end - after_warmup, int64_t{400} * kSteps)
      << "resident memory grew from " << after_warmup << " to " << at_end << " bytes";
#endif  // under ASan freed blocks stay resident in its quarantine; LeakSanitizer checks leaks
  // The loop converges to w = 0.5 where x is not tiny.
  std::vector<float> got = w.to_vector<float>();
  EXPECT_NEAR(got[0], 0.5f, 1e-2f);
}

// A value far larger than any machine's memory, yet a valid shape: the error names the size
// and what to do, and nothing crashes.
TEST(KILN_SUITE, AllocationTooLargeForTheMachine) {
  KILN_DEVICE_UNDER_TEST(device);
  Tensor huge = zeros({int64_t{1} << 30, int64_t{1} << 14}) + 1.0f;  // 64 TiB of f32
  try {
    eval(device, {huge});
    FAIL() << "evaluating 64 TiB succeeded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("70368744177664 bytes"), std::string::npos) << what;
    EXPECT_NE(what.find("smaller"), std::string::npos) << what;
  }
  // The device still works.
  Tensor small = from_data({1.0f, 2.0f}, {2}) + 1.0f;
  eval(device, {small});
  EXPECT_EQ(small.to_vector<float>(), (std::vector<float>{2.0f, 3.0f}));
}

}  // namespace
}  // namespace kiln::testing
