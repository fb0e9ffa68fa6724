// Random numbers: keys, split / fold_in, uniform, normal and bernoulli.
#include "ir/random.h"

#include <algorithm>
#include <numeric>

#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;

double mean_of(const std::vector<float>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double var_of(const std::vector<float>& v) {
  double m = mean_of(v), s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size());
}

TEST(Random, UniformIsThePhiloxStream) {
  // Element i of uniform(key) is the random_uniform contract at counter i.
  Key key(42);
  std::vector<float> got = uniform(key, {2, 3}).to_vector<float>();
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(got[i], ir::random_uniform_f32(42, i)) << i;
}

TEST(Random, SameKeySameValuesDifferentKeyDifferent) {
  Key a(7), b(8);
  auto va = uniform(a, {64}).to_vector<float>();
  EXPECT_EQ(va, uniform(a, {64}).to_vector<float>());
  auto vb = uniform(b, {64}).to_vector<float>();
  EXPECT_NE(va, vb);
  EXPECT_EQ(normal(a, {16}).to_vector<float>(), normal(a, {16}).to_vector<float>());
  EXPECT_NE(normal(a, {16}).to_vector<float>(), normal(b, {16}).to_vector<float>());
}

TEST(Random, SplitAndFoldIn) {
  Key k(1);
  auto keys = split(k, 3);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys, split(k, 3));  // deterministic
  EXPECT_NE(keys[0], keys[1]);
  EXPECT_NE(keys[1], keys[2]);
  EXPECT_NE(keys[0], k);
  // The first keys of a longer split are the same keys.
  EXPECT_EQ(split(k, 2)[1], keys[1]);
  EXPECT_EQ(fold_in(k, 5), fold_in(k, 5));
  EXPECT_NE(fold_in(k, 5), fold_in(k, 6));
  EXPECT_NE(fold_in(k, 0), split(k, 1)[0]);
  EXPECT_NE(fold_in(Key(2), 5), fold_in(k, 5));
  EXPECT_TRUE(split(k, 0).empty());
  EXPECT_NE(uniform(keys[0], {8}).to_vector<float>(), uniform(keys[1], {8}).to_vector<float>());
}

TEST(Random, UniformMomentsAndRange) {
  const int n = 100000;
  auto v = uniform(Key(3), {n}).to_vector<float>();
  for (float x : v) ASSERT_TRUE(x >= 0.f && x < 1.f) << x;
  // Mean 1/2 and variance 1/12; the standard error of the mean is about 0.001.
  EXPECT_NEAR(mean_of(v), 0.5, 0.01);
  EXPECT_NEAR(var_of(v), 1.0 / 12, 0.003);

  auto w = uniform(Key(4), {n}, DType::F32, -2.0, 6.0).to_vector<float>();
  for (float x : w) ASSERT_TRUE(x >= -2.f && x < 6.f) << x;
  EXPECT_NEAR(mean_of(w), 2.0, 0.05);
  EXPECT_NEAR(var_of(w), 64.0 / 12, 0.1);
}

TEST(Random, UniformNeverReachesHiInLowPrecision) {
  // u close to 1 rounds to 1 in f16 and bf16; the result must still stay below hi.
  for (DType d : {DType::F16, DType::BF16}) {
    Tensor t = uniform(Key(5), {20000}, d, 0.0, 1.0);
    EXPECT_EQ(t.dtype(), d);
    for (float x : t.to_vector<float>()) ASSERT_TRUE(x >= 0.f && x < 1.f) << x;
  }
  // [1, 2) in f32: 1 + u rounds to 2 for u = 1 - 2^-24.
  for (float x : uniform(Key(6), {20000}, DType::F32, 1.0, 2.0).to_vector<float>())
    ASSERT_TRUE(x >= 1.f && x < 2.f) << x;
  auto d = uniform(Key(6), {100}, DType::F64, -1.0, 1.0).to_vector<double>();
  for (double x : d) ASSERT_TRUE(x >= -1.0 && x < 1.0) << x;
}

TEST(Random, NormalMoments) {
  const int n = 100000;
  auto v = normal(Key(9), {n}).to_vector<float>();
  EXPECT_NEAR(mean_of(v), 0.0, 0.02);
  EXPECT_NEAR(var_of(v), 1.0, 0.03);
  for (float x : v) ASSERT_TRUE(std::isfinite(x));
  // About 68.3% within one standard deviation.
  double within = std::count_if(v.begin(), v.end(), [](float x) { return std::abs(x) < 1; });
  EXPECT_NEAR(within / n, 0.6827, 0.01);

  auto w = normal(Key(10), {n}, DType::F32, 3.0, 0.5).to_vector<float>();
  EXPECT_NEAR(mean_of(w), 3.0, 0.01);
  EXPECT_NEAR(var_of(w), 0.25, 0.01);
  EXPECT_EQ(normal(Key(10), {4}, DType::BF16).dtype(), DType::BF16);
  EXPECT_EQ(normal(Key(10), {4}, DType::F64).dtype(), DType::F64);
}

TEST(Random, Bernoulli) {
  const int n = 100000;
  Tensor b = bernoulli(Key(11), 0.3, {n});
  EXPECT_EQ(b.dtype(), DType::Bool);
  auto v = b.to_vector<bool>();
  double ones = std::count(v.begin(), v.end(), true);
  EXPECT_NEAR(ones / n, 0.3, 0.01);
  // p = 0 and p = 1 are exact.
  auto none = bernoulli(Key(11), 0.0, {100}).to_vector<bool>();
  EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);
  auto all = bernoulli(Key(11), 1.0, {100}).to_vector<bool>();
  EXPECT_EQ(std::count(all.begin(), all.end(), true), 100);
  // A tensor of probabilities broadcasts over the shape: column 0 never, column 1 always.
  Tensor p = from_data({0.0f, 1.0f}, {2});
  auto cols = bernoulli(Key(12), p, {50, 2}).to_vector<bool>();
  for (size_t i = 0; i < cols.size(); ++i) EXPECT_EQ(cols[i], i % 2 == 1) << i;
}

TEST(Random, SizeZeroAndScalar) {
  EXPECT_EQ(uniform(Key(1), {0, 5}).to_vector<float>().size(), 0u);
  float s = uniform(Key(1), {}).item<float>();
  EXPECT_EQ(s, ir::random_uniform_f32(1, 0));
}

TEST(Random, Errors) {
  expect_error<DTypeError>([] { uniform(Key(1), {2}, DType::I32); },
                           {"uniform", "i32", "not a floating dtype"});
  expect_error<DTypeError>([] { normal(Key(1), {2}, DType::C64); }, {"normal", "c64"});
  expect_error<Error>([] { uniform(Key(1), {2}, DType::F32, 1.0, 1.0); },
                      {"uniform", "empty", "lo < hi"});
  expect_error<ShapeError>(
      [] {
        bernoulli(Key(1), from_data({0.5f, 0.5f, 0.5f}, {3}), {2});
      },
      {"broadcast_to", "f32[3]", "[2]"});
}

}  // namespace
}  // namespace kiln
