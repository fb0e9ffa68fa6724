// Creation ops: zeros, ones, full, the *_like forms, arange, linspace, eye and from_data.
#include <span>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

TEST(Creation, ZerosOnesFull) {
  expect_values<float>(zeros({2, 3}), DType::F32, {2, 3}, std::vector<float>(6, 0.f));
  expect_values<int32_t>(ones({4}, DType::I32), DType::I32, {4}, {1, 1, 1, 1});
  expect_values<double>(full({2}, 2.5, DType::F64), DType::F64, {2}, {2.5, 2.5});
  expect_values<bool>(full({3}, true), DType::Bool, {3}, {true, true, true});
  expect_values<uint8_t>(full({1, 1}, 7, DType::U8), DType::U8, {1, 1}, {7});
  expect_values<int64_t>(full({}, -3, DType::I64), DType::I64, {}, {-3});
  expect_values<float>(zeros({0, 4}), DType::F32, {0, 4}, {});
  expect_values<complex64>(full({2}, complex64(1, -2)), DType::C64, {2},
                           {complex64(1, -2), complex64(1, -2)});
}

TEST(Creation, FullDefaultsToTheScalarsDType) {
  EXPECT_EQ(full({2}, 1).dtype(), DType::I32);
  EXPECT_EQ(full({2}, 1.0).dtype(), DType::F32);
  EXPECT_EQ(full({2}, false).dtype(), DType::Bool);
  EXPECT_EQ(full({2}, complex64(0, 1)).dtype(), DType::C64);
}

TEST(Creation, FullConvertsLikeACast) {
  // A float value for an integer dtype truncates toward zero.
  expect_values<int32_t>(full({2}, -2.7, DType::I32), DType::I32, {2}, {-2, -2});
  // 16-bit floats round to nearest: 0.1 is stored as the nearest f16 value.
  expect_f32(cast(full({1}, 0.1, DType::F16), DType::F32), {1}, {0.0999755859375});
  expect_f32(cast(full({1}, 1.0 / 3, DType::BF16), DType::F32), {1}, {0.333984375});
}

