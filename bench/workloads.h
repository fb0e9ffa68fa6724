// The workloads of bench/compare (shared/BENCH.md), built with kiln's public API, plus
// the C++ peers that run in-process (Eigen, a streaming copy for the bandwidth limit).
// Inputs are a deterministic hash of the element index, so every implementation, in C++
// or Python (bench/compare.py), computes on identical data and their results can be
// compared before any time is trusted.
#pragma once

#include <kiln/kiln.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln::bench {

// Element i of a benchmark input: a value in [-0.5, 0.5) (bench/compare.py mirrors this).
float input_value(uint64_t i, uint64_t salt);
std::vector<float> make_input(int64_t n, uint64_t salt);

// Layers of the `dispatch` workload (a small MLP step).
constexpr int kDispatchLayers = 33;

// A problem size: the shape of the main input.
struct Problem {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t numel() const { return rows * cols; }
};

// One timed implementation of a workload: `run` computes the result once (synchronously)
// and `checksum` summarizes the last result (sum of all elements, in double).
struct Impl {
  std::string name;  // "kiln", "eigen", "limit", "read_limit"
  std::function<void()> run;
  std::function<double()> checksum;
  double bytes = 0;  // memory traffic of one run (for GB/s)
  double flops = 0;  // arithmetic of one run (for GFLOP/s)
};

// A workload's kiln graph, built from its inputs x [rows, cols] and b, w [cols] (values
// from make_input, w shifted by 1), with the bytes it moves (each byte read or written
// once) and the arithmetic it does. Every backend's benchmark builds its graphs here.
struct Workload {
  double bytes = 0;
  double flops = 0;
  std::function<Tensor(const Tensor& x, const Tensor& b, const Tensor& w)> build;
};

// "ew_chain", "sum_full", "sum_rows", "softmax", "layernorm" or "dispatch" at `problem`
// size. Throws kiln::Error for an unknown name.
Workload workload(const std::string& name, const Problem& problem);

// The in-process implementations of workload `name` at `problem` size: kiln, Eigen where
// it has one, and the bandwidth limit: a copy ("limit"), and for the read-only sums a read
// stream ("read_limit") too (only the copy for "copy", only the read stream for "read").
std::vector<Impl> make_impls(const std::string& name, const Problem& problem);

}  // namespace kiln::bench
