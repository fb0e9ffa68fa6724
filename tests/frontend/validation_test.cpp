// Arguments checked when an op is built, not at eval: shapes whose element count or byte
// size overflows int64, arange values that do not fit the dtype, null host pointers,
// invalid random-number arguments, and slice steps at the ends of int64. Each case
// asserts the message names the op, the argument and the fix.
#include <limits>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_values;

constexpr int64_t kBig = int64_t{1} << 40;
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

TEST(Validation, ArangePicksI64WhenI32CannotHoldTheValues) {
  Tensor t = arange(int64_t{3000000000}, int64_t{3000000003});
  expect_values<int64_t>(t, DType::I64, {3}, {3000000000, 3000000001, 3000000002});
  expect_values<int64_t>(arange(int64_t{-3000000000}, int64_t{-2999999998}), DType::I64, {2},
                         {-3000000000, -2999999999});
  expect_values<int64_t>(arange(int64_t{0}, int64_t{6000000000}, int64_t{3000000000}), DType::I64,
                         {2}, {0, 3000000000});
  // The values decide, not the bounds: stop itself may lie outside i32.
  expect_values<int32_t>(arange(int64_t{2147483646}, int64_t{2147483648}), DType::I32, {2},
                         {2147483646, 2147483647});
  expect_values<int32_t>(arange(3), DType::I32, {3}, {0, 1, 2});
}

TEST(Validation, ArangeValuesThatDoNotFitTheDTypeThrow) {
  expect_error<DTypeError>(
      [] { arange(int64_t{3000000000}, int64_t{3000000003}, 1, DType::I32); },
      {"arange", "start 3000000000 does not fit i32", "-2147483648..2147483647", "DType::I64"});
  expect_error<DTypeError>(
      [] { arange(0, 300, 1, DType::U8); },
      {"arange", "stop 300 gives the value 299", "does not fit u8", "0..255", "DType::I64"});
  expect_error<DTypeError>(
      [] { arange(0.0, 1e5, 1e4, DType::F16); },
      {"arange", "stop 100000 gives the value 90000", "does not fit f16", "65504", "DType::F64"});
  expect_error<DTypeError>([] { arange(0.0, 3e19, 1e19, DType::I64); },
                           {"arange", "gives the value 2e+19", "does not fit i64", "DType::F64"});
  // An empty range has no value to check.
  EXPECT_EQ(arange(300, 0, 1, DType::U8).size(), 0);
}

TEST(Validation, ArangeLengthsThatOverflowThrow) {
  expect_error<ShapeError>([] { arange(kI64Min, kI64Max); },
                           {"arange", "more than 2^63 elements", "shorter range"});
  expect_error<ShapeError>([] { arange(0.0, 1e30, 1e-10); },
                           {"arange", "give 1e+40 elements", "shorter range"});
  expect_error<ShapeError>([] { arange(int64_t{0}, int64_t{1} << 62); },
                           {"arange", "[4611686018427387904]", "i64", "too large"});
}

