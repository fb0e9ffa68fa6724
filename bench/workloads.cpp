// Workload definitions for bench/compare: kiln through its public API, the in-process
// peers (Eigen; OpenBLAS's cblas_sgemm where the build links it), and the limits: the
// streaming copy and read stream of the memory bandwidth, the FMA loop of the arithmetic.
#include "workloads.h"

#include <kiln/bert.h>
#include <kiln/m2.h>
#ifdef KILN_HAS_ONNX
#include <kiln/onnx.h>
#endif

#ifdef KILN_HAS_LLVM
#include "runtime/cpu/thread_pool.h"
#endif
#include "frontend/evaluate.h"
#include "runtime/driver.h"

#ifdef KILN_BENCH_OPENBLAS
#include <cblas.h>
#endif

#include <immintrin.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <thread>

namespace kiln::bench {

float input_value(uint64_t i, uint64_t salt) {
  uint64_t h = (i * 2654435761u + salt * 40503u) % 1000u;
  return static_cast<float>(h) / 1000.0f - 0.5f;
}

std::vector<float> make_input(int64_t n, uint64_t salt) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = input_value(i, salt);
  return v;
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  for (size_t start = 0; start <= text.size();) {
    size_t end = std::min(text.find(',', start), text.size());
    dims.push_back(std::stoll(text.substr(start, end - start)));
    start = end + 1;
  }
  return dims;
}

Checksum checksum_of(const float* p, int64_t n) {
  Checksum c;
  for (int64_t i = 0; i < n; ++i) {
    c.sum += p[i];
    c.weighted += p[i] * static_cast<double>(i % 7 - 3);
    c.magnitude += std::abs(static_cast<double>(p[i]));
  }
  return c;
}

std::vector<float> Operand::values() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v = make_input(n, salt);
  if (shift != 0 || scale != 1)
    for (float& e : v) e = (e + shift) * scale;
  return v;
}

std::vector<Tensor> make_operands(const Workload& workload) {
  std::vector<Tensor> out;
  for (const Operand& o : workload.operands) out.push_back(from_data(o.values(), o.shape));
  return out;
}

namespace {

using RowArray = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Array<float, 1, Eigen::Dynamic>;
using ColVector = Eigen::Array<float, Eigen::Dynamic, 1>;

// The threads every limit runs on: kiln's pool size (KILN_NUM_THREADS, else the hardware's).
unsigned bench_threads() {
  if (const char* env = std::getenv("KILN_NUM_THREADS"))
    if (int n = std::atoi(env); n > 0) return static_cast<unsigned>(n);
  return std::max(1u, std::thread::hardware_concurrency());
}

// The inputs every implementation of a workload shares: the operands' values, in order.
struct Inputs {
  Problem p;
  Workload w;
  std::vector<std::vector<float>> values;
  Inputs(const Problem& problem, Workload workload) : p(problem), w(std::move(workload)) {
    for (const Operand& o : w.operands) values.push_back(o.values());
  }
  const std::vector<float>& x() const { return values.at(0); }
  int64_t numel(size_t operand) const { return static_cast<int64_t>(values.at(operand).size()); }
};

// The kiln implementation: the whole eval (graph capture, passes, cached plan, allocation
// of the result, the run).
Impl kiln_impl(std::shared_ptr<Inputs> in) {
  auto operands = std::make_shared<std::vector<Tensor>>();
  for (size_t i = 0; i < in->values.size(); ++i)
    operands->push_back(from_data(in->values[i], in->w.operands[i].shape));
  auto last = std::make_shared<std::optional<Tensor>>();
  Impl impl;
  impl.name = "kiln";
  impl.bytes = in->w.bytes;
  impl.flops = in->w.flops;
  impl.note = in->w.variant;
  impl.run = [=, build = in->w.build] {
    Tensor y = build(*operands);
    AllowSyncGuard allow;
    eval(y);
    *last = y;
  };
  impl.checksum = [=] {
    AllowSyncGuard allow;
    // A complex result is summarized as its interleaved parts (as the peers store it).
    if ((*last)->dtype() == DType::C64) {
      auto v = (*last)->to_vector<complex64>();
      return checksum_of(reinterpret_cast<const float*>(v.data()),
                         2 * static_cast<int64_t>(v.size()));
    }
    auto v = (*last)->to_vector<float>();
    return checksum_of(v.data(), static_cast<int64_t>(v.size()));
  };
  return impl;
}

// kiln's graph prepared once on the current device (kernels compiled, inputs copied in)
// at its first run, after kiln's own row has compiled it: each later run launches the
// kernels and waits, the footing of a BLAS call on resident data.
Impl kiln_exec_impl(std::shared_ptr<Inputs> in) {
  if (current_device()->interprets()) return {};  // no prepared executables there
  struct Prepared {
    std::shared_ptr<runtime::Device> device;  // outlives the executable, which refers to it
    frontend::Extraction graph;
    std::unique_ptr<runtime::Executable> exe;
  };
  auto prepared = std::make_shared<Prepared>();
  Impl impl;
  impl.name = "kiln_exec";
  impl.bytes = in->w.bytes;
  impl.flops = in->w.flops;
  impl.note = in->w.variant;
  impl.run = [in, prepared] {
    if (!prepared->exe) {
      std::vector<Tensor> operands;
      for (size_t i = 0; i < in->values.size(); ++i)
        operands.push_back(from_data(in->values[i], in->w.operands[i].shape));
      Tensor y = in->w.build(operands);
      prepared->device = current_device();
      prepared->graph = frontend::extract_graph({y.node()}, false);
      prepared->exe =
          runtime::prepare(*prepared->device, prepared->graph.graph, prepared->graph.inputs);
    }
    prepared->exe->enqueue();
    prepared->exe->finish();
  };
  impl.checksum = [prepared] {
    BufferPtr r = prepared->exe->read_results().at(0);
    return checksum_of(r->as<float>(), r->nbytes() / static_cast<int64_t>(sizeof(float)));
  };
  return impl;
}

// An in-process peer writing into `out`, a buffer of out_size floats.
Impl peer_impl(const std::string& name, std::shared_ptr<Inputs> in, int64_t out_size,
               std::function<void(const Inputs&, float* out)> compute) {
  auto out = std::make_shared<std::vector<float>>(static_cast<size_t>(out_size));
  Impl impl;
  impl.name = name;
  impl.bytes = in->w.bytes;
  impl.flops = in->w.flops;
  impl.run = [=] { compute(*in, out->data()); };
  impl.checksum = [=] { return checksum_of(out->data(), out_size); };
  return impl;
}

// How the limit copies: memcpy (glibc picks its own strategy), a plain loop (ordinary
// stores, through the caches), or a loop of non-temporal stores (past the caches, as kiln's
// kernels store large outputs).
enum class CopyKind { Memcpy, Loop, Stream };

void copy_part(const float* src, float* dst, int64_t lo, int64_t hi, CopyKind kind) {
  switch (kind) {
    case CopyKind::Memcpy:
      std::memcpy(dst + lo, src + lo, static_cast<size_t>(hi - lo) * sizeof(float));
      return;
    case CopyKind::Stream:
#ifdef __AVX512F__
      // Both buffers are 64-byte aligned; parts start at multiples of 16 floats.
      for (; lo + 16 <= hi; lo += 16) _mm512_stream_ps(dst + lo, _mm512_load_ps(src + lo));
      _mm_sfence();
#endif
      [[fallthrough]];
    case CopyKind::Loop:
      for (int64_t i = lo; i < hi; ++i) dst[i] = src[i];
      return;
  }
}

// Copies src to dst with every hardware thread taking one contiguous part (STREAM copy).
void parallel_copy(const float* src, float* dst, int64_t n, CopyKind kind) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  int64_t chunk = ((n + threads - 1) / threads + 15) / 16 * 16;
  for (unsigned t = 0; t < threads; ++t) {
    int64_t lo = std::min<int64_t>(n, t * chunk), hi = std::min<int64_t>(n, lo + chunk);
    pool.emplace_back([=] { copy_part(src, dst, lo, hi, kind); });
  }
  for (auto& th : pool) th.join();
}

