// Reference evaluator: unary elementwise ops, against hand-computed and closed-form values.
#include <numbers>

#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

constexpr double kE = std::numbers::e;
constexpr double kPi = std::numbers::pi;
constexpr double kF32 = 1e-6;  // relative tolerance for f32 transcendentals
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();

Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

TEST(EvalUnary, NegWrapsIntegersAndKeepsSignedZero) {
  EXPECT_TRUE(
      same(*unary(OpKind::Neg, buf(DType::F32, {3}, {1, -2, 0})), t(DType::F32, {3}), {-1, 2, 0}));
  EXPECT_TRUE(std::signbit(values(*unary(OpKind::Neg, buf(DType::F32, {1}, {0})))[0]));
  EXPECT_TRUE(same(*unary(OpKind::Neg, buf(DType::I32, {2}, {kI32Min, 5})), t(DType::I32, {2}),
                   {kI32Min, -5}));
  EXPECT_TRUE(
      same(*unary(OpKind::Neg, buf(DType::I8, {2}, {-128, 7})), t(DType::I8, {2}), {-128, -7}));
  EXPECT_TRUE(same(*unary(OpKind::Neg, buf(DType::U8, {2}, {1, 0})), t(DType::U8, {2}), {255, 0}));
  EXPECT_TRUE(same(*unary(OpKind::Neg, buf(DType::F16, {1}, {1.5})), t(DType::F16, {1}), {-1.5}));
  EXPECT_TRUE(same(*unary(OpKind::Neg, buf(DType::BF16, {1}, {-3})), t(DType::BF16, {1}), {3}));
  EXPECT_TRUE(csame(*unary(OpKind::Neg, cbuf({1}, {{1, 2}})), {1}, {{-1, -2}}));
}

TEST(EvalUnary, AbsOfComplexIsF32) {
  EXPECT_TRUE(same(*unary(OpKind::Abs, buf(DType::I8, {3}, {-128, -3, 4})), t(DType::I8, {3}),
                   {-128, 3, 4}));
  EXPECT_TRUE(same(*unary(OpKind::Abs, buf(DType::F64, {2}, {-2.5, kNaN})), t(DType::F64, {2}),
                   {2.5, kNaN}));
  EXPECT_TRUE(same(*unary(OpKind::Abs, cbuf({2}, {{3, 4}, {0, -2}}), DType::F32),
                   t(DType::F32, {2}), {5, 2}));
  EXPECT_TRUE(same(*unary(OpKind::Abs, buf(DType::U8, {1}, {200})), t(DType::U8, {1}), {200}));
}

TEST(EvalUnary, Sign) {
  EXPECT_TRUE(same(*unary(OpKind::Sign, buf(DType::F32, {5}, {-3, 0, 2, kNaN, -kInf})),
                   t(DType::F32, {5}), {-1, 0, 1, kNaN, -1}));
  EXPECT_TRUE(
      same(*unary(OpKind::Sign, buf(DType::I32, {3}, {-7, 0, 9})), t(DType::I32, {3}), {-1, 0, 1}));
  EXPECT_TRUE(same(*unary(OpKind::Sign, buf(DType::U8, {2}, {0, 5})), t(DType::U8, {2}), {0, 1}));
  // The IR defines no complex sign (ir/ops.def), so neither does the evaluator.
  expect_error<DTypeError>([] { unary(OpKind::Sign, cbuf({1}, {{3, 4}})); }, {"sign", "c64"});
}

TEST(EvalUnary, ExpFamily) {
  EXPECT_TRUE(same(*unary(OpKind::Exp, buf(DType::F32, {3}, {0, 1, -kInf})), t(DType::F32, {3}),
                   {1, kE, 0}, kF32));
  EXPECT_TRUE(
      same(*unary(OpKind::Exp, buf(DType::F64, {1}, {-1})), t(DType::F64, {1}), {1 / kE}, 1e-15));
  // e rounded to f16 (spacing 2^-9 in [2, 4)): 1392 * 2^-9.
  EXPECT_TRUE(same(*unary(OpKind::Exp, buf(DType::F16, {1}, {1})), t(DType::F16, {1}), {2.71875}));
  EXPECT_TRUE(same(*unary(OpKind::Exp, buf(DType::BF16, {1}, {0})), t(DType::BF16, {1}), {1}));
  EXPECT_TRUE(
      csame(*unary(OpKind::Exp, cbuf({1}, {{0, static_cast<float>(kPi)}})), {1}, {{-1, 0}}, 1e-6f));
  EXPECT_TRUE(same(*unary(OpKind::Exp2, buf(DType::F32, {3}, {3, -1, 0})), t(DType::F32, {3}),
                   {8, 0.5, 1}));
  EXPECT_TRUE(csame(*unary(OpKind::Exp2, cbuf({1}, {{1, 0}})), {1}, {{2, 0}}, 1e-6f));
  EXPECT_TRUE(same(*unary(OpKind::Expm1, buf(DType::F64, {2}, {1e-20, 1})), t(DType::F64, {2}),
                   {1e-20, kE - 1}, 1e-15));
  EXPECT_TRUE(csame(*unary(OpKind::Expm1, cbuf({1}, {{0, 0}})), {1}, {{0, 0}}));
}

