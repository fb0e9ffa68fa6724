// kiln::nn modules (kiln/nn.h): each forward against its formula computed in double here,
// the initialisers' ranges and statistics, parameter names, the state_dict round trip
// (also through safetensors) and each load_state_dict error, the gradient of a small MLP
// against central differences, Dropout in training and eval mode, and BatchNorm's running
// statistics.
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "test_util.h"
#include "tests/expect_error.h"

namespace kiln {
namespace {

using testing::expect_close;
using testing::expect_error;

std::vector<double> f64(const Tensor& t) { return cast(t, DType::F64).to_vector<double>(); }

// Deterministic test data in [-1, 1).
std::vector<double> data(size_t n, double phase = 0.3) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(1.7 * static_cast<double>(i) + phase);
  return v;
}

TEST(Nn, LinearMatchesFormulaAndPyTorchInit) {
  nn::Linear lin(3, 2, Key(1));
  ASSERT_EQ(lin.parameters().size(), 2u);
  std::vector<double> w = f64(lin.parameters().at("weight")), b = f64(lin.parameters().at("bias")),
                      x = data(12);
  std::vector<double> want;
  for (int n = 0; n < 4; ++n)
    for (int o = 0; o < 2; ++o) {
      double acc = b[o];
      for (int i = 0; i < 3; ++i) acc += x[n * 3 + i] * w[o * 3 + i];
      want.push_back(acc);
    }
  expect_close(lin(from_data(x, {4, 3}, DType::F32)), DType::F32, {4, 2}, want, 1e-5, 1e-5);

  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias: range and variance bound^2 / 3.
  nn::Linear big(64, 256, Key(2));
  const double bound = 1.0 / 8.0;
  for (const char* name : {"weight", "bias"}) {
    std::vector<double> v = f64(big.parameters().at(name));
    double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    EXPECT_GE(lo, -bound);
    EXPECT_LT(hi, bound);
    EXPECT_LT(lo, -0.9 * bound) << name;  // the whole range is used
    EXPECT_GT(hi, 0.9 * bound) << name;
  }
  std::vector<double> v = f64(big.parameters().at("weight"));
  double m = std::accumulate(v.begin(), v.end(), 0.0) / v.size(), var = 0;
  for (double e : v) var += (e - m) * (e - m) / v.size();
  EXPECT_NEAR(m, 0.0, 0.005);
  EXPECT_NEAR(var, bound * bound / 3, 0.05 * bound * bound / 3);
  EXPECT_NEAR(nn::fan_in({16, 3, 5, 5}), 75, 0);
}

TEST(Nn, SequentialNamesNestLikePyTorch) {
  nn::Sequential model(nn::Linear(4, 8, Key(1)), nn::ReLU(),
                       nn::Sequential(nn::Linear(8, 8, Key(2)), nn::LayerNorm({8})),
                       nn::BatchNorm1d(8));
  std::vector<std::string> params, state;
  for (const auto& [name, t] : model.parameters()) params.push_back(name);
  for (const auto& [name, t] : model.state_dict()) state.push_back(name);
  EXPECT_EQ(params, (std::vector<std::string>{"0.bias", "0.weight", "2.0.bias", "2.0.weight",
                                              "2.1.bias", "2.1.weight", "3.bias", "3.weight"}));
  EXPECT_EQ(state.size(), params.size() + 3);  // BatchNorm's three buffers
  EXPECT_EQ(model.buffers().count("3.running_var"), 1u);
  EXPECT_EQ(model.buffers().at("3.num_batches_tracked").dtype(), DType::I64);
  EXPECT_EQ(model(ones({5, 4})).shape(), (Shape{5, 8}));
}

TEST(Nn, StateDictRoundTripsAndThroughSafetensors) {
  auto make = [](uint64_t seed) {
    return nn::Sequential(nn::Linear(3, 5, Key(seed)), nn::GELU(), nn::Linear(5, 2, Key(seed + 1)));
  };
  nn::Sequential a = make(1), b = make(10);
  Tensor x = from_data(data(6), {2, 3}, DType::F32);
  std::vector<float> ya = a(x).to_vector<float>();
  EXPECT_NE(b(x).to_vector<float>(), ya);
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b(x).to_vector<float>(), ya);

