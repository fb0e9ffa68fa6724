// Convolutions on the device under test against the reference evaluator: conv1d and conv2d
// through the frontend over stride, padding (pairs and causal), dilation, groups
// (depthwise included), bias, the channels-last layouts, odd and unit sizes, the dtypes,
// and fused epilogues and prologues.
//
// Compiled into every device's test program like the differential suite
// (tests/CMakeLists.txt); KILN_TEST_DEVICE names the device.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <cmath>
#include <string>
#include <vector>

#include "frontend/builder.h"
#include "frontend/evaluate.h"
#include "tests/devices.h"
#include "tests/differential.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

#define KILN_CONV_CAT2(a, b) a##b
#define KILN_CONV_CAT(a, b) KILN_CONV_CAT2(a, b)
#define KILN_CONV_SUITE KILN_CONV_CAT(KILN_TEST_DEVICE_ID, ConvDifferential)

namespace kiln::testing {
namespace {

// Seeded small values of `dtype` (kept exact in f16 products), as a constant large enough
// to be a parameter of the extracted graph.
Tensor data(DType dtype, const Shape& shape, uint64_t seed) {
  return frontend::constant(random_buffer({dtype, shape}, seed, Values::Small), Loc::current());
}

struct ConvCase {
  std::string name;
  int dims;  // 1 or 2
  Shape x, w;
  ConvOptions options;
  bool bias = false;
};

// The case's conv of x and w, with its bias when it has one.
Tensor conv_of(const ConvCase& c, const Tensor& x, const Tensor& w) {
  ConvOptions o = c.options;
  if (c.bias) o.bias = data(w.dtype(), {c.w[0]}, 3);
  return c.dims == 1 ? conv1d(x, w, o) : conv2d(x, w, o);
}

// The result of a case on seeded tensors of `dtype`.
Tensor run_case(const ConvCase& c, DType dtype) {
  return conv_of(c, data(dtype, c.x, 1), data(dtype, c.w, 2));
}

void expect_case_matches(runtime::Device& device, const ConvCase& c, DType dtype,
                         const std::vector<Tensor>& outputs) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  int64_t terms = 1;
  for (size_t d = 1; d < c.w.size(); ++d) terms *= c.w[d];
  expect_matches_reference(device, ex.graph, ex.inputs, accumulated_tolerance(dtype, terms + 1),
                           c.name + " on " + std::string(dtype_name(dtype)));
}

const ConvLayout kLast = ConvLayout::ChannelsLast;

std::vector<ConvCase> cases() {
  return {
      {"1-D plain", 1, {2, 3, 17}, {5, 3, 3}, {}},
      {"1-D stride 2, padding 1", 1, {2, 3, 16}, {4, 3, 3}, {.stride = {2}, .padding = 1}},
      {"1-D stride 3 past the end", 1, {1, 2, 20}, {3, 2, 4}, {.stride = {3}, .padding = {{0, 2}}}},
      {"1-D causal, dilation 2",
       1,
       {2, 4, 19},
       {4, 4, 3},
       {.padding = ConvPadding::causal(), .dilation = {2}}},
      {"1-D depthwise causal k=4 with bias",
       1,
       {3, 8, 33},
       {8, 1, 4},
       {.padding = ConvPadding::causal(), .groups = 8},
       true},
      {"1-D groups 2, asymmetric padding",
       1,
       {1, 6, 13},
       {4, 3, 5},
       {.padding = {{2, 1}}, .groups = 2}},
      {"1-D channel multiplier (groups 3, 2 outputs each)",
       1,
       {2, 3, 10},
       {6, 1, 3},
       {.padding = 1, .groups = 3}},
      {"1-D NLC with bias", 1, {2, 11, 6}, {6, 6, 3}, {.padding = 1, .layout = kLast}, true},
      {"1-D unit sizes", 1, {1, 1, 1}, {1, 1, 1}, {}},
      {"1-D kernel as long as the padded input", 1, {2, 2, 5}, {3, 2, 7}, {.padding = 1}},
      {"2-D plain with bias, padding 1", 2, {2, 3, 9, 8}, {4, 3, 3, 3}, {.padding = 1}, true},
      {"2-D stride (2, 1), dilation (1, 2), pairs per dim",
       2,
       {1, 4, 13, 11},
       {6, 4, 3, 2},
       {.stride = {2, 1}, .padding = {{1, 0}, {2, 1}}, .dilation = {1, 2}}},
      {"2-D depthwise 3x3 NHWC with bias",
       2,
       {2, 7, 9, 8},
       {8, 1, 3, 3},
       {.padding = 1, .groups = 8, .layout = kLast},
       true},
      {"2-D 1x1", 2, {2, 16, 5, 5}, {8, 16, 1, 1}, {}},
      {"2-D dense, GEMM sized", 2, {2, 16, 12, 12}, {32, 16, 3, 3}, {.padding = 1}, true},
      {"2-D groups 4, stride 2, odd sizes",
       2,
       {3, 8, 7, 5},
       {12, 2, 3, 3},
       {.stride = {2}, .padding = 1, .groups = 4}},
      {"2-D NHWC, stride 2", 2, {1, 10, 9, 5}, {7, 5, 3, 3}, {.stride = {2}, .layout = kLast}},
      // Outputs large enough that a padded conv that is not a GEMM runs as an interior
      // kernel and border kernels (codegen/lower_group.cpp).
      {"1-D depthwise causal, long rows",
       1,
       {2, 16, 4100},
       {16, 1, 4},
       {.padding = ConvPadding::causal(), .groups = 16},
       true},
      {"1-D depthwise stride 2, dilation 3, padding (5, 4), long rows",
       1,
       {2, 8, 9001},
       {8, 1, 3},
       {.stride = {2}, .padding = {{5, 4}}, .dilation = {3}, .groups = 8}},
      {"2-D depthwise 3x3, padding 1, large",
       2,
       {1, 8, 96, 96},
       {8, 1, 3, 3},
       {.padding = 1, .groups = 8},
       true},
      {"2-D depthwise 2x2, one-sided pads, large",
       2,
       {1, 8, 97, 95},
       {8, 1, 2, 2},
       {.padding = {{1, 0}, {0, 1}}, .groups = 8}},
      {"2-D depthwise stride 2, dilation (1, 2), pads, large",
       2,
       {1, 4, 255, 257},
       {4, 1, 3, 2},
       {.stride = {2}, .padding = {{2, 1}, {1, 3}}, .dilation = {1, 2}, .groups = 4},
       true},
  };
}

// The cases numbered `all_devices` (empty: every case), or on OpenCL those numbered
// `on_opencl`: OpenCL compilers such as PoCL take about a second per program, which CI
// pays cold, so OpenCL runs a subset that still covers every option and the interior /
// border split (measured cold on PoCL: 82 s for every case, about 38 s for the subsets).
std::vector<ConvCase> chosen(const std::vector<size_t>& all_devices,
                             const std::vector<size_t>& on_opencl) {
  const std::vector<ConvCase> all = cases();
  const bool opencl = std::string(KILN_TEST_DEVICE).rfind("opencl", 0) == 0;
  std::vector<ConvCase> out;
  if (all_devices.empty() && !opencl) return all;
  for (size_t i : opencl ? on_opencl : all_devices) out.push_back(all.at(i));
  return out;
}

TEST(KILN_CONV_SUITE, EveryCaseOnF32) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  for (const ConvCase& c : chosen({}, {0, 3, 4, 7, 11, 12, 14, 15, 17, 21}))
    expect_case_matches(*device, c, DType::F32, {run_case(c, DType::F32)});
}