TEST(EvalUnary, LogFamily) {
  EXPECT_TRUE(same(*unary(OpKind::Log, buf(DType::F64, {4}, {1, kE, 0, -1})), t(DType::F64, {4}),
                   {0, 1, -kInf, kNaN}, 1e-15));
  EXPECT_TRUE(
      csame(*unary(OpKind::Log, cbuf({1}, {{-1, 0}})), {1}, {{0, static_cast<float>(kPi)}}, 1e-6f));
  EXPECT_TRUE(
      same(*unary(OpKind::Log2, buf(DType::F32, {2}, {8, 0.25})), t(DType::F32, {2}), {3, -2}));
  EXPECT_TRUE(csame(*unary(OpKind::Log2, cbuf({1}, {{4, 0}})), {1}, {{2, 0}}, 1e-6f));
  EXPECT_TRUE(same(*unary(OpKind::Log1p, buf(DType::F64, {3}, {1e-20, 0, -1})), t(DType::F64, {3}),
                   {1e-20, 0, -kInf}, 1e-15));
  EXPECT_TRUE(csame(*unary(OpKind::Log1p, cbuf({1}, {{0, 0}})), {1}, {{0, 0}}));
  EXPECT_TRUE(same(*unary(OpKind::Log, buf(DType::F16, {1}, {1})), t(DType::F16, {1}), {0}));
}

TEST(EvalUnary, RootsAndReciprocal) {
  EXPECT_TRUE(same(*unary(OpKind::Sqrt, buf(DType::F32, {3}, {4, 2, -1})), t(DType::F32, {3}),
                   {2, std::sqrt(2.0), kNaN}, kF32));
  EXPECT_TRUE(csame(*unary(OpKind::Sqrt, cbuf({1}, {{-4, 0}})), {1}, {{0, 2}}, 1e-6f));
  EXPECT_TRUE(same(*unary(OpKind::Rsqrt, buf(DType::F32, {3}, {4, 0, kInf})), t(DType::F32, {3}),
                   {0.5, kInf, 0}));
  EXPECT_TRUE(csame(*unary(OpKind::Rsqrt, cbuf({1}, {{4, 0}})), {1}, {{0.5f, 0}}, 1e-6f));
  EXPECT_TRUE(same(*unary(OpKind::Reciprocal, buf(DType::F64, {3}, {4, 0, -0.5})),
                   t(DType::F64, {3}), {0.25, kInf, -2}));
  EXPECT_TRUE(csame(*unary(OpKind::Reciprocal, cbuf({1}, {{0, 1}})), {1}, {{0, -1}}, 1e-6f));
}

TEST(EvalUnary, Trigonometry) {
  EXPECT_TRUE(same(*unary(OpKind::Sin, buf(DType::F64, {2}, {kPi / 2, 0})), t(DType::F64, {2}),
                   {1, 0}, 1e-15));
  EXPECT_TRUE(
      same(*unary(OpKind::Cos, buf(DType::F32, {2}, {0, kPi})), t(DType::F32, {2}), {1, -1}, kF32));
  EXPECT_TRUE(same(*unary(OpKind::Tan, buf(DType::F64, {2}, {kPi / 4, 0})), t(DType::F64, {2}),
                   {1, 0}, 1e-15));
  EXPECT_TRUE(same(*unary(OpKind::Tanh, buf(DType::F32, {3}, {0, 20, -20})), t(DType::F32, {3}),
                   {0, 1, -1}));
  EXPECT_TRUE(csame(*unary(OpKind::Sin, cbuf({1}, {{0, 0}})), {1}, {{0, 0}}));
  EXPECT_TRUE(csame(*unary(OpKind::Cos, cbuf({1}, {{0, 0}})), {1}, {{1, 0}}));
  EXPECT_TRUE(csame(*unary(OpKind::Tan, cbuf({1}, {{0, 0}})), {1}, {{0, 0}}));
  EXPECT_TRUE(csame(*unary(OpKind::Tanh, cbuf({1}, {{0, 0}})), {1}, {{0, 0}}));
}

