// Elementwise unary ops: values against the C++ math library (computed in double here),
// several dtypes, size 0 and 1, and non-contiguous inputs.
#include <functional>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_close;
using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

struct MathCase {
  const char* name;
  Tensor (*op)(const Tensor&, Loc);
  double (*ref)(double);
  std::vector<double> inputs;
};

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double rsqrt_ref(double x) { return 1 / std::sqrt(x); }
double recip_ref(double x) { return 1 / x; }
double exp2_ref(double x) { return std::exp2(x); }

std::vector<MathCase> math_cases() {
  std::vector<double> any{-2.5, -1, -0.25, 0, 0.5, 1, 3};
  std::vector<double> positive{0.125, 0.5, 1, 2, 10};
  std::vector<double> unit{-0.9, -0.5, 0, 0.25, 0.75};
  return {
      {"exp", &exp, [](double x) { return std::exp(x); }, any},
      {"exp2", &exp2, &exp2_ref, any},
      {"log", &log, [](double x) { return std::log(x); }, positive},
      {"log2", &log2, [](double x) { return std::log2(x); }, positive},
      {"log1p", &log1p, [](double x) { return std::log1p(x); }, unit},
      {"expm1", &expm1, [](double x) { return std::expm1(x); }, any},
      {"sqrt", &sqrt, [](double x) { return std::sqrt(x); }, positive},
      {"rsqrt", &rsqrt, &rsqrt_ref, positive},
      {"reciprocal", &reciprocal, &recip_ref, positive},
      {"sin", &sin, [](double x) { return std::sin(x); }, any},
      {"cos", &cos, [](double x) { return std::cos(x); }, any},
      {"tan", &tan, [](double x) { return std::tan(x); }, unit},
      {"tanh", &tanh, [](double x) { return std::tanh(x); }, any},
      {"sigmoid", &sigmoid, &sigmoid_ref, any},
      {"erf", &erf, [](double x) { return std::erf(x); }, any},
  };
}

std::vector<double> map_ref(double (*f)(double), const std::vector<double>& xs) {
  std::vector<double> out;
  for (double x : xs) out.push_back(f(x));
  return out;
}

std::vector<float> to_f32(const std::vector<double>& v) { return {v.begin(), v.end()}; }

TEST(Unary, MathF32F64F16) {
  for (const MathCase& c : math_cases()) {
    SCOPED_TRACE(c.name);
    Shape s{static_cast<int64_t>(c.inputs.size())};
    // Reference values from the inputs as each dtype stores them.
    std::vector<double> in32;
    for (double x : c.inputs) in32.push_back(static_cast<float>(x));
    expect_close(c.op(from_data(to_f32(c.inputs), s), Loc::current()), DType::F32, s,
                 map_ref(c.ref, in32), 2e-6, 2e-6);
    expect_close(c.op(from_data(c.inputs, s), Loc::current()), DType::F64, s,
                 map_ref(c.ref, c.inputs), 1e-12, 1e-12);
    // Every input here is exact in f16; results round to 11 significant bits.
    expect_close(c.op(from_data(to_f32(c.inputs), s, DType::F16), Loc::current()), DType::F16, s,
                 map_ref(c.ref, c.inputs), 2e-3, 2e-3);
  }
}

TEST(Unary, IntegersBecomeF32) {
  Tensor i = from_data({0, 1, 4, 9}, {4});
  expect_f32(sqrt(i), {4}, {0, 1, 2, 3});
  expect_f32(exp(from_data({0, 1}, {2})), {2}, {1, std::exp(1.0)});
  expect_f32(reciprocal(from_data({1, 2, 4}, {3})), {3}, {1, 0.5, 0.25});
  expect_f32(sigmoid(from_data(std::vector<bool>{false, true}, {2})), {2},
             {0.5, 1 / (1 + std::exp(-1.0))});
}

TEST(Unary, Neg) {
  expect_f32(neg(from_data({1.5f, -2.f, 0.f}, {3})), {3}, {-1.5, 2, 0});
  expect_values<int32_t>(neg(from_data({3, -4}, {2})), DType::I32, {2}, {-3, 4});
  expect_values<int8_t>(neg(from_data({int8_t{5}}, {1})), DType::I8, {1}, {-5});
  expect_values<complex64>(neg(from_data({complex64(1, -2)}, {1})), DType::C64, {1},
                           {complex64(-1, 2)});
  expect_f32(-from_data({2.f}, {1}), {1}, {-2});
  expect_error<DTypeError>([] { neg(full({2}, true)); }, {"neg", "bool[2]", "logical_not"});
}