  const std::string path = ::testing::TempDir() + "nn_state.safetensors";
  Params state = a.state_dict();
  save_safetensors(path, {state.begin(), state.end()});
  nn::Sequential c = make(20);
  c.load_state_dict(load_safetensors(path));
  EXPECT_EQ(c(x).to_vector<float>(), ya);
  std::filesystem::remove(path);
}

TEST(Nn, LoadStateDictErrorsNameTheTensorAndChangeNothing) {
  nn::Sequential model(nn::Linear(3, 2, Key(1)), nn::ReLU());
  const Params good = model.state_dict();
  const std::vector<float> before = model.parameters().at("0.weight").to_vector<float>();

  Params missing = good;
  missing.erase("0.bias");
  missing.at("0.weight") = zeros({2, 3});
  expect_error<Error>([&] { model.load_state_dict(missing); },
                      {"load_state_dict", "missing tensor '0.bias'", "f32[2]", "strict = false"});
  Params unexpected = good;
  unexpected.emplace("1.weight", zeros({2}));
  expect_error<Error>([&] { model.load_state_dict(unexpected); },
                      {"unexpected tensor '1.weight'", "0.bias, 0.weight"});
  Params wrong_shape = good;
  wrong_shape.at("0.weight") = zeros({3, 2});
  expect_error<ShapeError>([&] { model.load_state_dict(wrong_shape); },
                           {"'0.weight' is f32[3,2] in the state dict", "module's is f32[2,3]"});
  Params wrong_dtype = good;
  wrong_dtype.at("0.bias") = zeros({2}, DType::F64);
  expect_error<DTypeError>([&] { model.load_state_dict(wrong_dtype); },
                           {"'0.bias' is f64[2]", "module's is f32[2]", "cast"});
  EXPECT_EQ(model.parameters().at("0.weight").to_vector<float>(), before);

  // Not strict: only the names given are replaced.
  model.load_state_dict({{"0.bias", full({2}, 7.0f)}}, false);
  EXPECT_EQ(model.parameters().at("0.bias").to_vector<float>(), (std::vector<float>{7, 7}));
  EXPECT_EQ(model.parameters().at("0.weight").to_vector<float>(), before);
}

// The loss of an MLP in f64 as a function of its parameters: grad against central
// differences of the same function, element by element.
TEST(Nn, GradOfSequentialMlpMatchesCentralDifferences) {
  nn::Sequential model(nn::Linear(3, 4, Key(3), true, DType::F64), nn::Tanh(),
                       nn::Linear(4, 2, Key(4), true, DType::F64));
  Tensor x = from_data(data(15), {5, 3});
  Tensor target = from_data(data(10, 1.1), {5, 2});
  ParamsFunction loss = [&](const Params& p) { return mean(square(model.forward(p, x) - target)); };
  const Params params = model.parameters();
  auto [value, grads] = value_and_grad(loss, params);
  ASSERT_EQ(grads.size(), 4u);
  EXPECT_DOUBLE_EQ(value.item<double>(), loss(params).item<double>());
  const double h = 1e-6;
  for (const auto& [name, t] : params) {
    std::vector<double> base = t.to_vector<double>(), g = grads.at(name).to_vector<double>();
    for (size_t i = 0; i < base.size(); ++i) {
      Params plus = params, minus = params;
      std::vector<double> vp = base, vm = base;
      vp[i] += h;
      vm[i] -= h;
      plus.at(name) = from_data(vp, t.shape());
      minus.at(name) = from_data(vm, t.shape());
      double numeric = (loss(plus).item<double>() - loss(minus).item<double>()) / (2 * h);
      EXPECT_NEAR(g[i], numeric, 1e-7) << name << "[" << i << "]";
    }
  }
}

