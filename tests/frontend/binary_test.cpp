// Elementwise binary and ternary ops: arithmetic, division and modulo semantics,
// comparisons, logical and bitwise ops, where, clip, broadcasting and operators.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

TEST(Binary, Arithmetic) {
  Tensor a = from_data({1.f, 2.f, 3.f}, {3});
  Tensor b = from_data({0.5f, -1.f, 4.f}, {3});
  expect_f32(a + b, {3}, {1.5, 1, 7});
  expect_f32(a - b, {3}, {0.5, 3, -1});
  expect_f32(a * b, {3}, {0.5, -2, 12});
  expect_f32(a / b, {3}, {2, -2, 0.75});
  expect_f32(add(a, b), {3}, {1.5, 1, 7});
  expect_f32(subtract(a, b), {3}, {0.5, 3, -1});
  expect_f32(multiply(a, b), {3}, {0.5, -2, 12});
  expect_f32(divide(a, b), {3}, {2, -2, 0.75});
  Tensor i = from_data({7, -7, 100}, {3});
  Tensor j = from_data({2, 2, -30}, {3});
  expect_values<int32_t>(i + j, DType::I32, {3}, {9, -5, 70});
  expect_values<int32_t>(i * j, DType::I32, {3}, {14, -14, -3000});
  // i8 arithmetic wraps: 100 + 100 = 200 - 256.
  Tensor k = from_data({int8_t{100}}, {1});
  expect_values<int8_t>(k + k, DType::I8, {1}, {-56});
  expect_values<double>(from_data({1.0, 2.0}, {2}) * 3, DType::F64, {2}, {3, 6});
  expect_values<complex64>(from_data({complex64(1, 2)}, {1}) * from_data({complex64(3, -1)}, {1}),
                           DType::C64, {1}, {complex64(5, 5)});
}

TEST(Binary, SeveralDTypes) {
  // 3 op 2 and -4 op 3 in each dtype: +, -, *, maximum, minimum, mod.
  for (DType d :
       {DType::I8, DType::I32, DType::I64, DType::F16, DType::BF16, DType::F32, DType::F64}) {
    SCOPED_TRACE(std::string(dtype_name(d)));
    Tensor a = cast(from_data({3, -4}, {2}), d);
    Tensor b = cast(from_data({2, 3}, {2}), d);
    auto check = [&](const Tensor& t, std::vector<double> want) {
      EXPECT_EQ(t.dtype(), d);
      testing::expect_close(t, d, {2}, want, 0, 0);
    };
    check(a + b, {5, -1});
    check(a - b, {1, -7});
    check(a * b, {6, -12});
    check(maximum(a, b), {3, 3});
    check(minimum(a, b), {2, -4});
    check(a % b, {1, 2});
    check(floor_divide(a, b), {1, -2});
  }
  Tensor u = from_data({uint8_t{250}, uint8_t{3}}, {2});
  expect_values<uint8_t>(u + from_data({uint8_t{10}, uint8_t{4}}, {2}), DType::U8, {2}, {4, 7});
  expect_values<uint8_t>(u - from_data({uint8_t{0}, uint8_t{4}}, {2}), DType::U8, {2}, {250, 255});
}

TEST(Binary, BoolArithmeticUsesI32) {
  Tensor t = from_data(std::vector<bool>{true, false, true}, {3});
  expect_values<int32_t>(t + t, DType::I32, {3}, {2, 0, 2});
  expect_values<int32_t>(t * t, DType::I32, {3}, {1, 0, 1});
}

TEST(Binary, TrueAndFloorDivision) {
  Tensor i = from_data({7, -7, 7, -7, 3}, {5});
  Tensor j = from_data({2, 2, -2, -2, 0}, {5});
  // True division of integers gives f32; x / 0 follows IEEE.
  expect_f32(i / j, {5}, {3.5, -3.5, -3.5, 3.5, INFINITY});
  // Floor division rounds toward -inf; integer x // 0 is 0.
  expect_values<int32_t>(floor_divide(i, j), DType::I32, {5}, {3, -4, -4, 3, 0});
  Tensor f = from_data({7.f, -7.f, 7.5f}, {3});
  expect_f32(floor_divide(f, 2), {3}, {3, -4, 3});
  expect_f32(floor_divide(f, -2.0), {3}, {-4, 3, -4});
}

