// Reference evaluator: reductions (every kind, keepdims, empty sets, wide accumulation),
// argmax/argmin (first occurrence, NaN as the largest) and the scans cumsum/cumprod.
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

BufferPtr reduce(OpKind op, const BufferPtr& x, std::vector<int64_t> axes, bool keepdims,
                 std::optional<DType> out = {}) {
  Shape shape;
  for (int d = 0; d < x->type().rank(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced)
      shape.push_back(x->shape()[d]);
    else if (keepdims)
      shape.push_back(1);
  }
  return eval(node(op, {cst(x)}, {axes, keepdims}, Type{out.value_or(x->dtype()), shape}));
}
BufferPtr arg(OpKind op, const BufferPtr& x, int64_t axis, bool keepdims = false) {
  return reduce(op, x, {axis}, keepdims, DType::I64);
}
BufferPtr scan(OpKind op, const BufferPtr& x, int64_t axis) {
  return eval(node(op, {cst(x)}, {axis}, x->type()));
}

TEST(EvalReduce, SumOverEachAxisSetWithKeepdims) {
  auto x = buf(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {1}, false), t(DType::F32, {2}), {6, 15}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {1}, true), t(DType::F32, {2, 1}), {6, 15}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {0}, false), t(DType::F32, {3}), {5, 7, 9}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {0}, true), t(DType::F32, {1, 3}), {5, 7, 9}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {0, 1}, false), t(DType::F32, {}), {21}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, x, {0, 1}, true), t(DType::F32, {1, 1}), {21}));
  EXPECT_TRUE(
      same(*reduce(OpKind::ReduceSum, x, {}, false), t(DType::F32, {2, 3}), {1, 2, 3, 4, 5, 6}));
  // Non-adjacent axes of a rank-3 array: [2, 2, 2] over {0, 2}.
  auto y = buf(DType::I32, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, y, {0, 2}, true), t(DType::I32, {1, 2, 1}),
                   {1 + 2 + 5 + 6, 3 + 4 + 7 + 8}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, buf(DType::F64, {}, {4}), {}, false),
                   t(DType::F64, {}), {4}));
}

TEST(EvalReduce, EmptyReductionsGiveTheIdentity) {
  auto f = buf(DType::F32, {0, 3}, {});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, f, {0}, false), t(DType::F32, {3}), {0, 0, 0}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceProd, f, {0}, true), t(DType::F32, {1, 3}), {1, 1, 1}));
  EXPECT_TRUE(
      same(*reduce(OpKind::ReduceMax, f, {0}, false), t(DType::F32, {3}), {-kInf, -kInf, -kInf}));
  EXPECT_TRUE(
      same(*reduce(OpKind::ReduceMin, f, {0}, false), t(DType::F32, {3}), {kInf, kInf, kInf}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, f, {1}, false), t(DType::F32, {0}), {}));
  auto i = buf(DType::I32, {2, 0}, {});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, i, {1}, false), t(DType::I32, {2}),
                   {-2147483648.0, -2147483648.0}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, i, {1}, false), t(DType::I32, {2}),
                   {2147483647, 2147483647}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, buf(DType::U8, {0}, {}), {0}, false),
                   t(DType::U8, {}), {255}));
  auto b = buf(DType::Bool, {0}, {});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, b, {0}, false), t(DType::Bool, {}), {0}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, b, {0}, false), t(DType::Bool, {}), {1}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, buf(DType::F16, {0}, {}), {0}, false),
                   t(DType::F16, {}), {-kInf}));
}

TEST(EvalReduce, SumsAccumulateWide) {
  // In f32, 1e8 + 1 is 1e8; accumulated in double the sum is exactly 1.
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, buf(DType::F32, {3}, {1e8, 1, -1e8}), {0}, false),
                   t(DType::F32, {}), {1}));
  // Summed in f16, 3000 ones stop at 2048; wide, they give 3000 (an f16 value).
  auto ones = buf(DType::F16, {3000}, std::vector<double>(3000, 1.0));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, ones, {0}, false), t(DType::F16, {}), {3000}));
  auto bones = buf(DType::BF16, {1000}, std::vector<double>(1000, 1.0));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, bones, {0}, false), t(DType::BF16, {}), {1000}));
  // Integer sums wrap in the result dtype.
  EXPECT_TRUE(same(*reduce(OpKind::ReduceSum, buf(DType::I8, {2}, {100, 100}), {0}, false),
                   t(DType::I8, {}), {-56}));
  // bool has no addition in the IR (ir/ops.def): the frontend sums bools as i32.
  expect_error<DTypeError>(
      [] {
        reduce(OpKind::ReduceSum, buf(DType::Bool, {3}, {0, 1, 1}), {0}, false);
      },
      {"reduce_sum", "bool"});
  EXPECT_TRUE(
      csame(*reduce(OpKind::ReduceSum, cbuf({2}, {{1, 2}, {3, -4}}), {0}, false), {}, {{4, -2}}));
}

