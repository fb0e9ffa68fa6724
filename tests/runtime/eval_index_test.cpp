// Reference evaluator: gather (negative indices wrap once, the rest clamp), scatter_add
// (wrap once, drop the rest, accumulate wide), matmul (batched, empty k), iota and
// random_uniform.
#include "ir/random.h"
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

BufferPtr gather(const BufferPtr& data, const BufferPtr& idx, int64_t axis) {
  return eval(
      node(OpKind::Gather, {cst(data), cst(idx)}, {axis}, Type{data->dtype(), idx->shape()}));
}
BufferPtr scatter_add(const BufferPtr& base, const BufferPtr& idx, const BufferPtr& upd,
                      int64_t axis) {
  return eval(node(OpKind::ScatterAdd, {cst(base), cst(idx), cst(upd)}, {axis}, base->type()));
}
BufferPtr matmul(const BufferPtr& a, const BufferPtr& b, Shape out) {
  return eval(node(OpKind::MatMul, {cst(a), cst(b)}, {}, Type{a->dtype(), std::move(out)}));
}

TEST(EvalGather, WrapsNegativeIndicesOnceThenClamps) {
  auto data = buf(DType::F32, {5}, {10, 20, 30, 40, 50});
  auto idx = buf(DType::I64, {6}, {0, -1, 7, -9, 2, -5});
  EXPECT_TRUE(same(*gather(data, idx, 0), t(DType::F32, {6}), {10, 50, 50, 10, 30, 10}));
  auto idx32 = buf(DType::I32, {2}, {4, -2});
  EXPECT_TRUE(same(*gather(data, idx32, 0), t(DType::F32, {2}), {50, 40}));
}

TEST(EvalGather, TakeAlongEitherAxis) {
  auto data = buf(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(*gather(data, buf(DType::I32, {2, 2}, {2, 0, 1, 1}), 1), t(DType::I32, {2, 2}),
                   {3, 1, 5, 5}));
  EXPECT_TRUE(
      same(*gather(data, buf(DType::I64, {1, 3}, {1, 0, 1}), 0), t(DType::I32, {1, 3}), {4, 2, 6}));
  // More indices than data along the axis is fine; fewer rows than the data too.
  EXPECT_TRUE(same(*gather(data, buf(DType::I64, {1, 4}, {0, 0, 2, 2}), 1), t(DType::I32, {1, 4}),
                   {1, 1, 3, 3}));
  EXPECT_TRUE(
      csame(*gather(cbuf({2}, {{1, 1}, {2, 2}}), buf(DType::I64, {1}, {1}), 0), {1}, {{2, 2}}));
}

TEST(EvalGather, EmptyShapes) {
  auto data = buf(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(*gather(data, buf(DType::I64, {2, 0}, {}), 1), t(DType::F32, {2, 0}), {}));
  // An empty axis has nothing to read: the result stays zero rather than reading outside.
  EXPECT_TRUE(same(*gather(buf(DType::F32, {2, 0}, {}), buf(DType::I64, {2, 1}, {0, 3}), 1),
                   t(DType::F32, {2, 1}), {0, 0}));
}