TEST(Binary, ModIsFloored) {
  Tensor i = from_data({7, -7, 7, -7, 5}, {5});
  Tensor j = from_data({3, 3, -3, -3, 0}, {5});
  // The result has the divisor's sign (Python %); x % 0 is 0 for integers.
  expect_values<int32_t>(i % j, DType::I32, {5}, {1, 2, -2, -1, 0});
  expect_values<int32_t>(mod(i, j), DType::I32, {5}, {1, 2, -2, -1, 0});
  Tensor f = from_data({5.5f, -5.5f, 5.5f}, {3});
  expect_f32(f % from_data({2.f, 2.f, -2.f}, {3}), {3}, {1.5, 0.5, -0.5});
  expect_error<DTypeError>([] { full({1}, complex64(1, 0)) % 2; }, {"mod", "complex"});
}

TEST(Binary, Pow) {
  expect_f32(pow(from_data({2.f, 4.f, 9.f}, {3}), from_data({3.f, 0.5f, -1.f}, {3})), {3},
             {8, 2, 1.0 / 9});
  // Integer powers; a negative exponent gives 0 except for bases 1 and -1.
  expect_values<int32_t>(
      pow(from_data({2, 3, 2, 1, -1, -1}, {6}), from_data({10, 2, -1, -5, -3, -2}, {6})),
      DType::I32, {6}, {1024, 9, 0, 1, -1, 1});
  expect_f32(pow(from_data({3.f}, {1}), 2), {1}, {9});
}

TEST(Binary, MaximumMinimumPropagateNaN) {
  Tensor a = from_data({1.f, NAN, 3.f, -0.5f}, {4});
  Tensor b = from_data({2.f, 0.f, NAN, -1.f}, {4});
  expect_f32(maximum(a, b), {4}, {2, NAN, NAN, -0.5});
  expect_f32(minimum(a, b), {4}, {1, NAN, NAN, -1});
  expect_values<int32_t>(maximum(from_data({1, 5}, {2}), 3), DType::I32, {2}, {3, 5});
  expect_values<bool>(maximum(from_data(std::vector<bool>{true, false}, {2}),
                              from_data(std::vector<bool>{false, false}, {2})),
                      DType::Bool, {2}, {true, false});
}

TEST(Binary, Atan2) {
  Tensor y = from_data({1.f, 1.f, -1.f, 0.f}, {4});
  Tensor x = from_data({1.f, -1.f, -1.f, -1.f}, {4});
  double pi = 3.14159265358979;
  expect_f32(atan2(y, x), {4}, {pi / 4, 3 * pi / 4, -3 * pi / 4, pi});
  expect_f32(atan2(from_data({1}, {1}), from_data({0}, {1})), {1}, {pi / 2});
}

TEST(Binary, Comparisons) {
  Tensor a = from_data({1.f, 2.f, 3.f, NAN}, {4});
  Tensor b = from_data({2.f, 2.f, 2.f, NAN}, {4});
  expect_values<bool>(a == b, DType::Bool, {4}, {false, true, false, false});
  expect_values<bool>(a != b, DType::Bool, {4}, {true, false, true, true});
  expect_values<bool>(a < b, DType::Bool, {4}, {true, false, false, false});
  expect_values<bool>(a <= b, DType::Bool, {4}, {true, true, false, false});
  expect_values<bool>(a > b, DType::Bool, {4}, {false, false, true, false});
  expect_values<bool>(a >= b, DType::Bool, {4}, {false, true, true, false});
  expect_values<bool>(equal(a, 2), DType::Bool, {4}, {false, true, false, false});
  expect_values<bool>(not_equal(a, 2), DType::Bool, {4}, {true, false, true, true});
  expect_values<bool>(less(a, 2), DType::Bool, {4}, {true, false, false, false});
  expect_values<bool>(less_equal(2, a), DType::Bool, {4}, {false, true, true, false});
  expect_values<bool>(greater(3, a), DType::Bool, {4}, {true, true, false, false});
  expect_values<bool>(greater_equal(a, 3), DType::Bool, {4}, {false, false, true, false});
  // Mixed dtypes compare after promotion: i32 2 == f32 2.0.
  expect_values<bool>(from_data({2, 3}, {2}) == from_data({2.f, 2.5f}, {2}), DType::Bool, {2},
                      {true, false});
  Tensor z = from_data({complex64(1, 1), complex64(1, 0)}, {2});
  expect_values<bool>(z == complex64(1, 1), DType::Bool, {2}, {true, false});
  expect_error<DTypeError>([&] { (void)(z < z); }, {"less", "c64[2]", "complex"});
}

