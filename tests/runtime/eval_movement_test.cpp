// Reference evaluator: movement ops (reshape, permute, broadcast, slice with negative steps,
// pad, flip, concat), including size-0 and rank-0 shapes and malformed attributes.
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

using I64s = std::vector<int64_t>;
Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

BufferPtr move(OpKind op, const BufferPtr& x, std::vector<ir::AttrValue> attrs, Shape shape) {
  return eval(node(op, {cst(x)}, std::move(attrs), Type{x->dtype(), std::move(shape)}));
}

TEST(EvalMovement, ReshapeKeepsRowMajorOrder) {
  auto x = buf(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(
      same(*move(OpKind::Reshape, x, {}, {3, 2}), t(DType::F32, {3, 2}), {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(
      same(*move(OpKind::Reshape, buf(DType::I8, {}, {7}), {}, {1, 1}), t(DType::I8, {1, 1}), {7}));
  EXPECT_TRUE(same(*move(OpKind::Reshape, buf(DType::I8, {0, 4}, {}), {}, {2, 0}),
                   t(DType::I8, {2, 0}), {}));
  expect_error<VerifyError>([&] { move(OpKind::Reshape, x, {}, {4}); }, {"reshape", "f32[2,3]"});
}

TEST(EvalMovement, Permute) {
  auto x = buf(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(*move(OpKind::Permute, x, {I64s{1, 0}}, {3, 2}), t(DType::I32, {3, 2}),
                   {1, 4, 2, 5, 3, 6}));
  // y[i][j][k] = 100i + 10j + k over [2, 3, 2]; z = permute(y, [2, 0, 1]) has shape [2, 2, 3]
  // and z[a][b][c] = y[b][c][a].
  std::vector<double> yv, zv;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) yv.push_back(100 * i + 10 * j + k);
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) zv.push_back(100 * b + 10 * c + a);
  EXPECT_TRUE(
      same(*move(OpKind::Permute, buf(DType::F64, {2, 3, 2}, yv), {I64s{2, 0, 1}}, {2, 2, 3}),
           t(DType::F64, {2, 2, 3}), zv));
  EXPECT_TRUE(
      same(*move(OpKind::Permute, buf(DType::F64, {}, {5}), {I64s{}}, {}), t(DType::F64, {}), {5}));
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Permute, x, {I64s{0, 0}}, {2, 2});
      },
      {"permute", "repeats"});
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Permute, x, {I64s{1}}, {3, 2});
      },
      {"permute", "one value per dimension"});
}

TEST(EvalMovement, Broadcast) {
  EXPECT_TRUE(same(*move(OpKind::Broadcast, buf(DType::F32, {1, 3}, {1, 2, 3}), {}, {2, 3}),
                   t(DType::F32, {2, 3}), {1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(same(*move(OpKind::Broadcast, buf(DType::Bool, {2, 1}, {1, 0}), {}, {2, 3}),
                   t(DType::Bool, {2, 3}), {1, 1, 1, 0, 0, 0}));
  EXPECT_TRUE(same(*move(OpKind::Broadcast, buf(DType::U8, {1, 1}, {9}), {}, {2, 0}),
                   t(DType::U8, {2, 0}), {}));
  EXPECT_TRUE(csame(*move(OpKind::Broadcast, cbuf({1}, {{1, 2}}), {}, {2}), {2}, {{1, 2}, {1, 2}}));
  expect_error<VerifyError>(
      [] {
        move(OpKind::Broadcast, buf(DType::F32, {2}, {1, 2}), {}, {3});
      },
      {"broadcast", "[2]", "equal"});
}

TEST(EvalMovement, SliceWithPositiveAndNegativeSteps) {
  std::vector<double> v;
  for (int i = 0; i < 10; ++i) v.push_back(i);
  auto x = buf(DType::I64, {10}, v);
  EXPECT_TRUE(
      same(*move(OpKind::Slice, x, {I64s{8}, I64s{-3}}, {3}), t(DType::I64, {3}), {8, 5, 2}));
  EXPECT_TRUE(
      same(*move(OpKind::Slice, x, {I64s{1}, I64s{4}}, {3}), t(DType::I64, {3}), {1, 5, 9}));
  EXPECT_TRUE(same(*move(OpKind::Slice, x, {I64s{9}, I64s{-1}}, {10}), t(DType::I64, {10}),
                   {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_TRUE(same(*move(OpKind::Slice, x, {I64s{0}, I64s{1}}, {0}), t(DType::I64, {0}), {}));
  // Rows reversed, every other column: x2[::-1, ::2] of [[0,1,2],[3,4,5]].
  auto x2 = buf(DType::F16, {2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_TRUE(same(*move(OpKind::Slice, x2, {I64s{1, 0}, I64s{-1, 2}}, {2, 2}),
                   t(DType::F16, {2, 2}), {3, 5, 0, 2}));
  EXPECT_TRUE(same(*move(OpKind::Slice, buf(DType::F32, {}, {3}), {I64s{}, I64s{}}, {}),
                   t(DType::F32, {}), {3}));
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Slice, x, {I64s{8}, I64s{2}}, {2});
      },
      {"slice", "outside [0, 10)", "start 8"});
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Slice, x, {I64s{1}, I64s{-2}}, {2});
      },
      {"slice", "outside"});
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Slice, x, {I64s{0}, I64s{0}}, {1});
      },
      {"slice", "step 0"});
  expect_error<VerifyError>(
      [&] {
        move(OpKind::Slice, x, {I64s{0}, I64s{int64_t{1} << 62}}, {3});
      },
      {"slice", "outside"});
}

