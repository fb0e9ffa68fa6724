// kiln/sorting.h: sort, argsort and topk with ties (lower index first in both directions)
// along each axis, triu / tril with positive and negative diagonals, and their errors, on
// every built device (NaN-free inputs, as sorting.h asks).
#include <kiln/sorting.h>

#include "tests/devices.h"
#include "tests/frontend/test_util.h"

namespace kiln::testing {
namespace {

class SortingOn : public ::testing::TestWithParam<std::string> {};

// Two rows with ties: sorting must keep equal elements in index order.
Tensor rows() { return from_data<float>({3, 1, 2, 1, 0, 5, 5, -1}, {2, 4}); }

TEST_P(SortingOn, SortsStablyAlongEitherAxis) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  expect_f32(sort(rows()), {2, 4}, {1, 1, 2, 3, -1, 0, 5, 5});
  expect_f32(sort(rows(), 0, true), {2, 4}, {3, 5, 5, 1, 0, 1, 2, -1});
  expect_values<int64_t>(argsort(rows()), DType::I64, {2, 4}, {1, 3, 2, 0, 3, 0, 1, 2});
  expect_values<int64_t>(argsort(rows(), -1, true), DType::I64, {2, 4}, {0, 2, 1, 3, 1, 2, 0, 3});
  expect_values<int64_t>(argsort(from_data<int32_t>({7, 7, 7}, {3})), DType::I64, {3}, {0, 1, 2});
}

TEST_P(SortingOn, TopKTakesTheLowerIndexAmongTies) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  TopK largest = topk(rows(), 2);
  expect_f32(largest.values, {2, 2}, {3, 2, 5, 5});
  expect_values<int64_t>(largest.indices, DType::I64, {2, 2}, {0, 2, 1, 2});
  TopK smallest = topk(rows(), 2, 1, false);
  expect_f32(smallest.values, {2, 2}, {1, 1, -1, 0});
  expect_values<int64_t>(smallest.indices, DType::I64, {2, 2}, {1, 3, 3, 0});
  TopK column = topk(rows(), 1, 0);
  expect_values<int64_t>(column.indices, DType::I64, {1, 4}, {0, 1, 1, 0});
}

TEST_P(SortingOn, TriangularMasks) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  Tensor x = from_data<int32_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4});
  expect_values<int32_t>(triu(x), DType::I32, {3, 4}, {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  expect_values<int32_t>(triu(x, 2), DType::I32, {3, 4}, {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0});
  expect_values<int32_t>(tril(x, -1), DType::I32, {3, 4}, {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  expect_values<int32_t>(tril(x, from_data<int64_t>({-1}, Shape{})), DType::I32, {3, 4},
                         {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  expect_values<int32_t>(tril(x, 1), DType::I32, {3, 4}, {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12});
}

INSTANTIATE_TEST_SUITE_P(Devices, SortingOn, ::testing::Values("reference", "cpu", "opencl"));

TEST(Sorting, Errors) {
  expect_error<ShapeError>([] { topk(rows(), 5); }, {"topk", "k is 5", "4 elements"});
  expect_error<ShapeError>([] { sort(rows(), 2); }, {"sort", "axis 2", "[2,4]"});
  expect_error<ShapeError>([] { triu(from_data<float>({1, 2}, {2})); }, {"triu", "rank >= 2"});
  expect_error<ShapeError>([] { tril(rows(), from_data<float>({1}, {1})); },
                           {"tril", "0-d integer"});
}

}  // namespace
}  // namespace kiln::testing
