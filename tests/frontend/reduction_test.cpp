// Reductions (sum, mean, prod, max, min, argmax, argmin, var, std, logsumexp, all, any)
// and scans (cumsum, cumprod).
#include <limits>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

// [[1, 2, 3], [4, 5, 6]]
Tensor m23() { return from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3}); }

TEST(Reduce, SumOverAxes) {
  expect_f32(sum(m23()), {}, {21});
  expect_f32(sum(m23(), 0), {3}, {5, 7, 9});
  expect_f32(sum(m23(), 1), {2}, {6, 15});
  expect_f32(sum(m23(), -1), {2}, {6, 15});
  expect_f32(sum(m23(), {0, 1}), {}, {21});
  expect_f32(sum(m23(), {-1, 0}), {}, {21});
  expect_f32(sum(m23(), 1, true), {2, 1}, {6, 15});
  expect_f32(sum(m23(), {}, true), {1, 1}, {21});
  expect_f32(sum(m23(), std::nullopt), {}, {21});
  // A 3-D tensor reduced over its outer axes: x[i, j, k] = 4i + 2j + k.
  Tensor t = arange(8, DType::F32);
  expect_f32(sum(reshape(t, {2, 2, 2}), {0, 2}), {2}, {0 + 1 + 4 + 5, 2 + 3 + 6 + 7});
}

TEST(Reduce, SumDTypes) {
  expect_values<int32_t>(sum(from_data(std::vector<bool>{true, true, false}, {3})), DType::I32, {},
                         {2});
  // u8 accumulates in i32: 200 + 100 does not wrap.
  expect_values<int32_t>(sum(from_data({uint8_t{200}, uint8_t{100}}, {2})), DType::I32, {}, {300});
  expect_values<int64_t>(sum(from_data(std::vector<int64_t>{1, 2}, {2})), DType::I64, {}, {3});
  expect_values<double>(sum(from_data({0.5, 0.25}, {2})), DType::F64, {}, {0.75});
  EXPECT_EQ(sum(ones({4}, DType::F16)).dtype(), DType::F16);
  expect_values<complex64>(sum(from_data({complex64(1, 2), complex64(3, -1)}, {2})), DType::C64, {},
                           {complex64(4, 1)});
}

TEST(Reduce, EmptySetsGiveTheIdentity) {
  expect_f32(sum(zeros({0})), {}, {0});
  expect_f32(prod(zeros({0})), {}, {1});
  expect_f32(max(zeros({0})), {}, {-INFINITY});
  expect_f32(min(zeros({0})), {}, {INFINITY});
  expect_values<int32_t>(max(zeros({0}, DType::I32)), DType::I32, {},
                         {std::numeric_limits<int32_t>::min()});
  expect_f32(sum(zeros({2, 0}), 1), {2}, {0, 0});
  expect_f32(sum(zeros({2, 0}), 0), {0}, {});
  expect_f32(mean(zeros({0})), {}, {NAN});
  expect_values<bool>(all(zeros({0})), DType::Bool, {}, {true});
  expect_values<bool>(any(zeros({0})), DType::Bool, {}, {false});
}

TEST(Reduce, MeanProdMaxMin) {
  expect_f32(mean(m23()), {}, {3.5});
  expect_f32(mean(m23(), 0), {3}, {2.5, 3.5, 4.5});
  expect_f32(mean(m23(), 1, true), {2, 1}, {2, 5});
  // Integers average in f32.
  expect_f32(mean(from_data({1, 2}, {2})), {}, {1.5});
  expect_f32(prod(m23()), {}, {720});
  expect_f32(prod(m23(), 1), {2}, {6, 120});
  expect_values<int32_t>(prod(from_data({int8_t{100}, int8_t{100}}, {2})), DType::I32, {}, {10000});
  expect_f32(max(m23()), {}, {6});
  expect_f32(max(m23(), 0), {3}, {4, 5, 6});
  expect_f32(min(m23(), 1), {2}, {1, 4});
  expect_f32(min(m23(), {}, true), {1, 1}, {1});
  expect_f32(max(from_data({1.f, NAN, 3.f}, {3})), {}, {NAN});
  expect_f32(min(from_data({1.f, NAN, 3.f}, {3})), {}, {NAN});
  expect_values<int32_t>(max(from_data({-5, 3, -9}, {3})), DType::I32, {}, {3});
}

