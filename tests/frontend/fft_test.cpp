// kiln::fft / ifft / rfft / irfft / fft2 / ifft2 against closed forms (impulses, complex
// exponentials, Parseval's identity, round trips), NumPy's conventions for n and norm, and
// the errors of bad input. The device suites (tests/runtime/fft_test.cpp) compare every
// backend with the reference DFT.
#include <cmath>
#include <complex>
#include <numbers>
#include <random>

#include "tests/frontend/test_util.h"

namespace kiln::testing {
namespace {

using cf = std::complex<float>;

std::vector<cf> values_of(const Tensor& t) { return t.to_vector<complex64>(); }

void expect_complex(const Tensor& t, const Shape& shape,
                    const std::vector<std::complex<double>>& want, double tol = 1e-4) {
  ASSERT_EQ(t.dtype(), DType::C64) << t.type().str();
  ASSERT_EQ(t.shape(), shape) << t.type().str();
  auto got = values_of(t);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].real(), want[i].real(), tol) << "element " << i;
    EXPECT_NEAR(got[i].imag(), want[i].imag(), tol) << "element " << i;
  }
}

Tensor complex_data(const std::vector<cf>& v, const Shape& s) { return from_data(v, s); }

// Uniform f32 values in [-1, 1] from a fixed seed.
Tensor uniform(const Shape& shape, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(static_cast<size_t>(numel(shape)));
  for (float& x : v) x = dist(engine);
  return from_data(v, shape);
}

std::vector<double> doubles(const Tensor& t) {
  std::vector<double> out;
  for (float v : t.to_vector<float>()) out.push_back(v);
  return out;
}

TEST(FrontendFft, AnImpulseHasAFlatSpectrum) {
  // x = delta at position 3 of 8: X[k] = exp(-2 pi i 3 k / 8).
  std::vector<float> x(8, 0.f);
  x[3] = 1;
  std::vector<std::complex<double>> want;
  for (int k = 0; k < 8; ++k) want.push_back(std::polar(1.0, -2 * std::numbers::pi * 3 * k / 8));
  expect_complex(fft(from_data(x, {8})), {8}, want);
  want.resize(5);
  expect_complex(rfft(from_data(x, {8})), {5}, want);
}

TEST(FrontendFft, AComplexExponentialIsOneFrequency) {
  // x[j] = exp(2 pi i 5 j / 12): fft has 12 at k = 5, 0 elsewhere; ifft of that is x.
  std::vector<cf> x;
  for (int j = 0; j < 12; ++j)
    x.push_back(std::polar(1.f, static_cast<float>(2 * std::numbers::pi * 5 * j / 12)));
  std::vector<std::complex<double>> want(12, 0.0);
  want[5] = 12;
  Tensor X = fft(complex_data(x, {12}));
  expect_complex(X, {12}, want);
  std::vector<std::complex<double>> back(x.begin(), x.end());
  expect_complex(ifft(X), {12}, back);
}

TEST(FrontendFft, CosineHasTwoPeaksAndIrfftInvertsRfft) {
  // cos(2 pi 3 j / 16): rfft is 8 at k = 3; irfft(rfft(x)) == x for even and odd n.
  std::vector<float> x;
  for (int j = 0; j < 16; ++j)
    x.push_back(static_cast<float>(std::cos(2 * std::numbers::pi * 3 * j / 16)));
  std::vector<std::complex<double>> want(9, 0.0);
  want[3] = 8;
  Tensor X = rfft(from_data(x, {16}));
  expect_complex(X, {9}, want);
  std::vector<double> xd(x.begin(), x.end());
  expect_f32(irfft(X), {16}, xd, 1e-5);
  std::vector<float> odd = {0.5f, -1.f, 2.f, 0.25f, 3.f};
  expect_f32(irfft(rfft(from_data(odd, {5})), 5), {5}, {0.5, -1, 2, 0.25, 3}, 1e-5);
}

TEST(FrontendFft, ParsevalHoldsForEveryNorm) {
  Tensor x = uniform({4, 37}, 3);
  const double energy = sum(x * x).item<float>();
  // backward: sum |X|^2 = n sum |x|^2; ortho: equal; forward: sum |x|^2 / n.
  const double n = 37;
  const std::pair<FftNorm, double> norms[] = {
      {FftNorm::Backward, n}, {FftNorm::Ortho, 1}, {FftNorm::Forward, 1 / n}};
  for (auto [norm, scale] : norms) {
    Tensor X = fft(x, -1, -1, norm);
    Tensor a = abs(X);
    EXPECT_NEAR(sum(a * a).item<float>(), energy * scale, 1e-3 * energy * scale);
    // The inverse with the same norm undoes it.
    expect_close(real(ifft(X, -1, -1, norm)), DType::F32, {4, 37}, doubles(x), 1e-4, 1e-4);
  }
}