// The bandwidth limit: the fastest of the copies on this machine (each timed thrice),
// between buffers from kiln's host allocator, so that both sides get the same pages (2 MiB
// pages where the system grants them; 4 KiB ones cost the copy 10-15% in TLB misses).
Impl copy_limit(std::shared_ptr<Inputs> in) {
  int64_t n = in->numel(0);
  auto src = std::make_shared<Buffer>(Type{DType::F32, {n}});
  auto dst = std::make_shared<Buffer>(Type{DType::F32, {n}});
  std::memcpy(src->data(), in->x().data(), static_cast<size_t>(n) * sizeof(float));
  const CopyKind kinds[] = {CopyKind::Memcpy, CopyKind::Loop, CopyKind::Stream};
  double best[3] = {1e30, 1e30, 1e30};
  for (int rep = 0; rep < 3; ++rep)
    for (int k = 0; k < 3; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      parallel_copy(src->as<float>(), dst->as<float>(), n, kinds[k]);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best[k] = std::min(best[k], s);
    }
  const CopyKind kind = kinds[std::min_element(best, best + 3) - best];
  Impl impl;
  impl.name = "limit";
  impl.bytes = 2.0 * n * sizeof(float);
  impl.run = [=] { parallel_copy(src->as<float>(), dst->as<float>(), n, kind); };
  impl.checksum = [=] { return checksum_of(dst->as<float>(), n); };
  return impl;
}

#ifdef KILN_HAS_LLVM
// Reads floats [lo, hi) of src and returns their sum: a read-only stream with `A`
// independent vector accumulators (a compile-time count, so that they stay in registers),
// so that only the loads bound it.
template <int A>
float read_part(const float* src, int64_t lo, int64_t hi) {
  float total = 0;
#ifdef __AVX512F__
  __m512 acc[A];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (; lo + 16 * A <= hi; lo += 16 * A)
    for (int a = 0; a < A; ++a) acc[a] = _mm512_add_ps(acc[a], _mm512_load_ps(src + lo + 16 * a));
  // Stored and added on the scalar side: GCC 12 warns inside _mm512_reduce_add_ps.
  for (int a = 1; a < A; ++a) acc[0] = _mm512_add_ps(acc[0], acc[a]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc[0]);
  for (float v : lanes) total += v;
#endif
  for (; lo < hi; ++lo) total += src[lo];
  return total;
}