TEST(Reduce, ArgMaxArgMin) {
  // First occurrence on ties.
  expect_values<int64_t>(argmax(from_data({1.f, 3.f, 3.f, 2.f}, {4})), DType::I64, {}, {1});
  expect_values<int64_t>(argmin(from_data({3, 1, 1}, {3})), DType::I64, {}, {1});
  Tensor x = from_data({1.f, 9.f, 9.f, 0.f}, {2, 2});
  // Flattened by default.
  expect_values<int64_t>(argmax(x), DType::I64, {}, {1});
  expect_values<int64_t>(argmin(x), DType::I64, {}, {3});
  expect_values<int64_t>(argmax(x, 0), DType::I64, {2}, {1, 0});
  expect_values<int64_t>(argmax(x, -1), DType::I64, {2}, {1, 0});
  expect_values<int64_t>(argmin(x, 1, true), DType::I64, {2, 1}, {0, 1});
  expect_values<int64_t>(argmax(x, {}, true), DType::I64, {1, 1}, {1});
  // NaN counts as the maximum.
  expect_values<int64_t>(argmax(from_data({1.f, NAN, 3.f}, {3})), DType::I64, {}, {1});
  expect_values<int64_t>(argmax(full({}, 2.0)), DType::I64, {}, {0});
  expect_values<int64_t>(argmax(from_data(std::vector<bool>{false, true}, {2})), DType::I64, {},
                         {1});
}

TEST(Reduce, VarStd) {
  Tensor x = from_data({1.f, 2.f, 3.f, 4.f}, {4});
  // Deviations from 2.5 squared: 2.25, 0.25, 0.25, 2.25.
  expect_f32(var(x), {}, {1.25});
  expect_f32(var(x, {}, 1), {}, {5.0 / 3});
  expect_f32(std(x), {}, {std::sqrt(1.25)});
  expect_f32(std(x, {}, 1), {}, {std::sqrt(5.0 / 3)});
  expect_f32(var(m23(), 1), {2}, {2.0 / 3, 2.0 / 3});
  expect_f32(var(m23(), 0, 0, true), {1, 3}, {2.25, 2.25, 2.25});
  expect_f32(var(from_data({1, 3}, {2})), {}, {1});
  // n - ddof = 0 divides by zero.
  expect_f32(var(from_data({2.f}, {1}), {}, 1), {}, {NAN});
  // |z - mean|^2 for complex: mean 0, |1+i|^2 = |-1-i|^2 = 2.
  expect_f32(var(from_data({complex64(1, 1), complex64(-1, -1)}, {2})), {}, {2});
}

TEST(Reduce, OtherFloatDTypes) {
  Tensor h = from_data({1.f, 2.f, 3.f, 4.f}, {4}, DType::F16);
  testing::expect_close(mean(h), DType::F16, {}, {2.5}, 0, 0);
  testing::expect_close(var(h), DType::F16, {}, {1.25}, 0, 0);
  testing::expect_close(max(h), DType::F16, {}, {4}, 0, 0);
  testing::expect_close(cumsum(h), DType::F16, {4}, {1, 3, 6, 10}, 0, 0);
  Tensor b = from_data({0.5f, 0.25f}, {2}, DType::BF16);
  testing::expect_close(prod(b), DType::BF16, {}, {0.125}, 0, 0);
  Tensor d = from_data({1e-8, 1.0, -1.0}, {3});
  // In f64, 1e-8 + 1 - 1 keeps 1e-8 to about 8 digits (f32 would lose it).
  testing::expect_close(sum(d), DType::F64, {}, {1e-8}, 1e-6, 0);
  testing::expect_close(std(d, {}, 1), DType::F64, {}, {1.0}, 1e-9, 0);
  expect_values<int64_t>(argmin(d), DType::I64, {}, {2});
}

TEST(Reduce, LogSumExpIsStable) {
  expect_f32(logsumexp(from_data({0.f, static_cast<float>(std::log(3.0))}, {2})), {},
             {std::log(4.0)});
  // exp(1000) overflows f32; shifting by the maximum does not.
  expect_f32(logsumexp(from_data({1000.f, 1000.f}, {2})), {}, {1000 + std::log(2.0)}, 1e-5);
  expect_f32(logsumexp(from_data({-1000.f, -1000.f}, {2})), {}, {-1000 + std::log(2.0)}, 1e-5);
  expect_f32(logsumexp(from_data({-INFINITY, -INFINITY}, {2})), {}, {-INFINITY});
  expect_f32(logsumexp(from_data({1.f, INFINITY}, {2})), {}, {INFINITY});
  Tensor x = from_data({0.f, 0.f, 1.f, 1.f}, {2, 2});
  expect_f32(logsumexp(x, 1), {2}, {std::log(2.0), 1 + std::log(2.0)});
  expect_f32(logsumexp(x, 0, true), {1, 2},
             {std::log(1 + std::exp(1.0)), std::log(1 + std::exp(1.0))});
  expect_f32(logsumexp(zeros({0})), {}, {-INFINITY});
}

