// Composite ops: relu, gelu (exact and tanh), silu, softmax, log_softmax, layer_norm and
// rms_norm, against their formulas evaluated in double here.
#include <numbers>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_f32;
using testing::expect_values;

const std::vector<double> kInputs{-3, -1, -0.25, 0, 0.5, 2};

Tensor input() {
  std::vector<float> v(kInputs.begin(), kInputs.end());
  return from_data(v, {static_cast<int64_t>(v.size())});
}

std::vector<double> each(double (*f)(double)) {
  std::vector<double> out;
  for (double x : kInputs) out.push_back(f(x));
  return out;
}

TEST(Composite, Relu) {
  expect_f32(relu(input()), {6}, {0, 0, 0, 0, 0.5, 2});
  expect_values<int32_t>(relu(from_data({-2, 3}, {2})), DType::I32, {2}, {0, 3});
  expect_f32(relu(from_data({NAN}, {1})), {1}, {NAN});
}

TEST(Composite, Gelu) {
  expect_f32(gelu(input()), {6},
             each([](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }), 2e-6);
  expect_f32(gelu(input(), true), {6}, each([](double x) {
               double c = std::sqrt(2 / std::numbers::pi);
               return 0.5 * x * (1 + std::tanh(c * (x + 0.044715 * x * x * x)));
             }),
             2e-6);
  // Integers are cast to f32 first.
  expect_f32(gelu(from_data({1}, {1})), {1}, {0.5 * (1 + std::erf(1 / std::sqrt(2.0)))});
}

TEST(Composite, Silu) {
  expect_f32(silu(input()), {6}, each([](double x) { return x / (1 + std::exp(-x)); }), 2e-6);
}

TEST(Composite, Softmax) {
  double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
  expect_f32(softmax(from_data({1.f, 2.f, 3.f}, {3})), {3}, {e1 / s, e2 / s, e3 / s});
  // Shifted by the maximum: no overflow at 1000.
  double e = std::exp(1.0);
  expect_f32(softmax(from_data({1000.f, 1001.f}, {2})), {2}, {1 / (1 + e), e / (1 + e)});
  // Over axis 0 of [[1, 1], [1, 3]]: column 0 is uniform.
  double e2_ = std::exp(2.0);
  expect_f32(softmax(from_data({1.f, 1.f, 1.f, 3.f}, {2, 2}), 0), {2, 2},
             {0.5, 1 / (1 + e2_), 0.5, e2_ / (1 + e2_)});
  // Over both axes: all four entries together.
  expect_f32(softmax(zeros({2, 2}), {0, 1}), {2, 2}, {0.25, 0.25, 0.25, 0.25});
  expect_f32(softmax(from_data({0, 0}, {2})), {2}, {0.5, 0.5});
  expect_f32(softmax(zeros({0, 3})), {0, 3}, {});
  // Along the last axis of a transposed view: rows [0, 0] and [ln 3, 0].
  Tensor t = transpose(from_data({0.f, static_cast<float>(std::log(3.0)), 0.f, 0.f}, {2, 2}));
  expect_f32(softmax(t), {2, 2}, {0.5, 0.5, 0.75, 0.25});
}

TEST(Composite, LogSoftmax) {
  double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  expect_f32(log_softmax(from_data({1.f, 2.f, 3.f}, {3})), {3}, {1 - lse, 2 - lse, 3 - lse});
  expect_f32(log_softmax(from_data({1000.f, 1000.f}, {2})), {2}, {-std::log(2.0), -std::log(2.0)},
             1e-5);
  expect_f32(log_softmax(from_data({0.f, 0.f, 0.f, 0.f}, {2, 2}), 0), {2, 2},
             {-std::log(2.0), -std::log(2.0), -std::log(2.0), -std::log(2.0)});
}

