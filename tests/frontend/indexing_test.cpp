// Indexing: take, take_along_axis / gather, scatter_add and one_hot.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

// x[i, j] = 4i + j, shape [3, 4].
Tensor x34() { return reshape(arange(12, DType::F32), {3, 4}); }

TEST(Indexing, TakeAlongAnAxis) {
  expect_f32(take(x34(), from_data({2, 0}, {2}), 0), {2, 4}, {8, 9, 10, 11, 0, 1, 2, 3});
  expect_f32(take(x34(), from_data({3, 0}, {2}), 1), {3, 2}, {3, 0, 7, 4, 11, 8});
  expect_f32(take(x34(), from_data({3, 0}, {2}), -1), {3, 2}, {3, 0, 7, 4, 11, 8});
  // A 2-D index replaces the axis with its shape: out[i, a, b] = x[i, idx[a, b]].
  expect_f32(take(x34(), from_data({0, 3, 1, 1}, {2, 2}), 1), {3, 2, 2},
             {0, 3, 1, 1, 4, 7, 5, 5, 8, 11, 9, 9});
  // A scalar index removes the axis.
  expect_f32(take(x34(), full({}, 1), 1), {3}, {1, 5, 9});
  // No axis: the flattened tensor.
  expect_f32(take(x34(), from_data({5, 11}, {2})), {2}, {5, 11});
  expect_f32(take(x34(), from_data({2, 2}, {1, 2})), {1, 2}, {2, 2});
  // Index dtypes: i64, and u8 widened.
  expect_f32(take(x34(), from_data(std::vector<int64_t>{1}, {1}), 0), {1, 4}, {4, 5, 6, 7});
  expect_f32(take(x34(), from_data({uint8_t{2}}, {1}), 1), {3, 1}, {2, 6, 10});
  // An empty index gives an empty result.
  expect_f32(take(x34(), zeros({0}, DType::I32), 0), {0, 4}, {});
  // From a transposed view: x^T[j, i] = 4i + j; rows 1 and 3 of x^T.
  expect_f32(take(transpose(x34()), from_data({1, 3}, {2}), 0), {2, 3}, {1, 5, 9, 3, 7, 11});
}

TEST(Indexing, NegativeIndicesWrapOnceThenClamp) {
  Tensor v = from_data({10.f, 20.f, 30.f, 40.f}, {4});
  // -1 wraps to 3; 9 clamps to 3; -9 wraps to -5 and clamps to 0.
  expect_f32(take(v, from_data({-1, -4, 9, -9}, {4}), 0), {4}, {40, 10, 40, 10});
}

TEST(Indexing, TakeAlongAxis) {
  Tensor x = from_data({10.f, 30.f, 20.f, 60.f, 40.f, 50.f}, {2, 3});
  Tensor order = from_data({0, 2, 1, 1, 2, 0}, {2, 3});
  expect_f32(take_along_axis(x, order, 1), {2, 3}, {10, 20, 30, 40, 50, 60});
  expect_f32(gather(x, order, 1), {2, 3}, {10, 20, 30, 40, 50, 60});
  // The index's other dimensions broadcast: one row of indices for both rows.
  expect_f32(take_along_axis(x, from_data({2, 0}, {1, 2}), 1), {2, 2}, {20, 10, 50, 60});
  expect_f32(take_along_axis(x, from_data({1, 0, 1}, {1, 3}), 0), {1, 3}, {60, 30, 50});
  expect_f32(take_along_axis(x, from_data({-1}, {1, 1}), -1), {2, 1}, {20, 50});
  // Argmax along an axis picks the maxima.
  expect_f32(take_along_axis(x, argmax(x, 1, true), 1), {2, 1}, {30, 60});
  expect_error<ShapeError>([&] { take_along_axis(x, from_data({0}, {1}), 1); },
                           {"take_along_axis", "i32[1]", "f32[2,3]", "rank"});
  expect_error<ShapeError>(
      [&] {
        take_along_axis(x, zeros({3, 1}, DType::I32), 1);
      },
      {"take_along_axis", "do not broadcast", "dimension 0: 2 vs 3"});
}

TEST(Indexing, ScatterAdd) {
  // Repeated indices accumulate; -1 wraps to 4; 7 is out of range and dropped.
  Tensor base = zeros({5});
  Tensor idx = from_data({0, 1, 1, 4, -1, 7}, {6});
  Tensor upd = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {6});
  expect_f32(scatter_add(base, idx, upd, 0), {5}, {1, 5, 0, 0, 9});
  // Along axis 1 of a matrix with a scalar update.
  expect_f32(scatter_add(ones({2, 3}), from_data({0, 0, 2, 1}, {2, 2}), 1.0, 1), {2, 3},
             {3, 1, 1, 1, 2, 2});
  expect_values<int32_t>(
      scatter_add(zeros({3}, DType::I32), from_data({2, 2}, {2}), from_data({5, 6}, {2}), 0),
      DType::I32, {3}, {0, 0, 11});
  // Updates broadcast to the index's shape.
  expect_f32(scatter_add(zeros({2, 2}), from_data({1, 0}, {2, 1}), from_data({7.f}, {1}), 1),
             {2, 2}, {0, 7, 7, 0});
  expect_error<DTypeError>(
      [] { scatter_add(zeros({2}, DType::Bool), from_data({0}, {1}), true, 0); },
      {"scatter_add", "bool[2]", "cast"});
  expect_error<DTypeError>(
      [] { scatter_add(zeros({2}, DType::I32), from_data({0}, {1}), from_data({0.5f}, {1}), 0); },
      {"scatter_add", "f32[1]", "i32[2]"});
  expect_error<ShapeError>(
      [] {
        scatter_add(zeros({2, 2}), from_data({0}, {1}), 1.0, 0);
      },
      {"scatter_add", "rank"});
  expect_error<ShapeError>(
      [] {
        scatter_add(zeros({2, 2}), zeros({3, 1}, DType::I32), 1.0, 1);
      },
      {"scatter_add", "dimension 0"});
}

TEST(Indexing, OneHot) {
  expect_f32(one_hot(from_data({0, 2, -1, 5}, {4}), 3), {4, 3},
             {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  expect_values<int32_t>(one_hot(from_data({1, 0}, {2, 1}), 2, DType::I32), DType::I32, {2, 1, 2},
                         {0, 1, 1, 0});
  expect_values<bool>(one_hot(full({}, 1), 2, DType::Bool), DType::Bool, {2}, {false, true});
  expect_f32(one_hot(zeros({0}, DType::I64), 4), {0, 4}, {});
  expect_error<ShapeError>([] { one_hot(from_data({0}, {1}), -1); }, {"one_hot", "num_classes"});
}

TEST(Indexing, Errors) {
  expect_error<DTypeError>([] { take(x34(), from_data({0.f}, {1}), 0); },
                           {"take: indices must be integers, got f32[1]", "cast"});
  expect_error<DTypeError>([] { one_hot(from_data(std::vector<bool>{true}, {1}), 2); },
                           {"one_hot", "bool[1]"});
  expect_error<AxisError>([] { take(x34(), from_data({0}, {1}), 2); }, {"take", "axis 2"});
  expect_error<ShapeError>(
      [] {
        take(zeros({0, 2}), from_data({0}, {1}), 0);
      },
      {"take", "f32[0,2]", "length 0"});
}

}  // namespace
}  // namespace kiln
