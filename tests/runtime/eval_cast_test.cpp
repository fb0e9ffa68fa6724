// Reference evaluator: cast between every kind of dtype, with its corner cases: float to
// int truncates and saturates (NaN -> 0), int to int wraps, to bool is x != 0, and narrowing
// to f16/bf16 rounds once (no double rounding through f32).
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

BufferPtr cast(const BufferPtr& x, DType to) {
  return eval(node(OpKind::Cast, {cst(x)}, {}, Type{to, x->shape()}));
}
Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

TEST(EvalCast, FloatToIntTruncatesAndSaturates) {
  auto x = buf(DType::F32, {8}, {1.9, -1.9, kNaN, 3e9, -3e9, kInf, -kInf, -0.5});
  EXPECT_TRUE(same(*cast(x, DType::I32), t(DType::I32, {8}),
                   {1, -1, 0, kI32Max, kI32Min, kI32Max, kI32Min, 0}));
  auto y = buf(DType::F32, {5}, {-5, 300, 255.9, kNaN, 0.99});
  EXPECT_TRUE(same(*cast(y, DType::U8), t(DType::U8, {5}), {0, 255, 255, 0, 0}));
  EXPECT_TRUE(
      same(*cast(buf(DType::F16, {2}, {200, -200}), DType::I8), t(DType::I8, {2}), {127, -128}));
  auto d = raw_buf<double>(DType::F64, {4}, {1e19, -1e19, 9.2e18, -9223372036854775808.0});
  EXPECT_EQ(raw_values<int64_t>(*cast(d, DType::I64)),
            (std::vector<int64_t>{kI64Max, kI64Min, 9200000000000000000, kI64Min}));
}

TEST(EvalCast, IntToIntWraps) {
  EXPECT_TRUE(same(*cast(buf(DType::I32, {3}, {300, -129, 127}), DType::I8), t(DType::I8, {3}),
                   {44, 127, 127}));
  EXPECT_TRUE(same(*cast(buf(DType::U8, {1}, {200}), DType::I8), t(DType::I8, {1}), {-56}));
  EXPECT_TRUE(same(*cast(buf(DType::I8, {1}, {-1}), DType::U8), t(DType::U8, {1}), {255}));
  auto big = raw_buf<int64_t>(DType::I64, {1}, {(int64_t{1} << 32) + 5});
  EXPECT_TRUE(same(*cast(big, DType::I32), t(DType::I32, {1}), {5}));
  EXPECT_TRUE(same(*cast(buf(DType::I8, {1}, {-7}), DType::I64), t(DType::I64, {1}), {-7}));
}

TEST(EvalCast, ToBoolIsNonZero) {
  EXPECT_TRUE(
      same(*cast(buf(DType::I32, {3}, {0, 2, -1}), DType::Bool), t(DType::Bool, {3}), {0, 1, 1}));
  EXPECT_TRUE(same(*cast(buf(DType::F32, {4}, {0, -0.0, kNaN, 0.1}), DType::Bool),
                   t(DType::Bool, {4}), {0, 0, 1, 1}));
  EXPECT_TRUE(same(*cast(cbuf({3}, {{0, 0}, {0, 1}, {2, 0}}), DType::Bool), t(DType::Bool, {3}),
                   {0, 1, 1}));
  EXPECT_TRUE(
      same(*cast(buf(DType::BF16, {2}, {0, -3}), DType::Bool), t(DType::Bool, {2}), {0, 1}));
}

TEST(EvalCast, FromBool) {
  auto b = buf(DType::Bool, {2}, {1, 0});
  EXPECT_TRUE(same(*cast(b, DType::F32), t(DType::F32, {2}), {1, 0}));
  EXPECT_TRUE(same(*cast(b, DType::I64), t(DType::I64, {2}), {1, 0}));
  EXPECT_TRUE(same(*cast(b, DType::F16), t(DType::F16, {2}), {1, 0}));
  EXPECT_TRUE(csame(*cast(b, DType::C64), {2}, {{1, 0}, {0, 0}}));
}

