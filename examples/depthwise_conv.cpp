// The depthwise 3-tap convolution of the kernel-writing guide, as a custom OpenCL kernel
// inside a lazy graph: its input comes from a fused kernel, its output feeds one, and
// nothing leaves the graph until the final eval. The same convolution composed from ops
// checks it. Runs on the default device (KILN_DEVICE); custom kernels need an OpenCL
// device there (PoCL on the CPU).
//
//   build/examples/kiln_depthwise_conv      exit 0: matches; 1: mismatch; 77: no OpenCL
#include <kiln/custom_kernel.h>
#include <kiln/kiln.h>

#include <cmath>
#include <cstdio>
#include <vector>

using namespace kiln;

// y[c, i] = sum_k w[c, k] * x[c, i + k - TAPS/2], zero outside the row.
Tensor depthwise_conv(const Tensor& x, const Tensor& w) {
  return custom_kernel({.name = "depthwise_conv",
                        .source = R"(
                          const long i = get_global_id(0), c = get_global_id(1);
                          float acc = 0.0f;
                          for (int k = 0; k < TAPS; ++k) {
                            const long j = i + k - TAPS / 2;
                            if (j >= 0 && j < x_shape[1])
                              acc += w[c * w_stride[0] + k] * x[c * x_stride[0] + j];
                          }
                          y[c * y_stride[0] + i] = acc;)",
                        .inputs = {{"x", x}, {"w", w}},
                        .outputs = {{"y", x.shape(), DType::F32}},
                        .grid = {x.shape(1), x.shape(0)},
                        .params = {{"TAPS", "3"}}})[0];
}

// The same from pad, slice and arithmetic.
Tensor depthwise_conv_ops(const Tensor& x, const Tensor& w) {
  const int64_t n = x.shape(1);
  Tensor p = pad(x, {{0, 0}, {1, 1}}, 0.0f);
  Tensor y = slice(w, 1, 0, 1) * slice(p, 1, 0, n);
  y = y + slice(w, 1, 1, 2) * slice(p, 1, 1, n + 1);
  return y + slice(w, 1, 2, 3) * slice(p, 1, 2, n + 2);
}

int main() {
  const int64_t channels = 64, length = 1000;
  std::vector<float> xs(channels * length), ws(channels * 3);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.01f * static_cast<float>(i));
  for (size_t i = 0; i < ws.size(); ++i) ws[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  Tensor x = from_data(xs, {channels, length}) * 2.0 - 1.0;  // lazy: a fused kernel first
  Tensor w = from_data(ws, {channels, 3});

  Tensor mine = relu(depthwise_conv(x, w)) + 1.0;  // the custom output feeds a fused kernel
  Tensor want = relu(depthwise_conv_ops(x, w)) + 1.0;
  Tensor err = max(abs(mine - want));
  try {
    eval(mine, want, err);
  } catch (const UnsupportedError& e) {
    std::printf("skipped: %s\n", e.what());
    return 77;
  }
  const float e = err.item<float>();
  const std::vector<float> y = mine.to_vector<float>();
  std::printf("depthwise_conv on %s: y[0, :4] = %.5f %.5f %.5f %.5f, max |custom - ops| = %.3g\n",
              current_device()->name().c_str(), y[0], y[1], y[2], y[3], e);
  return e <= 1e-5f ? 0 : 1;
}
