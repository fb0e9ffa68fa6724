// kiln_microbench: Google Benchmark microbenchmarks of the CPU path, one concern each:
// a whole eval of the BENCH.md workloads (bytes/s against the memory bandwidth), the
// per-eval dispatch overhead of a tiny graph, the LLVM compile of one fused kernel, and a
// warm load of that kernel from the disk cache. bench/compare is the peer comparison;
// these are for watching one piece while changing it.
//
//   build/bench/kiln_microbench [--benchmark_filter=Eval] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>
#include <kiln/kiln.h>
#include <unistd.h>

#include <filesystem>

#include "codegen/llvm/compiler.h"
#include "runtime/cpu/cpu_device.h"
#include "runtime/cpu/kernel_cache.h"
#include "runtime/driver.h"
#include "workloads.h"

namespace {

using namespace kiln;

// The rows x cols input of a workload, resident before timing starts.
Tensor input(int64_t rows, int64_t cols, uint64_t salt) {
  return from_data(bench::make_input(rows * cols, salt), {rows, cols});
}

template <class Build>
void run_eval(benchmark::State& state, double bytes_per_element, Build build) {
  const int64_t rows = state.range(0), cols = state.range(1);
  Tensor x = input(rows, cols, 1);
  Tensor b = reshape(input(1, cols, 2), {cols});
  Tensor w = reshape(input(1, cols, 3), {cols}) + 1.0;
  AllowSyncGuard allow;
  eval(x, b, w);
  for (auto _ : state) {
    Tensor y = build(x, b, w);
    eval(y);
    benchmark::DoNotOptimize(y);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_element *
                                               static_cast<double>(rows * cols)));
}

void BM_EwChain(benchmark::State& state) {
  run_eval(state, 8, [](const Tensor& x, const Tensor& b, const Tensor&) {
    return maximum((x + b) * 1.5 - x * x, 0.0) + 0.25;
  });
}
void BM_SumRows(benchmark::State& state) {
  run_eval(state, 4, [](const Tensor& x, const Tensor&, const Tensor&) { return sum(x, 1); });
}
void BM_Softmax(benchmark::State& state) {
  run_eval(state, 8, [](const Tensor& x, const Tensor&, const Tensor&) { return softmax(x, -1); });
}
void BM_LayerNorm(benchmark::State& state) {
  run_eval(state, 8, [](const Tensor& x, const Tensor& b, const Tensor& w) {
    return layer_norm(x, -1, w, b, 1e-5);
  });
}

// rows x cols: in the L2 cache, in the L3 cache, and far past it.
void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {256, 1024, 4096}) b->Args({n, n});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_EwChain)->Apply(sizes);
BENCHMARK(BM_SumRows)->Apply(sizes);
BENCHMARK(BM_Softmax)->Apply(sizes);
BENCHMARK(BM_LayerNorm)->Apply(sizes);

// One eval of a 16-element add: graph capture, passes, plan, launch, result.
void BM_Dispatch(benchmark::State& state) {
  Tensor x = input(4, 4, 1);
  AllowSyncGuard allow;
  eval(x);
  for (auto _ : state) {
    Tensor y = x + 1.0;
    eval(y);
    benchmark::DoNotOptimize(y);
  }
}
BENCHMARK(BM_Dispatch)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Recording 100 elementwise ops with a weak scalar each (no eval): the frontend's cost per op.
void BM_Record100Ops(benchmark::State& state) {
  Tensor x = input(8, 64, 1);
  for (auto _ : state) {
    Tensor y = x;
    for (int i = 0; i < 50; ++i) y = y * 1.01 + 0.5;
    benchmark::DoNotOptimize(y);
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(100.0 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Record100Ops)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The fused kernel of the softmax row (max, exp, sum, divide), compiled from scratch.
struct SoftmaxKernel {
  ir::Graph graph;
  codegen::Program program;
  SoftmaxKernel() {
    graph = graph_of(softmax(input(64, 1024, 1), -1));
    program = runtime::compile_graph(graph, runtime::cpu::CpuDevice());
  }
};

void BM_CompileKernel(benchmark::State& state) {
  SoftmaxKernel k;
  std::vector<const codegen::Kernel*> kernels;
  std::vector<std::string> names;
  for (size_t i = 0; i < k.program.kernels.size(); ++i) {
    kernels.push_back(&k.program.kernels[i]);
    names.push_back("k" + std::to_string(i));
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(codegen::llvm_backend::compile_object(kernels, names));
  state.counters["kernels"] = static_cast<double>(kernels.size());
}
BENCHMARK(BM_CompileKernel)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same kernel read from a disk-cache entry and linked (what a second process pays).
void BM_DiskCacheLoad(benchmark::State& state) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kiln-microbench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  SoftmaxKernel k;
  runtime::cpu::ObjectLoader loader;
  runtime::cpu::KernelCache cache(loader, dir.string());
  cache.get(k.program.kernels.at(0));  // writes the entry
  for (auto _ : state) {
    cache.forget_memory();
    runtime::cpu::CacheResult r = cache.get(k.program.kernels.at(0));
    if (r.source != runtime::cpu::CacheSource::Disk) state.SkipWithError("not a disk hit");
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_DiskCacheLoad)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
