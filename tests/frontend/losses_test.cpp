// Losses and metrics (kiln/losses.h) against their definitions computed in double here:
// log-sum-exp cross-entropy, the element losses, ranks by sorting (ties averaged) for
// Spearman, and confusion-matrix counts for the Matthews correlation; plus a published
// Matthews value and the messages of bad input.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "test_util.h"
#include "tests/expect_error.h"

namespace kiln {
namespace {

using testing::expect_error;

constexpr double kTol = 1e-5;

// Logits [4, 3] and class indices.
const std::vector<float> kLogits{2.0f,  -1.0f, 0.5f, 0.1f,  0.2f,   0.3f,
                                 -3.0f, 4.0f,  1.0f, 10.0f, -10.0f, 0.0f};
const std::vector<int32_t> kLabels{0, 2, 1, 1};

// -log softmax(row)[label] in double.
std::vector<double> nll_reference(double smoothing) {
  std::vector<double> out;
  for (int n = 0; n < 4; ++n) {
    const float* r = &kLogits[static_cast<size_t>(n) * 3];
    double m = std::max({r[0], r[1], r[2]}), z = 0;
    for (int c = 0; c < 3; ++c) z += std::exp(r[c] - m);
    auto neg_logp = [&](int c) { return -(r[c] - m - std::log(z)); };
    double uniform = (neg_logp(0) + neg_logp(1) + neg_logp(2)) / 3;
    out.push_back((1 - smoothing) * neg_logp(kLabels[n]) + smoothing * uniform);
  }
  return out;
}

Tensor logits() { return from_data(kLogits, {4, 3}); }
Tensor labels() { return from_data(kLabels, {4}); }

void expect_near_all(const Tensor& t, const std::vector<double>& want) {
  std::vector<double> got = cast(t, DType::F64).to_vector<double>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], kTol) << "element " << i;
}

TEST(Losses, CrossEntropyOfClassIndices) {
  const std::vector<double> want = nll_reference(0);
  expect_near_all(cross_entropy(logits(), labels(), {.reduction = Reduction::None}), want);
  const double total = std::accumulate(want.begin(), want.end(), 0.0);
  EXPECT_NEAR(cross_entropy(logits(), labels()).item<float>(), total / 4, kTol);
  EXPECT_NEAR(cross_entropy(logits(), labels(), {.reduction = Reduction::Sum}).item<float>(), total,
              kTol);
  // Label smoothing mixes in the mean of -log p over the classes.
  const std::vector<double> smooth = nll_reference(0.1);
  expect_near_all(
      cross_entropy(logits(), labels(), {.reduction = Reduction::None, .label_smoothing = 0.1}),
      smooth);
  // nll_loss of log_softmax is the same loss.
  expect_near_all(nll_loss(log_softmax(logits(), 1), labels(), Reduction::None), want);
}

TEST(Losses, CrossEntropyOfProbabilitiesAndExtraAxes) {
  // One-hot probabilities give the indices' loss, smoothing included.
  Tensor onehot = one_hot(labels(), 3);
  EXPECT_NEAR(cross_entropy(logits(), onehot).item<float>(),
              cross_entropy(logits(), labels()).item<float>(), kTol);
  EXPECT_NEAR(cross_entropy(logits(), onehot, {.label_smoothing = 0.2}).item<float>(),
              cross_entropy(logits(), labels(), {.label_smoothing = 0.2}).item<float>(), kTol);
  // [N, C, d]: classes on axis 1, a loss per (n, d).
  Tensor x = transpose(reshape(logits(), {2, 2, 3}), {0, 2, 1});  // [2, 3, 2]
  Tensor y = reshape(labels(), {2, 2});
  const std::vector<double> want = nll_reference(0);
  expect_near_all(cross_entropy(x, y, {.reduction = Reduction::None}), want);
}

TEST(Losses, ElementLosses) {
  const std::vector<float> a{0.5f, -2.0f, 3.0f, 0.0f}, b{1.0f, 1.0f, 0.25f, 0.0f};
  Tensor x = from_data(a, {4}), y = from_data(b, {4});
  std::vector<double> se, ae, hu;
  for (size_t i = 0; i < 4; ++i) {
    const double d = std::abs(double{a[i]} - b[i]);
    se.push_back(d * d);
    ae.push_back(d);
    hu.push_back(d < 1.5 ? 0.5 * d * d : 1.5 * (d - 0.75));
  }
  expect_near_all(mse_loss(x, y, Reduction::None), se);
  expect_near_all(l1_loss(x, y, Reduction::None), ae);
  expect_near_all(huber_loss(x, y, 1.5, Reduction::None), hu);
  EXPECT_NEAR(mse_loss(x, y).item<float>(), (se[0] + se[1] + se[2] + se[3]) / 4, kTol);
  EXPECT_NEAR(mean_squared_error(x, y).item<float>(), (se[0] + se[1] + se[2] + se[3]) / 4, kTol);
  // Binary cross-entropy from logits, finite for large ones.
  const std::vector<float> z{-100.0f, -1.0f, 0.0f, 2.0f, 100.0f}, t{0, 1, 0.5f, 1, 0};
  std::vector<double> bce;
  for (size_t i = 0; i < z.size(); ++i) {
    const double p = 1 / (1 + std::exp(-double{z[i]}));
    bce.push_back(z[i] == 100.0f    ? 100.0  // -log(1 - p) for p = sigmoid(100)
                  : z[i] == -100.0f ? 0.0
                                    : -(t[i] * std::log(p) + (1 - t[i]) * std::log(1 - p)));
  }
  expect_near_all(
      binary_cross_entropy_with_logits(from_data(z, {5}), from_data(t, {5}), Reduction::None), bce);
}

