// Optimizers, schedules and clipping (kiln/optim.h) against PyTorch's update rules written
// out in double here, and a training loop whose learning rate and step count change every
// step without a new plan or kernel.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <numbers>

#include "test_util.h"
#include "tests/expect_error.h"

namespace kiln {
namespace {

using testing::expect_error;

const std::vector<float> kStart{0.5f, -1.0f, 2.0f};
const std::vector<std::vector<float>> kGrads{
    {0.1f, -0.2f, 0.3f}, {-0.4f, 0.5f, 0.0f}, {0.2f, 0.2f, -0.6f}};
const double kRates[] = {0.1, 0.05, 0.2};

// Runs three updates with kGrads and kRates; returns the parameter "w" after each.
std::vector<std::vector<double>> run(const Optimizer& opt) {
  Params p{{"w", from_data(kStart, {3})}};
  OptimizerState s = opt.init(p);
  std::vector<std::vector<double>> out;
  for (int i = 0; i < 3; ++i) {
    Params g{{"w", from_data(kGrads[i], {3})}};
    auto [next, state] = opt.update(p, g, s, scalar_input(kRates[i]));
    eval(next.at("w"), state.step);
    p = next;
    s = state;
    std::vector<float> w = p.at("w").to_vector<float>();
    out.emplace_back(w.begin(), w.end());
  }
  EXPECT_EQ(s.step.item<int32_t>(), 3);
  return out;
}

void expect_close(const std::vector<std::vector<double>>& got,
                  const std::vector<std::vector<double>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j)
      EXPECT_NEAR(got[i][j], want[i][j], 1e-5) << "step " << i << " element " << j;
}

std::vector<std::vector<double>> sgd_reference(double mom, double damp, double wd, bool nesterov) {
  std::vector<double> p(kStart.begin(), kStart.end()), buf(3, 0);
  std::vector<std::vector<double>> out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double g = kGrads[i][j] + wd * p[j];
      if (mom != 0) {
        buf[j] = i == 0 ? g : mom * buf[j] + (1 - damp) * g;
        g = nesterov ? g + mom * buf[j] : buf[j];
      }
      p[j] -= kRates[i] * g;
    }
    out.push_back(p);
  }
  return out;
}

std::vector<std::vector<double>> adam_reference(double b1, double b2, double eps, double wd,
                                                bool decoupled) {
  std::vector<double> p(kStart.begin(), kStart.end()), m(3, 0), v(3, 0);
  std::vector<std::vector<double>> out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double g = kGrads[i][j];
      if (decoupled)
        p[j] *= 1 - kRates[i] * wd;
      else
        g += wd * p[j];
      m[j] = b1 * m[j] + (1 - b1) * g;
      v[j] = b2 * v[j] + (1 - b2) * g * g;
      const double mh = m[j] / (1 - std::pow(b1, i + 1)), vh = v[j] / (1 - std::pow(b2, i + 1));
      p[j] -= kRates[i] * mh / (std::sqrt(vh) + eps);
    }
    out.push_back(p);
  }
  return out;
}

TEST(Optim, SgdAsPyTorchDefinesIt) {
  expect_close(run(Sgd()), sgd_reference(0, 0, 0, false));
  expect_close(run(Sgd({.momentum = 0.9, .weight_decay = 0.01})),
               sgd_reference(0.9, 0, 0.01, false));
  expect_close(run(Sgd({.momentum = 0.9, .dampening = 0.1})), sgd_reference(0.9, 0.1, 0, false));
  expect_close(run(Sgd({.momentum = 0.8, .nesterov = true})), sgd_reference(0.8, 0, 0, true));
}

TEST(Optim, AdamAndAdamW) {
  expect_close(run(Adam()), adam_reference(0.9, 0.999, 1e-8, 0, false));
  expect_close(run(Adam({.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1})),
               adam_reference(0.8, 0.99, 1e-6, 0.1, false));
  expect_close(run(adamw()), adam_reference(0.9, 0.999, 1e-8, 0.01, true));
}