TEST(FrontendFft, NCropsOrPadsTheAxis) {
  Tensor x = from_data(std::vector<float>{1, 2, 3, 4}, {4});
  // n = 2 crops to [1, 2]: [3, -1]; n = 6 pads with zeros: X[0] = 10.
  expect_complex(fft(x, 2), {2}, {3, -1});
  Tensor padded = fft(x, 6);
  EXPECT_EQ(padded.shape(), Shape({6}));
  EXPECT_NEAR(values_of(padded)[0].real(), 10, 1e-5);
  // irfft's default n is 2 * (m - 1); an odd n needs saying.
  EXPECT_EQ(irfft(rfft(x)).shape(), Shape({4}));
  EXPECT_EQ(irfft(rfft(from_data(std::vector<float>{1, 2, 3}, {3}))).shape(), Shape({2}));
  EXPECT_EQ(rfft(x, 7).shape(), Shape({4}));
}

TEST(FrontendFft, AlongAnyAxisAndInTwoDimensions) {
  Tensor x = uniform({3, 4, 5}, 5);
  // fft along axis 1 equals fft of the transposed last axis.
  Tensor a = fft(x, -1, 1);
  Tensor b = swapaxes(fft(swapaxes(x, 1, 2)), 1, 2);
  expect_close(abs(a - b), DType::F32, {3, 4, 5}, std::vector<double>(60, 0.0), 0, 1e-5);
  // fft2 is two transforms; ifft2 undoes it.
  Tensor f2 = fft2(x);
  Tensor two = fft(fft(x, -1, -1), -1, -2);
  expect_close(abs(f2 - two), DType::F32, {3, 4, 5}, std::vector<double>(60, 0.0), 0, 1e-5);
  expect_close(real(ifft2(f2)), DType::F32, {3, 4, 5}, doubles(x), 1e-5, 1e-5);
  // Integer input is cast to c64.
  EXPECT_EQ(fft(arange(4)).dtype(), DType::C64);
}

TEST(FrontendFft, BadInputNamesTheOp) {
  Tensor c = fft(from_data(std::vector<float>{1, 2}, {2}));
  expect_error<DTypeError>([&] { rfft(c); }, {"rfft", "complex", "c64[2]"});
  Tensor x = from_data(std::vector<float>{1, 2, 3}, {3});
  expect_error<ShapeError>([&] { fft(x, 0); }, {"fft", "n = 0", "n >= 1"});
  expect_error<ShapeError>([&] { irfft(from_data(std::vector<float>{1}, {1})); },
                           {"irfft", "n >= 1"});
  expect_error<AxisError>([&] { ifft(x, -1, 1); }, {"ifft", "axis"});
  expect_error<AxisError>([&] { rfft(x, -1, -2); }, {"rfft", "axis"});
  expect_error<AxisError>([&] { fft2(x); }, {"fft2", "axis"});
  expect_error<ShapeError>([&] { fft(zeros({2, 0})); }, {"fft", "n >= 1"});
}

// The long convolution in double, straight from its definition (fftconv's header comment).
std::vector<double> direct_conv(const std::vector<float>& u, const std::vector<float>& k,
                                const std::vector<float>* k_rev, const std::vector<float>& D,
                                int64_t b, int64_t h, int64_t l, int64_t lk, bool gelu_after) {
  std::vector<double> y(static_cast<size_t>(b * h * l));
  for (int64_t n = 0; n < b; ++n)
    for (int64_t c = 0; c < h; ++c)
      for (int64_t t = 0; t < l; ++t) {
        const float* row = &u[static_cast<size_t>((n * h + c) * l)];
        double acc = row[t] * static_cast<double>(D[static_cast<size_t>(c)]);
        for (int64_t s = 0; s <= t; ++s)
          if (t - s < lk)
            acc += row[s] * static_cast<double>(k[static_cast<size_t>(c * lk + t - s)]);
        if (k_rev)
          for (int64_t s = t; s < l; ++s)
            if (s - t < lk)
              acc += row[s] * static_cast<double>((*k_rev)[static_cast<size_t>(c * lk + s - t)]);
        if (gelu_after) acc = 0.5 * acc * (1 + std::erf(acc / std::sqrt(2.0)));
        y[static_cast<size_t>((n * h + c) * l + t)] = acc;
      }
  return y;
}