TEST(Nn, ConvMatchesDirectLoops) {
  nn::Conv2d conv(2, 3, 3, Key(5), {.stride = {2}, .padding = 1});
  Params p = conv.parameters();
  ASSERT_EQ(p.at("weight").shape(), (Shape{3, 2, 3, 3}));
  std::vector<double> w = f64(p.at("weight")), b = f64(p.at("bias")), x = data(2 * 2 * 5 * 5);
  for (double v : w) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(18.0));
  std::vector<double> want;
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 3; ++o)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          double acc = b[o];
          for (int c = 0; c < 2; ++c)
            for (int di = 0; di < 3; ++di)
              for (int dj = 0; dj < 3; ++dj) {
                int y = 2 * i + di - 1, z = 2 * j + dj - 1;
                if (y < 0 || y >= 5 || z < 0 || z >= 5) continue;
                acc += w[((o * 2 + c) * 3 + di) * 3 + dj] * x[((n * 2 + c) * 5 + y) * 5 + z];
              }
          want.push_back(acc);
        }
  expect_close(conv(from_data(x, {2, 2, 5, 5}, DType::F32)), DType::F32, {2, 3, 3, 3}, want, 1e-5,
               1e-5);

  nn::Conv1d conv1(2, 1, 2, Key(6), {.bias = false});
  EXPECT_EQ(conv1.parameters().size(), 1u);
  std::vector<double> w1 = f64(conv1.parameters().at("weight")), x1 = data(8), want1;
  for (int t = 0; t < 3; ++t) {
    double acc = 0;
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 2; ++k) acc += w1[c * 2 + k] * x1[c * 4 + t + k];
    want1.push_back(acc);
  }
  expect_close(conv1(from_data(x1, {1, 2, 4}, DType::F32)), DType::F32, {1, 1, 3}, want1, 1e-5,
               1e-5);
}

TEST(Nn, NormsMatchFormulas) {
  std::vector<double> x = data(8);
  nn::LayerNorm ln({4});
  nn::RMSNorm rms({4}, 1e-6);
  // Non-trivial affine parameters, loaded as a user would.
  ln.load_state_dict({{"weight", from_data({1.f, 2.f, 3.f, 4.f}, {4})},
                      {"bias", from_data({0.f, 1.f, 0.f, -1.f}, {4})}});
  rms.load_state_dict({{"weight", from_data({2.f, 1.f, 1.f, 0.5f}, {4})}});
  std::vector<double> want_ln, want_rms;
  for (int r = 0; r < 2; ++r) {
    double m = 0, v = 0, ms = 0;
    for (int i = 0; i < 4; ++i) m += x[r * 4 + i] / 4;
    for (int i = 0; i < 4; ++i) {
      v += (x[r * 4 + i] - m) * (x[r * 4 + i] - m) / 4;
      ms += x[r * 4 + i] * x[r * 4 + i] / 4;
    }
    const double lw[] = {1, 2, 3, 4}, lb[] = {0, 1, 0, -1}, rw[] = {2, 1, 1, 0.5};
    for (int i = 0; i < 4; ++i) {
      want_ln.push_back((x[r * 4 + i] - m) / std::sqrt(v + 1e-5) * lw[i] + lb[i]);
      want_rms.push_back(x[r * 4 + i] / std::sqrt(ms + 1e-6) * rw[i]);
    }
  }
  Tensor xt = from_data(x, {2, 4}, DType::F32);
  expect_close(ln(xt), DType::F32, {2, 4}, want_ln, 1e-5, 1e-5);
  expect_close(rms(xt), DType::F32, {2, 4}, want_rms, 1e-5, 1e-5);
  expect_error<ShapeError>([&] { ln(ones({4, 3})); }, {"LayerNorm", "normalized shape [4]"});
  EXPECT_EQ(nn::LayerNorm({4}).parameters().at("weight").to_vector<float>(),
            (std::vector<float>{1, 1, 1, 1}));
}

TEST(Nn, EmbeddingPicksRowsAndStartsStandardNormal) {
  nn::Embedding emb(1000, 16, Key(7));
  std::vector<double> w = f64(emb.parameters().at("weight"));
  double m = std::accumulate(w.begin(), w.end(), 0.0) / w.size(), var = 0;
  for (double e : w) var += (e - m) * (e - m) / w.size();
  EXPECT_NEAR(m, 0.0, 0.03);
  EXPECT_NEAR(var, 1.0, 0.05);
  Tensor rows = emb(from_data(std::vector<int32_t>{3, 999, 3, 0}, {2, 2}));
  ASSERT_EQ(rows.shape(), (Shape{2, 2, 16}));
  std::vector<double> got = f64(rows);
  for (int k = 0; k < 16; ++k) {
    EXPECT_EQ(got[k], w[3 * 16 + k]);
    EXPECT_EQ(got[16 + k], w[999 * 16 + k]);
    EXPECT_EQ(got[48 + k], w[k]);
  }
  expect_error<DTypeError>([&] { emb(ones({2})); }, {"Embedding", "integers"});
}