TEST(Unary, AbsAndSign) {
  expect_f32(abs(from_data({-1.5f, 2.f, -0.f}, {3})), {3}, {1.5, 2, 0});
  expect_values<int32_t>(abs(from_data({-7, 7, 0}, {3})), DType::I32, {3}, {7, 7, 0});
  // |3 + 4i| = 5, in f32.
  expect_f32(abs(from_data({complex64(3, 4)}, {1})), {1}, {5});
  expect_values<bool>(abs(from_data(std::vector<bool>{true, false}, {2})), DType::Bool, {2},
                      {true, false});
  expect_f32(sign(from_data({-3.f, 0.f, 2.f, NAN}, {4})), {4}, {-1, 0, 1, NAN});
  expect_values<int64_t>(sign(from_data(std::vector<int64_t>{-9, 0, 4}, {3})), DType::I64, {3},
                         {-1, 0, 1});
}

TEST(Unary, SquareKeepsTheDType) {
  expect_values<int32_t>(square(from_data({-3, 4}, {2})), DType::I32, {2}, {9, 16});
  expect_f32(square(from_data({0.5f}, {1})), {1}, {0.25});
}

TEST(Unary, Rounding) {
  Tensor x = from_data({-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.7f, -2.7f}, {8});
  // Half to even.
  expect_f32(round(x), {8}, {-2, -2, -0, 0, 2, 2, 3, -3});
  expect_f32(floor(x), {8}, {-3, -2, -1, 0, 1, 2, 2, -3});
  expect_f32(ceil(x), {8}, {-2, -1, -0, 1, 2, 3, 3, -2});
  // Integers are already whole: no node is built.
  Tensor i = from_data({1, -2}, {2});
  EXPECT_EQ(round(i).node(), i.node());
  EXPECT_EQ(floor(i).node(), i.node());
  expect_error<DTypeError>([] { floor(full({1}, complex64(1, 1))); }, {"floor", "c64[1]"});
}

TEST(Unary, NanInfFinite) {
  Tensor x = from_data({1.f, NAN, INFINITY, -INFINITY, 0.f}, {5});
  expect_values<bool>(isnan(x), DType::Bool, {5}, {false, true, false, false, false});
  expect_values<bool>(isinf(x), DType::Bool, {5}, {false, false, true, true, false});
  expect_values<bool>(isfinite(x), DType::Bool, {5}, {true, false, false, false, true});
  Tensor i = from_data({1, 2}, {2});
  expect_values<bool>(isnan(i), DType::Bool, {2}, {false, false});
  expect_values<bool>(isfinite(i), DType::Bool, {2}, {true, true});
}

TEST(Unary, ComplexParts) {
  Tensor z = from_data({complex64(1, 2), complex64(-3, 0.5f)}, {2});
  expect_f32(real(z), {2}, {1, -3});
  expect_f32(imag(z), {2}, {2, 0.5});
  expect_values<complex64>(conj(z), DType::C64, {2}, {complex64(1, -2), complex64(-3, -0.5f)});
  Tensor r = from_data({4.f}, {1});
  EXPECT_EQ(real(r).node(), r.node());
  expect_f32(imag(r), {1}, {0});
  // exp(i pi) = -1.
  auto e = exp(from_data({complex64(0, 3.14159265f)}, {1})).to_vector<complex64>();
  EXPECT_NEAR(e[0].real(), -1, 1e-6);
  EXPECT_NEAR(e[0].imag(), 0, 1e-6);
  expect_error<DTypeError>([] { erf(full({1}, complex64(1, 1))); }, {"erf", "complex"});
}

TEST(Unary, Cast) {
  Tensor x = from_data({-1.7f, 2.5f, NAN, 3e10f, 0.f}, {5});
  // Toward zero, NaN to 0, saturating.
  expect_values<int32_t>(cast(x, DType::I32), DType::I32, {5}, {-1, 2, 0, 2147483647, 0});
  expect_values<bool>(cast(x, DType::Bool), DType::Bool, {5}, {true, true, true, true, false});
  expect_values<uint8_t>(cast(from_data({-5.f, 300.f, 7.9f}, {3}), DType::U8), DType::U8, {3},
                         {0, 255, 7});
  expect_values<double>(cast(from_data({1, 2}, {2}), DType::F64), DType::F64, {2}, {1, 2});
  Tensor same = cast(x, DType::F32);
  EXPECT_EQ(same.node(), x.node());
}

TEST(Unary, SizeZeroSizeOneAndViews) {
  expect_f32(exp(zeros({0, 3})), {0, 3}, {});
  expect_f32(exp(zeros({})), {}, {1});
  expect_f32(sqrt(full({1, 1, 1}, 4.0)), {1, 1, 1}, {2});
  // A transposed view: [[1, 2, 3], [4, 5, 6]]^T = [[1, 4], [2, 5], [3, 6]].
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  expect_f32(square(transpose(m)), {3, 2}, {1, 16, 4, 25, 9, 36});
  // A strided slice: every second element, backwards.
  Tensor v = from_data({0.f, 1.f, 4.f, 9.f, 16.f, 25.f}, {6});
  expect_f32(sqrt(slice(v, 0, std::nullopt, std::nullopt, -2)), {3}, {5, 3, 1});
}

}  // namespace
}  // namespace kiln
