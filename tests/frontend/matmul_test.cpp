// Contractions: matmul (NumPy rules), dot and outer.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

// [[1, 2, 3], [4, 5, 6]]
Tensor a23() { return from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3}); }
// [[1, 0], [0, 1], [2, -1]]
Tensor b32() { return from_data({1.f, 0.f, 0.f, 1.f, 2.f, -1.f}, {3, 2}); }

TEST(MatMul, Matrices) {
  // Row 0: [1 + 6, 2 - 3]; row 1: [4 + 12, 5 - 6].
  expect_f32(matmul(a23(), b32()), {2, 2}, {7, -1, 16, -1});
  // a^T a: entries sum_k a[k, i] a[k, j].
  expect_f32(matmul(transpose(a23()), a23()), {3, 3}, {17, 22, 27, 22, 29, 36, 27, 36, 45});
  expect_f32(matmul(a23(), eye(3)), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_values<int32_t>(matmul(from_data({1, 2, 3, 4}, {2, 2}), from_data({5, 6, 7, 8}, {2, 2})),
                         DType::I32, {2, 2}, {19, 22, 43, 50});
  testing::expect_close(matmul(from_data({1.0, 2.0}, {1, 2}), from_data({3.0, 4.0}, {2, 1})),
                        DType::F64, {1, 1}, {11});
  // Mixed dtypes promote.
  expect_f32(matmul(from_data({1, 2}, {1, 2}), from_data({0.5f, 0.25f}, {2, 1})), {1, 1}, {1});
}

TEST(MatMul, Vectors) {
  Tensor v = from_data({1.f, 1.f, 2.f}, {3});
  // [k] @ [k, n] -> [n]; [m, k] @ [k] -> [m]; [k] @ [k] -> [].
  expect_f32(matmul(v, b32()), {2}, {5, -1});
  expect_f32(matmul(a23(), v), {2}, {9, 21});
  expect_f32(matmul(v, v), {}, {6});
}

TEST(MatMul, BatchedWithBroadcasting) {
  // Batch of two: [[1, 0], [0, 1]] and [[2, 0], [0, 2]], times [2, 3].
  Tensor batch = from_data({1.f, 0.f, 0.f, 1.f, 2.f, 0.f, 0.f, 2.f}, {2, 2, 2});
  Tensor m = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  expect_f32(matmul(batch, m), {2, 2, 3}, {1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12});
  // The matrix on the left broadcasts over b's batch.
  expect_f32(matmul(from_data({1.f, 1.f}, {1, 2}), batch), {2, 1, 2}, {1, 1, 2, 2});
  // Batch dims [2, 1] and [3] broadcast to [2, 3].
  Tensor left = reshape(from_data({1.f, 2.f}, {2}), {2, 1, 1, 1});
  Tensor right = reshape(from_data({1.f, 10.f, 100.f}, {3}), {3, 1, 1});
  expect_f32(matmul(left, right), {2, 3, 1, 1}, {1, 10, 100, 2, 20, 200});
  // A vector against a batch of matrices: [k] @ [b, k, n] -> [b, n].
  expect_f32(matmul(from_data({1.f, 2.f}, {2}), batch), {2, 2}, {1, 2, 2, 4});
}

TEST(MatMul, SizeZeroAndOne) {
  // Contracting over k = 0 gives zeros.
  expect_f32(matmul(zeros({2, 0}), zeros({0, 3})), {2, 3}, {0, 0, 0, 0, 0, 0});
  expect_f32(matmul(zeros({0, 2}), zeros({2, 3})), {0, 3}, {});
  expect_f32(matmul(full({1, 1}, 3.0), full({1, 1}, 4.0)), {1, 1}, {12});
}

TEST(MatMul, NonContiguousOperands) {
  // Every second column of a 2x4 matrix times the transpose of b32's first two rows.
  Tensor wide = from_data({1.f, 9.f, 2.f, 9.f, 3.f, 9.f, 4.f, 9.f}, {2, 4});
  Tensor cols = slice(wide, 1, std::nullopt, std::nullopt, 2);  // [[1, 2], [3, 4]]
  Tensor rows = transpose(slice(b32(), 0, 0, 2));               // [[1, 0], [0, 1]]
  expect_f32(matmul(cols, rows), {2, 2}, {1, 2, 3, 4});
  expect_f32(matmul(flip(cols, 0), cols), {2, 2}, {15, 22, 7, 10});
}

TEST(MatMul, DotAndOuter) {
  Tensor u = from_data({1.f, 2.f, 3.f}, {3});
  Tensor w = from_data({4.f, -5.f, 6.f}, {3});
  expect_f32(dot(u, w), {}, {4 - 10 + 18});
  expect_f32(dot(a23(), b32()), {2, 2}, {7, -1, 16, -1});
  expect_f32(dot(a23(), u), {2}, {14, 32});
  expect_f32(dot(full({}, 2.0), u), {3}, {2, 4, 6});
  expect_f32(outer(u, from_data({1.f, 10.f}, {2})), {3, 2}, {1, 10, 2, 20, 3, 30});
  // outer flattens its operands.
  expect_f32(outer(from_data({1.f, 2.f, 3.f, 4.f}, {2, 2}), from_data({1.f, -1.f}, {2})), {4, 2},
             {1, -1, 2, -2, 3, -3, 4, -4});
  expect_values<int32_t>(outer(from_data({2}, {1}), from_data({3, 4}, {2})), DType::I32, {1, 2},
                         {6, 8});
}

TEST(MatMul, Errors) {
  expect_error<ShapeError>(
      [] {
        matmul(zeros({2, 3}), zeros({4, 5}));
      },
      {"matmul: f32[2,3] @ f32[4,5]", "(3 vs 4)", "transpose or reshape"});
  expect_error<ShapeError>([] { matmul(zeros({3}), zeros({4})); }, {"matmul", "(3 vs 4)"});
  expect_error<ShapeError>(
      [] {
        matmul(zeros({2, 2, 3}), zeros({3, 3, 1}));
      },
      {"matmul: the batch dimensions of f32[2,2,3] and f32[3,3,1]", "[2] vs [3]"});
  expect_error<ShapeError>([] { matmul(full({}, 1.0), zeros({2})); },
                           {"matmul", "rank 0", "multiply"});
  expect_error<ShapeError>([] { dot(zeros({2, 2, 2}), zeros({2})); }, {"dot", "matmul"});
}

}  // namespace
}  // namespace kiln
