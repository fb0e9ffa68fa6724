// Gradients through Fourier transforms: fftconv (the layer of Hyena and M2-BERT's sequence
// mixers) against central differences, with respect to its input, both kernels and the skip
// term, and a few steps of training one that fit a target convolution.
#include <gtest/gtest.h>

#include "tests/autodiff/gradcheck.h"

namespace kiln {
namespace {

using testing::Sample;

class FftConvGrad : public ::testing::Test {
 protected:
  DeviceGuard device_{runtime::make_device("reference")};
};

TEST_F(FftConvGrad, MatchesCentralDifferences) {
  testing::Rng r(11);
  const int64_t b = 2, h = 2, l = 6;
  Sample s{{r.uniform({b, h, l}, -1, 1), r.uniform({h, l}, -1, 1), r.uniform({h, l}, -1, 1),
            r.uniform({h}, -1, 1), r.uniform({b, h, l}, -1, 1)},
           [](const std::vector<Tensor>& x) {
             auto f32 = [](const Tensor& t) { return cast(t, DType::F32); };
             Tensor y = fftconv(f32(x[0]), f32(x[1]), f32(x[3]),
                                {.k_rev = f32(x[2]), .gelu = true, .gate = f32(x[4])});
             return cast(y, DType::F64);
           },
           2e-3,
           1e-2};
  testing::check_vjp(s);
}

// On the default device: the gradient graph compiles like any other.
TEST(FftConvTraining, RecoversAKernel) {
  // Fit k so that conv1d_fft(u, k) matches a target kernel's output: the loss falls by
  // orders of magnitude with plain gradient descent.
  testing::Rng r(12);
  const int64_t b = 4, h = 2, l = 16;
  Tensor u = cast(r.uniform({b, h, l}, -1, 1), DType::F32);
  Tensor target_k = cast(r.uniform({h, l}, -0.5, 0.5), DType::F32);
  Tensor target = conv1d_fft(u, target_k);
  eval({target});
  Tensor k = zeros({h, l});
  auto loss_of = [&](const std::vector<Tensor>& p) {
    Tensor d = conv1d_fft(u, p[0]) - target;
    return mean(d * d);
  };
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    auto [loss, grads] = value_and_grad(loss_of)({k});
    k = k - 0.5 * grads[0];
    eval({k, loss});
    if (step == 0) first = loss.item<float>();
    last = loss.item<float>();
  }
  EXPECT_LT(last, first * 1e-2) << "first " << first << ", last " << last;
}

}  // namespace
}  // namespace kiln