TEST(EvalUnary, SigmoidSaturatesWithoutNaN) {
  EXPECT_TRUE(same(*unary(OpKind::Sigmoid, buf(DType::F32, {4}, {0, -1000, 1000, 2})),
                   t(DType::F32, {4}), {0.5, 0, 1, 1 / (1 + std::exp(-2.0))}, kF32));
  EXPECT_TRUE(same(*unary(OpKind::Sigmoid, buf(DType::F64, {1}, {0})), t(DType::F64, {1}), {0.5}));
  EXPECT_TRUE(csame(*unary(OpKind::Sigmoid, cbuf({1}, {{0, 0}})), {1}, {{0.5f, 0}}));
}

TEST(EvalUnary, Erf) {
  EXPECT_TRUE(same(*unary(OpKind::Erf, buf(DType::F64, {3}, {0, 1, -kInf})), t(DType::F64, {3}),
                   {0, 0.8427007929497149, -1}, 1e-15));
  EXPECT_TRUE(same(*unary(OpKind::Erf, buf(DType::BF16, {1}, {10})), t(DType::BF16, {1}), {1}));
  expect_error<DTypeError>(
      [] {
        unary(OpKind::Erf, cbuf({1}, {{0, 0}}));
      },
      {"erf", "c64", "floating"});
}

TEST(EvalUnary, FloorCeil) {
  auto x = buf(DType::F32, {4}, {-1.5, 1.5, -0.0, 2});
  EXPECT_TRUE(same(*unary(OpKind::Floor, x), t(DType::F32, {4}), {-2, 1, 0, 2}));
  EXPECT_TRUE(same(*unary(OpKind::Ceil, x), t(DType::F32, {4}), {-1, 2, 0, 2}));
  EXPECT_TRUE(std::signbit(values(*unary(OpKind::Ceil, buf(DType::F64, {1}, {-0.5})))[0]));
  EXPECT_TRUE(same(*unary(OpKind::Floor, buf(DType::I32, {1}, {-3})), t(DType::I32, {1}), {-3}));
  EXPECT_TRUE(same(*unary(OpKind::Ceil, buf(DType::F16, {1}, {0.25})), t(DType::F16, {1}), {1}));
  expect_error<DTypeError>([] { unary(OpKind::Floor, cbuf({1}, {{0, 0}})); }, {"floor", "c64"});
}

TEST(EvalUnary, RoundHalfToEven) {
  auto x = buf(DType::F32, {9}, {0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 1e30, kInf});
  EXPECT_TRUE(
      same(*unary(OpKind::Round, x), t(DType::F32, {9}), {0, 2, 2, 0, -2, 2, -3, 1e30f, kInf}));
  // round(-0.5) is -0, like NumPy.
  EXPECT_TRUE(std::signbit(values(*unary(OpKind::Round, x))[3]));
  EXPECT_TRUE(same(*unary(OpKind::Round, buf(DType::F64, {2}, {kNaN, 4503599627370497.0})),
                   t(DType::F64, {2}), {kNaN, 4503599627370497.0}));
  EXPECT_TRUE(
      same(*unary(OpKind::Round, buf(DType::F16, {2}, {2.5, 3.5})), t(DType::F16, {2}), {2, 4}));
  EXPECT_TRUE(same(*unary(OpKind::Round, buf(DType::I8, {1}, {7})), t(DType::I8, {1}), {7}));
}

