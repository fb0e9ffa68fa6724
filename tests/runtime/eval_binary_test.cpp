// Reference evaluator: binary elementwise ops and select, against hand-computed values:
// wrapping integers, floor division, floored modulo, NaN propagation, integer powers.
#include <numbers>

#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();

Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

TEST(EvalBinary, AddWrapsAndRoundsToNearestEven) {
  EXPECT_TRUE(
      same(*binary(OpKind::Add, buf(DType::I8, {2}, {127, -100}), buf(DType::I8, {2}, {1, -100})),
           t(DType::I8, {2}), {-128, 56}));
  EXPECT_TRUE(same(*binary(OpKind::Add, buf(DType::U8, {1}, {250}), buf(DType::U8, {1}, {10})),
                   t(DType::U8, {1}), {4}));
  // f16 near 1 has spacing 2^-10: 1 + 2^-11 ties to 1 (even), 1 + 3 * 2^-11 ties to 1 + 2^-9.
  EXPECT_TRUE(same(*binary(OpKind::Add, buf(DType::F16, {2}, {1, 1}),
                           buf(DType::F16, {2}, {std::ldexp(1, -11), 3 * std::ldexp(1, -11)})),
                   t(DType::F16, {2}), {1, 1 + std::ldexp(1, -9)}));
  // bf16 at 256 has spacing 2: 257 ties to 256.
  EXPECT_TRUE(same(*binary(OpKind::Add, buf(DType::BF16, {1}, {256}), buf(DType::BF16, {1}, {1})),
                   t(DType::BF16, {1}), {256}));
  // Like the IR (ir/ops.def), no arithmetic on bool.
  expect_error<DTypeError>(
      [] { binary(OpKind::Add, buf(DType::Bool, {1}, {1}), buf(DType::Bool, {1}, {1})); },
      {"add", "bool"});
  EXPECT_TRUE(csame(*binary(OpKind::Add, cbuf({1}, {{1, 2}}), cbuf({1}, {{3, 4}})), {1}, {{4, 6}}));
}

TEST(EvalBinary, SubMul) {
  EXPECT_TRUE(same(*binary(OpKind::Sub, buf(DType::I32, {1}, {kI32Min}), buf(DType::I32, {1}, {1})),
                   t(DType::I32, {1}), {kI32Max}));
  EXPECT_TRUE(same(*binary(OpKind::Sub, buf(DType::F64, {1}, {1.5}), buf(DType::F64, {1}, {2})),
                   t(DType::F64, {1}), {-0.5}));
  EXPECT_TRUE(same(
      *binary(OpKind::Mul, buf(DType::I32, {2}, {65536, 3}), buf(DType::I32, {2}, {65536, -4})),
      t(DType::I32, {2}), {0, -12}));
  EXPECT_TRUE(same(*binary(OpKind::Mul, buf(DType::I64, {1}, {-3}), buf(DType::I64, {1}, {7})),
                   t(DType::I64, {1}), {-21}));
  EXPECT_TRUE(
      csame(*binary(OpKind::Mul, cbuf({1}, {{1, 2}}), cbuf({1}, {{3, 4}})), {1}, {{-5, 10}}));
}

TEST(EvalBinary, IntegerDivisionFloorsAndDivisionByZeroIsZero) {
  auto a = buf(DType::I32, {7}, {7, -7, 7, -7, 5, kI32Min, 0});
  auto b = buf(DType::I32, {7}, {2, 2, -2, -2, 0, -1, 0});
  EXPECT_TRUE(same(*binary(OpKind::Div, a, b), t(DType::I32, {7}), {3, -4, -4, 3, 0, kI32Min, 0}));
  EXPECT_TRUE(
      same(*binary(OpKind::Div, buf(DType::I8, {2}, {-128, -1}), buf(DType::I8, {2}, {-1, 3})),
           t(DType::I8, {2}), {-128, -1}));
  EXPECT_TRUE(same(*binary(OpKind::Div, buf(DType::U8, {2}, {7, 7}), buf(DType::U8, {2}, {2, 0})),
                   t(DType::U8, {2}), {3, 0}));
  EXPECT_TRUE(same(*binary(OpKind::Div, buf(DType::I64, {1}, {-1}), buf(DType::I64, {1}, {1000})),
                   t(DType::I64, {1}), {-1}));
}

