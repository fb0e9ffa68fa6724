// Times convolutions on the default device (KILN_DEVICE; the CPU JIT when it is built)
// against the machine's copy bandwidth, measured in the same run: the depthwise causal
// conv1d of the library-kernel workloads (x [8, 1024, 8192], k = 4), whose floor is one
// read of x and one write of the result, and a dense conv2d (batch 8, 64 -> 64 channels,
// 56x56, 3x3, padding 1) in GFLOP/s. A measurement aid beside bench/, which holds the
// official workloads.
//
//   build/examples/kiln_conv_speed [reps]
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

using namespace kiln;

namespace {

// The fastest of `reps` runs of f, in seconds.
double best_of(int reps, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// A STREAM-style copy of n floats with every hardware thread taking one contiguous part.
void parallel_copy(const float* src, float* dst, int64_t n) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  int64_t chunk = (n + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    int64_t lo = std::min<int64_t>(n, t * chunk), hi = std::min<int64_t>(n, lo + chunk);
    pool.emplace_back([=] { std::memcpy(dst + lo, src + lo, static_cast<size_t>(hi - lo) * 4); });
  }
  for (auto& th : pool) th.join();
}

Tensor filled_uniform(const Shape& shape, uint64_t seed) {
  Tensor t = uniform(Key(seed), shape, DType::F32, -1.0, 1.0);
  eval(t);  // materialized: the timed graphs read it as an input
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  std::printf("device: %s\n", current_device()->name().c_str());

  // dwconv1d against the copy of as many bytes.
  const Shape xs = {8, 1024, 8192};
  const int64_t n = numel(xs);
  Tensor x = filled_uniform(xs, 1);
  Tensor w = filled_uniform({1024, 1, 4}, 2);
  const ConvOptions dw = {.padding = ConvPadding::causal(), .groups = 1024};
  auto run_dw = [&] {
    Tensor y = conv1d(x, w, dw);
    eval(y);
  };
  run_dw();  // compiles
  std::vector<float> src(static_cast<size_t>(n), 1.0f), dst(static_cast<size_t>(n));
  parallel_copy(src.data(), dst.data(), n);  // first touch
  double t_copy = 1e30, t_dw = 1e30;
  for (int r = 0; r < reps; ++r) {  // interleaved, so that both see the same load
    t_copy = std::min(t_copy, best_of(1, [&] { parallel_copy(src.data(), dst.data(), n); }));
    t_dw = std::min(t_dw, best_of(1, run_dw));
  }
  const double bytes = 2.0 * static_cast<double>(n) * 4;
  std::printf("copy      %8.2f ms  %6.2f GB/s\n", t_copy * 1e3, bytes / t_copy / 1e9);
  std::printf("dwconv1d  %8.2f ms  %6.2f GB/s  = %.2f of the copy bandwidth\n", t_dw * 1e3,
              bytes / t_dw / 1e9, t_copy / t_dw);

  // conv2d, and the matmul of the same GEMM shape (M = 64, N = 8 * 56 * 56, K = 64 * 9).
  Tensor a = filled_uniform({8, 64, 56, 56}, 3);
  Tensor k = filled_uniform({64, 64, 3, 3}, 4);
  auto run_conv2d = [&] {
    Tensor y = conv2d(a, k, {.padding = 1});
    eval(y);
  };
  run_conv2d();
  const double t_c2 = best_of(reps, run_conv2d);
  const double flops = 2.0 * 8 * 64 * 56 * 56 * 64 * 9;
  std::printf("conv2d    %8.2f ms  %6.2f GFLOP/s\n", t_c2 * 1e3, flops / t_c2 / 1e9);
  Tensor ga = filled_uniform({64, 576}, 5);
  Tensor gb = filled_uniform({576, 8 * 56 * 56}, 6);
  auto run_mm = [&] {
    Tensor y = matmul(ga, gb);
    eval(y);
  };
  run_mm();
  const double t_mm = best_of(reps, run_mm);
  std::printf("matmul    %8.2f ms  %6.2f GFLOP/s  (the same M, N, K as a GEMM)\n", t_mm * 1e3,
              flops / t_mm / 1e9);
  return 0;
}