TEST(Creation, LikeForms) {
  Tensor x = from_data(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values<int32_t>(zeros_like(x), DType::I32, {2, 3}, std::vector<int32_t>(6, 0));
  expect_values<float>(ones_like(x, DType::F32), DType::F32, {2, 3}, std::vector<float>(6, 1.f));
  expect_values<int32_t>(full_like(x, 9), DType::I32, {2, 3}, std::vector<int32_t>(6, 9));
  // The tensor's dtype wins over the scalar's: 2.5 truncates into i32.
  expect_values<int32_t>(full_like(x, 2.5), DType::I32, {2, 3}, std::vector<int32_t>(6, 2));
}

TEST(Creation, ArangeIntegers) {
  expect_values<int32_t>(arange(5), DType::I32, {5}, {0, 1, 2, 3, 4});
  expect_values<int32_t>(arange(2, 11, 3), DType::I32, {3}, {2, 5, 8});
  expect_values<int32_t>(arange(5, 0, -2), DType::I32, {3}, {5, 3, 1});
  expect_values<int32_t>(arange(3, 3), DType::I32, {0}, {});
  expect_values<int32_t>(arange(3, 1), DType::I32, {0}, {});
  expect_values<int64_t>(arange(-2, 2, 1, DType::I64), DType::I64, {4}, {-2, -1, 0, 1});
  expect_values<int8_t>(arange(3, DType::I8), DType::I8, {3}, {0, 1, 2});
}

TEST(Creation, ArangeFloats) {
  // ceil((1 - 0) / 0.25) = 4 elements.
  expect_f32(arange(0.0, 1.0, 0.25), {4}, {0, 0.25, 0.5, 0.75});
  expect_f32(arange(1.0, -1.0, -0.5), {4}, {1, 0.5, 0, -0.5});
  expect_f32(arange(4, DType::F32), {4}, {0, 1, 2, 3});
  testing::expect_close(arange(0.5, 2.0, 0.5, DType::F64), DType::F64, {3}, {0.5, 1.0, 1.5});
  // ceil(2.5 / 1) = 3 elements.
  expect_f32(arange(0.0, 2.5), {3}, {0, 1, 2});
}

TEST(Creation, ArangeErrors) {
  expect_error<ShapeError>([] { arange(0, 5, 0); }, {"arange", "step is 0"});
  expect_error<DTypeError>([] { arange(3, DType::Bool); }, {"arange", "bool"});
}

TEST(Creation, Linspace) {
  expect_f32(linspace(0, 1, 5), {5}, {0, 0.25, 0.5, 0.75, 1});
  expect_f32(linspace(0, 1, 4, false), {4}, {0, 0.25, 0.5, 0.75});
  expect_f32(linspace(2, -2, 3), {3}, {2, 0, -2});
  expect_f32(linspace(3, 7, 1), {1}, {3});
  expect_f32(linspace(3, 7, 0), {0}, {});
  // The last value is exactly stop even when the step does not divide evenly.
  std::vector<float> v = linspace(0, 0.7, 7).to_vector<float>();
  EXPECT_EQ(v.back(), 0.7f);
  EXPECT_NEAR(v[3], 0.35, 1e-6);
  testing::expect_close(linspace(0, 1, 3, true, DType::F64), DType::F64, {3}, {0, 0.5, 1});
  // Integer dtypes truncate: 0, 10/3, 20/3, 10 -> 0, 3, 6, 10.
  expect_values<int32_t>(linspace(0, 10, 4, true, DType::I32), DType::I32, {4}, {0, 3, 6, 10});
  expect_error<ShapeError>([] { linspace(0, 1, -1); }, {"linspace", "num is -1"});
}

TEST(Creation, Eye) {
  expect_f32(eye(3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  expect_f32(eye(2, 3, 1), {2, 3}, {0, 1, 0, 0, 0, 1});
  expect_f32(eye(3, 2, -1), {3, 2}, {0, 0, 1, 0, 0, 1});
  expect_values<int32_t>(eye(2, std::nullopt, 0, DType::I32), DType::I32, {2, 2}, {1, 0, 0, 1});
  expect_values<bool>(eye(2, 2, 5, DType::Bool), DType::Bool, {2, 2}, {false, false, false, false});
  expect_f32(eye(0), {0, 0}, {});
}

TEST(Creation, FromDataCopiesTheValues) {
  std::vector<float> host{1, 2, 3, 4, 5, 6};
  Tensor x = from_data(host, {2, 3});
  host[0] = 100;  // the tensor holds its own copy
  expect_values<float>(x, DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(x.is_evaluated());
}

TEST(Creation, FromDataForms) {
  const int64_t raw[] = {7, 8, 9};
  expect_values<int64_t>(from_data(std::span<const int64_t>(raw), {3}), DType::I64, {3}, {7, 8, 9});
  expect_values<int32_t>(from_data({1, 2, 3, 4}, {2, 2}), DType::I32, {2, 2}, {1, 2, 3, 4});
  expect_values<double>(from_data(std::vector<double>{0.5, 1.5}), DType::F64, {2}, {0.5, 1.5});
  expect_values<bool>(from_data(std::vector<bool>{true, false, true}, {3}), DType::Bool, {3},
                      {true, false, true});
  expect_values<int8_t>(from_data({int8_t{-1}, int8_t{5}}, {2}), DType::I8, {2}, {-1, 5});
  expect_values<uint8_t>(from_data({uint8_t{255}}, {}), DType::U8, {}, {255});
  expect_values<complex64>(from_data({complex64(1, 2)}, {1}), DType::C64, {1}, {complex64(1, 2)});
  expect_values<float>(from_data(std::vector<float>{}, {0, 3}), DType::F32, {0, 3}, {});
}

TEST(Creation, FromDataWithADType) {
  // f32 host data stored as f16 and bf16; 1.0009765625 = 1 + 2^-10 is exact in f16 only.
  Tensor h = from_data({1.0f, 1.0009765625f, -2.5f}, {3}, DType::F16);
  EXPECT_EQ(h.dtype(), DType::F16);
  EXPECT_EQ(h.to_vector<float>(), (std::vector<float>{1.0f, 1.0009765625f, -2.5f}));
  Tensor b = from_data({1.0f, 1.0009765625f}, {2}, DType::BF16);
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{1.0f, 1.0f}));
  // Float to integer truncates toward zero.
  expect_values<int32_t>(from_data({1.9f, -1.9f}, {2}, DType::I32), DType::I32, {2}, {1, -1});
}

TEST(Creation, Errors) {
  expect_error<ShapeError>(
      [] {
        from_data({1.f, 2.f, 3.f}, {2, 2});
      },
      {"from_data", "3 values", "[2,2]", "4 elements"});
  expect_error<ShapeError>([] { zeros({2, -1}); }, {"zeros", "[2,-1]", "negative"});
  expect_error<ShapeError>([] { zeros(Shape(9, 1)); }, {"rank 9", "at most rank 8"});
  expect_error<DTypeError>([] { full({2}, 300, DType::U8); },
                           {"full", "300", "does not fit u8", "0..255"});
  expect_error<DTypeError>([] { full({2}, complex64(1, 1), DType::F32); },
                           {"full", "complex", "f32"});
}

}  // namespace
}  // namespace kiln