TEST(EvalBinary, FloatDivisionFollowsIeee) {
  EXPECT_TRUE(same(
      *binary(OpKind::Div, buf(DType::F32, {4}, {1, -1, 0, 1}), buf(DType::F32, {4}, {0, 0, 0, 4})),
      t(DType::F32, {4}), {kInf, -kInf, kNaN, 0.25}));
  EXPECT_TRUE(
      csame(*binary(OpKind::Div, cbuf({1}, {{1, 0}}), cbuf({1}, {{0, 1}})), {1}, {{0, -1}}));
  EXPECT_TRUE(same(*binary(OpKind::Div, buf(DType::F16, {1}, {1}), buf(DType::F16, {1}, {3})),
                   t(DType::F16, {1}),
                   {static_cast<double>(f16_to_float(float_to_f16(1.0f / 3)))}));
}

TEST(EvalBinary, ModIsFlooredWithTheDivisorsSign) {
  auto a = buf(DType::I32, {7}, {7, -7, 7, -7, 5, kI32Min, 0});
  auto b = buf(DType::I32, {7}, {3, 3, -3, -3, 0, -1, 0});
  EXPECT_TRUE(same(*binary(OpKind::Mod, a, b), t(DType::I32, {7}), {1, 2, -2, -1, 0, 0, 0}));
  EXPECT_TRUE(
      same(*binary(OpKind::Mod, buf(DType::I8, {2}, {-128, -5}), buf(DType::I8, {2}, {3, 127})),
           t(DType::I8, {2}), {1, 122}));
  EXPECT_TRUE(same(*binary(OpKind::Mod, buf(DType::U8, {2}, {7, 7}), buf(DType::U8, {2}, {4, 0})),
                   t(DType::U8, {2}), {3, 0}));
  auto x = buf(DType::F32, {6}, {7.5, -7.5, 7.5, 6, -1, kInf});
  auto y = buf(DType::F32, {6}, {2, 2, -2, 0, kInf, 2});
  EXPECT_TRUE(
      same(*binary(OpKind::Mod, x, y), t(DType::F32, {6}), {1.5, 0.5, -0.5, kNaN, kInf, kNaN}));
  // A zero remainder takes the divisor's sign.
  auto z =
      values(*binary(OpKind::Mod, buf(DType::F64, {2}, {-4, 4}), buf(DType::F64, {2}, {2, -2})));
  EXPECT_EQ(z[0], 0);
  EXPECT_FALSE(std::signbit(z[0]));
  EXPECT_TRUE(std::signbit(z[1]));
  expect_error<DTypeError>(
      [] {
        binary(OpKind::Mod, cbuf({1}, {{1, 0}}), cbuf({1}, {{1, 0}}));
      },
      {"mod", "c64"});
}

TEST(EvalBinary, IntegerPower) {
  auto a = buf(DType::I32, {8}, {2, 2, 1, -1, -1, 3, 0, 2});
  auto b = buf(DType::I32, {8}, {10, -1, -5, -3, -4, 0, 0, 31});
  EXPECT_TRUE(
      same(*binary(OpKind::Pow, a, b), t(DType::I32, {8}), {1024, 0, 1, -1, 1, 1, 1, kI32Min}));
  EXPECT_TRUE(same(*binary(OpKind::Pow, buf(DType::I8, {1}, {3}), buf(DType::I8, {1}, {5})),
                   t(DType::I8, {1}), {-13}));  // 243 wraps
  EXPECT_TRUE(same(*binary(OpKind::Pow, buf(DType::U8, {1}, {2}), buf(DType::U8, {1}, {9})),
                   t(DType::U8, {1}), {0}));
  auto big = binary(OpKind::Pow, buf(DType::I64, {1}, {3}), buf(DType::I64, {1}, {39}));
  EXPECT_EQ(raw_values<int64_t>(*big)[0], 4052555153018976267);  // exact, beyond 2^53
}

TEST(EvalBinary, FloatPower) {
  EXPECT_TRUE(same(*binary(OpKind::Pow, buf(DType::F32, {3}, {2, -8, 0}),
                           buf(DType::F32, {3}, {0.5, 1.0 / 3, 0})),
                   t(DType::F32, {3}), {std::sqrt(2.0), kNaN, 1}, 1e-6));
  EXPECT_TRUE(
      csame(*binary(OpKind::Pow, cbuf({1}, {{0, 1}}), cbuf({1}, {{2, 0}})), {1}, {{-1, 0}}, 1e-6f));
}