TEST(Nn, DropoutDropsInTrainingAndIsTheIdentityInEval) {
  nn::Sequential model(nn::Dropout(0.25), nn::Dropout(0.5));
  Tensor x = ones({4000});
  expect_error<Error>([&] { model(x); }, {"Dropout '0.'", "needs a key", "eval()"});
  std::vector<float> y = model(x, Key(9)).to_vector<float>();
  // Kept values are scaled by 1/(1-p) per layer; each layer has its own mask.
  const float kept = 1.f / 0.75f / 0.5f;
  int64_t zeros_seen = 0;
  for (float v : y) {
    if (v == 0)
      ++zeros_seen;
    else
      EXPECT_FLOAT_EQ(v, kept);
  }
  EXPECT_NEAR(static_cast<double>(zeros_seen) / 4000, 1 - 0.75 * 0.5, 0.03);
  EXPECT_EQ(model(x, Key(9)).to_vector<float>(), y);  // the key decides the mask
  EXPECT_NE(model(x, Key(10)).to_vector<float>(), y);
  model.eval();
  EXPECT_FALSE(model.training());
  EXPECT_EQ(model(x).to_vector<float>(), std::vector<float>(4000, 1.f));
}

TEST(Nn, DropoutWithAKeyTensorDrawsTheSameMask) {
  // The call's key as a graph input: each Dropout folds in its index inside the graph.
  nn::Sequential model(nn::Dropout(0.25), nn::Linear(4, 4, Key(1)), nn::Dropout(0.5));
  Tensor x = from_data(data(64), {16, 4}, DType::F32);
  EXPECT_EQ(model(x, key_input(Key(9))).to_vector<float>(), model(x, Key(9)).to_vector<float>());
  EXPECT_NE(model(x, key_input(Key(10))).to_vector<float>(), model(x, Key(9)).to_vector<float>());
}

// A training step whose dropout key changes every step, as an input of the step graph
// (docs/training.md): from the second step on, every step reuses the plan.
TEST(Nn, TrainingStepsWithAKeyInputReuseThePlan) {
  std::vector<Key> keys = split(Key(11), 2);
  nn::Sequential model(nn::Linear(3, 16, keys[0]), nn::ReLU(), nn::Dropout(0.2),
                       nn::Linear(16, 1, keys[1]));
  Tensor x = from_data(data(24), {8, 3}, DType::F32);
  Tensor y = sum(x * x, -1, true);
  Params params = model.parameters();
  Stats before;
  std::vector<float> losses;
  for (uint64_t step = 0; step < 5; ++step) {
    if (step == 2) before = stats();
    params = as_input(params);
    const Key step_key = key_input(fold_in(Key(12), step));
    auto [loss, grads] = value_and_grad(
        [&](const Params& p) {
          return mse_loss(model.forward(p, x, {.params = {}, .key = step_key}), y);
        },
        params);
    for (auto& [name, w] : params) w = w - 0.05 * grads.at(name);
    std::vector<Tensor> outputs{loss};
    for (auto& [name, t] : params) outputs.push_back(t);
    eval(outputs);
    losses.push_back(loss.item<float>());
  }
  const Stats after = stats();
  EXPECT_EQ(after.kernels_compiled - before.kernels_compiled, 0);
  EXPECT_EQ(after.plans_reused - before.plans_reused, 3);
  EXPECT_LT(losses.back(), losses.front());
}

TEST(Nn, PoolingMatchesLoops) {
  std::vector<double> x = data(2 * 5 * 5);
  Tensor xt = from_data(x, {1, 2, 5, 5}, DType::F32);
  // Non-overlapping 2x2 windows (the last row and column dropped), and overlapping 3x3
  // windows with stride 2 and padding 1.
  struct Case {
    int k, s, p, out;
  };
  for (Case c : {Case{2, 2, 0, 2}, Case{3, 2, 1, 3}}) {
    std::vector<double> want_max, want_avg;
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < c.out; ++i)
        for (int j = 0; j < c.out; ++j) {
          double mx = -INFINITY, total = 0;
          for (int di = 0; di < c.k; ++di)
            for (int dj = 0; dj < c.k; ++dj) {
              int y = c.s * i + di - c.p, z = c.s * j + dj - c.p;
              if (y < 0 || y >= 5 || z < 0 || z >= 5) continue;
              mx = std::max(mx, x[(ch * 5 + y) * 5 + z]);
              total += x[(ch * 5 + y) * 5 + z];
            }
          want_max.push_back(mx);
          want_avg.push_back(total / (c.k * c.k));
        }
    Shape out{1, 2, c.out, c.out};
    expect_close(nn::MaxPool2d(c.k, c.s, c.p)(xt), DType::F32, out, want_max, 1e-6, 1e-6);
    expect_close(nn::AvgPool2d(c.k, c.s, c.p)(xt), DType::F32, out, want_avg, 1e-6, 1e-6);
  }
}