TEST(Optim, Schedules) {
  for (int step : {0, 1, 9, 10, 25, 100, 150}) {
    Tensor s = full({}, step, DType::I32);
    EXPECT_NEAR(step_lr(0.1, 10, 0.5, s).item<float>(), 0.1 * std::pow(0.5, step / 10), 1e-7);
    const double c = std::min(step, 100);
    EXPECT_NEAR(cosine_lr(0.1, 100, 0.001, s).item<float>(),
                0.001 + 0.5 * (0.1 - 0.001) * (1 + std::cos(std::numbers::pi * c / 100)), 1e-6);
    EXPECT_NEAR(linear_warmup(0.1, 20, s).item<float>(), 0.1 * std::min(1.0, (step + 1) / 20.0),
                1e-7);
  }
}

TEST(Optim, ClipByGlobalNorm) {
  Params g{{"a", from_data(std::vector<float>{3, 0}, {2})},
           {"b", from_data(std::vector<float>{0, 4}, {2})}};
  auto [clipped, norm] = clip_by_global_norm(g, 1.0);
  EXPECT_NEAR(norm.item<float>(), 5.0, 1e-6);
  EXPECT_NEAR(clipped.at("a").to_vector<float>()[0], 0.6, 1e-6);
  EXPECT_NEAR(clipped.at("b").to_vector<float>()[1], 0.8, 1e-6);
  auto [kept, n2] = clip_by_global_norm(g, 10.0);  // under the limit: unchanged
  EXPECT_NEAR(kept.at("b").to_vector<float>()[1], 4.0, 1e-5);
}

TEST(Optim, TrainingStepsReuseThePlanAsTheRateAndStepChange) {
  // Least squares y = x w + b (w [4, 1], b [1]) with Adam, the rate changing every step.
  std::vector<float> xv(32 * 4), yv(32);
  for (int i = 0; i < 32; ++i) {
    for (int j = 0; j < 4; ++j) xv[i * 4 + j] = std::sin(0.3f * float(i * 4 + j));
    yv[i] = 2 * xv[i * 4] - xv[i * 4 + 1] + 0.5f * xv[i * 4 + 3] + 0.25f;
  }
  Tensor x = from_data(xv, {32, 4}), y = from_data(yv, {32, 1});
  Params p{{"w", zeros({4, 1})}, {"b", zeros({1})}};
  Adam opt;
  OptimizerState s = opt.init(p);
  auto loss_fn = [&](const Params& q) { return mse_loss(add(matmul(x, q.at("w")), q.at("b")), y); };
  std::vector<float> losses;
  Stats before;
  for (int step = 0; step < 6; ++step) {
    if (step == 2) before = stats();
    p = as_input(p);  // the bias (one value) would be inlined by value otherwise
    auto [loss, grads] = value_and_grad(loss_fn, p);
    auto [next, state] = opt.update(p, grads, s, scalar_input(0.1 / (1 + step)));
    eval(loss, next.at("w"), next.at("b"), state.step, state.slots.at("m.w"), state.slots.at("v.w"),
         state.slots.at("m.b"), state.slots.at("v.b"));
    losses.push_back(loss.item<float>());
    p = next;
    s = state;
  }
  const Stats after = stats();
  EXPECT_LT(losses.back(), 0.5f * losses.front());
  // Steps 3 to 6: one plan, reused; no kernel compiled.
  EXPECT_EQ(after.kernels_compiled - before.kernels_compiled, 0);
  EXPECT_GE(after.plans_reused - before.plans_reused, 4);
}