// Reads src with every hardware thread taking one contiguous part, on a pool of threads
// that persists between runs (as kiln's own does: starting threads per run would charge
// the limit tens of microseconds it does not have); the parts' sums go to `sink` so that
// the reads cannot be dropped.
template <int A>
void parallel_read(runtime::cpu::ThreadPool& pool, const float* src, int64_t n,
                   std::vector<float>& sink) {
  const int64_t parts = pool.size();
  sink.assign(static_cast<size_t>(parts), 0.0f);
  const int64_t chunk = ((n + parts - 1) / parts + 127) / 128 * 128;
  pool.parallel_for(parts, 1, [&](int64_t first, int64_t last) {
    for (int64_t t = first; t < last; ++t) {
      const int64_t lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
      sink[static_cast<size_t>(t)] = read_part<A>(src, lo, hi);
    }
  });
}

// The read bandwidth limit of read-only workloads (sums): the fastest of the read streams
// with 2, 4 or 8 accumulators (each timed thrice) over a buffer from kiln's host allocator.
Impl read_limit(std::shared_ptr<Inputs> in) {
  using Read = void (*)(runtime::cpu::ThreadPool&, const float*, int64_t, std::vector<float>&);
  const Read reads[] = {parallel_read<2>, parallel_read<4>, parallel_read<8>};
  int64_t n = in->numel(0);
  auto src = std::make_shared<Buffer>(Type{DType::F32, {n}});
  std::memcpy(src->data(), in->x().data(), static_cast<size_t>(n) * sizeof(float));
  auto sink = std::make_shared<std::vector<float>>();
  auto pool = std::make_shared<runtime::cpu::ThreadPool>(static_cast<int>(bench_threads()));
  double best[3] = {1e30, 1e30, 1e30};
  for (int rep = 0; rep < 3; ++rep)
    for (int k = 0; k < 3; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      reads[k](*pool, src->as<float>(), n, *sink);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best[k] = std::min(best[k], s);
    }
  const Read read = reads[std::min_element(best, best + 3) - best];
  Impl impl;
  impl.name = "read_limit";
  impl.bytes = static_cast<double>(n) * sizeof(float);
  impl.run = [=] { read(*pool, src->as<float>(), n, *sink); };
  impl.checksum = [=] { return checksum_of(sink->data(), static_cast<int64_t>(sink->size())); };
  return impl;
}
#endif  // KILN_HAS_LLVM: the read limit runs on the CPU backend's thread pool

// The arithmetic limit: `A` independent accumulators of vector type V, each updated by one
// FMA per iteration (acc = acc * m + c, which stays finite), nothing but registers. An FMA
// unit takes a new FMA every cycle but its result only after 4-5, so it takes at least
// (ports x latency) independent chains to keep the ports busy: 8 to 16 on current cores.
// Returns the accumulators' sum, so that the loop cannot be dropped.
template <class V, int A, class Fma, class Splat, class Lanes>
float fma_chains(int64_t iterations, float seed, Fma fma, Splat splat, Lanes lanes) {
  V acc[A];
  for (int a = 0; a < A; ++a) acc[a] = splat(seed + 0.001f * static_cast<float>(a));
  const V m = splat(0.999999f), c = splat(1e-6f);
  for (int64_t i = 0; i < iterations; ++i)
    for (int a = 0; a < A; ++a) acc[a] = fma(acc[a], m, c);
  for (int a = 1; a < A; ++a) acc[0] = fma(acc[a], m, acc[0]);
  return lanes(acc[0]);
}

// One FMA loop variant: its name, the floats one FMA instruction computes, and the loop.
struct FmaLoop {
  const char* name;
  int lanes;
  int accumulators;
  float (*run)(int64_t iterations, float seed);
};

template <int A>
float fma_scalar(int64_t iterations, float seed) {
  return fma_chains<float, A>(
      iterations, seed, [](float a, float b, float c) { return std::fma(a, b, c); },
      [](float v) { return v; }, [](float v) { return v; });
}

#ifdef __AVX2__
template <int A>
float fma_avx2(int64_t iterations, float seed) {
  return fma_chains<__m256, A>(
      iterations, seed, [](__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); },
      [](float v) { return _mm256_set1_ps(v); },
      [](__m256 v) {
        alignas(32) float l[8];
        _mm256_store_ps(l, v);
        return std::accumulate(l, l + 8, 0.0f);
      });
}
#endif

#ifdef __AVX512F__
template <int A>
float fma_avx512(int64_t iterations, float seed) {
  return fma_chains<__m512, A>(
      iterations, seed, [](__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); },
      [](float v) { return _mm512_set1_ps(v); },
      [](__m512 v) {
        alignas(64) float l[16];
        _mm512_store_ps(l, v);
        return std::accumulate(l, l + 16, 0.0f);
      });
}
#endif

// The variants this build can run, widest vectors first. The narrower ones run too: on
// cores that split a 512-bit FMA into two 256-bit halves (Zen 4), either can win.
std::vector<FmaLoop> fma_loops() {
  std::vector<FmaLoop> loops;
#ifdef __AVX512F__
  loops.push_back({"avx512", 16, 8, fma_avx512<8>});
  loops.push_back({"avx512", 16, 12, fma_avx512<12>});
  loops.push_back({"avx512", 16, 16, fma_avx512<16>});
#endif
#ifdef __AVX2__
  loops.push_back({"avx2", 8, 8, fma_avx2<8>});
  loops.push_back({"avx2", 8, 12, fma_avx2<12>});
#endif
  if (loops.empty()) loops.push_back({"scalar", 1, 8, fma_scalar<8>});
  return loops;
}