TEST(Validation, ShapesThatOverflowThrowWhenTheOpIsBuilt) {
  const std::vector<std::string> big = {"[1099511627776,1099511627776]", "too large",
                                        "overflows int64", "smaller dimensions"};
  auto with = [&](std::string op) {
    std::vector<std::string> f = big;
    f.push_back(op + ": shape");
    return f;
  };
  expect_error<ShapeError>([] { zeros({kBig, kBig}); }, with("zeros"));
  expect_error<ShapeError>([] { ones({kBig, kBig}, DType::U8); }, with("ones"));
  expect_error<ShapeError>([] { full({kBig, kBig}, 2.5); }, with("full"));
  expect_error<ShapeError>([] { eye(kBig); }, with("eye"));
  expect_error<ShapeError>([] { uniform(Key(1), {kBig, kBig}); }, with("uniform"));
  expect_error<ShapeError>([] { normal(Key(1), {kBig, kBig}); }, with("normal"));
  expect_error<ShapeError>([] { bernoulli(Key(1), 0.5, {kBig, kBig}); }, with("bernoulli"));
  expect_error<ShapeError>([] { broadcast_to(zeros({1}), {kBig, kBig}); }, with("broadcast_to"));
  expect_error<ShapeError>(
      [] {
        from_host(nullptr, DType::F32, 0, {kBig, kBig, 0});
      },
      {"from_data", "[1099511627776,1099511627776,0]", "too large"});
  expect_error<ShapeError>([] { linspace(0, 1, kI64Max); },
                           {"linspace", "[9223372036854775807]", "too large"});
  // Operands that fit can combine into a result that does not.
  Tensor col = zeros({kBig, 1}), row = zeros({1, kBig});
  expect_error<ShapeError>([&] { add(col, row); }, with("add"));
  expect_error<ShapeError>([&] { col* row; }, with("multiply"));
  expect_error<ShapeError>([&] { matmul(col, row); }, with("matmul"));
  expect_error<ShapeError>([] { tile(zeros({kBig}), {int64_t{1} << 22}); },
                           {"tile", "[4611686018427387904]", "too large"});
  expect_error<ShapeError>([] { tile(zeros({kBig}), {kI64Max}); },
                           {"tile", "repetitions", "int64", "fewer repetitions"});
  expect_error<ShapeError>(
      [] {
        reshape(zeros({4}), {kBig, kBig, -1});
      },
      {"reshape", "[1099511627776,1099511627776,-1]", "int64"});
  expect_error<ShapeError>(
      [] {
        pad(zeros({2}), {{kI64Max, 1}});
      },
      {"pad", "overflows int64", "smaller pads"});
  expect_error<ShapeError>(
      [] {
        pad(zeros({2, 2}), {{kBig, kBig}, {kBig, kBig}});
      },
      {"pad", "too large"});
  expect_error<ShapeError>(
      [] {
        concatenate({zeros({kI64Max / 2}, DType::U8), zeros({kI64Max / 2}, DType::U8),
                     zeros({2}, DType::U8)});
      },
      {"concatenate", "past int64"});
  // zeros_like with a wider dtype.
  expect_error<ShapeError>([] { zeros_like(zeros({kI64Max / 2}, DType::U8), DType::F64); },
                           {"full", "too large"});
  // A shape whose size fits is still fine, and building it allocates nothing.
  EXPECT_EQ(zeros({kBig, 4}).size(), kBig * 4);
}

TEST(Validation, UnsignedScalarsAboveInt64Throw) {
  expect_error<DTypeError>([] { full({1}, uint64_t{1} << 63, DType::I64); },
                           {"scalar 9223372036854775808", "does not fit int64", "below 2^63"});
  expect_values<int64_t>(full({1}, uint64_t{kI64Max}, DType::I64), DType::I64, {1}, {kI64Max});
}

TEST(Validation, FromHostRefusesANullPointerWithValues) {
  expect_error<Error>([] { from_host(nullptr, DType::F32, 4, {4}); },
                      {"from_data", "null", "count is 4", "pointer to 4 f32 values"});
  Tensor empty = from_host(nullptr, DType::F32, 0, {0, 3});
  expect_values<float>(empty, DType::F32, {0, 3}, {});
}

TEST(Validation, RandomArgumentsAreChecked) {
  expect_error<Error>([] { normal(Key(1), {2}, DType::F32, 0.0, -1.0); },
                      {"normal", "standard deviation -1", "negative", "stddev >= 0"});
  expect_error<Error>([] { normal(Key(1), {2}, DType::F32, 0.0, std::nan("")); },
                      {"normal", "standard deviation nan", "stddev >= 0"});
  expect_error<Error>([] { normal(Key(1), {2}, DType::F32, INFINITY, 1.0); },
                      {"normal", "mean inf", "finite mean"});
  expect_values<float>(normal(Key(1), {2}, DType::F32, 3.0, 0.0), DType::F32, {2}, {3.f, 3.f});
  expect_error<Error>([] { uniform(Key(1), {2}, DType::F32, 2.0, 1.0); },
                      {"uniform", "[2.000000, 1.000000)", "lo < hi"});
  expect_error<Error>([] { uniform(Key(1), {2}, DType::F64, -1e308, 1e308); },
                      {"uniform", "not finite", "lo < hi"});
  expect_error<Error>([] { bernoulli(Key(1), 1.5, {2}); },
                      {"bernoulli", "p = 1.5", "not a probability", "[0, 1]"});
  expect_error<Error>([] { bernoulli(Key(1), -0.5, {2}); }, {"bernoulli", "p = -0.5"});
  expect_error<Error>([] { bernoulli(Key(1), std::nan(""), {2}); }, {"bernoulli", "p = nan"});
}

TEST(Validation, SliceStepsAtTheEndsOfInt64) {
  Tensor x = arange(5);
  expect_values<int32_t>(slice(x, 0, 1, std::nullopt, kI64Max), DType::I32, {1}, {1});
  expect_values<int32_t>(slice(x, 0, std::nullopt, std::nullopt, kI64Min), DType::I32, {1}, {4});
  expect_values<int32_t>(slice(x, 0, 3, 0, kI64Min), DType::I32, {1}, {3});
}

}  // namespace
}  // namespace kiln