TEST(Optim, BadInputNamesTheProblem) {
  Params p{{"w", zeros({2})}};
  Sgd sgd({.momentum = 0.9});
  OptimizerState s = sgd.init(p);
  expect_error<Error>([&] { sgd.update(p, {}, s, scalar_input(0.1)); },
                      {"no gradient for parameter 'w'"});
  expect_error<ShapeError>([&] { sgd.update(p, p, s, zeros({2})); },
                           {"learning rate", "0-d", "f32[2]"});
  expect_error<Error>([&] { sgd.update(p, p, OptimizerState{}, scalar_input(0.1)); },
                      {"no slot 'momentum.w'"});
}

}  // namespace
}  // namespace kiln
namespace kiln {
namespace {

TEST(Optim, AdamUpdateKernels) {
  // An MLP's parameters (784-256-128-10): the update's kernels per step.
  Params p{{"w0", full({784, 256}, 0.01)}, {"b0", zeros({256})},
           {"w1", full({256, 128}, 0.01)}, {"b1", zeros({128})},
           {"w2", full({128, 10}, 0.01)},  {"b2", zeros({10})}};
  Params g;
  for (const auto& [name, t] : p) g.emplace(name, full_like(t, 0.5));
  Adam opt;
  auto [next, state] = opt.update(as_input(p), as_input(g), opt.init(p), scalar_input(0.01));
  std::vector<Tensor> all;
  for (const auto& [name, t] : next) all.push_back(t);
  for (const auto& [name, t] : state.slots) all.push_back(t);
  all.push_back(state.step);
  const Stats before = stats();
  eval(all);
  const int64_t launches = stats().launches - before.launches;
  // One kernel per parameter (its new value and both moments) and one for the step count.
  RecordProperty("adam_update_launches", static_cast<int>(launches));
  EXPECT_LE(launches, 7);
  EXPECT_NEAR(next.at("w0").to_vector<float>()[0], 0.01 - 0.01, 1e-6);  // first step: lr * sign
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(Optim, ResumingFromACheckpointIsBitForBit) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kiln-ckpt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<float> xv(24);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::cos(0.7f * float(i));
  Tensor x = from_data(xv, {8, 3}), y = from_data(std::vector<float>(8, 1.0f), {8, 1});
  auto loss_fn = [&](const Params& q) { return mse_loss(matmul(x, q.at("w")) + q.at("b"), y); };
  Adam opt({.weight_decay = 0.01});
  auto step = [&](Params& p, OptimizerState& s, int i) {
    p = as_input(p);
    auto [loss, grads] = value_and_grad(loss_fn, p);
    auto [next, state] = opt.update(p, grads, s, scalar_input(0.05 + 0.01 * i));
    std::vector<Tensor> all{state.step};
    for (const auto& [n, t] : next) all.push_back(t);
    for (const auto& [n, t] : state.slots) all.push_back(t);
    eval(all);
    p = next;
    s = state;
  };
  Params start{{"w", full({3, 1}, 0.1)}, {"b", zeros({1})}};
  Params straight = start;
  OptimizerState s1 = opt.init(start);
  for (int i = 0; i < 5; ++i) step(straight, s1, i);
  Params resumed = start;
  OptimizerState s2 = opt.init(start);
  for (int i = 0; i < 2; ++i) step(resumed, s2, i);
  save_checkpoint(dir / "ckpt.safetensors", resumed, s2);
  auto [loaded, s3] = load_checkpoint(dir / "ckpt.safetensors");
  EXPECT_EQ(s3.step.item<int32_t>(), 2);
  for (int i = 2; i < 5; ++i) step(loaded, s3, i);
  for (const char* name : {"w", "b"})
    EXPECT_EQ(loaded.at(name).to_vector<float>(), straight.at(name).to_vector<float>()) << name;
  EXPECT_EQ(s3.slots.at("v.w").to_vector<float>(), s1.slots.at("v.w").to_vector<float>());
  save_safetensors(dir / "other.safetensors", {{"weights", zeros({2})}});
  expect_error<IOError>([&] { load_checkpoint(dir / "other.safetensors"); },
                        {"other.safetensors", "'weights' is not a checkpoint's"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln
