// The workloads of bench/compare (shared/BENCH.md), built with kiln's public API, plus
// the C++ peers that run in-process (Eigen, OpenBLAS where the build links it) and the
// limits results are read against (a streaming copy and a read stream for bandwidth, a
// register-only FMA loop for compute). Inputs are a deterministic hash of the element
// index, so every implementation, in C++ or Python (bench/compare.py), computes on
// identical data and their results can be compared before any time is trusted.
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

// A problem size. The bandwidth workloads and dispatch read rows and cols (the shape of
// their main input); the contraction workloads (sgemm, gemm_bias_gelu, sgemm_small,
// dwconv1d, conv2d) read dims, whose meaning each names in workload() (empty: their
// CPU size).
struct Problem {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> dims = {};
  // The ONNX model of the onnx_* workloads (kiln_bench --model).
  std::string model = {};
  int64_t numel() const { return rows * cols; }
};

// A command line's dims: "2048,2048,2048" -> {2048, 2048, 2048}.
std::vector<int64_t> parse_dims(const std::string& text);

// Three summaries of a result, computed the same way by bench/compare.py: the plain sum
// (which a transposed or permuted result would pass), a sum weighted by (i % 7) - 3 over
// the flat index i (which it would not), and the sum of magnitudes (the scale a tolerance
// is taken against).
struct Checksum {
  double sum = 0;
  double weighted = 0;
  double magnitude = 0;
};
Checksum checksum_of(const float* p, int64_t n);

// One timed implementation of a workload: `run` computes the result once (synchronously)
// and `checksum` summarizes the last result.
struct Impl {
  std::string name;  // "kiln", "kiln_exec", "eigen", "openblas", "limit", "read_limit"
  std::function<void()> run;
  std::function<Checksum()> checksum;
  double bytes = 0;  // memory traffic of one run (for GB/s)
  double flops = 0;  // arithmetic of one run (for GFLOP/s)
  std::string note;  // what the implementation is, where that is not obvious
};

// One input of a workload: (make_input(numel, salt) + shift) * scale, in `shape`.
struct Operand {
  Shape shape;
  uint64_t salt = 1;
  float shift = 0;
  float scale = 1;
  std::vector<float> values() const;
};

// What bounds a workload, and so which limit it is read against: the copy bandwidth, the
// FMA peak, or neither (launch and call overheads: dispatch, sgemm_small).
enum class Bound { Bandwidth, Compute, Latency };

// A workload's kiln graph, built from its operands, with the bytes it moves (each byte
// read or written once) and the arithmetic it does. Every backend's benchmark builds its
// graphs here.
struct Workload {
  double bytes = 0;
  double flops = 0;
  std::vector<Operand> operands;
  std::function<Tensor(const std::vector<Tensor>& operands)> build;
  Bound bound = Bound::Bandwidth;
  // A GEMM or a convolution: timed as a prepared executable too (make_impls).
  bool contraction = false;
  // How the graph expresses the computation, where there is a choice (the convolutions).
  std::string variant;
};

// "ew_chain", "sum_full", "sum_rows", "softmax", "layernorm" or "dispatch" (operands x
// [rows, cols], b [cols], w [cols]), one of the contraction workloads on its dims, or an
// ONNX model's forward pass (onnx_cnn, onnx_transformer: the model file, its one input).
// Throws kiln::Error for an unknown name or a wrong number of dims.
Workload workload(const std::string& name, const Problem& problem);

// The workload's operands as kiln tensors.
std::vector<Tensor> make_operands(const Workload& workload);

// The in-process implementations of workload `name` at `problem` size: kiln, a prepared
// kiln executable for the contraction workloads ("kiln_exec": inputs resident, only the
// kernels run, as a BLAS call runs), Eigen and OpenBLAS where they have one, and the
// limit: a copy ("limit") for bandwidth workloads, and for the read-only sums a read
// stream ("read_limit") too; the FMA peak ("limit") for compute-bound ones. Workload
// "copy" gives only the copy, "read" only the read stream, "peak" only the FMA peak.
std::vector<Impl> make_impls(const std::string& name, const Problem& problem);

// What the in-process BLAS peer runs on ("" when the build has none): OpenBLAS's core
// name and configuration, for the report.
std::string openblas_description();

}  // namespace kiln::bench
