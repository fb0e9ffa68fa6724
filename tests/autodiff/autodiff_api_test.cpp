// grad, value_and_grad, vjp, jvp, stop_gradient and custom-kernel vjps through the public
// API: closed forms, second derivatives, jvp against vjp, laziness, ties, and every error
// message. Runs on the reference evaluator.
#include <kiln/custom_kernel.h>
#include <kiln/kiln.h>

#include <cmath>

#include "tests/autodiff/gradcheck.h"

namespace kiln {
namespace {

using testing::expect_close;
using testing::expect_error;

class Autodiff : public ::testing::Test {
 protected:
  DeviceGuard device_{runtime::make_device("reference")};
};

TEST_F(Autodiff, SumOfSquaresIsTwoX) {
  Tensor x = from_data({1.0, -2.0, 3.5}, {3});
  Tensor g = grad([](const Tensor& t) { return sum(t * t); })(x);
  EXPECT_FALSE(g.is_evaluated());  // lazy: nothing ran
  expect_close(g, DType::F64, {3}, {2.0, -4.0, 7.0});
}

TEST_F(Autodiff, ValueAndGradOfSeveralArguments) {
  Tensor a = from_data({1.f, 2.f}, {2});
  Tensor b = from_data({3.f, 5.f}, {2});
  auto f = [](const std::vector<Tensor>& x) { return sum(x[0] * x[1] + sin(x[0])); };
  auto [value, grads] = value_and_grad(f)({a, b});
  testing::expect_f32(value, {}, {3 + 10 + std::sin(1.0) + std::sin(2.0)}, 1e-5);
  ASSERT_EQ(grads.size(), 2u);
  testing::expect_f32(grads[0], {2}, {3 + std::cos(1.0), 5 + std::cos(2.0)}, 1e-5);
  testing::expect_f32(grads[1], {2}, {1, 2});
  // argnums picks the second argument only.
  auto only_b = grad(f, {1})({a, b});
  ASSERT_EQ(only_b.size(), 1u);
  testing::expect_f32(only_b[0], {2}, {1, 2});
}

TEST_F(Autodiff, SoftmaxCrossEntropyGradientIsPMinusOneHot) {
  testing::Rng rng;
  Tensor logits = rng.uniform({3, 5}, -2, 2);
  Tensor labels = from_data(std::vector<int64_t>{4, 0, 2}, {3});
  auto loss = [&](const Tensor& z) {
    return neg(sum(log_softmax(z) * one_hot(labels, 5, DType::F64)));
  };
  Tensor g = grad(loss)(logits);
  Tensor want = softmax(logits) - one_hot(labels, 5, DType::F64);
  expect_close(g, DType::F64, {3, 5}, want.to_vector<double>(), 1e-12, 1e-12);
}

TEST_F(Autodiff, MatmulClosedForm) {
  testing::Rng rng;
  Tensor a = rng.uniform({2, 3}, -1, 1), b = rng.uniform({3, 4}, -1, 1);
  Tensor u = rng.uniform({2, 4}, -1, 1);
  auto [out, g] = vjp([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}, u);
  expect_close(g[0], DType::F64, {2, 3}, matmul(u, transpose(b)).to_vector<double>(), 1e-12);
  expect_close(g[1], DType::F64, {3, 4}, matmul(transpose(a), u).to_vector<double>(), 1e-12);
}

// The pullback form: one forward graph, several cotangents (rows of the Jacobian).
TEST_F(Autodiff, PullbackGivesJacobianRows) {
  Tensor x = from_data({1.0, 2.0}, {2});
  auto [out, pullback] = vjp(
      [](const std::vector<Tensor>& a) {
        return concatenate({a[0] * a[0], sum(a[0], {}, true) * 3.0}, 0);
      },
      {x});
  ASSERT_EQ(out.shape(), Shape({3}));
  // Jacobian rows: (2, 0), (0, 4), (3, 3).
  expect_close(pullback(from_data({1.0, 0.0, 0.0}, {3}))[0], DType::F64, {2}, {2.0, 0.0});
  expect_close(pullback(from_data({0.0, 1.0, 0.0}, {3}))[0], DType::F64, {2}, {0.0, 4.0});
  expect_close(pullback(from_data({0.0, 0.0, 1.0}, {3}))[0], DType::F64, {2}, {3.0, 3.0});
}

TEST_F(Autodiff, SecondAndThirdDerivativesOfACube) {
  Tensor x = from_data({-1.0, 0.5, 2.0}, {3});
  auto cube = [](const Tensor& t) { return sum(t * t * t); };
  UnaryFunction d1 = grad(cube);
  UnaryFunction d2 = grad([d1](const Tensor& t) { return sum(d1(t)); });
  UnaryFunction d3 = grad([d2](const Tensor& t) { return sum(d2(t)); });
  expect_close(d1(x), DType::F64, {3}, {3.0, 0.75, 12.0});
  expect_close(d2(x), DType::F64, {3}, {-6.0, 3.0, 12.0});  // 6x
  expect_close(d3(x), DType::F64, {3}, {6.0, 6.0, 6.0});
}

TEST_F(Autodiff, SecondDerivativesThroughTranscendentals) {
  Tensor x = from_data({0.3, 1.1}, {2});
  // d2/dx2 tanh(x) = -2 tanh(x) (1 - tanh(x)^2); d2/dx2 exp(sin x) = e^sin x (cos^2 x - sin x).
  auto d2 = [](UnaryFunction f) {
    UnaryFunction d1 = grad(std::move(f));
    return grad([d1](const Tensor& t) { return sum(d1(t)); });
  };
  std::vector<double> want_tanh, want_exp_sin;
  for (double v : {0.3, 1.1}) {
    want_tanh.push_back(-2 * std::tanh(v) * (1 - std::tanh(v) * std::tanh(v)));
    want_exp_sin.push_back(std::exp(std::sin(v)) * (std::cos(v) * std::cos(v) - std::sin(v)));
  }
  expect_close(d2([](const Tensor& t) { return sum(tanh(t)); })(x), DType::F64, {2}, want_tanh,
               1e-12, 1e-12);
  expect_close(d2([](const Tensor& t) { return sum(exp(sin(t))); })(x), DType::F64, {2},
               want_exp_sin, 1e-12, 1e-12);
}

// <jvp(v), u> == <v, vjp(u)> on a function that mixes most kinds of ops.
TEST_F(Autodiff, JvpIsTheTransposeOfVjp) {
  testing::Rng rng;
  Tensor x = rng.uniform({2, 3}, 0.5, 1.5), w = rng.uniform({3, 4}, -1, 1);
  auto f = [](const std::vector<Tensor>& a) {
    Tensor h = tanh(matmul(a[0], a[1]));
    return concatenate({softmax(h), cumsum(h, 1) * sum(a[0], 1, true)}, 0);
  };
  Tensor vx = rng.uniform({2, 3}, -1, 1), vw = rng.uniform({3, 4}, -1, 1);
  auto [out, jv] = jvp(f, {x, w}, {vx, vw});
  Tensor u = rng.uniform(out.shape(), -1, 1);
  auto [out2, vj] = vjp(f, {x, w}, u);
  double lhs = sum(jv * u).item<double>();
  double rhs = (sum(vx * vj[0]) + sum(vw * vj[1])).item<double>();
  EXPECT_NEAR(lhs, rhs, 1e-12 * std::abs(rhs) + 1e-12);
  // And jvp against a central difference along (vx, vw).
  const double h = 1e-6;
  Tensor ahead = f({x + vx * h, w + vw * h}), behind = f({x - vx * h, w - vw * h});
  expect_close(jv, DType::F64, out.shape(), ((ahead - behind) / (2 * h)).to_vector<double>(), 1e-6,
               1e-6);
}

TEST_F(Autodiff, NamedParameters) {
  Params params = {{"w", from_data({2.0, -1.0}, {2})}, {"b", from_data({0.5}, {1})}};
  Tensor x = from_data({3.0, 4.0}, {2});
  auto loss = [&](const Params& p) { return sum(square(sum(p.at("w") * x) + p.at("b"))); };
  auto [value, g] = value_and_grad(loss, params);
  // r = 6 - 4 + 0.5 = 2.5; loss = r^2; dw = 2 r x, db = 2 r.
  expect_close(value, DType::F64, {}, {6.25});
  ASSERT_EQ(g.size(), 2u);
  expect_close(g.at("w"), DType::F64, {2}, {15.0, 20.0});
  expect_close(g.at("b"), DType::F64, {1}, {5.0});
}

TEST_F(Autodiff, StopGradient) {
  Tensor x = from_data({1.0, 2.0}, {2});
  // d/dx (x * stop(x)) = stop(x): the stopped factor is a constant.
  Tensor g = grad([](const Tensor& t) { return sum(t * stop_gradient(t)); })(x);
  expect_close(g, DType::F64, {2}, {1.0, 2.0});
  expect_close(stop_gradient(x), DType::F64, {2}, {1.0, 2.0});
}

TEST_F(Autodiff, InputsTheOutputDoesNotReachGetZeros) {
  Tensor a = from_data({1.f, 2.f}, {2}), b = from_data({1.f}, {1});
  auto g = gradients(sum(a * 3.f), {a, b});
  testing::expect_f32(g[0], {2}, {3, 3});
  testing::expect_f32(g[1], {1}, {0});
}

TEST_F(Autodiff, TiesSplitTheGradient) {
  Tensor x = from_data({1.0, 3.0, 3.0, 2.0}, {4});
  // Two maxima share the gradient equally.
  expect_close(grad([](const Tensor& t) { return max(t); })(x), DType::F64, {4},
               {0.0, 0.5, 0.5, 0.0});
  // maximum(a, b) with a == b sends half to each.
  Tensor a = from_data({1.0, 2.0}, {2}), b = from_data({1.0, 0.0}, {2});
  auto g = grad([](const std::vector<Tensor>& v) { return sum(maximum(v[0], v[1])); })({a, b});
  expect_close(g[0], DType::F64, {2}, {0.5, 1.0});
  expect_close(g[1], DType::F64, {2}, {0.5, 0.0});
  // relu at 0: maximum(x, 0) with a tie gives 1/2 (the constant 0 takes the rest).
  expect_close(grad([](const Tensor& t) { return sum(relu(t)); })(from_data({0.0, -1.0}, {2})),
               DType::F64, {2}, {0.5, 0.0});
}

// d sum(cumprod(x)) / d x_i = sum over j >= i of the product of x_k, k <= j, k != i: exact
// where x has zeros (dividing by x would give NaN there). The rule's graph grows with log2
// of the axis, not with the axis.
TEST_F(Autodiff, CumprodGradientIsExactAtZeros) {
  Tensor x = from_data({2.0, 0.0, 3.0, 0.0, 5.0}, {5});
  Tensor g = grad([](const Tensor& t) { return sum(cumprod(t, 0)); })(x);
  expect_close(g, DType::F64, {5}, {1.0, 2.0 + 2.0 * 3.0, 0.0, 0.0, 0.0}, 0, 0);
  Tensor long_axis = from_data(std::vector<double>(1000, 1.0), {1000});
  Tensor g_long = grad([](const Tensor& t) { return sum(cumprod(t, 0)); })(long_axis);
  EXPECT_LT(graph_of(g_long).nodes.size(), 120u);
  // With x all 1, x_i's gradient counts the j >= i.
  std::vector<double> want;
  for (int i = 0; i < 1000; ++i) want.push_back(1000.0 - i);
  expect_close(g_long, DType::F64, {1000}, want, 0, 0);
}

TEST_F(Autodiff, IntegerValuesCarryNoGradient) {
  Tensor x = from_data({1.7, -2.2}, {2});
  // cast to an integer and back is piecewise constant.
  Tensor g =
      grad([](const Tensor& t) { return sum(cast(cast(t, DType::I32), DType::F64) + t); })(x);
  expect_close(g, DType::F64, {2}, {1.0, 1.0});
}

// Gradients keep the input's dtype: weak scalars in the rules do not promote.
TEST_F(Autodiff, SixteenBitFloats) {
  for (DType t : {DType::F16, DType::BF16}) {
    Tensor x = cast(from_data({0.5f, -1.0f}, {2}), t);
    Tensor g = grad([](const Tensor& v) { return sum(tanh(v) * v + sqrt(v * v + 1.0)); })(x);
    std::vector<double> want;
    for (double v : {0.5, -1.0})
      want.push_back(std::tanh(v) + v * (1 - std::tanh(v) * std::tanh(v)) +
                     v / std::sqrt(v * v + 1));
    expect_close(g, t, {2}, want, 2e-2, 2e-2);
  }
}

TEST_F(Autodiff, EmptyTensors) {
  Tensor x = zeros({0, 3}, DType::F64);
  Tensor w = ones({3, 2}, DType::F64);
  auto g = grad([](const std::vector<Tensor>& a) {
    return sum(exp(matmul(a[0], a[1]))) + max(concatenate({a[0], a[0]}, 0), {}, false) * 0.0;
  })({x, w});
  expect_close(g[0], DType::F64, {0, 3}, {});
  expect_close(g[1], DType::F64, {3, 2}, {0, 0, 0, 0, 0, 0});
}

// Gradient nodes carry the source location of the forward op they come from.
TEST_F(Autodiff, GradientNodesPointAtTheForwardCall) {
  Tensor x = from_data({1.0}, {1});
  int line = 0;
  Tensor g = grad([&](const Tensor& t) {
    line = __LINE__ + 1;
    Tensor e = exp(t);
    return sum(e);
  })(x);
  EXPECT_EQ(g.node()->loc.line(), static_cast<uint32_t>(line));
  EXPECT_NE(std::string(g.node()->loc.file_name()).find("autodiff_api_test.cpp"),
            std::string::npos);
}

// The walk and the rules recurse nowhere: a chain as deep as a user's loop makes it.
TEST_F(Autodiff, DeepChain) {
  Tensor x = from_data({1.0, -3.0}, {2});
  Tensor g = grad([](const Tensor& t) {
    Tensor y = t;
    for (int i = 0; i < 50000; ++i) y = y * 0.5 + t;  // y = (2 - 2^-(n-1) + 2^-n) t
    return sum(y);
  })(x);
  expect_close(g, DType::F64, {2}, {2.0, 2.0});
}

TEST_F(Autodiff, ErrorsNameTheProblem) {
  Tensor v = from_data({1.f, 2.f}, {2});
  expect_error<ShapeError>([&] { grad([](const Tensor& t) { return t * 2.f; })(v); },
                           {"grad", "f32[2]", "not a single element", "sum", "vjp"});
  expect_error<DTypeError>(
      [&] {
        gradients(sum(v), {from_data({1, 2}, {2})});
      },
      {"gradients", "input 0 is i32[2]", "floating", "cast"});
  expect_error<DTypeError>(
      [&] {
        gradients(sum(from_data({1, 2}, {2})), {v});
      },
      {"the output is i32[]", "floating"});
  expect_error<ShapeError>(
      [&] { vjp([](const Tensor& t) { return t; }, v, from_data({1.f}, {1})); },
      {"vjp", "cotangent is f32[1]", "output is f32[2]"});
  expect_error<ShapeError>(
      [&] {
        jvp([](const Tensor& t) { return t; }, v, from_data({1.0, 2.0}, {2}));
      },
      {"jvp", "tangent 0 is f64[2]", "primal 0 is f32[2]"});
  expect_error<AxisError>(
      [&] { grad([](const std::vector<Tensor>& t) { return sum(t[0]); }, {2})({v}); },
      {"argnums names argument 2", "got 1"});
  // Complex values on the path to the input.
  expect_error<UnsupportedError>(
      [&] { grad([](const Tensor& t) { return sum(abs(cast(t, DType::C64))); })(v); },
      {"grad", "complex", "stop_gradient"});
}

TEST_F(Autodiff, CustomKernelsNeedARegisteredVjp) {
  Tensor x = from_data({1.f, 2.f, 3.f}, {3});
  auto twice = [](const Tensor& t) {
    return custom_kernel({.name = "autodiff_twice",
                          .source = "y[i] = 2.0f * x[i];",
                          .inputs = {{"x", t}},
                          .outputs = {{"y", t.shape(), t.dtype()}},
                          .grid = {3}})[0];
  };
  expect_error<UnsupportedError>(
      [&] { grad([&](const Tensor& t) { return sum(twice(t)); })(x); },
      {"custom kernel 'autodiff_twice' has no vjp", "register_custom_vjp(\"autodiff_twice\""});
  register_custom_vjp("autodiff_twice", [](const std::vector<Tensor>&, int64_t, const Tensor& g) {
    return std::vector<std::optional<Tensor>>{g * 2.f};
  });
  // The gradient graph holds the registered vjp only (the kernel itself need not run).
  Tensor g = grad([&](const Tensor& t) { return sum(twice(t)); })(x);
  testing::expect_f32(g, {3}, {2, 2, 2});
}

}  // namespace
}  // namespace kiln