TEST(EvalBinary, MaxMinPropagateNaN) {
  auto a = buf(DType::F32, {4}, {1, kNaN, 3, -0.0});
  auto b = buf(DType::F32, {4}, {2, 0, kNaN, 5});
  EXPECT_TRUE(same(*binary(OpKind::Max, a, b), t(DType::F32, {4}), {2, kNaN, kNaN, 5}));
  EXPECT_TRUE(same(*binary(OpKind::Min, a, b), t(DType::F32, {4}), {1, kNaN, kNaN, 0}));
  EXPECT_TRUE(
      same(*binary(OpKind::Max, buf(DType::I64, {2}, {-1, 7}), buf(DType::I64, {2}, {1, 3})),
           t(DType::I64, {2}), {1, 7}));
  EXPECT_TRUE(same(*binary(OpKind::Min, buf(DType::U8, {1}, {200}), buf(DType::U8, {1}, {3})),
                   t(DType::U8, {1}), {3}));
  EXPECT_TRUE(
      same(*binary(OpKind::Max, buf(DType::Bool, {2}, {0, 1}), buf(DType::Bool, {2}, {0, 0})),
           t(DType::Bool, {2}), {0, 1}));
  // Complex numbers have no order in the IR (ir/ops.def).
  expect_error<DTypeError>(
      [] {
        binary(OpKind::Max, cbuf({1}, {{1, 5}}), cbuf({1}, {{2, 0}}));
      },
      {"max", "c64"});
}

TEST(EvalBinary, Atan2) {
  EXPECT_TRUE(same(
      *binary(OpKind::Atan2, buf(DType::F64, {3}, {1, 0, -1}), buf(DType::F64, {3}, {1, -1, 0})),
      t(DType::F64, {3}), {std::numbers::pi / 4, std::numbers::pi, -std::numbers::pi / 2}, 1e-15));
  EXPECT_TRUE(same(*binary(OpKind::Atan2, buf(DType::F16, {1}, {0}), buf(DType::F16, {1}, {1})),
                   t(DType::F16, {1}), {0}));
  expect_error<DTypeError>(
      [] { binary(OpKind::Atan2, buf(DType::I32, {1}, {1}), buf(DType::I32, {1}, {1})); },
      {"atan2", "i32"});
}

TEST(EvalBinary, ComparisonsGiveBoolAndNaNIsUnordered) {
  auto a = buf(DType::F32, {3}, {1, 2, kNaN});
  auto b = buf(DType::F32, {3}, {2, 2, kNaN});
  Type bt = t(DType::Bool, {3});
  EXPECT_TRUE(same(*binary(OpKind::Eq, a, b, DType::Bool), bt, {0, 1, 0}));
  EXPECT_TRUE(same(*binary(OpKind::Ne, a, b, DType::Bool), bt, {1, 0, 1}));
  EXPECT_TRUE(same(*binary(OpKind::Lt, a, b, DType::Bool), bt, {1, 0, 0}));
  EXPECT_TRUE(same(*binary(OpKind::Le, a, b, DType::Bool), bt, {1, 1, 0}));
  EXPECT_TRUE(same(*binary(OpKind::Gt, a, b, DType::Bool), bt, {0, 0, 0}));
  EXPECT_TRUE(same(*binary(OpKind::Ge, a, b, DType::Bool), bt, {0, 1, 0}));
  EXPECT_TRUE(same(
      *binary(OpKind::Lt, buf(DType::I8, {2}, {-1, 5}), buf(DType::I8, {2}, {1, 5}), DType::Bool),
      t(DType::Bool, {2}), {1, 0}));
  EXPECT_TRUE(
      same(*binary(OpKind::Gt, buf(DType::U8, {1}, {255}), buf(DType::U8, {1}, {0}), DType::Bool),
           t(DType::Bool, {1}), {1}));
  auto z = cbuf({2}, {{1, 2}, {1, 2}});
  auto w = cbuf({2}, {{1, 3}, {1, 2}});
  EXPECT_TRUE(same(*binary(OpKind::Eq, z, w, DType::Bool), t(DType::Bool, {2}), {0, 1}));
  // Complex numbers have no order in the IR (ir/ops.def).
  expect_error<DTypeError>([&] { binary(OpKind::Lt, z, w, DType::Bool); }, {"lt", "c64"});
}

TEST(EvalBinary, LogicalAndBitwise) {
  auto p = buf(DType::Bool, {4}, {0, 0, 1, 1});
  auto q = buf(DType::Bool, {4}, {0, 1, 0, 1});
  EXPECT_TRUE(same(*binary(OpKind::And, p, q), t(DType::Bool, {4}), {0, 0, 0, 1}));
  EXPECT_TRUE(same(*binary(OpKind::Or, p, q), t(DType::Bool, {4}), {0, 1, 1, 1}));
  EXPECT_TRUE(same(*binary(OpKind::Xor, p, q), t(DType::Bool, {4}), {0, 1, 1, 0}));
  auto a = buf(DType::I32, {2}, {12, -1});
  auto b = buf(DType::I32, {2}, {10, 5});
  EXPECT_TRUE(same(*binary(OpKind::And, a, b), t(DType::I32, {2}), {8, 5}));
  EXPECT_TRUE(same(*binary(OpKind::Or, a, b), t(DType::I32, {2}), {14, -1}));
  EXPECT_TRUE(same(*binary(OpKind::Xor, a, b), t(DType::I32, {2}), {6, -6}));
  expect_error<DTypeError>(
      [] { binary(OpKind::And, buf(DType::F32, {1}, {1}), buf(DType::F32, {1}, {1})); },
      {"and", "f32", "bool or integer"});
}

TEST(EvalBinary, ComplexFromParts) {
  EXPECT_TRUE(csame(*binary(OpKind::Complex, buf(DType::F32, {2}, {1, 2}),
                            buf(DType::F32, {2}, {3, 4}), DType::C64),
                    {2}, {{1, 3}, {2, 4}}));
}

TEST(EvalBinary, OperandsMustMatch) {
  expect_error<VerifyError>(
      [] {
        binary(OpKind::Add, buf(DType::F32, {2}, {1, 2}), buf(DType::F32, {3}, {1, 2, 3}));
      },
      {"add", "f32[2]", "f32[3]", "explicit"});
  expect_error<VerifyError>(
      [] { binary(OpKind::Add, buf(DType::F32, {1}, {1}), buf(DType::I32, {1}, {1})); },
      {"add", "f32[1]", "i32[1]"});
  expect_error<VerifyError>(
      [] { binary(OpKind::Lt, buf(DType::F32, {1}, {1}), buf(DType::F32, {1}, {1})); },
      {"lt", "bool"});
}

TEST(EvalBinary, RankZeroAndSizeZero) {
  EXPECT_TRUE(same(*binary(OpKind::Mul, buf(DType::I32, {}, {6}), buf(DType::I32, {}, {7})),
                   t(DType::I32, {}), {42}));
  EXPECT_TRUE(same(*binary(OpKind::Div, buf(DType::I32, {0}, {}), buf(DType::I32, {0}, {})),
                   t(DType::I32, {0}), {}));
}

TEST(EvalSelect, PicksPerElement) {
  auto c = cst(buf(DType::Bool, {3}, {1, 0, 1}));
  auto r =
      eval(node(OpKind::Select,
                {c, cst(buf(DType::F32, {3}, {1, 2, 3})), cst(buf(DType::F32, {3}, {4, 5, 6}))}, {},
                t(DType::F32, {3})));
  EXPECT_TRUE(same(*r, t(DType::F32, {3}), {1, 5, 3}));
  auto z = eval(
      node(OpKind::Select,
           {c, cst(cbuf({3}, {{1, 1}, {2, 2}, {3, 3}})), cst(cbuf({3}, {{4, 4}, {5, 5}, {6, 6}}))},
           {}, t(DType::C64, {3})));
  EXPECT_TRUE(csame(*z, {3}, {{1, 1}, {5, 5}, {3, 3}}));
  auto e = eval(node(OpKind::Select,
                     {cst(buf(DType::Bool, {0}, {})), cst(buf(DType::I64, {0}, {})),
                      cst(buf(DType::I64, {0}, {}))},
                     {}, t(DType::I64, {0})));
  EXPECT_TRUE(same(*e, t(DType::I64, {0}), {}));
  expect_error<VerifyError>(
      [] {
        eval(node(OpKind::Select,
                  {cst(buf(DType::I32, {1}, {1})), cst(buf(DType::F32, {1}, {1})),
                   cst(buf(DType::F32, {1}, {2}))},
                  {}, Type{DType::F32, {1}}));
      },
      {"select", "condition", "i32[1]", "bool"});
}

}  // namespace
}  // namespace kiln::test
