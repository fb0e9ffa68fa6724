// The demo behind scripts/demo.sh: one MLP layer followed by a softmax, built lazily with
// kiln's public API. It prints the graph's IR, evaluates it on the default device
// (KILN_DEVICE), prints some of the values, checks them against the same computation in
// plain C++ loops, and prints the run's statistics. Exits 1 if the values disagree.
#include <kiln/kiln.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

namespace {

constexpr int64_t kBatch = 8, kIn = 16, kOut = 32;

// Deterministic, varied inputs without a random generator, so the plain-C++ check below
// can use the same numbers without reading anything back from kiln.
std::vector<float> make_values(int64_t n, float scale, float phase) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = scale * std::sin(0.37f * static_cast<float>(i) + phase);
  }
  return v;
}

// softmax(gelu(x @ w + b)) row by row, in double, with the exact (erf) gelu.
std::vector<double> reference_mlp_softmax(const std::vector<float>& x, const std::vector<float>& w,
                                          const std::vector<float>& b) {
  std::vector<double> out(static_cast<size_t>(kBatch * kOut));
  for (int64_t i = 0; i < kBatch; ++i) {
    double* row = &out[static_cast<size_t>(i * kOut)];
    for (int64_t j = 0; j < kOut; ++j) {
      double acc = b[static_cast<size_t>(j)];
      for (int64_t k = 0; k < kIn; ++k) {
        acc += static_cast<double>(x[static_cast<size_t>(i * kIn + k)]) *
               static_cast<double>(w[static_cast<size_t>(k * kOut + j)]);
      }
      row[j] = 0.5 * acc * (1.0 + std::erf(acc / std::sqrt(2.0)));
    }
    double max = *std::max_element(row, row + kOut);
    double sum = 0;
    for (int64_t j = 0; j < kOut; ++j) sum += row[j] = std::exp(row[j] - max);
    for (int64_t j = 0; j < kOut; ++j) row[j] /= sum;
  }
  return out;
}

int run() {
  std::vector<float> x_host = make_values(kBatch * kIn, 1.0f, 0.0f);
  std::vector<float> w_host = make_values(kIn * kOut, 0.5f, 1.0f);
  std::vector<float> b_host = make_values(kOut, 0.1f, 2.0f);

  // Building the graph computes nothing: every line below only adds nodes.
  kiln::Tensor x = kiln::from_data(x_host, {kBatch, kIn});
  kiln::Tensor w = kiln::from_data(w_host, {kIn, kOut});
  kiln::Tensor b = kiln::from_data(b_host, {kOut});
  kiln::Tensor hidden = kiln::gelu(kiln::matmul(x, w) + b);  // b broadcasts over the rows
  kiln::Tensor probs = kiln::softmax(hidden, -1);

  std::printf("== IR of softmax(gelu(x @ W + b)), x: %s, W: %s, b: %s\n", x.type().str().c_str(),
              w.type().str().c_str(), b.type().str().c_str());
  std::printf("%s\n", kiln::print_ir(probs).c_str());

  // The one host sync of the demo: runs the graph and reads the values back.
  std::printf("== Evaluating on device '%s'\n", kiln::current_device()->name().c_str());
  std::vector<float> values = probs.to_vector<float>();

  std::printf("\n== Values (rows 0-2 of %s, first 8 columns; each row sums to 1)\n",
              probs.type().str().c_str());
  for (int64_t i = 0; i < 3; ++i) {
    std::printf("row %lld:", static_cast<long long>(i));
    double row_sum = 0;
    for (int64_t j = 0; j < kOut; ++j) {
      float v = values[static_cast<size_t>(i * kOut + j)];
      row_sum += v;
      if (j < 8) std::printf(" %.5f", v);
    }
    std::printf("  ... sum %.6f\n", row_sum);
  }

  std::vector<double> expected = reference_mlp_softmax(x_host, w_host, b_host);
  double max_error = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    max_error = std::max(max_error, std::abs(static_cast<double>(values[i]) - expected[i]));
  }
  bool ok = max_error < 1e-5;
  std::printf("\n== Check against plain C++ loops: max |difference| = %.3g (%s)\n", max_error,
              ok ? "ok" : "MISMATCH");

  std::printf("\n== kiln::stats()\n%s\n", kiln::stats().str().c_str());
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_demo: %s\n", e.what());
    return 1;
  }
}
