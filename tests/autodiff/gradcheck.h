// Helpers of the autodiff tests: deterministic random f64 inputs, and the numerical
// gradient check (the vjp of a random cotangent against central differences in f64).
#pragma once

#include <kiln/kiln.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/frontend/test_util.h"

namespace kiln::testing {

// Uniform f64 constants from a fixed seed, so that a failure reproduces.
class Rng {
 public:
  explicit Rng(uint32_t seed = 12) : engine_(seed) {}
  std::vector<double> values(int64_t n, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = dist(engine_);
    return v;
  }
  Tensor uniform(const Shape& shape, double lo, double hi) {
    return from_data(values(kiln::numel(shape), lo, hi), shape);
  }

 private:
  std::mt19937 engine_;
};

// A function of f64 inputs to check, and the tolerance of the check.
struct Sample {
  std::vector<Tensor> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  double tol = 1e-6;
  double h = 1e-5;  // the step of the central differences
};

// Fails unless the sample's graph holds op `text`.
inline void expect_builds_op(const Sample& s, std::string_view text) {
  auto ops = graph_ops(s.f(s.inputs));
  EXPECT_TRUE(contains(ops, std::string(text)))
      << "the sample does not build a " << text << " node";
}

// The vjp of a random cotangent u against central differences of sum(f(x) * u), element by
// element of every input.
inline void check_vjp(const Sample& s) {
  Rng rng(7);
  Tensor out = s.f(s.inputs);
  ASSERT_EQ(out.dtype(), DType::F64) << "samples compute in f64";
  Tensor u = rng.uniform(out.shape(), -1, 1);
  std::vector<Tensor> analytic = gradients(out, s.inputs, u);

  const double h = s.h;
  std::vector<Tensor> probes;  // F(x + h e_j), F(x - h e_j) for every input element j
  std::vector<std::vector<double>> base;
  for (const Tensor& x : s.inputs) base.push_back(x.to_vector<double>());
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    for (size_t j = 0; j < base[i].size(); ++j) {
      for (double step : {h, -h}) {
        std::vector<Tensor> xs = s.inputs;
        std::vector<double> moved = base[i];
        moved[j] += step;
        xs[i] = from_data(moved, s.inputs[i].shape());
        probes.push_back(sum(s.f(xs) * u));
      }
    }
  }
  eval(probes);
  size_t p = 0;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    std::vector<double> numeric;
    for (size_t j = 0; j < base[i].size(); ++j, p += 2)
      numeric.push_back((probes[p].item<double>() - probes[p + 1].item<double>()) / (2 * h));
    SCOPED_TRACE("input " + std::to_string(i));
    expect_close(analytic[i], DType::F64, s.inputs[i].shape(), numeric, s.tol, s.tol);
  }
}

// The sample whose function is <vjp_f(x)(u), w> for fixed random u and w: checking its vjp
// checks that f's rules are themselves differentiable (second derivatives).
inline Sample second_order(const Sample& s) {
  Rng rng(5);
  Tensor u = rng.uniform(s.f(s.inputs).shape(), -1, 1);
  std::vector<Tensor> w;
  for (const Tensor& x : s.inputs) w.push_back(rng.uniform(x.shape(), -1, 1));
  Sample out = s;
  out.f = [f = s.f, u, w](const std::vector<Tensor>& xs) {
    std::vector<Tensor> pulled = gradients(f(xs), xs, u);
    Tensor total = sum(pulled[0] * w[0]);
    for (size_t i = 1; i < xs.size(); ++i) total = total + sum(pulled[i] * w[i]);
    return total;
  };
  return out;
}

}  // namespace kiln::testing
