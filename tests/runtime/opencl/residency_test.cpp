// Values that stay on the OpenCL device: results are read back only when the host asks for
// them, results fed to later evals are never uploaded, kiln::stats() counts every byte
// that crosses the bus, and a training loop's steps after the first copy only the batch in
// and the loss out.
#include <gmock/gmock.h>

#include <optional>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

TEST(OpenCLResidency, ResultsAreReadBackOnlyWhenTheHostAsks) {
  KILN_REQUIRE_OPENCL(device);
  DeviceGuard on(device);
  Tensor x = from_data<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  reset_stats();
  Tensor y = x * 2.0f + 1.0f;
  eval({y});
  EXPECT_EQ(stats().bytes_host_to_device, 8 * 4) << "x is uploaded once";
  EXPECT_EQ(stats().bytes_device_to_host, 0) << "nothing asked for y yet";
  ASSERT_TRUE(y.node()->buffer);
  EXPECT_FALSE(y.node()->buffer->on_host());

  // y feeds another eval: it is used where it is.
  Tensor z = sum(y * y, 1);
  eval({z});
  EXPECT_EQ(stats().bytes_host_to_device, 8 * 4);
  EXPECT_EQ(stats().bytes_device_to_host, 0);

  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{9 + 25 + 49 + 81, 121 + 169 + 225 + 289}));
  EXPECT_EQ(stats().bytes_device_to_host, 2 * 4);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3, 5, 7, 9, 11, 13, 15, 17}));
  EXPECT_EQ(stats().bytes_device_to_host, 2 * 4 + 8 * 4);
  EXPECT_TRUE(y.node()->buffer->on_host());
  // Read once: asking again copies nothing.
  EXPECT_EQ(y.to_vector<float>().back(), 17.0f);
  EXPECT_EQ(stats().bytes_device_to_host, 2 * 4 + 8 * 4);
  // Read back, it is still the device's copy: no upload either.
  Tensor w = y - 1.0f;
  eval({w});
  EXPECT_EQ(stats().bytes_host_to_device, 8 * 4);
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12, 14, 16}));
}

TEST(OpenCLResidency, SmallResultsOnTheDeviceAreInputsNotReadBack) {
  KILN_REQUIRE_OPENCL(device);
  DeviceGuard on(device);
  Tensor s = sum(from_data<float>({1, 2, 3, 4}), 0);  // a scalar, small enough to inline
  eval({s});
  reset_stats();
  Tensor t = s * 3.0f;
  eval({t});
  EXPECT_EQ(stats().bytes_device_to_host, 0) << "the scalar was read back to inline it";
  EXPECT_EQ(t.item<float>(), 30.0f);
}

TEST(OpenCLResidency, ResultsOutliveTheirDeviceAndMoveToOthers) {
  KILN_REQUIRE_OPENCL(device);
  std::optional<Tensor> y;
  {
    auto own = std::make_shared<runtime::opencl::OpenCLDevice>(device->info());
    y = from_data<float>({1, 2, 3}) * 4.0f;
    eval(own, {*y});
  }
  // Another device (the default one, or a second context) takes it through the host.
  Tensor z = *y + 1.0f;
  eval(device, {z});
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{5, 9, 13}));
  EXPECT_EQ(y->to_vector<float>(), (std::vector<float>{4, 8, 12}));
}

// A small MLP trained with Adam, as the Fashion-MNIST example does it.
struct Step {
  Params params;
  OptimizerState state;
};

std::vector<float> train(const std::shared_ptr<runtime::Device>& device, int steps,
                         std::vector<Stats>* per_step = nullptr) {
  DeviceGuard on(device);
  Params p;
  p.insert_or_assign("w1", uniform(Key(1), {12, 16}, DType::F32, -0.3, 0.3));
  p.insert_or_assign("b1", zeros({16}));
  p.insert_or_assign("w2", uniform(Key(2), {16, 3}, DType::F32, -0.3, 0.3));
  p.insert_or_assign("b2", zeros({3}));
  Adam opt;
  OptimizerState state = opt.init(p);
  std::vector<Tensor> initial{state.step};
  for (const auto& [name, t] : p) initial.push_back(t);
  for (const auto& [name, t] : state.slots) initial.push_back(t);
  eval(initial);                         // so that the first step's graph is every step's graph
  const Tensor lr = scalar_input(0.01);  // one buffer for every step: uploaded once
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) {
    // A fresh batch from the host each step, like a data loader.
    std::vector<float> xs(32 * 12);
    std::vector<int32_t> ys(32);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 7 + s) % 11) / 11.0f;
    for (size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<int32_t>((i + s) % 3);
    const Tensor x = from_data(xs, {32, 12}), y = from_data(ys);
    const Stats before = stats();
    p = as_input(p);
    auto [loss, grads] = value_and_grad(
        [&](const Params& q) {
          Tensor h = relu(matmul(x, q.at("w1")) + q.at("b1"));
          return cross_entropy(matmul(h, q.at("w2")) + q.at("b2"), y);
        },
        p);
    std::tie(p, state) = opt.update(p, grads, state, lr);
    std::vector<Tensor> results{loss, state.step};
    for (const auto& [name, t] : p) results.push_back(t);
    for (const auto& [name, t] : state.slots) results.push_back(t);
    eval(results);
    losses.push_back(loss.item<float>());
    if (per_step) {
      Stats d = stats();
      d.bytes_host_to_device -= before.bytes_host_to_device;
      d.bytes_device_to_host -= before.bytes_device_to_host;
      d.kernels_compiled -= before.kernels_compiled;
      per_step->push_back(d);
    }
  }
  return losses;
}

TEST(OpenCLResidency, TrainingStepsCopyOnlyTheBatchInAndTheLossOut) {
  KILN_REQUIRE_OPENCL(device);
  std::vector<Stats> steps;
  const std::vector<float> got = train(device, 5, &steps);
  const std::vector<float> want = train(std::make_shared<runtime::ReferenceDevice>(), 5);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << "step " << i;
  EXPECT_LT(got.back(), got.front()) << "the loss does not fall";
  const int64_t batch_bytes = 32 * 12 * 4 + 32 * 4;  // x (f32) and y (i32)
  for (size_t s = 1; s < steps.size(); ++s) {
    EXPECT_EQ(steps[s].bytes_host_to_device, batch_bytes) << "step " << s + 1;
    EXPECT_EQ(steps[s].bytes_device_to_host, 4) << "step " << s + 1;  // the loss
    EXPECT_EQ(steps[s].kernels_compiled, 0) << "step " << s + 1;
  }
}

}  // namespace
}  // namespace kiln::testing