// Runs `loop` on `threads` threads at once, each for `iterations`; the sums go to `sink`.
void parallel_fma(const FmaLoop& loop, unsigned threads, int64_t iterations,
                  std::vector<float>& sink) {
  sink.assign(threads, 0.0f);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sink[t] = loop.run(iterations, 1.0f + static_cast<float>(t)); });
  for (auto& th : pool) th.join();
}

// The FP32 peak of this machine: the fastest FMA loop (each variant timed thrice) on every
// thread kiln's pool uses. A run is about 2 GFLOP per thread (tens of milliseconds), so
// that starting the threads is noise.
Impl fma_peak() {
  const unsigned threads = bench_threads();
  const std::vector<FmaLoop> loops = fma_loops();
  auto sink = std::make_shared<std::vector<float>>();
  auto iterations_of = [](const FmaLoop& l) {
    return static_cast<int64_t>(2e9 / (2.0 * l.lanes * l.accumulators));
  };
  std::vector<double> rate(loops.size(), 0.0);
  for (int rep = 0; rep < 3; ++rep)
    for (size_t k = 0; k < loops.size(); ++k) {
      const int64_t it = iterations_of(loops[k]);
      auto t0 = std::chrono::steady_clock::now();
      parallel_fma(loops[k], threads, it, *sink);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rate[k] = std::max(rate[k], 2.0 * loops[k].lanes * loops[k].accumulators * it / s);
    }
  const FmaLoop loop = loops[std::max_element(rate.begin(), rate.end()) - rate.begin()];
  const int64_t it = iterations_of(loop);
  Impl impl;
  impl.name = "limit";
  impl.flops = 2.0 * loop.lanes * loop.accumulators * static_cast<double>(it) * threads;
  impl.note = "FMA peak: " + std::string(loop.name) + ", " + std::to_string(loop.accumulators) +
              " accumulators, " + std::to_string(threads) + " threads";
  impl.run = [=] { parallel_fma(loop, threads, it, *sink); };
  impl.checksum = [=] { return checksum_of(sink->data(), static_cast<int64_t>(sink->size())); };
  return impl;
}

auto x_map(const Inputs& in) {
  return Eigen::Map<const RowArray>(in.x().data(), in.p.rows, in.p.cols);
}
auto row_map(const std::vector<float>& v) {
  return Eigen::Map<const RowVector>(v.data(), static_cast<Eigen::Index>(v.size()));
}

// The three operands of the bandwidth workloads and dispatch: x [rows, cols], b [cols]
// and w [cols] (weights near 1).
std::vector<Operand> row_operands(const Problem& p) {
  return {{{p.rows, p.cols}, 1}, {{p.cols}, 2}, {{p.cols}, 3, 1.0f}};
}

// A workload on x, b, w (row_operands).
Workload row_workload(const Problem& p, double bytes, double flops,
                      std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> f,
                      Bound bound = Bound::Bandwidth) {
  Workload w;
  w.bytes = bytes;
  w.flops = flops;
  w.operands = row_operands(p);
  w.build = [f = std::move(f)](const std::vector<Tensor>& o) { return f(o[0], o[1], o[2]); };
  w.bound = bound;
  return w;
}

// The dims of contraction workload `name`: the problem's, or `cpu_size` when it has none.
std::vector<int64_t> dims_of(const std::string& name, const Problem& p,
                             std::vector<int64_t> cpu_size, const char* meaning) {
  if (p.dims.empty()) return cpu_size;
  if (p.dims.size() != cpu_size.size())
    throw Error("bench: workload '" + name + "' takes " + std::to_string(cpu_size.size()) +
                " dims (" + meaning + "), got " + std::to_string(p.dims.size()));
  return p.dims;
}

// The convolutions through the frontend's conv ops.
const char* const kConvVariant = "conv op";
Tensor depthwise_causal_conv1d(const Tensor& x, const Tensor& w) {
  return conv1d(x, w, {.padding = ConvPadding::causal(), .groups = x.shape(1)});
}
Tensor conv2d_same(const Tensor& x, const Tensor& w) {
  return conv2d(x, w, {.padding = w.shape(2) / 2});
}

// sgemm, gemm_bias_gelu and sgemm_small on dims {m, n, k}: a [m, k] times b [k, n] (and
// bias [n]). The flops are the product's, also with the epilogue, so that its cost shows
// as a lower rate than the bare product's.
Workload gemm_workload(const std::string& name, const Problem& p, std::vector<int64_t> cpu_size) {
  const std::vector<int64_t> d = dims_of(name, p, std::move(cpu_size), "m, n, k");
  const double m = static_cast<double>(d[0]), n = static_cast<double>(d[1]),
               k = static_cast<double>(d[2]);
  Workload w;
  w.operands = {{{d[0], d[2]}, 1}, {{d[2], d[1]}, 4}};
  w.bytes = (m * k + k * n + m * n) * sizeof(float);
  w.flops = 2 * m * n * k;
  w.bound = name == "sgemm_small" ? Bound::Latency : Bound::Compute;
  w.contraction = true;
  if (name == "gemm_bias_gelu") {
    w.operands.push_back({{d[1]}, 2});
    w.bytes += n * sizeof(float);
    w.build = [](const std::vector<Tensor>& o) { return gelu(matmul(o[0], o[1]) + o[2]); };
  } else {
    w.build = [](const std::vector<Tensor>& o) { return matmul(o[0], o[1]); };
  }
  return w;
}

