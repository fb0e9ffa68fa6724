// Movement ops: reshape, permute / transpose / swapaxes, broadcast_to, expand_dims,
// squeeze, flatten, slice, pad, flip, concatenate, stack, split, split_at and tile.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

// x[i] = i for i in [0, n), as f32, in `shape`.
Tensor iota(const Shape& shape) { return reshape(arange(numel(shape), DType::F32), shape); }

TEST(Movement, Reshape) {
  Tensor x = iota({2, 3});
  expect_f32(reshape(x, {3, 2}), {3, 2}, {0, 1, 2, 3, 4, 5});
  expect_f32(reshape(x, {-1}), {6}, {0, 1, 2, 3, 4, 5});
  expect_f32(reshape(x, {3, -1}), {3, 2}, {0, 1, 2, 3, 4, 5});
  expect_f32(reshape(x, {1, -1, 1}), {1, 6, 1}, {0, 1, 2, 3, 4, 5});
  expect_f32(reshape(full({1}, 7.0), {}), {}, {7});
  expect_f32(reshape(zeros({0, 4}), {2, 0, 3}), {2, 0, 3}, {});
  // Reshaping a transposed view reads it in its logical (row-major) order.
  expect_f32(reshape(transpose(x), {6}), {6}, {0, 3, 1, 4, 2, 5});
  EXPECT_EQ(reshape(x, {2, 3}).node(), x.node());
}

TEST(Movement, ReshapeErrors) {
  expect_error<ShapeError>(
      [] {
        reshape(iota({2, 3}), {4, 2});
      },
      {"reshape: cannot reshape f32[2,3] (6 elements) into [4,2] (8 elements)"});
  expect_error<ShapeError>(
      [] {
        reshape(iota({2, 3}), {-1, -1});
      },
      {"reshape", "more than one -1", "at most one"});
  expect_error<ShapeError>(
      [] {
        reshape(iota({2, 3}), {4, -1});
      },
      {"reshape", "f32[2,3]", "[4,-1]", "do not divide"});
  expect_error<ShapeError>([] { reshape(iota({2, 3}), {-2, -3}); }, {"negative dimension -2"});
  expect_error<ShapeError>([] { reshape(zeros({0}), {0, -1}); }, {"reshape", "[0,-1]"});
}