std::vector<float> floats(const Tensor& t) { return t.to_vector<float>(); }

TEST(FrontendFftConv, MatchesTheDirectConvolution) {
  const int64_t b = 2, h = 3, l = 37;
  for (int64_t lk : {int64_t{5}, l, int64_t{50}}) {
    SCOPED_TRACE("l_k = " + std::to_string(lk));
    Tensor u = uniform({b, h, l}, 1), k = uniform({h, lk}, 2), D = uniform({h}, 3);
    auto want = direct_conv(floats(u), floats(k), nullptr, floats(D), b, h, l, lk, false);
    expect_close(fftconv(u, k, D), DType::F32, {b, h, l}, want, 1e-4, 1e-4);
    // Without the skip term.
    auto plain =
        direct_conv(floats(u), floats(k), nullptr, std::vector<float>(h, 0), b, h, l, lk, false);
    expect_close(conv1d_fft(u, k), DType::F32, {b, h, l}, plain, 1e-4, 1e-4);
    expect_close(conv1d_fft_with_bias(u, k, D), DType::F32, {b, h, l}, want, 1e-4, 1e-4);
  }
}

TEST(FrontendFftConv, BidirectionalGeluGateAndChannelsLast) {
  const int64_t b = 2, h = 4, l = 24, lk = 24;
  Tensor u = uniform({b, h, l}, 4), k = uniform({h, lk}, 5), kr = uniform({h, lk}, 6);
  Tensor D = uniform({h}, 7), gate = uniform({b, h, l}, 8);
  auto fkr = floats(kr);
  auto want = direct_conv(floats(u), floats(k), &fkr, floats(D), b, h, l, lk, true);
  auto g = floats(gate);
  for (size_t i = 0; i < want.size(); ++i) want[i] *= g[i];
  Tensor y = fftconv(u, k, D, {.k_rev = kr, .gelu = true, .gate = gate});
  expect_close(y, DType::F32, {b, h, l}, want, 1e-4, 1e-4);
  // The same through [b, l, h] views: the result comes back in that layout.
  Tensor ul = swapaxes(u, 1, 2), gl = swapaxes(gate, 1, 2);
  Tensor yl = fftconv(ul, k, D,
                      {.k_rev = kr, .gelu = true, .gate = gl, .layout = ConvLayout::ChannelsLast});
  expect_close(swapaxes(yl, 1, 2), DType::F32, {b, h, l}, want, 1e-4, 1e-4);
}

TEST(FrontendFftConv, BadInputNamesTheFunction) {
  Tensor u = zeros({2, 3, 8});
  expect_error<ShapeError>(
      [&] {
        fftconv(zeros({3, 8}), zeros({3, 8}), zeros({3}));
      },
      {"fftconv", "[b, h, l]"});
  expect_error<ShapeError>(
      [&] {
        fftconv(u, zeros({4, 8}), zeros({3}));
      },
      {"fftconv", "kernel", "h = 3"});
  expect_error<ShapeError>(
      [&] {
        fftconv(u, zeros({3, 8}), zeros({2}));
      },
      {"fftconv", "D", "h = 3"});
  expect_error<ShapeError>([&] { conv1d_fft(u, zeros({3, 0})); }, {"conv1d_fft", "l_k >= 1"});
  expect_error<DTypeError>([&] { conv1d_fft(fft(u), zeros({3, 4})); }, {"conv1d_fft", "complex"});
}

// The kernels of M2-BERT's mixer: rfft of the kernel; rfft of u (the zero padding read in
// place) with the product of the spectra fused into its stores; irfft of that product with
// the crop, skip term, gelu and gate fused into its stores.
TEST(FrontendFftConv, RunsAsThreeKernels) {
  Tensor u = uniform({2, 4, 64}, 1), k = uniform({4, 64}, 2), D = uniform({4}, 3),
         g = uniform({2, 4, 64}, 4);
  eval({u, k, D, g});
  reset_stats();
  Tensor y = fftconv(u, k, D, {.gelu = true, .gate = g});
  eval({y});
  EXPECT_EQ(stats().launches, 3);
}

}  // namespace
}  // namespace kiln::testing