// fft: a batch of complex64 rows (made from two f32 operands, the real and imaginary
// parts, read once as one c64 array would be); rfft: of f32 rows. Flops by the usual count
// of an FFT (5 n log2 n per complex row, half for a real one); bytes: the input read and
// the result written once.
Workload spectral_workload(const std::string& name, const Problem& p) {
  const std::vector<int64_t> d = dims_of(name, p, {1024, 4096}, "batch, n");
  const double rows = static_cast<double>(d[0]), n = static_cast<double>(d[1]);
  const double per_row = 5 * n * std::log2(std::max(n, 2.0));
  Workload w;
  w.variant = "fft op";
  w.contraction = true;
  if (name == "fft") {
    w.operands = {{{d[0], d[1]}, 1}, {{d[0], d[1]}, 2}};
    w.bytes = 2 * rows * n * 8;
    w.flops = rows * per_row;
    w.build = [](const std::vector<Tensor>& o) { return fft(complex(o[0], o[1])); };
  } else {
    w.operands = {{{d[0], d[1]}, 1}};
    w.bytes = rows * (n * 4 + (std::floor(n / 2) + 1) * 8);
    w.flops = rows * per_row / 2;
    w.build = [](const std::vector<Tensor>& o) { return rfft(o[0]); };
  }
  return w;
}

// M2-BERT's sequence mixer: u [batch, channels, length], its kernel k [channels, length],
// the skip term D [channels] and the gate v (u's shape): gelu(causal conv(u, k) + u * D) *
// v through FFTs of twice the length. Bytes: u and v read, the result written, k read.
Workload fftconv_workload(const std::string& name, const Problem& p) {
  const std::vector<int64_t> d =
      dims_of(name, p, {8, 768, name == "fftconv" ? 8192 : 1024}, "batch, channels, length");
  const double rows = static_cast<double>(d[0] * d[1]), l = static_cast<double>(d[2]);
  const double size = 2 * l, per_row = 2.5 * size * std::log2(size);
  Workload w;
  w.operands = {{{d[0], d[1], d[2]}, 1}, {{d[1], d[2]}, 2}, {{d[1]}, 3}, {{d[0], d[1], d[2]}, 4}};
  w.bytes = (3 * rows * l + static_cast<double>(d[1]) * (l + 1)) * 4;
  // Two transforms per row of u, one per row of k, and the pointwise work.
  w.flops = 2 * rows * per_row + static_cast<double>(d[1]) * per_row + rows * size * 4;
  w.variant = "fft op";
  w.contraction = true;
  w.build = [](const std::vector<Tensor>& o) {
    return fftconv(o[0], o[1], o[2], {.gelu = true, .gate = o[3]});
  };
  return w;
}

// ---------------------------------------------------------------------------------------
// M2-BERT (kiln/m2.h): one layer of M2-BERT-80M (bench/m2bert.py holds its PyTorch peers).

// The layer's config: M2-BERT-80M's (hidden 768, intermediate 4 x hidden, Monarch MLP of
// 4 blocks, bidirectional Hyena filters of order 128 on 5 positional features, w = 10, a
// residual long convolution) with long_conv_l_max = the benchmark's length.
nn::M2BertConfig m2bert_80m_layer(int64_t length, int64_t hidden) {
  nn::M2BertConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = 4 * hidden;
  c.use_glu_mlp = c.use_monarch_mlp = true;
  c.monarch_mlp_nblocks = 4;
  c.long_conv_l_max = c.max_position_embeddings = length;
  c.hyena_w = 10;
  c.hyena_emb_dim = 5;
  c.hyena_filter_order = 128;
  c.bidirectional = c.residual_long_conv = true;
  return c;
}

// The operand of a tensor name: a Hyena filter's MLPs share one sine module, whose freq
// appears under every position ("...implicit_filter_rev.5.freq" ->
// "...implicit_filter.1.freq").
std::string m2bert_shared_name(const std::string& name) {
  const std::string freq = ".freq";
  if (name.size() < freq.size() || name.compare(name.size() - freq.size(), freq.size(), freq))
    return name;
  const size_t at = name.find(".implicit_filter");
  return name.substr(0, at) + ".implicit_filter.1.freq";
}