TEST(KILN_CONV_SUITE, OtherDtypes) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  for (DType t : {DType::F64, DType::F16, DType::BF16, DType::I32, DType::I8, DType::C64})
    for (const ConvCase& c : chosen({4, 11}, {4}))
      expect_case_matches(*device, c, t, {run_case(c, t)});
}

// Elementwise work after the bias runs in the conv's kernel; a computed input (not a view
// of memory) is stored first; the result feeds a reduction.
TEST(KILN_CONV_SUITE, FusedEpiloguesAndComputedInputs) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  // A few cases: each is several kernels.
  for (const ConvCase& c : chosen({3, 4, 7, 11, 12, 14, 17, 21}, {4, 11, 21})) {
    Tensor x = data(DType::F32, c.x, 1);
    Tensor y = conv_of(c, x, data(DType::F32, c.w, 2));
    Tensor z = conv_of(c, tanh(x), data(DType::F32, c.w, 4));
    expect_case_matches(*device, c, DType::F32, {relu(y) * 0.5f, sum(z, {1}), gelu(z)});
  }
}

// Special values: an infinite weight times the zero padding is NaN, as with an explicit
// pad; NaN and infinite inputs propagate. (Huge finite values are left out: the reference
// accumulates f32 in double, where their products do not overflow.)
TEST(KILN_CONV_SUITE, SpecialValues) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  BufferPtr xb = random_buffer({DType::F32, {2, 3, 19}}, 5, Values::Small);
  BufferPtr wb = random_buffer({DType::F32, {3, 1, 4}}, 6, Values::Small);
  set_element_from_double(*xb, 1 * 19 + 5, NAN);
  set_element_from_double(*xb, 3 * 19 + 2 * 19 + 7, INFINITY);
  set_element_from_double(*wb, 0, INFINITY);
  Tensor x = frontend::constant(xb, Loc::current()), w = frontend::constant(wb, Loc::current());
  ConvCase c{"specials", 1, {2, 3, 19}, {3, 1, 4}, {}};
  expect_case_matches(*device, c, DType::F32,
                      {conv1d(x, w, {.padding = ConvPadding::causal(), .groups = 3}),
                       conv1d(x, w, {.padding = 2, .groups = 3})});
}

}  // namespace
}  // namespace kiln::testing