TEST(Nn, BatchNormUsesBatchStatisticsInTrainingAndRunningOnesInEval) {
  nn::BatchNorm2d bn(2);
  std::vector<double> x = data(3 * 2 * 2 * 2);
  Tensor xt = from_data(x, {3, 2, 2, 2}, DType::F32);
  std::vector<double> mean(2, 0), var(2, 0);
  for (size_t i = 0; i < x.size(); ++i) mean[(i / 4) % 2] += x[i] / 12;
  for (size_t i = 0; i < x.size(); ++i)
    var[(i / 4) % 2] += std::pow(x[i] - mean[(i / 4) % 2], 2) / 12;
  std::vector<double> want;
  for (size_t i = 0; i < x.size(); ++i) {
    int c = static_cast<int>((i / 4) % 2);
    want.push_back((x[i] - mean[c]) / std::sqrt(var[c] + 1e-5));
  }

  // Functional: the updates come out, the module keeps its buffers.
  Params updated;
  nn::CallOptions options;
  options.updated_buffers = &updated;
  expect_close(bn.forward({}, xt, options), DType::F32, {3, 2, 2, 2}, want, 1e-5, 1e-5);
  ASSERT_EQ(updated.size(), 3u);
  std::vector<double> rm{0.1 * mean[0], 0.1 * mean[1]},
      rv{0.9 + 0.1 * var[0] * 12 / 11, 0.9 + 0.1 * var[1] * 12 / 11};
  expect_close(updated.at("running_mean"), DType::F32, {2}, rm, 1e-6, 1e-6);
  expect_close(updated.at("running_var"), DType::F32, {2}, rv, 1e-6, 1e-6);
  EXPECT_EQ(updated.at("num_batches_tracked").item<int64_t>(), 1);
  EXPECT_EQ(bn.buffers().at("running_mean").to_vector<float>(), (std::vector<float>{0, 0}));

  // operator() stores them, as PyTorch does; eval mode then normalizes with them.
  bn(xt);
  expect_close(bn.buffers().at("running_var"), DType::F32, {2}, rv, 1e-6, 1e-6);
  bn.eval();
  std::vector<double> want_eval;
  for (size_t i = 0; i < x.size(); ++i) {
    int c = static_cast<int>((i / 4) % 2);
    want_eval.push_back((x[i] - rm[c]) / std::sqrt(rv[c] + 1e-5));
  }
  expect_close(bn(xt), DType::F32, {3, 2, 2, 2}, want_eval, 1e-5, 1e-5);
  expect_error<ShapeError>([&] { bn(ones({3, 4, 2, 2})); }, {"BatchNorm2d", "C = 2"});
}