TEST(EvalReduce, Prod) {
  EXPECT_TRUE(same(*reduce(OpKind::ReduceProd, buf(DType::I32, {3}, {2, 3, -4}), {0}, false),
                   t(DType::I32, {}), {-24}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceProd, buf(DType::F64, {2, 2}, {1, 2, 3, 4}), {1}, false),
                   t(DType::F64, {2}), {2, 12}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceProd, buf(DType::U8, {2}, {16, 17}), {0}, false),
                   t(DType::U8, {}), {16}));  // 272 wraps
  EXPECT_TRUE(
      csame(*reduce(OpKind::ReduceProd, cbuf({2}, {{0, 1}, {0, 1}}), {0}, false), {}, {{-1, 0}}));
}

TEST(EvalReduce, MaxMinPropagateNaNAndImplementAnyAll) {
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, buf(DType::F32, {3}, {1, kNaN, 3}), {0}, false),
                   t(DType::F32, {}), {kNaN}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, buf(DType::F64, {3}, {1, 3, kNaN}), {0}, false),
                   t(DType::F64, {}), {kNaN}));
  auto x = buf(DType::I64, {2, 2}, {1, 5, 7, 2});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, x, {1}, false), t(DType::I64, {2}), {5, 7}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, x, {0}, true), t(DType::I64, {1, 2}), {1, 2}));
  auto b = buf(DType::Bool, {2, 2}, {1, 0, 0, 0});
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, b, {1}, false), t(DType::Bool, {2}), {1, 0}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, b, {1}, false), t(DType::Bool, {2}), {0, 0}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMin, buf(DType::Bool, {2}, {1, 1}), {0}, false),
                   t(DType::Bool, {}), {1}));
  EXPECT_TRUE(same(*reduce(OpKind::ReduceMax, buf(DType::F16, {3}, {-1, -0.5, -2}), {0}, false),
                   t(DType::F16, {}), {-0.5}));
}

TEST(EvalArg, FirstOccurrenceAndNaNIsLargest) {
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMax, buf(DType::F32, {4}, {1, 3, 3, 2}), 0), t(DType::I64, {}), {1}));
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMin, buf(DType::F32, {4}, {3, 1, 2, 1}), 0), t(DType::I64, {}), {1}));
  EXPECT_TRUE(same(*arg(OpKind::ArgMax, buf(DType::F32, {4}, {1, kNaN, 5, kNaN}), 0),
                   t(DType::I64, {}), {1}));
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMin, buf(DType::F64, {4}, {kNaN, 3, 1, 1}), 0), t(DType::I64, {}), {2}));
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMin, buf(DType::F32, {2}, {kNaN, kNaN}), 0), t(DType::I64, {}), {0}));
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMax, buf(DType::Bool, {3}, {0, 1, 1}), 0), t(DType::I64, {}), {1}));
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMin, buf(DType::I8, {3}, {5, -128, -128}), 0), t(DType::I64, {}), {1}));
  // Complex numbers have no order in the IR (ir/ops.def).
  expect_error<DTypeError>(
      [] {
        arg(OpKind::ArgMax, cbuf({3}, {{1, 0}, {1, 2}, {0, 9}}), 0);
      },
      {"argmax", "c64"});
}

TEST(EvalArg, AlongEitherAxisWithKeepdims) {
  auto x = buf(DType::I32, {2, 2}, {1, 9, 8, 2});
  EXPECT_TRUE(same(*arg(OpKind::ArgMax, x, 0), t(DType::I64, {2}), {1, 0}));
  EXPECT_TRUE(same(*arg(OpKind::ArgMax, x, 1, true), t(DType::I64, {2, 1}), {1, 0}));
  EXPECT_TRUE(same(*arg(OpKind::ArgMin, x, 1), t(DType::I64, {2}), {0, 1}));
  // An empty axis has no best element; the index is 0.
  EXPECT_TRUE(
      same(*arg(OpKind::ArgMax, buf(DType::F32, {2, 0}, {}), 1), t(DType::I64, {2}), {0, 0}));
  EXPECT_TRUE(same(*arg(OpKind::ArgMax, buf(DType::F32, {0, 2}, {}), 1), t(DType::I64, {0}), {}));
}