// not is logical on every real dtype (x == 0), as ir/ops.def and docs/ir.md define it.
TEST(EvalUnary, NotIsLogical) {
  EXPECT_TRUE(
      same(*unary(OpKind::Not, buf(DType::Bool, {2}, {1, 0})), t(DType::Bool, {2}), {0, 1}));
  EXPECT_TRUE(same(*unary(OpKind::Not, buf(DType::I32, {2}, {0, 5}), DType::Bool),
                   t(DType::Bool, {2}), {1, 0}));
  EXPECT_TRUE(same(*unary(OpKind::Not, buf(DType::F32, {3}, {0, 1, kNaN}), DType::Bool),
                   t(DType::Bool, {3}), {1, 0, 0}));
  expect_error<DTypeError>(
      [] {
        unary(OpKind::Not, cbuf({1}, {{1, 0}}), DType::Bool);
      },
      {"not", "c64"});
}

TEST(EvalUnary, IsNanIsInf) {
  auto x = buf(DType::F32, {4}, {kNaN, 1, kInf, -kInf});
  EXPECT_TRUE(same(*unary(OpKind::IsNan, x, DType::Bool), t(DType::Bool, {4}), {1, 0, 0, 0}));
  EXPECT_TRUE(same(*unary(OpKind::IsInf, x, DType::Bool), t(DType::Bool, {4}), {0, 0, 1, 1}));
  EXPECT_TRUE(same(*unary(OpKind::IsNan, buf(DType::I32, {1}, {1}), DType::Bool),
                   t(DType::Bool, {1}), {0}));
  EXPECT_TRUE(same(*unary(OpKind::IsInf, buf(DType::F16, {2}, {70000, 1}), DType::Bool),
                   t(DType::Bool, {2}), {1, 0}));
  auto z = cbuf({3}, {{1, std::nanf("")}, {1, 2}, {-INFINITY, 0}});
  EXPECT_TRUE(same(*unary(OpKind::IsNan, z, DType::Bool), t(DType::Bool, {3}), {1, 0, 0}));
  EXPECT_TRUE(same(*unary(OpKind::IsInf, z, DType::Bool), t(DType::Bool, {3}), {0, 0, 1}));
}

TEST(EvalUnary, ComplexParts) {
  auto z = cbuf({2}, {{1, 2}, {-3, 0.5f}});
  EXPECT_TRUE(same(*unary(OpKind::Real, z, DType::F32), t(DType::F32, {2}), {1, -3}));
  EXPECT_TRUE(same(*unary(OpKind::Imag, z, DType::F32), t(DType::F32, {2}), {2, 0.5}));
  EXPECT_TRUE(csame(*unary(OpKind::Conj, z), {2}, {{1, -2}, {-3, -0.5f}}));
  auto x = buf(DType::F64, {1}, {3});
  EXPECT_TRUE(same(*unary(OpKind::Real, x), t(DType::F64, {1}), {3}));
  EXPECT_TRUE(same(*unary(OpKind::Imag, x), t(DType::F64, {1}), {0}));
  EXPECT_TRUE(same(*unary(OpKind::Conj, x), t(DType::F64, {1}), {3}));
}

TEST(EvalUnary, TranscendentalsRejectIntegers) {
  expect_error<DTypeError>([] { unary(OpKind::Exp, buf(DType::I32, {1}, {1})); },
                           {"exp", "i32", "floating or complex", "cast"});
  expect_error<DTypeError>([] { unary(OpKind::Reciprocal, buf(DType::I64, {0}, {})); },
                           {"reciprocal", "i64"});
}

TEST(EvalUnary, RankZeroAndSizeZero) {
  EXPECT_TRUE(same(*unary(OpKind::Neg, buf(DType::F32, {}, {2})), t(DType::F32, {}), {-2}));
  EXPECT_TRUE(same(*unary(OpKind::Exp, buf(DType::F64, {0, 3}, {})), t(DType::F64, {0, 3}), {}));
  EXPECT_TRUE(same(*unary(OpKind::IsNan, buf(DType::F16, {2, 0}, {}), DType::Bool),
                   t(DType::Bool, {2, 0}), {}));
}

TEST(EvalUnary, ResultDtypeMustFit) {
  // abs of c64 gives f32; a node that claims c64 is ill-typed, not silently reinterpreted.
  expect_error<VerifyError>([] { unary(OpKind::Abs, cbuf({1}, {{3, 4}})); }, {"abs", "f32"});
  expect_error<VerifyError>(
      [] {
        eval(node(OpKind::Neg, {cst(buf(DType::F32, {2}, {1, 2}))}, {}, Type{DType::F32, {3}}));
      },
      {"neg", "f32[3]", "shape"});
}

}  // namespace
}  // namespace kiln::test