TEST(Metrics, Accuracy) {
  // Predicted classes: 0, 2, 1, 0 against 0, 2, 1, 1.
  EXPECT_NEAR(accuracy(logits(), labels()).item<float>(), 0.75, 1e-7);
  EXPECT_NEAR(accuracy(from_data(std::vector<int32_t>{0, 1, 2, 0}, {4}), labels()).item<float>(),
              0.25, 1e-7);
}

// Ranks from 1 by sorting, ties averaged.
std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return x[i] < x[j]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && x[order[j]] == x[order[i]]) ++j;
    for (size_t k = i; k < j; ++k) r[order[k]] = (i + 1 + j) / 2.0;
    i = j;
  }
  return r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) * (a[i] - ma);
    db += (b[i] - mb) * (b[i] - mb);
  }
  return num / std::sqrt(da * db);
}

TEST(Metrics, SpearmanWithTies) {
  const std::vector<double> a{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, b{2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4};
  const double want = pearson(ranks(a), ranks(b));
  EXPECT_NEAR(spearman_correlation(from_data(a, {11}), from_data(b, {11})).item<double>(), want,
              1e-12);
  std::vector<float> up(100), down(100);
  for (int i = 0; i < 100; ++i) up[i] = std::exp(0.05f * i), down[i] = -float(i) * i;
  EXPECT_NEAR(spearman_correlation(from_data(up, {100}), from_data(down, {100})).item<double>(),
              -1.0, 1e-12);
}

double mcc_reference(const std::vector<int32_t>& pred, const std::vector<int32_t>& truth, int k) {
  std::vector<std::vector<double>> c(k, std::vector<double>(k, 0));
  for (size_t i = 0; i < pred.size(); ++i) c[truth[i]][pred[i]] += 1;
  double correct = 0, s = static_cast<double>(pred.size()), pt = 0, pp = 0, tt = 0;
  for (int i = 0; i < k; ++i) {
    double t = 0, p = 0;
    for (int j = 0; j < k; ++j) t += c[i][j], p += c[j][i];
    correct += c[i][i];
    pt += p * t, pp += p * p, tt += t * t;
  }
  return (correct * s - pt) / std::sqrt((s * s - pp) * (s * s - tt));
}

TEST(Metrics, MatthewsCorrelation) {
  auto mcc = [](const std::vector<int32_t>& p, const std::vector<int32_t>& t, int64_t k) {
    const auto n = static_cast<int64_t>(p.size());
    return matthews_correlation(from_data(p, {n}), from_data(t, {n}), k).item<double>();
  };
  // The binary example of scikit-learn's documentation: -1/3.
  EXPECT_NEAR(mcc({1, 0, 1, 1}, {1, 1, 1, 0}, 2), -1.0 / 3.0, 1e-12);
  const std::vector<int32_t> p{0, 1, 2, 2, 1, 0, 2, 1, 1, 0}, t{0, 1, 2, 1, 1, 0, 0, 2, 1, 0};
  EXPECT_NEAR(mcc(p, t, 3), mcc_reference(p, t, 3), 1e-12);
  // Every prediction one class: undefined, reported as 0.
  EXPECT_EQ(mcc({1, 1, 1}, {0, 1, 0}, 2), 0.0);
}

TEST(Losses, BadInputNamesTheProblem) {
  expect_error<ShapeError>(
      [] {
        cross_entropy(logits(), from_data(kLabels, {2, 2}));
      },
      {"cross_entropy", "i32[2,2]", "[4,3] without the class axis 1"});
  expect_error<ShapeError>(
      [] {
        cross_entropy(logits(), zeros({4, 2}));
      },
      {"cross_entropy", "f32[4,3]", "f32[4,2]", "one shape"});
  expect_error<Error>([] { cross_entropy(logits(), labels(), {.label_smoothing = 1.5}); },
                      {"label_smoothing", "[0, 1]"});
  expect_error<DTypeError>([] { cross_entropy(from_data(kLabels, {4}), labels()); },
                           {"cross_entropy", "floating"});
  expect_error<ShapeError>([] { mse_loss(zeros({3}), zeros({4})); }, {"mse_loss", "one shape"});
  expect_error<Error>([] { huber_loss(zeros({3}), zeros({3}), 0.0); }, {"huber_loss", "delta"});
  expect_error<ShapeError>(
      [] {
        spearman_correlation(zeros({2, 2}), zeros({2, 2}));
      },
      {"spearman_correlation", "1-D"});
  expect_error<DTypeError>([] { matthews_correlation(zeros({3}), zeros({3}), 2); },
                           {"matthews_correlation", "integers"});
}

}  // namespace
}  // namespace kiln