// One layer forward on x [batch, length, hidden]. The operands are x (salt 1), then one per
// distinct tensor of the layer's state_dict in name order (salt 2, 3, ...), matrices scaled
// by 1 / sqrt(their last dimension), the fan-in, so activations keep PyTorch-init sizes;
// bench/m2bert.py builds the same list. The graph is the module's forward with them in
// place of its own tensors.
Workload m2bert_layer_workload(const std::string& name, const Problem& p) {
  const std::vector<int64_t> d = dims_of(name, p, {8, 1024, 768}, "batch, length, hidden");
  const int64_t batch = d[0], length = d[1], hidden = d[2];
  auto layer = std::make_shared<nn::M2BertLayer>(m2bert_80m_layer(length, hidden), Key(0));
  layer->eval();
  Workload w;
  w.operands = {{{batch, length, hidden}, 1}};
  auto operand_of = std::make_shared<std::map<std::string, size_t>>();
  std::map<std::string, size_t> distinct;
  double parameters = 0;
  for (const auto& [pname, t] : layer->state_dict()) {
    const std::string shared = m2bert_shared_name(pname);
    auto [it, added] = distinct.emplace(shared, w.operands.size());
    if (added) {
      const bool matrix = t.ndim() >= 2 && pname.ends_with(".weight");
      const float scale =
          matrix ? static_cast<float>(1 / std::sqrt(static_cast<double>(t.shape().back()))) : 1.f;
      w.operands.push_back({t.shape(), w.operands.size() + 1, 0, scale});
      parameters += static_cast<double>(numel(t.shape()));
    }
    (*operand_of)[pname] = it->second;
  }
  const double tokens = static_cast<double>(batch * length), h = static_cast<double>(hidden);
  const double size = 2.0 * static_cast<double>(length);
  const double fft = 2.5 * size * std::log2(size);  // one real transform of 2L points
  // Projections (3h and h outputs), the Monarch MLP (2 x 4h and back, 4 blocks), two
  // filters' long convolutions (two forward transforms and one inverse per channel row,
  // and each kernel's transforms), and the four implicit MLPs over the positions.
  w.flops = 2 * tokens * (3 * h * h + h * h) + 2 * tokens * (h * 8 * h + 4 * h * h) / 4 +
            2 * (3 * static_cast<double>(batch) * h * fft + 2 * h * fft) +
            4 * 2 * static_cast<double>(length) * (5 * 128 + 2 * 128 * 128 + 128 * h);
  w.bytes = (2 * tokens * h + parameters) * 4;
  w.bound = Bound::Compute;
  w.contraction = true;
  w.variant = "kiln::nn::M2BertLayer";
  w.build = [layer, operand_of](const std::vector<Tensor>& o) {
    Params params;
    for (const auto& [pname, i] : *operand_of) params.emplace(pname, o[i]);
    return layer->forward(params, o[0]);
  };
  return w;
}

// bert_base: the forward pass of all-MiniLM-L6-v2 (kiln/bert.h: 6 layers, hidden 384, 12
// heads, intermediate 1536, vocabulary 30522) on dims {batch, length}, to mean-pooled,
// L2-normalized sentence embeddings [batch, 384]. Random weights of MiniLM's shapes: one
// operand per tensor of the model's state_dict, in its (sorted) name order, with salts 10,
// 11, ...; token ids from operand 0 (salt 1), ids = round((x + 0.5) * 1000) in [0, 1000);
// sentence b has length - (37 b mod length / 2) tokens, the rest is padding.
// bench/bert_peers.py mirrors all of it for PyTorch.

nn::BertConfig minilm_config() {
  nn::BertConfig c;
  c.hidden_size = 384;
  c.num_hidden_layers = 6;
  c.num_attention_heads = 12;
  c.intermediate_size = 1536;
  return c;
}

Workload bert_workload(const std::string& name, const Problem& p) {
  const std::vector<int64_t> d = dims_of(name, p, {32, 128}, "batch, length");
  const nn::BertConfig c = minilm_config();
  // The model supplies the names and shapes; its weights are replaced by the operands.
  auto model = std::make_shared<nn::BertModel>(c, Key(0), /*add_pooling_layer=*/false);
  std::vector<std::string> names;
  Workload w;
  w.operands = {{{d[0], d[1]}, 1}};
  double params = 0;
  for (const auto& [param, value] : model->state_dict()) {
    names.push_back(param);
    w.operands.push_back({value.shape(), 10 + names.size() - 1});
    params += static_cast<double>(value.size());
  }
  const double tokens = static_cast<double>(d[0] * d[1]), h = static_cast<double>(c.hidden_size);
  const double per_token_layer =
      2 * (4 * h * h + 2 * h * static_cast<double>(c.intermediate_size)) +
      4 * static_cast<double>(d[1]) * h;
  w.flops = tokens * static_cast<double>(c.num_hidden_layers) * per_token_layer;
  w.bytes = (params + tokens * 2 + static_cast<double>(d[0]) * h) * sizeof(float);
  w.bound = Bound::Compute;
  w.contraction = true;
  w.variant = "nn::BertModel";
  std::vector<int64_t> mask(static_cast<size_t>(d[0] * d[1]));
  for (int64_t b = 0; b < d[0]; ++b)
    for (int64_t t = 0; t < d[1]; ++t)
      mask[static_cast<size_t>(b * d[1] + t)] = t < d[1] - (37 * b) % (d[1] / 2) ? 1 : 0;
  w.build = [model, names, mask, d](const std::vector<Tensor>& o) {
    Params weights;
    for (size_t i = 0; i < names.size(); ++i) weights.emplace(names[i], o[i + 1]);
    Tensor ids = cast(floor((o[0] + 0.5) * 1000.0 + 0.5), DType::I64);
    Tensor m = from_data(mask, {d[0], d[1]});
    return nn::l2_normalize(nn::mean_pooling(model->forward(weights, ids, m), m));
  };
  return w;
}