TEST(Reduce, AllAny) {
  Tensor b = from_data(std::vector<bool>{true, false, true, true}, {2, 2});
  expect_values<bool>(all(b), DType::Bool, {}, {false});
  expect_values<bool>(any(b), DType::Bool, {}, {true});
  expect_values<bool>(all(b, 1), DType::Bool, {2}, {false, true});
  expect_values<bool>(any(b, 0, true), DType::Bool, {1, 2}, {true, true});
  // Numbers by truth value.
  expect_values<bool>(all(from_data({1, 2, 0}, {3})), DType::Bool, {}, {false});
  expect_values<bool>(any(from_data({0.f, -0.5f}, {2})), DType::Bool, {}, {true});
  expect_values<bool>(all(from_data({0.5f, NAN}, {2})), DType::Bool, {}, {true});
}

TEST(Reduce, Scans) {
  expect_f32(cumsum(from_data({1.f, 2.f, 3.f, 4.f}, {4})), {4}, {1, 3, 6, 10});
  expect_f32(cumprod(from_data({1.f, 2.f, 3.f, 4.f}, {4})), {4}, {1, 2, 6, 24});
  expect_f32(cumsum(m23(), 0), {2, 3}, {1, 2, 3, 5, 7, 9});
  expect_f32(cumsum(m23(), 1), {2, 3}, {1, 3, 6, 4, 9, 15});
  expect_f32(cumprod(m23(), -1), {2, 3}, {1, 2, 6, 4, 20, 120});
  // Flattened when no axis is given.
  expect_f32(cumsum(m23()), {6}, {1, 3, 6, 10, 15, 21});
  expect_values<int32_t>(cumsum(from_data(std::vector<bool>{true, false, true}, {3})), DType::I32,
                         {3}, {1, 1, 2});
  expect_values<int32_t>(cumprod(from_data({uint8_t{16}, uint8_t{16}}, {2})), DType::I32, {2},
                         {16, 256});
  expect_f32(cumsum(zeros({0})), {0}, {});
  expect_f32(cumsum(full({}, 2.0)), {1}, {2});
}

TEST(Reduce, NonContiguousInputs) {
  // m^T = [[1, 4], [2, 5], [3, 6]].
  expect_f32(sum(transpose(m23()), 0), {2}, {6, 15});
  expect_values<int64_t>(argmax(transpose(m23()), 1), DType::I64, {3}, {1, 1, 1});
  expect_f32(cumsum(transpose(m23()), 0), {3, 2}, {1, 4, 3, 9, 6, 15});
  // Every second column: [[1, 3], [4, 6]].
  expect_f32(max(slice(m23(), 1, std::nullopt, std::nullopt, 2), 1), {2}, {3, 6});
}

TEST(Reduce, Errors) {
  expect_error<AxisError>(
      [] { sum(m23(), 2); },
      {"sum: axis 2 is out of range for f32[2,3] (rank 2); use an axis in [-2, 1]"});
  expect_error<AxisError>([] { mean(m23(), {1, -1}); }, {"mean", "axis 1 appears twice", "[1,-1]"});
  expect_error<AxisError>(
      [] {
        argmax(m23(), {0, 1});
      },
      {"argmax: takes one axis, got [0,1]", "f32[2,3]"});
  expect_error<ShapeError>([] { argmin(zeros({0, 3}), 0); }, {"argmin", "f32[0,3]", "length 0"});
  expect_error<DTypeError>([] { max(full({2}, complex64(1, 1))); }, {"max", "c64[2]", "no order"});
  expect_error<AxisError>([] { cumsum(m23(), -3); }, {"cumsum", "axis -3"});
  expect_error<AxisError>([] { sum(full({}, 1.0), 0); }, {"sum", "rank-0 tensor has no axes"});
}

}  // namespace
}  // namespace kiln