TEST(EvalCast, NarrowingTo16BitFloatsRoundsOnce) {
  // 1 + 2^-11 + 2^-40 is just above the midpoint of 1 and 1 + 2^-10 in f16. Rounding to
  // f32 first would land exactly on the midpoint and then tie down to 1.
  auto d = raw_buf<double>(DType::F64, {2},
                           {1 + std::ldexp(1, -11) + std::ldexp(1, -40), 1 + std::ldexp(1, -11)});
  EXPECT_TRUE(same(*cast(d, DType::F16), t(DType::F16, {2}), {1 + std::ldexp(1, -10), 1}));
  auto e = raw_buf<double>(DType::F64, {2},
                           {1 + std::ldexp(1, -8) + std::ldexp(1, -40), 1 + std::ldexp(1, -8)});
  EXPECT_TRUE(same(*cast(e, DType::BF16), t(DType::BF16, {2}), {1 + std::ldexp(1, -7), 1}));
  // The same trap from i64: 2^62 + 2^54 + 1 rounds up in bf16 (spacing 2^55 there).
  auto i = raw_buf<int64_t>(DType::I64, {1}, {(int64_t{1} << 62) + (int64_t{1} << 54) + 1});
  EXPECT_TRUE(
      same(*cast(i, DType::BF16), t(DType::BF16, {1}), {std::ldexp(1, 62) + std::ldexp(1, 55)}));
}

TEST(EvalCast, FloatRangeAndIntToFloat) {
  auto x = buf(DType::F32, {4}, {65519, 65520, 1e-8, 6e-8});
  EXPECT_TRUE(same(*cast(x, DType::F16), t(DType::F16, {4}), {65504, kInf, 0, std::ldexp(1, -24)}));
  EXPECT_TRUE(same(*cast(buf(DType::F16, {1}, {65504}), DType::F32), t(DType::F32, {1}), {65504}));
  EXPECT_TRUE(same(*cast(raw_buf<int64_t>(DType::I64, {1}, {16777217}), DType::F32),
                   t(DType::F32, {1}), {16777216}));
  EXPECT_TRUE(same(*cast(buf(DType::I32, {2}, {2049, 2051}), DType::F16), t(DType::F16, {2}),
                   {2048, 2052}));
  EXPECT_TRUE(same(*cast(buf(DType::I32, {1}, {257}), DType::BF16), t(DType::BF16, {1}), {256}));
  EXPECT_TRUE(same(*cast(buf(DType::F64, {1}, {0.1}), DType::F32), t(DType::F32, {1}),
                   {static_cast<double>(0.1f)}));
  EXPECT_TRUE(same(*cast(buf(DType::BF16, {1}, {3}), DType::F16), t(DType::F16, {1}), {3}));
}

TEST(EvalCast, Complex) {
  auto z = cbuf({2}, {{1.5f, 2}, {3.7f, -1}});
  EXPECT_TRUE(same(*cast(z, DType::F32), t(DType::F32, {2}), {1.5, 3.7f}));
  EXPECT_TRUE(same(*cast(z, DType::I32), t(DType::I32, {2}), {1, 3}));
  EXPECT_TRUE(csame(*cast(buf(DType::F32, {1}, {2}), DType::C64), {1}, {{2, 0}}));
  EXPECT_TRUE(csame(*cast(buf(DType::I64, {1}, {-3}), DType::C64), {1}, {{-3, 0}}));
  EXPECT_TRUE(csame(*cast(z, DType::C64), {2}, {{1.5f, 2}, {3.7f, -1}}));
}

TEST(EvalCast, RankZeroAndSizeZero) {
  EXPECT_TRUE(same(*cast(buf(DType::F64, {}, {-2.5}), DType::I8), t(DType::I8, {}), {-2}));
  EXPECT_TRUE(same(*cast(buf(DType::F64, {0, 2}, {}), DType::F16), t(DType::F16, {0, 2}), {}));
  expect_error<VerifyError>(
      [] {
        eval(node(OpKind::Cast, {cst(buf(DType::F32, {2}, {1, 2}))}, {}, Type{DType::I32, {3}}));
      },
      {"cast", "i32[3]"});
}

}  // namespace
}  // namespace kiln::test