// onnx_cnn, onnx_transformer: an ONNX model exported from PyTorch by
// scripts/export_onnx_models.py --bench (bench/onnx_peers.py runs it, and the same file
// in onnxruntime), read from p.model and run on its one input (salt 1). Its weights are
// the file's initializers. The arithmetic counted is the model's matrix products and
// convolutions, for the architectures that script exports: the Fashion-MNIST CNN on x
// [batch, 1, 28, 28], and a d_model 64 encoder layer with a 2048-wide feed-forward on x
// [batch, sequence, 64].
Workload onnx_workload(const std::string& name, const Problem& p) {
#ifdef KILN_HAS_ONNX
  if (p.model.empty()) throw Error("bench: workload '" + name + "' needs --model FILE.onnx");
  auto model = std::make_shared<onnx::Model>(onnx::load(p.model));
  const std::vector<Type> types = model->input_types();
  if (types.size() != 1)
    throw Error("bench: " + p.model + " has " + std::to_string(types.size()) +
                " inputs; the onnx workloads take one");
  const Shape& shape = types[0].shape;
  Workload w;
  w.operands = {{shape, 1}};
  const double batch = static_cast<double>(shape.at(0));
  if (name == "onnx_cnn") {
    w.flops = 2 * batch * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10);
  } else {
    const double tokens = batch * static_cast<double>(shape.at(1)), d = 64, ff = 2048;
    w.flops = 2 * tokens * (4 * d * d + 2 * d * ff + 2 * static_cast<double>(shape.at(1)) * d);
  }
  w.bytes = static_cast<double>(numel(shape)) * sizeof(float);
  w.bound = Bound::Compute;
  w.contraction = true;
  w.variant = "onnx::load";
  w.build = [model](const std::vector<Tensor>& o) { return (*model)({o[0]}).at(0); };
  return w;
#else
  (void)p;
  throw Error("bench: workload '" + name + "' needs kiln built with ONNX import (libonnx-dev)");
#endif
}

}  // namespace

Workload workload(const std::string& name, const Problem& p) {
  const double n = static_cast<double>(p.numel()), c = static_cast<double>(p.cols);
  const double f = sizeof(float);
  if (name == "ew_chain")  // six elementwise ops, b broadcast over the rows
    return row_workload(p, (2 * n + c) * f, 6 * n,
                        [](const Tensor& x, const Tensor& b, const Tensor&) {
                          return maximum((x + b) * 1.5 - x * x, 0.0) + 0.25;
                        });
  if (name == "sum_full")
    return row_workload(p, n * f, n,
                        [](const Tensor& x, const Tensor&, const Tensor&) { return sum(x); });
  if (name == "sum_rows")
    return row_workload(p, (n + static_cast<double>(p.rows)) * f, n,
                        [](const Tensor& x, const Tensor&, const Tensor&) { return sum(x, 1); });
  if (name == "softmax")
    return row_workload(p, 2 * n * f, 5 * n, [](const Tensor& x, const Tensor&, const Tensor&) {
      return softmax(x, -1);
    });
  if (name == "layernorm")
    return row_workload(p, (2 * n + 2 * c) * f, 8 * n,
                        [](const Tensor& x, const Tensor& b, const Tensor& w) {
                          return layer_norm(x, -1, w, b, 1e-5);
                        });
  if (name == "dispatch")  // kDispatchLayers of relu(y @ W + b), W[i, j] = w[i] b[j] / cols
    return row_workload(
        p, (n + 2 * c) * f, kDispatchLayers * 2.0 * n * c,
        [c](const Tensor& x, const Tensor& b, const Tensor& w) {
          const int64_t cols = x.shape(1);
          Tensor weights = reshape(w, {cols, 1}) * reshape(b, {1, cols}) * (1.0 / c);
          Tensor y = x;
          for (int l = 0; l < kDispatchLayers; ++l) y = relu(matmul(y, weights) + b);
          return y;
        },
        Bound::Latency);
  if (name == "sgemm" || name == "gemm_bias_gelu")
    return gemm_workload(name, p, {2048, 2048, 2048});
  // The shapes of dispatch's layers: m rows (1 to 16) against its [64, 64] weights.
  if (name == "sgemm_small") return gemm_workload(name, p, {8, 64, 64});
  if (name == "dwconv1d") {  // x [batch, channels, length], w [channels, 1, taps]
    const std::vector<int64_t> d =
        dims_of(name, p, {8, 1024, 8192, 4}, "batch, channels, length, taps");
    const double elements = static_cast<double>(d[0] * d[1] * d[2]);
    Workload w;
    w.operands = {{{d[0], d[1], d[2]}, 1}, {{d[1], 1, d[3]}, 3}};
    w.bytes = (2 * elements + static_cast<double>(d[1] * d[3])) * f;
    w.flops = 2 * elements * static_cast<double>(d[3]);
    w.build = [](const std::vector<Tensor>& o) { return depthwise_causal_conv1d(o[0], o[1]); };
    w.variant = kConvVariant;
    w.contraction = true;
    return w;
  }
  if (name == "conv2d") {  // x [batch, c_in, h, w], w [c_out, c_in, k, k], padding k / 2
    const std::vector<int64_t> d =
        dims_of(name, p, {8, 64, 64, 56, 56, 3}, "batch, c_in, c_out, h, w, k");
    const double in = static_cast<double>(d[0] * d[1] * d[3] * d[4]),
                 out = static_cast<double>(d[0] * d[2] * d[3] * d[4]),
                 taps = static_cast<double>(d[1] * d[5] * d[5]);
    Workload w;
    w.operands = {{{d[0], d[1], d[3], d[4]}, 1}, {{d[2], d[1], d[5], d[5]}, 3}};
    w.bytes = (in + out + static_cast<double>(d[2]) * taps) * f;
    w.flops = 2 * out * taps;
    w.bound = Bound::Compute;
    w.build = [](const std::vector<Tensor>& o) { return conv2d_same(o[0], o[1]); };
    w.variant = kConvVariant;
    w.contraction = true;
    return w;
  }
  if (name == "fft" || name == "rfft") return spectral_workload(name, p);
  if (name == "fftconv" || name == "fftconv_short") return fftconv_workload(name, p);
  if (name == "m2bert_layer") return m2bert_layer_workload(name, p);
  if (name == "bert_base") return bert_workload(name, p);
  if (name == "onnx_cnn" || name == "onnx_transformer") return onnx_workload(name, p);
  throw Error("bench: unknown workload '" + name +
              "' (known: ew_chain, sum_full, sum_rows, softmax, layernorm, dispatch, sgemm, "
              "gemm_bias_gelu, sgemm_small, dwconv1d, conv2d, fft, rfft, fftconv, fftconv_short, "
              "m2bert_layer, bert_base, onnx_cnn, onnx_transformer, copy, read, peak)");
}

