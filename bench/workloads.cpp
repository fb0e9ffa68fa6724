// Workload definitions for bench/compare: kiln through its public API, Eigen, and the
// streaming copy that measures the memory-bandwidth limit.
#include "workloads.h"

#ifdef KILN_HAS_LLVM
#include "runtime/cpu/thread_pool.h"
#endif

#include <immintrin.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
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

namespace {

using RowArray = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Array<float, 1, Eigen::Dynamic>;
using ColVector = Eigen::Array<float, Eigen::Dynamic, 1>;

double sum_of(const float* p, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}

// The inputs every implementation of a workload shares.
struct Inputs {
  Problem p;
  std::vector<float> x, b, w;
  explicit Inputs(const Problem& problem)
      : p(problem),
        x(make_input(p.numel(), 1)),
        b(make_input(p.cols, 2)),
        w(make_input(p.cols, 3)) {
    for (float& v : w) v += 1.0f;  // weights near 1
  }
};

// The kiln implementation of `workload`.
Impl kiln_impl(std::shared_ptr<Inputs> in, const Workload& workload) {
  auto x = std::make_shared<Tensor>(from_data(in->x, {in->p.rows, in->p.cols}));
  auto b = std::make_shared<Tensor>(from_data(in->b, {in->p.cols}));
  auto w = std::make_shared<Tensor>(from_data(in->w, {in->p.cols}));
  auto last = std::make_shared<std::optional<Tensor>>();
  Impl impl;
  impl.name = "kiln";
  impl.bytes = workload.bytes;
  impl.flops = workload.flops;
  impl.run = [=, build = workload.build] {
    Tensor y = build(*x, *b, *w);
    AllowSyncGuard allow;
    eval(y);
    *last = y;
  };
  impl.checksum = [=] {
    AllowSyncGuard allow;
    auto v = (*last)->to_vector<float>();
    return sum_of(v.data(), static_cast<int64_t>(v.size()));
  };
  return impl;
}

// An Eigen implementation writing into `out`.
Impl eigen_impl(std::shared_ptr<Inputs> in, const Workload& workload, int64_t out_size,
                std::function<void(const Inputs&, float* out)> compute) {
  auto out = std::make_shared<std::vector<float>>(static_cast<size_t>(out_size));
  Impl impl;
  impl.name = "eigen";
  impl.bytes = workload.bytes;
  impl.flops = workload.flops;
  impl.run = [=] { compute(*in, out->data()); };
  impl.checksum = [=] { return sum_of(out->data(), out_size); };
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
  int64_t n = in->p.numel();
  auto src = std::make_shared<Buffer>(Type{DType::F32, {n}});
  auto dst = std::make_shared<Buffer>(Type{DType::F32, {n}});
  std::memcpy(src->data(), in->x.data(), static_cast<size_t>(n) * sizeof(float));
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
  impl.checksum = [=] { return sum_of(dst->as<float>(), n); };
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
  int64_t n = in->p.numel();
  auto src = std::make_shared<Buffer>(Type{DType::F32, {n}});
  std::memcpy(src->data(), in->x.data(), static_cast<size_t>(n) * sizeof(float));
  auto sink = std::make_shared<std::vector<float>>();
  auto pool = std::make_shared<runtime::cpu::ThreadPool>(
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
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
  impl.checksum = [=] { return sum_of(sink->data(), static_cast<int64_t>(sink->size())); };
  return impl;
}
#endif  // KILN_HAS_LLVM: the read limit runs on the CPU backend's thread pool

auto x_map(const Inputs& in) {
  return Eigen::Map<const RowArray>(in.x.data(), in.p.rows, in.p.cols);
}
auto row_map(const std::vector<float>& v) {
  return Eigen::Map<const RowVector>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

Workload workload(const std::string& name, const Problem& p) {
  const double n = static_cast<double>(p.numel()), c = static_cast<double>(p.cols);
  const double f = sizeof(float);
  if (name == "ew_chain")  // six elementwise ops, b broadcast over the rows
    return {(2 * n + c) * f, 6 * n, [](const Tensor& x, const Tensor& b, const Tensor&) {
              return maximum((x + b) * 1.5 - x * x, 0.0) + 0.25;
            }};
  if (name == "sum_full")
    return {n * f, n, [](const Tensor& x, const Tensor&, const Tensor&) { return sum(x); }};
  if (name == "sum_rows")
    return {(n + static_cast<double>(p.rows)) * f, n,
            [](const Tensor& x, const Tensor&, const Tensor&) { return sum(x, 1); }};
  if (name == "softmax")
    return {2 * n * f, 5 * n,
            [](const Tensor& x, const Tensor&, const Tensor&) { return softmax(x, -1); }};
  if (name == "layernorm")
    return {(2 * n + 2 * c) * f, 8 * n, [](const Tensor& x, const Tensor& b, const Tensor& w) {
              return layer_norm(x, -1, w, b, 1e-5);
            }};
  if (name == "dispatch")  // kDispatchLayers of relu(y @ W + b), W[i, j] = w[i] b[j] / cols
    return {(n + 2 * c) * f, kDispatchLayers * 2.0 * n * c,
            [c](const Tensor& x, const Tensor& b, const Tensor& w) {
              const int64_t cols = x.shape(1);
              Tensor weights = reshape(w, {cols, 1}) * reshape(b, {1, cols}) * (1.0 / c);
              Tensor y = x;
              for (int l = 0; l < kDispatchLayers; ++l) y = relu(matmul(y, weights) + b);
              return y;
            }};
  throw Error("bench: unknown workload '" + name +
              "' (known: ew_chain, sum_full, sum_rows, softmax, layernorm, dispatch, copy)");
}

namespace {

// Eigen's version of the workloads it has one of.
std::optional<Impl> eigen_version(const std::string& name, std::shared_ptr<Inputs> in,
                                  const Workload& w) {
  const Problem& p = in->p;
  if (name == "ew_chain")
    return eigen_impl(in, w, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      y = ((x.rowwise() + row_map(in.b)) * 1.5f - x.square()).max(0.0f) + 0.25f;
    });
  if (name == "sum_full")
    return eigen_impl(in, w, 1, [](const Inputs& in, float* out) { out[0] = x_map(in).sum(); });
  if (name == "sum_rows")
    return eigen_impl(in, w, p.rows, [](const Inputs& in, float* out) {
      Eigen::Map<ColVector>(out, in.p.rows) = x_map(in).rowwise().sum();
    });
  if (name == "softmax")
    return eigen_impl(in, w, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      ColVector m = x.rowwise().maxCoeff();
      y = (x.colwise() - m).exp();
      ColVector s = y.rowwise().sum();
      y.colwise() /= s;
    });
  if (name == "layernorm")
    return eigen_impl(in, w, p.numel(), [](const Inputs& in, float* out) {
      Eigen::Map<RowArray> y(out, in.p.rows, in.p.cols);
      auto x = x_map(in);
      ColVector mean = x.rowwise().mean();
      y = x.colwise() - mean;
      ColVector inv = ((y.square().rowwise().sum() / float(in.p.cols)) + 1e-5f).rsqrt();
      y.colwise() *= inv;
      y = (y.rowwise() * row_map(in.w)).rowwise() + row_map(in.b);
    });
  return std::nullopt;
}

}  // namespace

std::vector<Impl> make_impls(const std::string& name, const Problem& p) {
  auto in = std::make_shared<Inputs>(p);
  std::vector<Impl> impls;
  if (name != "copy" && name != "read") {  // only the limit, so that a run can report it once
    const Workload w = workload(name, p);
    impls.push_back(kiln_impl(in, w));
    if (std::optional<Impl> e = eigen_version(name, in, w)) impls.push_back(std::move(*e));
  }
  // dispatch is latency-bound: the bandwidth limit says nothing about it.
  if (name != "dispatch" && name != "read") impls.push_back(copy_limit(in));
#ifdef KILN_HAS_LLVM
  // Sums only read: their limit is a read stream ("read": only that limit).
  if (name == "sum_full" || name == "sum_rows" || name == "read") impls.push_back(read_limit(in));
#endif
  return impls;
}

}  // namespace kiln::bench