TEST(EvalGather, BadIndices) {
  auto data = buf(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_error<VerifyError>(
      [&] {
        gather(data, buf(DType::F32, {2, 1}, {0, 0}), 1);
      },
      {"gather", "f32[2,1]", "i32 or i64"});
  expect_error<VerifyError>(
      [&] {
        gather(data, buf(DType::I64, {2}, {0, 0}), 1);
      },
      {"gather", "rank"});
  expect_error<VerifyError>(
      [&] {
        gather(data, buf(DType::I64, {3, 1}, {0, 0, 0}), 1);
      },
      {"gather", "larger than the data", "dimension 0"});
}

TEST(EvalScatterAdd, AccumulatesDuplicatesAndDropsOutOfRange) {
  auto base = buf(DType::F32, {5}, {0, 0, 0, 0, 100});
  auto idx = buf(DType::I64, {6}, {0, 0, -1, 5, -6, 2});
  auto upd = buf(DType::F32, {6}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(*scatter_add(base, idx, upd, 0), t(DType::F32, {5}), {3, 0, 6, 0, 103}));
  // Along axis 1 of [2, 3].
  auto b2 = buf(DType::I32, {2, 3}, {1, 1, 1, 1, 1, 1});
  auto i2 = buf(DType::I32, {2, 2}, {2, 2, 0, -3});
  auto u2 = buf(DType::I32, {2, 2}, {10, 20, 30, 40});
  EXPECT_TRUE(same(*scatter_add(b2, i2, u2, 1), t(DType::I32, {2, 3}), {1, 1, 31, 71, 1, 1}));
  // Integer sums wrap; bool adds are or.
  EXPECT_TRUE(same(*scatter_add(buf(DType::I8, {1}, {127}), buf(DType::I64, {1}, {0}),
                                buf(DType::I8, {1}, {1}), 0),
                   t(DType::I8, {1}), {-128}));
  EXPECT_TRUE(same(*scatter_add(buf(DType::Bool, {2}, {0, 1}), buf(DType::I64, {2}, {0, 1}),
                                buf(DType::Bool, {2}, {1, 1}), 0),
                   t(DType::Bool, {2}), {1, 1}));
  EXPECT_TRUE(csame(*scatter_add(cbuf({1}, {{1, 1}}), buf(DType::I32, {2}, {0, 0}),
                                 cbuf({2}, {{1, 0}, {0, 1}}), 0),
                    {1}, {{2, 2}}));
}

TEST(EvalScatterAdd, AccumulatesWideInF16) {
  // 3000 updates of 1 into one f16 element: adding in f16 would stop at 2048.
  auto r = scatter_add(buf(DType::F16, {2}, {0, 0}),
                       buf(DType::I32, {3000}, std::vector<double>(3000, 1)),
                       buf(DType::F16, {3000}, std::vector<double>(3000, 1)), 0);
  EXPECT_TRUE(same(*r, t(DType::F16, {2}), {0, 3000}));
}

TEST(EvalScatterAdd, EmptyAndMismatched) {
  auto base = buf(DType::F32, {2}, {1, 2});
  EXPECT_TRUE(same(*scatter_add(base, buf(DType::I64, {0}, {}), buf(DType::F32, {0}, {}), 0),
                   t(DType::F32, {2}), {1, 2}));
  EXPECT_TRUE(same(*scatter_add(buf(DType::F32, {0}, {}), buf(DType::I64, {2}, {0, -1}),
                                buf(DType::F32, {2}, {1, 1}), 0),
                   t(DType::F32, {0}), {}));
  expect_error<VerifyError>(
      [&] {
        scatter_add(base, buf(DType::I64, {2}, {0, 1}), buf(DType::F32, {1}, {1}), 0);
      },
      {"scatter_add", "updates f32[1]", "f32[2]"});
}

TEST(EvalMatMul, PlainAndBatched) {
  auto a = buf(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = buf(DType::F32, {3, 2}, {7, 8, 9, 10, 11, 12});
  EXPECT_TRUE(same(*matmul(a, b, {2, 2}), t(DType::F32, {2, 2}), {58, 64, 139, 154}));
  // Two batches of [1, 2] x [2, 1].
  auto p = buf(DType::I32, {2, 1, 2}, {1, 2, 3, 4});
  auto q = buf(DType::I32, {2, 2, 1}, {5, 6, 7, 8});
  EXPECT_TRUE(same(*matmul(p, q, {2, 1, 1}), t(DType::I32, {2, 1, 1}), {17, 53}));
  // Batch dims of rank 2 ([2, 1]) with identity matrices.
  auto eye = buf(DType::F64, {2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  auto m = buf(DType::F64, {2, 1, 2, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  EXPECT_TRUE(
      same(*matmul(eye, m, {2, 1, 2, 2}), t(DType::F64, {2, 1, 2, 2}), {1, 2, 3, 4, 2, 4, 6, 8}));
}

TEST(EvalMatMul, DtypesAndWideAccumulation) {
  EXPECT_TRUE(same(
      *matmul(buf(DType::F32, {1, 3}, {1e8, 1, -1e8}), buf(DType::F32, {3, 1}, {1, 1, 1}), {1, 1}),
      t(DType::F32, {1, 1}), {1}));
  EXPECT_TRUE(same(
      *matmul(buf(DType::Bool, {1, 2}, {1, 0}), buf(DType::Bool, {2, 2}, {0, 0, 1, 1}), {1, 2}),
      t(DType::Bool, {1, 2}), {0, 0}));
  EXPECT_TRUE(
      same(*matmul(buf(DType::I8, {1, 2}, {100, 100}), buf(DType::I8, {2, 1}, {1, 1}), {1, 1}),
           t(DType::I8, {1, 1}), {-56}));
  EXPECT_TRUE(csame(*matmul(cbuf({1, 2}, {{0, 1}, {1, 0}}), cbuf({2, 1}, {{0, 1}, {2, 0}}), {1, 1}),
                    {1, 1}, {{1, 0}}));
  EXPECT_TRUE(same(*matmul(buf(DType::BF16, {1, 1}, {3}), buf(DType::BF16, {1, 1}, {0.5}), {1, 1}),
                   t(DType::BF16, {1, 1}), {1.5}));
}

TEST(EvalMatMul, EmptyDimensions) {
  // k = 0: every output is an empty sum.
  EXPECT_TRUE(same(*matmul(buf(DType::F32, {2, 0}, {}), buf(DType::F32, {0, 3}, {}), {2, 3}),
                   t(DType::F32, {2, 3}), {0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(same(*matmul(buf(DType::F32, {0, 2}, {}),
                           buf(DType::F32, {2, 3}, std::vector<double>(6, 1)), {0, 3}),
                   t(DType::F32, {0, 3}), {}));
  expect_error<VerifyError>(
      [] {
        matmul(buf(DType::F32, {2, 3}, std::vector<double>(6, 1)),
               buf(DType::F32, {2, 3}, std::vector<double>(6, 1)), {2, 3});
      },
      {"matmul", "f32[2,3] and f32[2,3]", "rows"});
  expect_error<VerifyError>(
      [] {
        matmul(buf(DType::F32, {2}, {1, 1}), buf(DType::F32, {2}, {1, 1}), {});
      },
      {"matmul", "at least 2"});
}

TEST(EvalIota, CountsAlongTheAxisInAnyDtype) {
  EXPECT_TRUE(same(*eval(node(OpKind::Iota, {}, {int64_t{1}}, t(DType::I32, {2, 3}))),
                   t(DType::I32, {2, 3}), {0, 1, 2, 0, 1, 2}));
  EXPECT_TRUE(same(*eval(node(OpKind::Iota, {}, {int64_t{0}}, t(DType::F32, {2, 3}))),
                   t(DType::F32, {2, 3}), {0, 0, 0, 1, 1, 1}));
  EXPECT_TRUE(same(*eval(node(OpKind::Iota, {}, {int64_t{0}}, t(DType::Bool, {3}))),
                   t(DType::Bool, {3}), {0, 1, 1}));
  auto i8 = values(*eval(node(OpKind::Iota, {}, {int64_t{0}}, t(DType::I8, {300}))));
  EXPECT_EQ(i8[200], -56);  // wraps like a cast from i64
  auto f16 = values(*eval(node(OpKind::Iota, {}, {int64_t{0}}, t(DType::F16, {2052}))));
  EXPECT_EQ(f16[2049], 2048);  // rounds to nearest even
  EXPECT_EQ(f16[2051], 2052);
  EXPECT_TRUE(csame(*eval(node(OpKind::Iota, {}, {int64_t{0}}, t(DType::C64, {2}))), {2},
                    {{0, 0}, {1, 0}}));
  EXPECT_TRUE(same(*eval(node(OpKind::Iota, {}, {int64_t{1}}, t(DType::I64, {0, 2}))),
                   t(DType::I64, {0, 2}), {}));
  expect_error<VerifyError>([] { eval(node(OpKind::Iota, {}, {int64_t{1}}, t(DType::I32, {3}))); },
                            {"iota", "axis 1"});
}

TEST(EvalRandomUniform, PhiloxValuesInEveryFloatDtype) {
  const int64_t key = 0x1234567890abcdefLL;
  auto f32 = values(
      *eval(node(OpKind::RandomUniform, {}, {key, std::vector<int64_t>{}}, t(DType::F32, {2, 3}))));
  auto f64 = values(
      *eval(node(OpKind::RandomUniform, {}, {key, std::vector<int64_t>{}}, t(DType::F64, {2, 3}))));
  auto f16 = values(
      *eval(node(OpKind::RandomUniform, {}, {key, std::vector<int64_t>{}}, t(DType::F16, {6}))));
  auto bf16 = values(
      *eval(node(OpKind::RandomUniform, {}, {key, std::vector<int64_t>{}}, t(DType::BF16, {6}))));
  for (uint64_t i = 0; i < 6; ++i) {
    // The counter is the flat index; the value is word 0 of Philox's output, scaled.
    const uint32_t w = ir::philox_word0(static_cast<uint64_t>(key), i);
    EXPECT_EQ(f32[i], std::ldexp(static_cast<double>(w >> 8), -24));
    EXPECT_EQ(f64[i], f32[i]);
    EXPECT_EQ(f16[i], std::ldexp(static_cast<double>(w >> 21), -11));
    EXPECT_EQ(bf16[i], std::ldexp(static_cast<double>(w >> 24), -8));
  }
}

TEST(EvalRandomUniform, UniformInUnitInterval) {
  auto v = values(*eval(node(OpKind::RandomUniform, {}, {int64_t{7}, std::vector<int64_t>{}},
                             t(DType::F32, {100000}))));
  double sum = 0;
  for (double x : v) {
    ASSERT_GE(x, 0);
    ASSERT_LT(x, 1);
    sum += x;
  }
  EXPECT_NEAR(sum / v.size(), 0.5, 0.005);  // standard error 0.0009
  auto other = values(*eval(
      node(OpKind::RandomUniform, {}, {int64_t{8}, std::vector<int64_t>{}}, t(DType::F32, {4}))));
  EXPECT_NE(std::vector<double>(v.begin(), v.begin() + 4), other);
  expect_error<DTypeError>(
      [] {
        eval(node(OpKind::RandomUniform, {}, {int64_t{1}, std::vector<int64_t>{}},
                  t(DType::I32, {2})));
      },
      {"random_uniform", "floating"});
}

}  // namespace
}  // namespace kiln::test