namespace {

// Eigen's version of the workloads it has one of.
std::optional<Impl> eigen_version(const std::string& name, std::shared_ptr<Inputs> in) {
  const Problem& p = in->p;
  if (name == "ew_chain")
    return peer_impl("eigen", in, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      y = ((x.rowwise() + row_map(in.values[1])) * 1.5f - x.square()).max(0.0f) + 0.25f;
    });
  if (name == "sum_full")
    return peer_impl("eigen", in, 1,
                     [](const Inputs& in, float* out) { out[0] = x_map(in).sum(); });
  if (name == "sum_rows")
    return peer_impl("eigen", in, p.rows, [](const Inputs& in, float* out) {
      Eigen::Map<ColVector>(out, in.p.rows) = x_map(in).rowwise().sum();
    });
  if (name == "softmax")
    return peer_impl("eigen", in, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      ColVector m = x.rowwise().maxCoeff();
      y = (x.colwise() - m).exp();
      ColVector s = y.rowwise().sum();
      y.colwise() /= s;
    });
  if (name == "layernorm")
    return peer_impl("eigen", in, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      ColVector mean = x.rowwise().mean();
      y = x.colwise() - mean;
      ColVector inv = ((y.square().rowwise().sum() / float(in.p.cols)) + 1e-5f).rsqrt();
      y.colwise() *= inv;
      y = (y.rowwise() * row_map(in.values[2])).rowwise() + row_map(in.values[1]);
    });
  if (name == "sgemm" || name == "sgemm_small") {
    const int64_t m = in->w.operands[0].shape[0], k = in->w.operands[0].shape[1],
                  n = in->w.operands[1].shape[1];
    return peer_impl("eigen", in, m * n, [m, n, k](const Inputs& in, float* out) {
      Eigen::Map<const RowMatrix> a(in.values[0].data(), m, k), b(in.values[1].data(), k, n);
      Eigen::Map<RowMatrix>(out, m, n).noalias() = a * b;
    });
  }
  return std::nullopt;
}

#ifdef KILN_BENCH_OPENBLAS
// OpenBLAS's cblas_sgemm in this process, for the GEMM workloads without an epilogue.
std::optional<Impl> openblas_version(const std::string& name, std::shared_ptr<Inputs> in) {
  if (name != "sgemm" && name != "sgemm_small") return std::nullopt;
  const int64_t m = in->w.operands[0].shape[0], k = in->w.operands[0].shape[1],
                n = in->w.operands[1].shape[1];
  Impl impl = peer_impl("openblas", in, m * n, [m, n, k](const Inputs& in, float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, in.values[0].data(),
                static_cast<blasint>(k), in.values[1].data(), static_cast<blasint>(n), 0.0f, out,
                static_cast<blasint>(n));
  });
  impl.note = openblas_description();
  return impl;
}
#endif

}  // namespace

std::string openblas_description() {
#ifdef KILN_BENCH_OPENBLAS
  return "OpenBLAS core " + std::string(openblas_get_corename()) + ", " +
         std::to_string(openblas_get_num_threads()) + " threads (" + openblas_get_config() + ")";
#else
  return "";
#endif
}

std::vector<Impl> make_impls(const std::string& name, const Problem& p) {
  // The limits alone run on a bandwidth workload's input: its x is the array they stream.
  const bool limits_only = name == "copy" || name == "read" || name == "peak";
  auto in = std::make_shared<Inputs>(p, workload(limits_only ? "ew_chain" : name, p));
  std::vector<Impl> impls;
  if (!limits_only) {
    impls.push_back(kiln_impl(in));
    if (in->w.contraction)
      if (Impl exec = kiln_exec_impl(in); exec.run) impls.push_back(std::move(exec));
  }
  // The limit next, before the peers: OpenBLAS's threads spin for a while after a call.
  if (name == "peak" || (!limits_only && in->w.bound == Bound::Compute))
    impls.push_back(fma_peak());
  else if (name == "copy" || (!limits_only && in->w.bound == Bound::Bandwidth))
    impls.push_back(copy_limit(in));
#ifdef KILN_HAS_LLVM
  // Sums only read: their limit is a read stream ("read": only that limit).
  if (name == "sum_full" || name == "sum_rows" || name == "read") impls.push_back(read_limit(in));
#endif
  if (!limits_only) {
    if (std::optional<Impl> e = eigen_version(name, in)) impls.push_back(std::move(*e));
#ifdef KILN_BENCH_OPENBLAS
    if (std::optional<Impl> o = openblas_version(name, in)) impls.push_back(std::move(*o));
#endif
  }
  return impls;
}

}  // namespace kiln::bench