// The training step of docs/nn.md: functional forward with a dropout key and BatchNorm's
// updated buffers as outputs, plain SGD on the gradients, the state loaded back.
TEST(Nn, TrainingStepsWithGradLowerTheLoss) {
  std::vector<Key> keys = split(Key(11), 2);
  nn::Sequential model(nn::Linear(3, 16, keys[0]), nn::BatchNorm1d(16), nn::ReLU(),
                       nn::Dropout(0.1), nn::Linear(16, 1, keys[1]));
  Tensor x = from_data(data(24), {8, 3}, DType::F32);
  Tensor y = sum(x * x, -1, true);
  std::vector<double> losses;
  for (uint64_t step = 0; step < 30; ++step) {
    Params params = model.parameters(), buffers;
    auto [loss, grads] = value_and_grad(
        [&](const Params& p) {
          nn::CallOptions o{
              .params = {}, .key = fold_in(Key(12), step), .updated_buffers = &buffers};
          return mse_loss(model.forward(p, x, o), y);
        },
        params);
    for (auto& [name, w] : params) w = w - 0.05 * grads.at(name);
    Params state = params;
    state.insert(buffers.begin(), buffers.end());
    std::vector<Tensor> outputs{loss};
    for (auto& [name, t] : state) outputs.push_back(t);
    eval(outputs);
    losses.push_back(loss.item<float>());
    model.load_state_dict(state);
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  EXPECT_EQ(model.buffers().at("1.num_batches_tracked").item<int64_t>(), 30);
}

// Multi-head attention against the formula in double, with every mask at once.
TEST(Nn, MultiheadAttentionMatchesFormulaWithMasks) {
  const int n = 2, l = 3, len = 4, e = 4, heads = 2, d = 2;
  nn::MultiheadAttention mha(e, heads, Key(13));
  Params p = mha.parameters();
  ASSERT_EQ(p.at("in_proj_weight").shape(), (Shape{12, 4}));
  ASSERT_EQ(p.at("out_proj.weight").shape(), (Shape{4, 4}));
  EXPECT_EQ(p.at("out_proj.bias").to_vector<float>(), std::vector<float>(4, 0.f));
  for (double v : f64(p.at("in_proj_weight"))) EXPECT_LE(std::abs(v), std::sqrt(6.0 / 16));
  // Non-zero biases, so that their use is checked.
  mha.load_state_dict({{"in_proj_bias", from_data(data(12, 2.0), {12}, DType::F32)},
                       {"out_proj.bias", from_data(data(4, 0.7), {4}, DType::F32)}},
                      false);
  p = mha.parameters();
  std::vector<double> w = f64(p.at("in_proj_weight")), b = f64(p.at("in_proj_bias")),
                      wo = f64(p.at("out_proj.weight")), bo = f64(p.at("out_proj.bias"));
  std::vector<double> xq = data(n * l * e, 0.1), xk = data(n * len * e, 0.5),
                      xv = data(n * len * e, 0.9);
  // Key 3 of batch 1 is padding; the explicit mask hides key 1 from query 0.
  auto excluded = [&](int batch, int i, int j) {
    return j > i || (batch == 1 && j == 3) || (i == 0 && j == 1);
  };
  auto proj = [&](const std::vector<double>& x, int row, int which, int o) {
    double acc = b[which * e + o];
    for (int c = 0; c < e; ++c) acc += x[row * e + c] * w[(which * e + o) * e + c];
    return acc;
  };
  std::vector<double> want;
  for (int bt = 0; bt < n; ++bt)
    for (int i = 0; i < l; ++i) {
      std::vector<double> joined(e, 0);
      for (int h = 0; h < heads; ++h) {
        std::vector<double> s(len);
        double mx = -INFINITY, z = 0;
        for (int j = 0; j < len; ++j) {
          s[j] = 0;
          for (int c = 0; c < d; ++c)
            s[j] += proj(xq, bt * l + i, 0, h * d + c) * proj(xk, bt * len + j, 1, h * d + c);
          s[j] = excluded(bt, i, j) ? -INFINITY : s[j] / std::sqrt(2.0);
          mx = std::max(mx, s[j]);
        }
        for (int j = 0; j < len; ++j) z += std::exp(s[j] - mx);
        for (int j = 0; j < len; ++j)
          for (int c = 0; c < d; ++c)
            joined[h * d + c] += std::exp(s[j] - mx) / z * proj(xv, bt * len + j, 2, h * d + c);
      }
      for (int o = 0; o < e; ++o) {
        double acc = bo[o];
        for (int c = 0; c < e; ++c) acc += joined[c] * wo[o * e + c];
        want.push_back(acc);
      }
    }
  nn::AttentionMask mask;
  mask.causal = true;
  mask.attn_mask = from_data(std::vector<bool>{false, true, false, false, false, false, false,
                                               false, false, false, false, false},
                             {l, len});
  mask.key_padding =
      from_data(std::vector<bool>{false, false, false, false, false, false, false, true}, {n, len});
  Tensor q = from_data(xq, {n, l, e}, DType::F32), k = from_data(xk, {n, len, e}, DType::F32),
         v = from_data(xv, {n, len, e}, DType::F32);
  expect_close(mha(q, k, v, mask), DType::F32, {n, l, e}, want, 1e-5, 1e-5);
  expect_close(mha.forward(Params{}, q, k, v, mask), DType::F32, {n, l, e}, want, 1e-5, 1e-5);
  // Self-attention without masks, as a Sequential calls it, has the query's shape.
  EXPECT_EQ(mha(q).shape(), (Shape{n, l, e}));
  expect_error<ShapeError>([&] { mha(q, k, slice(v, 1, 0, 2)); }, {"key", "value", "one length"});
}

// The recurrent layers against PyTorch's cell equations in double: a 2-layer LSTM (whose
// second layer reads the first's states), a GRU and a ReLU RNN.
TEST(Nn, RecurrentLayersMatchTheirEquations) {
  const int n = 2, steps = 3, in = 2, hid = 3;
  std::vector<double> x = data(n * steps * in);
  Tensor xt = from_data(x, {n, steps, in}, DType::F32);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (auto cell :
       {nn::Recurrent::Cell::Lstm, nn::Recurrent::Cell::Gru, nn::Recurrent::Cell::RnnRelu}) {
    const int layers = cell == nn::Recurrent::Cell::Lstm ? 2 : 1;
    const int g = cell == nn::Recurrent::Cell::Lstm ? 4 : cell == nn::Recurrent::Cell::Gru ? 3 : 1;
    nn::Recurrent rnn(cell, in, hid, Key(14), layers);
    Params p = rnn.parameters();
    ASSERT_EQ(p.size(), 4u * layers);
    ASSERT_EQ(p.at("weight_ih_l0").shape(), (Shape{g * hid, in}));
    for (double v : f64(p.at("bias_hh_l0"))) EXPECT_LE(std::abs(v), 1 / std::sqrt(3.0));
    std::vector<double> seq = x, final_h, final_c;
    int width = in;
    for (int k = 0; k < layers; ++k) {
      const std::string l = "_l" + std::to_string(k);
      std::vector<double> wi = f64(p.at("weight_ih" + l)), wh = f64(p.at("weight_hh" + l)),
                          bi = f64(p.at("bias_ih" + l)), bh = f64(p.at("bias_hh" + l));
      std::vector<double> next(n * steps * hid);
      for (int b = 0; b < n; ++b) {
        std::vector<double> h(hid, 0), c(hid, 0);
        for (int t = 0; t < steps; ++t) {
          std::vector<double> gi(g * hid), gh(g * hid);
          for (int r = 0; r < g * hid; ++r) {
            gi[r] = bi[r];
            gh[r] = bh[r];
            for (int q = 0; q < width; ++q)
              gi[r] += wi[r * width + q] * seq[(b * steps + t) * width + q];
            for (int q = 0; q < hid; ++q) gh[r] += wh[r * hid + q] * h[q];
          }
          for (int j = 0; j < hid; ++j) {
            if (g == 4) {
              double a = gi[j] + gh[j], f = gi[hid + j] + gh[hid + j],
                     cc = gi[2 * hid + j] + gh[2 * hid + j], o = gi[3 * hid + j] + gh[3 * hid + j];
              c[j] = sig(f) * c[j] + sig(a) * std::tanh(cc);
              h[j] = sig(o) * std::tanh(c[j]);
            } else if (g == 3) {
              double r = sig(gi[j] + gh[j]), z = sig(gi[hid + j] + gh[hid + j]);
              double cand = std::tanh(gi[2 * hid + j] + r * gh[2 * hid + j]);
              h[j] = (1 - z) * cand + z * h[j];
            } else {
              h[j] = std::max(0.0, gi[j] + gh[j]);
            }
            next[(b * steps + t) * hid + j] = h[j];
          }
        }
        final_h.insert(final_h.end(), h.begin(), h.end());
        final_c.insert(final_c.end(), c.begin(), c.end());
      }
      seq = next;
      width = hid;
    }
    nn::RecurrentOutput out = rnn.run(xt);
    expect_close(out.output, DType::F32, {n, steps, hid}, seq, 1e-5, 1e-5);
    expect_close(out.hidden, DType::F32, {layers, n, hid}, final_h, 1e-5, 1e-5);
    EXPECT_EQ(out.cell.has_value(), g == 4);
    if (out.cell) expect_close(*out.cell, DType::F32, {layers, n, hid}, final_c, 1e-5, 1e-5);
    EXPECT_EQ(rnn(xt).to_vector<float>(), out.output.to_vector<float>());
  }
}

}  // namespace
}  // namespace kiln