TEST(Binary, Logical) {
  Tensor p = from_data(std::vector<bool>{true, true, false, false}, {4});
  Tensor q = from_data(std::vector<bool>{true, false, true, false}, {4});
  expect_values<bool>(p && q, DType::Bool, {4}, {true, false, false, false});
  expect_values<bool>(p || q, DType::Bool, {4}, {true, true, true, false});
  expect_values<bool>(logical_xor(p, q), DType::Bool, {4}, {false, true, true, false});
  expect_values<bool>(!p, DType::Bool, {4}, {false, false, true, true});
  // Numbers are taken by truth value (nonzero is true).
  Tensor n = from_data({0.f, 2.f, -0.5f, 0.f}, {4});
  expect_values<bool>(logical_and(n, from_data({1, 1, 0, 0}, {4})), DType::Bool, {4},
                      {false, true, false, false});
  expect_values<bool>(logical_not(n), DType::Bool, {4}, {true, false, false, true});
  expect_values<bool>(logical_or(n, true), DType::Bool, {4}, {true, true, true, true});
  expect_values<bool>(p && false, DType::Bool, {4}, {false, false, false, false});
}

TEST(Binary, Bitwise) {
  Tensor a = from_data({12, 10, -1}, {3});
  Tensor b = from_data({10, 6, 5}, {3});
  expect_values<int32_t>(a & b, DType::I32, {3}, {8, 2, 5});
  expect_values<int32_t>(a | b, DType::I32, {3}, {14, 14, -1});
  expect_values<int32_t>(a ^ b, DType::I32, {3}, {6, 12, -6});
  expect_values<int32_t>(~a, DType::I32, {3}, {-13, -11, 0});
  expect_values<uint8_t>(~from_data({uint8_t{0}, uint8_t{240}}, {2}), DType::U8, {2}, {255, 15});
  expect_values<int64_t>(bitwise_and(from_data(std::vector<int64_t>{7}, {1}), 3), DType::I64, {1},
                         {3});
  Tensor p = from_data(std::vector<bool>{true, false}, {2});
  expect_values<bool>(p & true, DType::Bool, {2}, {true, false});
  expect_values<bool>(p ^ true, DType::Bool, {2}, {false, true});
  expect_values<bool>(~p, DType::Bool, {2}, {false, true});
  expect_error<DTypeError>([] { from_data({1.f}, {1}) & from_data({1.f}, {1}); },
                           {"bitwise_and", "f32[1] and f32[1]", "bool or integer"});
  expect_error<DTypeError>([] { bitwise_or(from_data({1}, {1}), 1.5); },
                           {"bitwise_or", "f32", "bool or integer"});
  expect_error<DTypeError>([] { ~from_data({1.0}, {1}); }, {"bitwise_not", "f64[1]"});
}

