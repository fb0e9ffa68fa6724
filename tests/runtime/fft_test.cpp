// Fourier transforms (IR ops fft, rfft, irfft) on the device under test against the
// reference evaluator's plain DFT in double: every length from 1 to 64, primes and powers
// of two, every kind, batched along a last and a non-last axis, read through views, and
// with a fused prologue and epilogue. Whether a transform runs as a library FFT
// (codegen/spectral.h) or as the DFT loop nest must not change the numbers.
//
// Compiled into every device's test program like the differential suite (tests/CMakeLists.txt);
// KILN_TEST_DEVICE names the device.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/stats.h"
#include "tests/differential.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

#define KILN_FFT_CAT2(a, b) a##b
#define KILN_FFT_CAT(a, b) KILN_FFT_CAT2(a, b)
#define KILN_FFT_SUITE KILN_FFT_CAT(KILN_TEST_DEVICE_ID, Fft)
#define KILN_FFT_DEVICE(var) KILN_TEST_DEVICE_OR_SKIP(var, KILN_TEST_DEVICE)

namespace kiln::testing {
namespace {

using ir::AttrValue;

enum class Kind { Forward, Inverse, Real, RealInverse };

// The transform of kind `kind` and length n of `x` along `axis`.
NodePtr transform(GraphBuilder& g, Kind kind, const NodePtr& x, int64_t axis, int64_t n) {
  switch (kind) {
    case Kind::Forward:
    case Kind::Inverse:
      return g.add(OpKind::Fft, {x}, {AttrValue(axis), AttrValue(kind == Kind::Inverse)});
    case Kind::Real: return g.add(OpKind::Rfft, {x}, {AttrValue(axis)});
    case Kind::RealInverse:
      return g.add(OpKind::Irfft, {x}, {AttrValue(axis), AttrValue(n), AttrValue(n)});
  }
  return nullptr;
}

// The input type of a transform of length n: [batch, len] or [len, batch] when !last.
Type input_type(Kind kind, int64_t n, int64_t batch, bool last) {
  const DType t = kind == Kind::Real ? DType::F32 : DType::C64;
  const int64_t len = kind == Kind::RealInverse ? n / 2 + 1 : n;
  return {t, last ? Shape{batch, len} : Shape{len, batch}};
}

// Inputs are about [-3, 3]: each output sums n terms of that size, and the loop nest adds
// them one by one in f32.
Tolerance spectral_tolerance(int64_t n) { return {2e-4, 1e-5 + 4e-6 * static_cast<double>(n)}; }

void expect_transforms(runtime::Device& device, Kind kind, const std::vector<int64_t>& lengths,
                       int64_t batch, bool last, const std::string& what) {
  GraphBuilder g;
  int64_t longest = 1;
  for (int64_t n : lengths) {
    NodePtr x = g.param(input_type(kind, n, batch, last));
    g.result(transform(g, kind, x, last ? 1 : 0, n));
    longest = std::max(longest, n);
  }
  expect_matches_reference(device, g.g, 7, Values::Normal, spectral_tolerance(longest), what);
}

// PoCL takes a while to build each kernel: on OpenCL devices the sweeps below take a sample
// (every radix and a Bluestein length; tests/runtime/opencl/fft_test.cpp covers the FFT
// kernels' lengths one by one), unless KILN_TEST_FFT_ALL=1.
bool sample_only() {
  return std::string(KILN_TEST_DEVICE).rfind("opencl", 0) == 0 &&
         std::getenv("KILN_TEST_FFT_ALL") == nullptr;
}

std::vector<int64_t> lengths_to_64() {
  if (sample_only()) return {1, 2, 3, 5, 7, 8, 12, 16, 17, 31, 48, 63, 64};
  std::vector<int64_t> out;
  for (int64_t n = 1; n <= 64; ++n) out.push_back(n);
  return out;
}

TEST(KILN_FFT_SUITE, EveryLengthFrom1To64OfEveryKind) {
  KILN_FFT_DEVICE(device);
  for (Kind kind : {Kind::Forward, Kind::Inverse, Kind::Real, Kind::RealInverse})
    expect_transforms(*device, kind, lengths_to_64(), 3, true,
                      "kind " + std::to_string(static_cast<int>(kind)));
}

TEST(KILN_FFT_SUITE, PrimesAndPowersOfTwo) {
  KILN_FFT_DEVICE(device);
  for (Kind kind : {Kind::Forward, Kind::Real, Kind::RealInverse}) {
    if (sample_only()) {
      expect_transforms(*device, kind, {97, 1024}, 2, true, "a prime and a power of two");
      continue;
    }
    expect_transforms(*device, kind, {97, 127, 1009}, 2, true, "primes");
    expect_transforms(*device, kind, {128, 256, 512, 1024, 2048}, 2, true, "powers of two");
  }
}

TEST(KILN_FFT_SUITE, AlongANonLastAxis) {
  KILN_FFT_DEVICE(device);
  for (Kind kind : {Kind::Forward, Kind::Inverse, Kind::Real, Kind::RealInverse})
    expect_transforms(*device, kind, {8, 12, 33}, 5, false, "axis 0");
  // The middle axis of three.
  GraphBuilder g;
  NodePtr x = g.param({DType::C64, {3, 16, 5}});
  g.result(transform(g, Kind::Forward, x, 1, 16));
  expect_matches_reference(*device, g.g, 8, Values::Normal, spectral_tolerance(16), "axis 1 of 3");
}

// A transform of a view of memory (a transposed, sliced, zero-padded row), of a computed
// value (the product of two spectra), and with elementwise work on its result.
TEST(KILN_FFT_SUITE, ViewsProloguesAndEpilogues) {
  KILN_FFT_DEVICE(device);
  GraphBuilder g;
  // rfft(pad(u^T[:, 2:30], 0 .. 32)) with a shifted, scaled result.
  NodePtr u = g.param({DType::F32, {40, 6}});
  NodePtr ut = g.add(OpKind::Permute, {u}, {AttrValue(std::vector<int64_t>{1, 0})});
  NodePtr us = g.add(OpKind::Slice, {ut},
                     {AttrValue(std::vector<int64_t>{0, 2}), AttrValue(std::vector<int64_t>{1, 1})},
                     Type{DType::F32, {6, 28}});
  NodePtr up = g.add(OpKind::Pad, {us},
                     {AttrValue(std::vector<int64_t>{0, 0}), AttrValue(std::vector<int64_t>{0, 36}),
                      AttrValue(0.0)});
  NodePtr U = transform(g, Kind::Real, up, 1, 64);
  // irfft(U * K) * 0.5 + bias: the convolution's shape.
  NodePtr k = g.param({DType::C64, {6, 33}});
  // The first 40 values of the inverse: the crop fused into it.
  NodePtr y = g.add(OpKind::Irfft, {g.add(OpKind::Mul, {U, k})},
                    {AttrValue(int64_t{1}), AttrValue(int64_t{64}), AttrValue(int64_t{40})});
  NodePtr bias = g.param({DType::F32, {6, 40}});
  NodePtr half = g.add(OpKind::Broadcast, {g.constant(filled_buffer({DType::F32, {1, 1}}, 0.5))},
                       {}, Type{DType::F32, {6, 40}});
  g.result(g.add(OpKind::Add, {g.add(OpKind::Mul, {y, half}), bias}));
  g.result(g.add(OpKind::Abs, {U}));
  expect_matches_reference(*device, g.g, 9, Values::Normal, spectral_tolerance(64 * 33 * 3),
                           "views, prologue, epilogue");
}

}  // namespace
}  // namespace kiln::testing
