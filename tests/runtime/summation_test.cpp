// Accuracy of long f32 sums on the device under test: full sums, sums over rows and over
// columns, mean, var and matmul with a long inner dimension, of values whose exact total
// is known (the f64 sum of the f32 inputs). Each result's error is held to the worst-case
// bound of NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src: blocks of
// 128 elements in 8 accumulators, halves summed recursively), so every device is at least
// as accurate as NumPy. Plain sequential f32 accumulation (even split over threads or
// work-items) drifts far past that bound on these sums.
//
// Compiled into every device's test program like the differential suite (tests/CMakeLists.txt);
// KILN_TEST_DEVICE names the device.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "tests/devices.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

#define KILN_SUM_CAT2(a, b) a##b
#define KILN_SUM_CAT(a, b) KILN_SUM_CAT2(a, b)
#define KILN_SUM_SUITE KILN_SUM_CAT(KILN_TEST_DEVICE_ID, Summation)

namespace kiln::testing {
namespace {

constexpr double kUnit = 0x1p-24;  // unit roundoff of f32

// NumPy's pairwise summation of n terms adds each term through at most
// 15 (within one of 8 accumulators of a 128-block) + 3 (the 8 accumulators) +
// ceil(log2(n / 128)) (the recursive halves) roundings, so its error is at most that many
// units times the sum of the magnitudes.
double numpy_roundings(int64_t n) {
  if (n <= 8) return static_cast<double>(std::max<int64_t>(n - 1, 0));
  if (n <= 128) return 15 + 3;
  return 15 + 3 + std::ceil(std::log2(static_cast<double>(n) / 128.0));
}

// NumPy's pairwise summation itself, in f32, for the messages (how close NumPy's algorithm
// gets on the same data).
float numpy_pairwise(const float* a, int64_t n) {
  if (n < 8) {
    float s = -0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i];
    return s;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    float s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) s += a[i];
    return s;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise(a, n2) + numpy_pairwise(a + n2, n - n2);
}

struct Terms {
  double exact = 0;      // sum of the f64 terms
  double magnitude = 0;  // sum of their magnitudes
};

Terms exact_sum(const std::vector<double>& terms) {
  // The terms are f32 values or products of two (exact in f64); their partial sums stay
  // far inside f64's 53 bits for these tests' sizes, so long double pairs are exact enough.
  long double s = 0, m = 0;
  for (double t : terms) s += t, m += std::fabs(t);
  return {static_cast<double>(s), static_cast<double>(m)};
}

// Expects |got - exact| <= (roundings of NumPy's pairwise sum of n terms + extra) units of
// the terms' magnitude (+ `slack`, absolute), and names the errors, relative to the exact
// value (absolute where that is 0).
void expect_within_numpy_bound(const std::string& what, float got, const Terms& t, int64_t n,
                               double extra_roundings, double numpy_result, double slack = 0) {
  const double bound = (numpy_roundings(n) + extra_roundings) * kUnit * t.magnitude + slack;
  const double err = std::fabs(static_cast<double>(got) - t.exact);
  const double scale = t.exact != 0 ? std::fabs(t.exact) : 1.0;
  std::printf("%s [%s]: %s error %.3g (bound %.3g; NumPy's pairwise algorithm %.3g)\n",
              what.c_str(), KILN_TEST_DEVICE, t.exact != 0 ? "relative" : "absolute", err / scale,
              bound / scale, std::fabs(numpy_result - t.exact) / scale);
  EXPECT_LE(err, bound) << what << " on " << KILN_TEST_DEVICE << ": got " << got << ", exact "
                        << t.exact << ", error " << err / scale << " > NumPy's pairwise bound "
                        << bound / scale << (t.exact != 0 ? " (relative)" : " (absolute)");
}

// The sequences: 0.1f repeated (a systematic rounding at every add), small integers (each
// exact in f32, their total not), a large dynamic range, and alternating signs.
struct Sequence {
  std::string name;
  std::function<float(int64_t)> at;
};
std::vector<Sequence> sequences() {
  return {
      {"0.1f", [](int64_t) { return 0.1f; }},
      {"integers", [](int64_t i) { return static_cast<float>(i % 17); }},
      {"dynamic range",
       [](int64_t i) { return i % 1000 == 0 ? 1.0e4f : 1.0e-2f * static_cast<float>(1 + i % 7); }},
      {"alternating",
       [](int64_t i) {
         return (i % 2 ? -1.0f : 1.0f) * (1.0f + static_cast<float>(i % 13) / 16.0f) + 0.3f;
       }},
  };
}

std::vector<float> make(const Sequence& s, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = s.at(i);
  return v;
}

std::vector<double> widened(const float* a, int64_t n, int64_t stride = 1) {
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = a[i * stride];
  return out;
}

#define KILN_SUM_DEVICE(var) KILN_TEST_DEVICE_OR_SKIP(var, KILN_TEST_DEVICE)

TEST(KILN_SUM_SUITE, FullSumOfTenMillionTerms) {
  KILN_SUM_DEVICE(device);
  const int64_t n = 10'000'000;
  for (const Sequence& s : sequences()) {
    std::vector<float> v = make(s, n);
    Tensor x = from_data(v, {n});
    Tensor total = sum(x);
    eval(device, {total});
    expect_within_numpy_bound("sum " + s.name, total.item<float>(), exact_sum(widened(v.data(), n)),
                              n, 1, numpy_pairwise(v.data(), n));
  }
}

TEST(KILN_SUM_SUITE, SumsOverRowsAndColumns) {
  KILN_SUM_DEVICE(device);
  const int64_t rows = 3, cols = 3'000'001;
  for (const Sequence& s : sequences()) {
    std::vector<float> v = make(s, rows * cols);
    // Long rows: [3, 3000001] summed over axis 1.
    Tensor r = sum(from_data(v, {rows, cols}), {1});
    // Long columns: the same data as [3000001, 3] summed over axis 0.
    Tensor c = sum(from_data(v, {cols, rows}), {0});
    eval(device, {r, c});
    std::vector<float> rv = r.to_vector<float>(), cv = c.to_vector<float>();
    for (int64_t i = 0; i < rows; ++i) {
      const float* row = v.data() + i * cols;
      expect_within_numpy_bound("sum of row " + std::to_string(i) + " " + s.name, rv[i],
                                exact_sum(widened(row, cols)), cols, 1, numpy_pairwise(row, cols));
      std::vector<double> col = widened(v.data() + i, cols, rows);
      std::vector<float> colf(col.begin(), col.end());
      expect_within_numpy_bound("sum of column " + std::to_string(i) + " " + s.name, cv[i],
                                exact_sum(col), cols, 1, numpy_pairwise(colf.data(), cols));
    }
  }
}

TEST(KILN_SUM_SUITE, MeanAndVar) {
  KILN_SUM_DEVICE(device);
  const int64_t n = 10'000'000;
  for (const Sequence& s : sequences()) {
    std::vector<float> v = make(s, n);
    Tensor x = from_data(v, {n});
    Tensor m = mean(x), d = var(x);
    eval(device, {m, d});
    Terms t = exact_sum(widened(v.data(), n));
    const double mu = t.exact / static_cast<double>(n);
    Terms tm{mu, t.magnitude / static_cast<double>(n)};
    // The division by n rounds once more.
    expect_within_numpy_bound("mean " + s.name, m.item<float>(), tm, n, 2,
                              numpy_pairwise(v.data(), n) / static_cast<double>(n));
    // var: the mean of squared deviations from the exact mean. Computing the deviations
    // from a rounded mean m' = mu + e adds e^2 (second order: the first order term sums to
    // zero; e within the mean's bound) and each deviation and square round once or twice: a
    // few more roundings.
    const double e = (numpy_roundings(n) + 2) * kUnit * tm.magnitude;
    std::vector<double> sq(static_cast<size_t>(n));
    std::vector<float> sqf(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double dv = v[static_cast<size_t>(i)] - mu;
      sq[static_cast<size_t>(i)] = dv * dv / static_cast<double>(n);
      sqf[static_cast<size_t>(i)] = static_cast<float>(dv * dv);
    }
    expect_within_numpy_bound("var " + s.name, d.item<float>(), exact_sum(sq), n, 6,
                              numpy_pairwise(sqf.data(), n) / static_cast<double>(n), e * e);
  }
}

TEST(KILN_SUM_SUITE, MatMulWithLongInnerDimension) {
  KILN_SUM_DEVICE(device);
  const int64_t k = 2'000'003;
  const std::vector<Sequence> seqs = sequences();
  // a: [2, k] of two sequences; b: [k, 2] of 1 and of the integers: each result element
  // is a dot product with an exactly known value.
  std::vector<float> a(static_cast<size_t>(2 * k)), b(static_cast<size_t>(2 * k));
  for (int64_t i = 0; i < k; ++i) {
    a[static_cast<size_t>(i)] = seqs[0].at(i);
    a[static_cast<size_t>(k + i)] = seqs[3].at(i);
    b[static_cast<size_t>(2 * i)] = 1.0f;
    b[static_cast<size_t>(2 * i + 1)] = static_cast<float>(1 + i % 5);
  }
  Tensor c = matmul(from_data(a, {2, k}), from_data(b, {k, 2}));
  eval(device, {c});
  std::vector<float> cv = c.to_vector<float>();
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      std::vector<double> terms(static_cast<size_t>(k));
      std::vector<float> termsf(static_cast<size_t>(k));
      for (int64_t p = 0; p < k; ++p) {
        terms[static_cast<size_t>(p)] = static_cast<double>(a[static_cast<size_t>(i * k + p)]) *
                                        b[static_cast<size_t>(2 * p + j)];
        termsf[static_cast<size_t>(p)] = static_cast<float>(terms[static_cast<size_t>(p)]);
      }
      // Each product rounds once before it is added.
      expect_within_numpy_bound("matmul [" + std::to_string(i) + "," + std::to_string(j) + "]",
                                cv[static_cast<size_t>(i * 2 + j)], exact_sum(terms), k, 2,
                                numpy_pairwise(termsf.data(), k));
    }
}

}  // namespace
}  // namespace kiln::testing