TEST(EvalArg, TakesExactlyOneAxisAndGivesI64) {
  auto x = buf(DType::F32, {2, 2}, {1, 2, 3, 4});
  expect_error<VerifyError>(
      [&] {
        reduce(OpKind::ArgMax, x, {0, 1}, false, DType::I64);
      },
      {"argmax", "one axis"});
  expect_error<VerifyError>([&] { reduce(OpKind::ArgMin, x, {0}, false, DType::I32); },
                            {"argmin", "i64"});
}

TEST(EvalReduce, BadAxesAreErrors) {
  auto x = buf(DType::F32, {2, 2}, {1, 2, 3, 4});
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::ReduceSum, {cst(x)}, {std::vector<int64_t>{2}, false},
                  t(DType::F32, {2, 2})));
      },
      {"reduce_sum", "axis 2", "[0, 2)"});
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::ReduceSum, {cst(x)}, {std::vector<int64_t>{1, 0}, false},
                  t(DType::F32, {})));
      },
      {"reduce_sum", "sorted"});
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::ReduceSum, {cst(x)}, {std::vector<int64_t>{1}, false},
                  t(DType::F32, {2, 1})));
      },
      {"reduce_sum", "gives [2]"});
}

TEST(EvalScan, CumsumAlongEachAxis) {
  EXPECT_TRUE(same(*scan(OpKind::CumSum, buf(DType::I32, {4}, {1, 2, 3, 4}), 0), t(DType::I32, {4}),
                   {1, 3, 6, 10}));
  auto x = buf(DType::F32, {2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(same(*scan(OpKind::CumSum, x, 0), t(DType::F32, {2, 2}), {1, 2, 4, 6}));
  EXPECT_TRUE(same(*scan(OpKind::CumSum, x, 1), t(DType::F32, {2, 2}), {1, 3, 3, 7}));
  auto y = buf(DType::I64, {2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  EXPECT_TRUE(same(*scan(OpKind::CumSum, y, 1), t(DType::I64, {2, 3, 2}),
                   {1, 2, 4, 6, 9, 12, 7, 8, 16, 18, 27, 30}));
  // Wide accumulation: the third partial sum is exactly 1.
  EXPECT_TRUE(same(*scan(OpKind::CumSum, buf(DType::F32, {3}, {1e8, 1, -1e8}), 0),
                   t(DType::F32, {3}), {1e8, 1e8, 1}));
  EXPECT_TRUE(same(*scan(OpKind::CumSum, buf(DType::I8, {2}, {100, 100}), 0), t(DType::I8, {2}),
                   {100, -56}));
  EXPECT_TRUE(
      csame(*scan(OpKind::CumSum, cbuf({2}, {{1, 1}, {2, -3}}), 0), {2}, {{1, 1}, {3, -2}}));
}

TEST(EvalScan, Cumprod) {
  EXPECT_TRUE(same(*scan(OpKind::CumProd, buf(DType::F64, {4}, {1, 2, 3, 0.5}), 0),
                   t(DType::F64, {4}), {1, 2, 6, 3}));
  EXPECT_TRUE(same(*scan(OpKind::CumProd, buf(DType::I32, {2, 2}, {2, 3, 4, 5}), 0),
                   t(DType::I32, {2, 2}), {2, 3, 8, 15}));
  EXPECT_TRUE(same(*scan(OpKind::CumProd, buf(DType::F16, {2}, {kNaN, 2}), 0), t(DType::F16, {2}),
                   {kNaN, kNaN}));
}

TEST(EvalScan, SizeZeroAndBadAxis) {
  EXPECT_TRUE(
      same(*scan(OpKind::CumSum, buf(DType::F32, {0, 3}, {}), 0), t(DType::F32, {0, 3}), {}));
  EXPECT_TRUE(
      same(*scan(OpKind::CumProd, buf(DType::F32, {2, 0}, {}), 0), t(DType::F32, {2, 0}), {}));
  expect_error<VerifyError>([] { scan(OpKind::CumSum, buf(DType::F32, {}, {1}), 0); },
                            {"cumsum", "axis 0", "[0, 0)"});
}

}  // namespace
}  // namespace kiln::test