TEST(Binary, Where) {
  Tensor c = from_data(std::vector<bool>{true, false, true}, {3});
  expect_f32(where(c, from_data({1.f, 2.f, 3.f}, {3}), from_data({-1.f, -2.f, -3.f}, {3})), {3},
             {1, -2, 3});
  // Scalars are weak; the condition broadcasts against [2, 3].
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  expect_f32(where(c, m, 0), {2, 3}, {1, 0, 3, 4, 0, 6});
  // A numeric condition is taken by truth value; the branches promote (i32 with f32).
  expect_f32(where(from_data({0, 5}, {2}), from_data({1, 2}, {2}), from_data({0.5f}, {1})), {2},
             {0.5, 2});
  expect_values<int32_t>(where(c, 1, 0), DType::I32, {3}, {1, 0, 1});
  expect_f32(where(true, m, 0.0), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_error<ShapeError>(
      [&] {
        where(c, from_data({1.f, 2.f}, {2}), 0);
      },
      {"where", "bool[3]", "f32[2]", "do not broadcast"});
}

TEST(Binary, Clip) {
  Tensor x = from_data({-2.f, 0.5f, 3.f, NAN}, {4});
  expect_f32(clip(x, 0, 1), {4}, {0, 0.5, 1, NAN});
  expect_values<int32_t>(clip(from_data({-5, 5, 50}, {3}), 0, 10), DType::I32, {3}, {0, 5, 10});
  // Tensor bounds broadcast.
  expect_f32(clip(from_data({1.f, 2.f, 3.f, 4.f}, {2, 2}), from_data({2.f, 0.f}, {2}), 3), {2, 2},
             {2, 2, 3, 3});
}

TEST(Binary, Broadcasting) {
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor row = from_data({10.f, 20.f, 30.f}, {3});
  Tensor col = from_data({100.f, 200.f}, {2, 1});
  expect_f32(m + row, {2, 3}, {11, 22, 33, 14, 25, 36});
  expect_f32(m + col, {2, 3}, {101, 102, 103, 204, 205, 206});
  // [2, 1] with [3] gives [2, 3].
  expect_f32(col + row, {2, 3}, {110, 120, 130, 210, 220, 230});
  expect_f32(m * full({1, 1}, 2.0), {2, 3}, {2, 4, 6, 8, 10, 12});
  // Size-0 dimensions broadcast with 1 but not with other sizes.
  expect_f32(zeros({0, 3}) + row, {0, 3}, {});
  expect_f32(zeros({2, 0}) + col, {2, 0}, {});
  // A rank-0 tensor broadcasts to anything.
  expect_f32(m - full({}, 1.0), {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(Binary, BroadcastIsExplicitInTheIR) {
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor col = from_data({1.f, 2.f}, {2, 1});
  auto ops = testing::graph_ops(m + col);
  EXPECT_TRUE(testing::contains(ops, "broadcast"));
  EXPECT_EQ(ops.back(), "add");
  // A [3] operand is first reshaped to [1, 3], then broadcast.
  auto ops2 = testing::graph_ops(m + from_data({1.f, 2.f, 3.f}, {3}));
  EXPECT_TRUE(testing::contains(ops2, "reshape"));
  EXPECT_TRUE(testing::contains(ops2, "broadcast"));
}

TEST(Binary, NonContiguousOperands) {
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  // m^T is [[1, 4], [2, 5], [3, 6]]; the column slice m[:, ::2] is [[1, 3], [4, 6]].
  expect_f32(transpose(m) * from_data({1.f, 10.f}, {2}), {3, 2}, {1, 40, 2, 50, 3, 60});
  Tensor cols = slice(m, {Slice{}, Slice{std::nullopt, std::nullopt, 2}});
  expect_f32(cols + transpose(cols), {2, 2}, {2, 7, 7, 12});
}

TEST(Binary, ShapeErrorsNameTheShapes) {
  expect_error<ShapeError>(
      [] {
        zeros({3, 4}) + zeros({5});
      },
      {"add: shapes f32[3,4] and f32[5] do not broadcast (dimension 1: 4 vs 5)"});
  expect_error<ShapeError>(
      [] {
        multiply(zeros({2, 3}), zeros({3, 2}));
      },
      {"multiply: shapes f32[2,3] and f32[3,2]", "dimension 0: 2 vs 3"});
  expect_error<ShapeError>([] { zeros({0}) - zeros({2}); }, {"subtract", "dimension 0: 0 vs 2"});
}

}  // namespace
}  // namespace kiln
