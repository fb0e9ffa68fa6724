// Accuracy of the inline f32 transcendentals (codegen/llvm/math.h), measured in ulps of
// the result against double-precision libm over dense samples of each documented range.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

using ir::OpKind;

double ulp_of(float v) {
  float a = std::abs(v);
  if (a < 1.17549435e-38f) return 1.4e-45;
  return static_cast<double>(std::nextafter(a, INFINITY) - a);
}

struct Accuracy {
  double max_ulp = 0;
  double max_abs = 0;
  float worst_x = 0;
};

// Runs op over `n` points evenly spread on [lo, hi] (plus their negations when
// `symmetric`) on the CPU device, against `ref` in double.
Accuracy measure(OpKind op, double lo, double hi, double (*ref)(double), int n = 1 << 18) {
  std::vector<float> xs;
  for (int i = 0; i < n; ++i) xs.push_back(static_cast<float>(lo + (hi - lo) * i / (n - 1)));
  GraphBuilder b;
  auto x = b.param({DType::F32, {static_cast<int64_t>(xs.size())}});
  b.result(b.add(op, {x}));
  auto in = std::make_shared<Buffer>(x->type);
  std::memcpy(in->data(), xs.data(), xs.size() * 4);
  auto out = cpu().run(b.g, {in});
  Accuracy a;
  for (size_t i = 0; i < xs.size(); ++i) {
    double want = ref(xs[i]);
    float got = out[0]->as<float>()[i];
    if (std::isnan(want) || std::isinf(want)) {
      EXPECT_TRUE(std::isnan(want) ? std::isnan(got) : got == static_cast<float>(want))
          << ir::op_name(op) << "(" << xs[i] << ") = " << got;
      continue;
    }
    double err = std::abs(static_cast<double>(got) - want);
    double u = err / ulp_of(static_cast<float>(want));
    if (u > a.max_ulp) a.max_ulp = u, a.worst_x = xs[i];
    a.max_abs = std::max(a.max_abs, err);
  }
  return a;
}

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double exp_ref(double x) { return std::exp(x); }
double exp2_ref(double x) { return std::exp2(x); }
double expm1_ref(double x) { return std::expm1(x); }
double log_ref(double x) { return std::log(x); }
double log2_ref(double x) { return std::log2(x); }
double log1p_ref(double x) { return std::log1p(x); }
double sin_ref(double x) { return std::sin(x); }
double cos_ref(double x) { return std::cos(x); }
double tan_ref(double x) { return std::tan(x); }
double tanh_ref(double x) { return std::tanh(x); }
double erf_ref(double x) { return std::erf(x); }

#define EXPECT_ULP(op, lo, hi, ref, bound)                                                \
  do {                                                                                    \
    Accuracy a = measure(op, lo, hi, ref);                                                \
    EXPECT_LE(a.max_ulp, bound) << ir::op_name(op) << " on [" << (lo) << ", " << (hi)     \
                                << "], worst at " << a.worst_x;                           \
    RecordProperty(std::string(ir::op_name(op)) + "_max_ulp", std::to_string(a.max_ulp)); \
  } while (0)

TEST(CpuMath, ExpFamily) {
  EXPECT_ULP(OpKind::Exp, -87, 88.5, exp_ref, 1);
  EXPECT_ULP(OpKind::Exp, -103, -87, exp_ref, 1);  // subnormal results
  EXPECT_ULP(OpKind::Exp2, -126, 127, exp2_ref, 1);
  EXPECT_ULP(OpKind::Expm1, -20, 88, expm1_ref, 2);
  EXPECT_ULP(OpKind::Expm1, -1e-3, 1e-3, expm1_ref, 2);
  // Below -88.7 the reference's own formula overflows exp(-x) to 0, as this one does.
  EXPECT_ULP(OpKind::Sigmoid, -88, 90, sigmoid_ref, 2.5);
}

TEST(CpuMath, LogFamily) {
  EXPECT_ULP(OpKind::Log, 1e-30, 10, log_ref, 1);
  EXPECT_ULP(OpKind::Log, 0.5, 2, log_ref, 1);
  EXPECT_ULP(OpKind::Log, 1e-44, 1e-38, log_ref, 1);  // subnormal inputs
  EXPECT_ULP(OpKind::Log, 10, 3e38, log_ref, 1);
  EXPECT_ULP(OpKind::Log2, 1e-30, 1e30, log2_ref, 2);
  EXPECT_ULP(OpKind::Log2, 0.5, 2, log2_ref, 2);
  EXPECT_ULP(OpKind::Log1p, -0.999, 10, log1p_ref, 2.5);
  EXPECT_ULP(OpKind::Log1p, -1e-3, 1e-3, log1p_ref, 2.5);
}

TEST(CpuMath, Trigonometry) {
  EXPECT_ULP(OpKind::Sin, -3.14, 3.14, sin_ref, 1.5);
  EXPECT_ULP(OpKind::Cos, -3.14, 3.14, cos_ref, 1.5);
  EXPECT_ULP(OpKind::Tan, -1.5, 1.5, tan_ref, 3);
  // Wider ranges: bounded absolute error (ulps blow up only next to the zeros).
  for (OpKind op : {OpKind::Sin, OpKind::Cos}) {
    Accuracy a = measure(op, -6000, 6000, op == OpKind::Sin ? sin_ref : cos_ref);
    EXPECT_LE(a.max_abs, 1.2e-7) << ir::op_name(op);
  }
  // Outside the fast range every lane goes to libm.
  EXPECT_ULP(OpKind::Sin, 6000, 1e6, sin_ref, 1);
}

TEST(CpuMath, TanhAndErf) {
  EXPECT_ULP(OpKind::Tanh, -10, 10, tanh_ref, 2.5);
  EXPECT_ULP(OpKind::Tanh, -1e-3, 1e-3, tanh_ref, 2.5);
  EXPECT_ULP(OpKind::Erf, -5, 5, erf_ref, 2.5);
  EXPECT_ULP(OpKind::Erf, -1e-3, 1e-3, erf_ref, 2.5);
}

TEST(CpuMath, SpecialValues) {
  for (OpKind op :
       {OpKind::Exp, OpKind::Exp2, OpKind::Expm1, OpKind::Log, OpKind::Log2, OpKind::Log1p,
        OpKind::Sin, OpKind::Cos, OpKind::Tan, OpKind::Tanh, OpKind::Sigmoid, OpKind::Erf}) {
    GraphBuilder b;
    auto x = b.param({DType::F32, {8}});
    b.result(b.add(op, {x}));
    auto in = std::make_shared<Buffer>(x->type);
    float vals[8] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1.0f, 3e38f};
    std::memcpy(in->data(), vals, sizeof vals);
    expect_matches_reference(cpu(), b.g, {in}, std::nullopt,
                             std::string(ir::op_name(op)) + " specials");
  }
}

}  // namespace
}  // namespace kiln::testing