TEST(Movement, PermuteTransposeSwapaxes) {
  Tensor x = iota({2, 3});
  expect_f32(transpose(x), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_f32(permute(x, {1, 0}), {3, 2}, {0, 3, 1, 4, 2, 5});
  // y[i, j, k] = 6i + 3j + k for shape [2, 2, 3]; permute (2, 0, 1) gives out[k, i, j].
  Tensor y = iota({2, 2, 3});
  expect_f32(permute(y, {2, 0, 1}), {3, 2, 2}, {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  expect_f32(transpose(y, {-1, 0, 1}), {3, 2, 2}, {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  expect_f32(swapaxes(y, 0, 2), {3, 2, 2}, {0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11});
  EXPECT_EQ(permute(y, {0, 1, 2}).node(), y.node());
  expect_f32(transpose(full({}, 1.0)), {}, {1});
  expect_f32(transpose(transpose(x)), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_error<AxisError>(
      [] {
        permute(iota({2, 3}), {0});
      },
      {"permute", "[0]", "f32[2,3] has rank 2"});
  expect_error<AxisError>([] { permute(iota({2, 3}), {1, 1}); }, {"permute", "appears twice"});
  expect_error<AxisError>([] { permute(iota({2, 3}), {0, 2}); }, {"permute", "axis 2"});
}

TEST(Movement, BroadcastTo) {
  expect_f32(broadcast_to(from_data({1.f, 2.f}, {2}), {3, 2}), {3, 2}, {1, 2, 1, 2, 1, 2});
  expect_f32(broadcast_to(from_data({1.f, 2.f}, {2, 1}), {2, 3}), {2, 3}, {1, 1, 1, 2, 2, 2});
  expect_f32(broadcast_to(full({}, 5.0), {2}), {2}, {5, 5});
  expect_f32(broadcast_to(from_data({1.f}, {1}), {0}), {0}, {});
  expect_error<ShapeError>([] { broadcast_to(iota({3}), {4}); },
                           {"broadcast_to: cannot broadcast f32[3] to [4]"});
  expect_error<ShapeError>([] { broadcast_to(iota({2, 3}), {3}); }, {"f32[2,3] to [3]"});
}

TEST(Movement, ExpandDimsSqueezeFlatten) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(expand_dims(x, 0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(expand_dims(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(expand_dims(x, {0, 2}).shape(), (Shape{1, 2, 1, 3}));
  EXPECT_EQ(expand_dims(x, {-1, 0}).shape(), (Shape{1, 2, 3, 1}));
  expect_f32(expand_dims(x, 1), {2, 1, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = zeros({1, 2, 1, 3});
  EXPECT_EQ(squeeze(y).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(y, 2).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(squeeze(y, {0, -2}).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(full({1, 1}, 2.0)).shape(), Shape{});
  expect_f32(flatten(iota({2, 2, 2})), {8}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(flatten(zeros({2, 3, 4, 5}), 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(flatten(zeros({2, 3, 4}), -2).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(full({}, 1.0)).shape(), Shape{1});
  expect_error<ShapeError>(
      [] {
        squeeze(zeros({1, 2}), 1);
      },
      {"squeeze: axis 1 of f32[1,2] has length 2", "size-1"});
  expect_error<AxisError>([] { expand_dims(zeros({2}), 2); }, {"expand_dims", "axis 2"});
  expect_error<AxisError>([] { flatten(zeros({2, 3}), 1, 0); }, {"flatten", "start axis 1"});
}

TEST(Movement, SlicePythonSemantics) {
  Tensor v = iota({10});
  auto s = [&](std::optional<int64_t> a, std::optional<int64_t> b, int64_t step) {
    return slice(v, 0, a, b, step);
  };
  expect_f32(s(2, 5, 1), {3}, {2, 3, 4});
  expect_f32(s(std::nullopt, std::nullopt, 3), {4}, {0, 3, 6, 9});
  expect_f32(s(1, std::nullopt, 4), {3}, {1, 5, 9});
  expect_f32(s(-3, std::nullopt, 1), {3}, {7, 8, 9});
  expect_f32(s(std::nullopt, -7, 1), {3}, {0, 1, 2});
  // Negative steps walk backwards from the end.
  expect_f32(s(std::nullopt, std::nullopt, -1), {10}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  expect_f32(s(std::nullopt, std::nullopt, -4), {3}, {9, 5, 1});
  expect_f32(s(7, 2, -2), {3}, {7, 5, 3});
  expect_f32(s(-2, -6, -1), {4}, {8, 7, 6, 5});
  expect_f32(s(2, std::nullopt, -1), {3}, {2, 1, 0});
  // Out-of-range bounds clamp; empty ranges give size 0.
  expect_f32(s(-100, 100, 1), {10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_f32(s(100, -100, -5), {2}, {9, 4});
  expect_f32(s(5, 5, 1), {0}, {});
  expect_f32(s(5, 2, 1), {0}, {});
  expect_f32(s(2, 5, -1), {0}, {});
  expect_f32(s(20, 30, 1), {0}, {});
  EXPECT_EQ(s(std::nullopt, std::nullopt, 1).node(), v.node());
}

TEST(Movement, SliceSeveralAxes) {
  Tensor x = iota({3, 4});  // x[i, j] = 4i + j
  expect_f32(slice(x, {Slice{1, 3}, Slice{std::nullopt, std::nullopt, 2}}), {2, 2}, {4, 6, 8, 10});
  expect_f32(slice(x, {Slice{std::nullopt, std::nullopt, -1}}), {3, 4},
             {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3});
  expect_f32(slice(x, {Slice{}, Slice{-1, std::nullopt, -3}}), {3, 2}, {3, 0, 7, 4, 11, 8});
  expect_f32(slice(x, {Slice{2}}), {1, 4}, {8, 9, 10, 11});
  expect_f32(slice(x, 1, 1, 2), {3, 1}, {1, 5, 9});
  expect_f32(slice(x, -1, -2, std::nullopt), {3, 2}, {2, 3, 6, 7, 10, 11});
  // A slice of a slice of a transpose: x^T[1:, ::2] then [::-1].
  Tensor t = slice(slice(transpose(x), {Slice{1}, Slice{std::nullopt, std::nullopt, 2}}), 0,
                   std::nullopt, std::nullopt, -1);
  expect_f32(t, {3, 2}, {3, 11, 2, 10, 1, 9});
  expect_f32(slice(zeros({0, 2}), {Slice{1, 5}}), {0, 2}, {});
  expect_error<ShapeError>([] { slice(iota({4}), 0, 0, 4, 0); },
                           {"slice: step 0 on axis 0 of f32[4]", "nonzero"});
  expect_error<AxisError>(
      [] {
        slice(iota({4}), {Slice{}, Slice{}});
      },
      {"slice", "2 slices for f32[4]"});
  expect_error<AxisError>([] { slice(iota({4}), 1, 0, 1); }, {"slice", "axis 1"});
}

TEST(Movement, Pad) {
  expect_f32(pad(from_data({1.f, 2.f}, {2}), {{1, 2}}), {5}, {0, 1, 2, 0, 0});
  expect_f32(pad(from_data({1.f, 2.f, 3.f, 4.f}, {2, 2}), {{0, 1}, {1, 0}}, -1), {3, 3},
             {-1, 1, 2, -1, 3, 4, -1, -1, -1});
  // One pair applies to every axis.
  expect_values<int32_t>(pad(from_data({5}, {1, 1}), {{1, 1}}, 9), DType::I32, {3, 3},
                         {9, 9, 9, 9, 5, 9, 9, 9, 9});
  expect_values<bool>(pad(from_data(std::vector<bool>{true}, {1}), {{1, 0}}), DType::Bool, {2},
                      {false, true});
  expect_f32(pad(zeros({0}), {{2, 0}}, 3.5), {2}, {3.5, 3.5});
  // Padding a transposed view.
  expect_f32(pad(transpose(iota({2, 2})), {{0, 0}, {0, 1}}), {2, 3}, {0, 2, 0, 1, 3, 0});
  expect_error<ShapeError>(
      [] {
        pad(iota({2, 2}), {{1, 1}, {1, 1}, {1, 1}});
      },
      {"pad", "3 (before, after) pairs for f32[2,2]"});
  expect_error<ShapeError>([] { pad(iota({2}), {{-1, 0}}); }, {"pad", "negative", "slice"});
  expect_error<DTypeError>(
      [] {
        pad(from_data({1}, {1}), {{1, 1}}, 0.5);
      },
      {"pad", "0.5", "i32[1]"});
  expect_error<DTypeError>(
      [] {
        pad(from_data({uint8_t{1}}, {1}), {{1, 1}}, 256);
      },
      {"pad", "256", "u8"});
}

TEST(Movement, Flip) {
  Tensor x = iota({2, 3});
  expect_f32(flip(x), {2, 3}, {5, 4, 3, 2, 1, 0});
  expect_f32(flip(x, 0), {2, 3}, {3, 4, 5, 0, 1, 2});
  expect_f32(flip(x, -1), {2, 3}, {2, 1, 0, 5, 4, 3});
  expect_f32(flip(transpose(x), 0), {3, 2}, {2, 5, 1, 4, 0, 3});
  expect_f32(flip(full({}, 1.0)), {}, {1});
}

TEST(Movement, Concatenate) {
  Tensor a = iota({2, 2});
  Tensor b = from_data({10.f, 11.f}, {1, 2});
  expect_f32(concatenate({a, b}), {3, 2}, {0, 1, 2, 3, 10, 11});
  expect_f32(concatenate({a, transpose(b)}, 1), {2, 3}, {0, 1, 10, 2, 3, 11});
  expect_f32(concatenate({a, transpose(b)}, -1), {2, 3}, {0, 1, 10, 2, 3, 11});
  // dtypes promote: i32 with f32.
  expect_f32(concatenate({from_data({1}, {1}), from_data({0.5f}, {1})}), {2}, {1, 0.5});
  // Pieces of length 0 along the axis are allowed.
  expect_f32(concatenate({zeros({0, 2}), b, zeros({0, 2})}), {1, 2}, {10, 11});
  expect_f32(concatenate({zeros({0}), zeros({0})}), {0}, {});
  expect_f32(concatenate({b}), {1, 2}, {10, 11});
  expect_error<ShapeError>(
      [] {
        concatenate({iota({2, 3}), iota({2, 4})});
      },
      {"concatenate: tensor 1 is f32[2,4] but tensor 0 is f32[2,3]", "except axis 0"});
  expect_error<ShapeError>([] { concatenate({iota({2}), iota({2, 1})}); }, {"tensor 1"});
  expect_error<ShapeError>([] { concatenate({}); }, {"concatenate", "no tensors"});
  expect_error<ShapeError>([] { concatenate({full({}, 1.0)}); }, {"concatenate", "rank 0"});
}

TEST(Movement, Stack) {
  Tensor a = from_data({1.f, 2.f}, {2});
  Tensor b = from_data({3.f, 4.f}, {2});
  expect_f32(stack({a, b}), {2, 2}, {1, 2, 3, 4});
  expect_f32(stack({a, b}, 1), {2, 2}, {1, 3, 2, 4});
  expect_f32(stack({a, b}, -1), {2, 2}, {1, 3, 2, 4});
  expect_f32(stack({full({}, 1.0), full({}, 2.0)}), {2}, {1, 2});
  expect_error<ShapeError>(
      [&] {
        stack({a, iota({3})});
      },
      {"stack: tensor 1 is f32[3] but tensor 0 is f32[2]", "same shape"});
  expect_error<AxisError>([&] { stack({a, b}, 2); }, {"stack", "axis 2"});
}

TEST(Movement, Split) {
  Tensor x = iota({6});
  auto parts = split(x, 3);
  ASSERT_EQ(parts.size(), 3u);
  expect_f32(parts[0], {2}, {0, 1});
  expect_f32(parts[2], {2}, {4, 5});
  auto cols = split(iota({2, 4}), 2, 1);
  expect_f32(cols[1], {2, 2}, {2, 3, 6, 7});
  auto at = split_at(x, {1, 4});
  ASSERT_EQ(at.size(), 3u);
  expect_f32(at[0], {1}, {0});
  expect_f32(at[1], {3}, {1, 2, 3});
  expect_f32(at[2], {2}, {4, 5});
  // Python slice rules: out-of-range and negative indices.
  auto odd = split_at(x, {-2, 10});
  expect_f32(odd[0], {4}, {0, 1, 2, 3});
  expect_f32(odd[1], {2}, {4, 5});
  expect_f32(odd[2], {0}, {});
  EXPECT_EQ(split_at(x, {}).size(), 1u);
  expect_error<ShapeError>(
      [&] { split(iota({7}), 3); },
      {"split: axis 0 of f32[7] (length 7) does not divide into 3", "split_at"});
  expect_error<ShapeError>([&] { split(x, 0); }, {"split", "0 equal sections"});
}

TEST(Movement, Tile) {
  Tensor a = from_data({1.f, 2.f}, {2});
  expect_f32(tile(a, {3}), {6}, {1, 2, 1, 2, 1, 2});
  expect_f32(tile(a, {2, 2}), {2, 4}, {1, 2, 1, 2, 1, 2, 1, 2});
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f}, {2, 2});
  expect_f32(tile(m, {2, 1}), {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  expect_f32(tile(m, {1, 2}), {2, 4}, {1, 2, 1, 2, 3, 4, 3, 4});
  // reps shorter than the rank apply to the trailing axes.
  expect_f32(tile(m, {2}), {2, 4}, {1, 2, 1, 2, 3, 4, 3, 4});
  expect_f32(tile(a, {0}), {0}, {});
  expect_f32(tile(a, {1, 1}), {1, 2}, {1, 2});
  EXPECT_EQ(tile(m, {}).node(), m.node());
  expect_f32(tile(transpose(m), {1, 2}), {2, 4}, {1, 3, 1, 3, 2, 4, 2, 4});
  // Rank 5: tiled one axis at a time.
  expect_f32(reshape(tile(reshape(a, {1, 1, 1, 1, 2}), {1, 1, 1, 2, 1}), {-1}), {4}, {1, 2, 1, 2});
  expect_error<ShapeError>([&] { tile(a, {-1}); }, {"tile", "negative"});
}

TEST(Movement, ViewsOfViews) {
  // A chain of views feeding arithmetic: reshape -> transpose -> slice -> broadcast.
  Tensor x = iota({2, 3});
  Tensor t = slice(transpose(x), 0, 1, std::nullopt);  // [[1, 4], [2, 5]]
  expect_f32(t + broadcast_to(from_data({100.f, 200.f}, {2, 1}), {2, 2}), {2, 2},
             {101, 104, 202, 205});
  expect_f32(flip(reshape(t, {4})), {4}, {5, 2, 4, 1});
}

}  // namespace
}  // namespace kiln