TEST(Composite, LayerNorm) {
  // Row [1, 2, 3, 4]: mean 2.5, variance 1.25.
  Tensor x = from_data({1.f, 2.f, 3.f, 4.f, 2.f, 2.f, 2.f, 2.f}, {2, 4});
  double eps = 1e-5, r = 1 / std::sqrt(1.25 + eps);
  expect_f32(layer_norm(x), {2, 4}, {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r, 0, 0, 0, 0}, 1e-5);
  Tensor w = from_data({1.f, 2.f, 1.f, 2.f}, {4});
  Tensor b = from_data({0.f, 0.f, 1.f, 1.f}, {4});
  expect_f32(layer_norm(x, -1, w, b), {2, 4},
             {-1.5 * r, -1.0 * r, 0.5 * r + 1, 3.0 * r + 1, 0, 0, 1, 1}, 1e-5);
  // Over both axes: mean 2.25, variance (1.5625 + 0.0625 + 0.5625 + 3.0625 + 4 * 0.0625) / 8.
  double var = (1.5625 + 0.0625 + 0.5625 + 3.0625 + 4 * 0.0625) / 8, q = 1 / std::sqrt(var + 0.1);
  expect_f32(layer_norm(x, {0, 1}, std::nullopt, std::nullopt, 0.1), {2, 4},
             {-1.25 * q, -0.25 * q, 0.75 * q, 1.75 * q, -0.25 * q, -0.25 * q, -0.25 * q, -0.25 * q},
             1e-5);
  // Integers become f32.
  EXPECT_EQ(layer_norm(from_data({1, 2}, {2})).dtype(), DType::F32);
}

TEST(Composite, OtherDTypesAndShapes) {
  double e1 = std::exp(1.0), e2 = std::exp(2.0), s = 1 + e1 + e2;
  Tensor x64 = from_data({0.0, 1.0, 2.0}, {3});
  testing::expect_close(softmax(x64), DType::F64, {3}, {1 / s, e1 / s, e2 / s}, 1e-12, 1e-12);
  testing::expect_close(log_softmax(x64), DType::F64, {3},
                        {-std::log(s), 1 - std::log(s), 2 - std::log(s)}, 1e-12, 1e-12);
  Tensor x16 = from_data({0.f, 1.f, 2.f}, {3}, DType::F16);
  testing::expect_close(softmax(x16), DType::F16, {3}, {1 / s, e1 / s, e2 / s}, 2e-3, 2e-3);
  testing::expect_close(gelu(x16), DType::F16, {3},
                        {0, 0.5 * (1 + std::erf(1 / std::sqrt(2.0))),
                         (1 + std::erf(2 / std::sqrt(2.0)))},
                        2e-3, 2e-3);
  Tensor xb = from_data({1.f, 3.f}, {2}, DType::BF16);
  // mean 2, variance 1: (x - 2) / sqrt(1 + eps).
  testing::expect_close(layer_norm(xb), DType::BF16, {2}, {-1, 1}, 1e-2, 1e-2);
  // Size 0 and size 1.
  expect_f32(softmax(zeros({3, 0})), {3, 0}, {});
  expect_f32(softmax(full({1}, 5.0)), {1}, {1});
  expect_f32(layer_norm(full({2, 1}, 5.0)), {2, 1}, {0, 0});
  expect_f32(silu(zeros({0})), {0}, {});
}

TEST(Composite, RmsNorm) {
  // [3, 4]: mean square 12.5.
  double eps = 1e-6, r = 1 / std::sqrt(12.5 + eps);
  expect_f32(rms_norm(from_data({3.f, 4.f}, {2})), {2}, {3 * r, 4 * r});
  expect_f32(rms_norm(from_data({3.f, 4.f, 1.f, 1.f}, {2, 2}), -1, from_data({2.f, 0.5f}, {2})),
             {2, 2}, {6 * r, 2 * r, 2 / std::sqrt(1 + eps), 0.5 / std::sqrt(1 + eps)});
  expect_f32(rms_norm(from_data({3.f, 4.f}, {2}), 0, std::nullopt, 0.5), {2},
             {3 / std::sqrt(13.0), 4 / std::sqrt(13.0)});
}

}  // namespace
}  // namespace kiln