TEST(EvalMovement, PadFillsWithTheValueInTheDtype) {
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::F32, {2}, {1, 2}), {I64s{1}, I64s{2}, 9.0}, {5}),
                   t(DType::F32, {5}), {9, 1, 2, 9, 9}));
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::I32, {2, 2}, {1, 2, 3, 4}),
                         {I64s{0, 1}, I64s{1, 0}, -1.0}, {3, 3}),
                   t(DType::I32, {3, 3}), {-1, 1, 2, -1, 3, 4, -1, -1, -1}));
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::F16, {0}, {}), {I64s{2}, I64s{1}, 0.5}, {3}),
                   t(DType::F16, {3}), {0.5, 0.5, 0.5}));
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::Bool, {1}, {0}), {I64s{1}, I64s{0}, 1.0}, {2}),
                   t(DType::Bool, {2}), {1, 0}));
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::U8, {1}, {3}), {I64s{0}, I64s{0}, 7.0}, {1}),
                   t(DType::U8, {1}), {3}));
  EXPECT_TRUE(same(*move(OpKind::Pad, buf(DType::F32, {1}, {1}), {I64s{1}, I64s{0}, -kInf}, {2}),
                   t(DType::F32, {2}), {-kInf, 1}));
  EXPECT_TRUE(csame(*move(OpKind::Pad, cbuf({1}, {{1, 1}}), {I64s{0}, I64s{1}, 2.0}, {2}), {2},
                    {{1, 1}, {2, 0}}));
  expect_error<VerifyError>(
      [] {
        move(OpKind::Pad, buf(DType::F32, {2}, {1, 2}), {I64s{-1}, I64s{0}, 0.0}, {1});
      },
      {"pad", "negative"});
}

TEST(EvalMovement, Flip) {
  EXPECT_TRUE(same(*move(OpKind::Flip, buf(DType::I8, {3}, {1, 2, 3}), {I64s{0}}, {3}),
                   t(DType::I8, {3}), {3, 2, 1}));
  auto x = buf(DType::F64, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(
      same(*move(OpKind::Flip, x, {I64s{0}}, {2, 3}), t(DType::F64, {2, 3}), {4, 5, 6, 1, 2, 3}));
  EXPECT_TRUE(
      same(*move(OpKind::Flip, x, {I64s{1}}, {2, 3}), t(DType::F64, {2, 3}), {3, 2, 1, 6, 5, 4}));
  EXPECT_TRUE(same(*move(OpKind::Flip, x, {I64s{0, 1}}, {2, 3}), t(DType::F64, {2, 3}),
                   {6, 5, 4, 3, 2, 1}));
  EXPECT_TRUE(
      same(*move(OpKind::Flip, x, {I64s{}}, {2, 3}), t(DType::F64, {2, 3}), {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(
      same(*move(OpKind::Flip, buf(DType::F64, {0}, {}), {I64s{0}}, {0}), t(DType::F64, {0}), {}));
  expect_error<VerifyError>([&] { move(OpKind::Flip, x, {I64s{2}}, {2, 3}); }, {"flip", "axis 2"});
}

TEST(EvalMovement, Concat) {
  auto a = cst(buf(DType::F32, {2, 1}, {1, 2}));
  auto b = cst(buf(DType::F32, {2, 2}, {3, 4, 5, 6}));
  auto e = cst(buf(DType::F32, {2, 0}, {}));
  EXPECT_TRUE(same(*eval(node(OpKind::Concat, {a, e, b}, {int64_t{1}}, t(DType::F32, {2, 3}))),
                   t(DType::F32, {2, 3}), {1, 3, 4, 2, 5, 6}));
  auto c = cst(buf(DType::F32, {1, 2}, {7, 8}));
  EXPECT_TRUE(same(*eval(node(OpKind::Concat, {b, c}, {int64_t{0}}, t(DType::F32, {3, 2}))),
                   t(DType::F32, {3, 2}), {3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(same(*eval(node(OpKind::Concat, {a}, {int64_t{0}}, t(DType::F32, {2, 1}))),
                   t(DType::F32, {2, 1}), {1, 2}));
  auto i = cst(buf(DType::I64, {0}, {}));
  EXPECT_TRUE(same(*eval(node(OpKind::Concat, {i, i}, {int64_t{0}}, t(DType::I64, {0}))),
                   t(DType::I64, {0}), {}));
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::Concat, {a, c}, {int64_t{1}}, t(DType::F32, {2, 3})));
      },
      {"concat", "f32[1,2]", "outside the concatenation axis"});
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::Concat, {a, b}, {int64_t{1}}, t(DType::F32, {2, 4})));
      },
      {"concat", "add up to 3"});
}

}  // namespace
}  // namespace kiln::test
