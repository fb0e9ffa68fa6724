// The CPU GEMM (kernels/cpu/gemm.h) against the reference evaluator: a shape sweep with
// tails of every block, batches with broadcast batch dimensions, transposed operands
// (views), f32 / f64 / f16 / bf16 inputs, fused epilogues, one and two threads, batches of
// small products run whole on each thread, B packed from its transpose by blocks, and the
// disk cache of a GEMM kernel's object.
// tests/CMakeLists.txt runs the suite again with AVX2's vectors (KILN_CPU_LANES=8).
#include "kernels/cpu/gemm.h"

#include <gtest/gtest.h>
#include <kiln/kiln.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "codegen/contraction.h"
#include "codegen/program.h"
#include "frontend/evaluate.h"
#include "ir/parser.h"
#include "passes/pipeline.h"
#include "runtime/cpu/kernel_cache.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/driver.h"
#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

std::string dims(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t v : d) s += (s.empty() ? "" : ",") + std::to_string(v);
  return "[" + s + "]";
}

// Whether the CPU device runs the graph's first kernel as a GEMM.
bool runs_as_gemm(const ir::Graph& graph) {
  ir::Graph g = graph;
  passes::optimize_graph(g);
  codegen::Program p = codegen::build_program(g, cpu().lower_options());
  return !p.kernels.empty() && p.kernels[0].contraction != nullptr;
}

void check(const std::string& text, int64_t k, const std::string& what, DType acc = DType::F32,
           uint64_t seed = 1) {
  ir::Graph g = ir::parse_graph(text);
  expect_matches_reference(cpu(), g, seed, Values::Normal, accumulated_tolerance(acc, k), what);
}

std::string matmul(const std::string& t, int64_t M, int64_t N, int64_t K) {
  return "func @f(%a: " + t + dims({M, K}) + ", %b: " + t + dims({K, N}) + ") -> (" + t +
         dims({M, N}) + ") {\n  %0 = matmul %a, %b : " + t + dims({M, N}) + "\n  return %0\n}";
}

TEST(CpuGemm, ShapeSweep) {
  // Sizes around the register tile (MR = 6, 8 or 12; NR = 16, 32 or 48) and the k unrolling (4);
  // the products too small for the GEMM are the loop nest's, tested elsewhere.
  const int64_t sizes[] = {1, 2, 3, 7, 16, 17, 63, 65, 255};
  int gemms = 0;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : {9, 64, 403}) {
        std::string text = matmul("f32", M, N, K);
        if (!runs_as_gemm(ir::parse_graph(text))) continue;
        ++gemms;
        check(text, K, "matmul " + dims({M, N, K}));
      }
  EXPECT_GE(gemms, 80);
}

TEST(CpuGemm, LargeWithEveryBlockTail) {
  // More than one block of k (KC), of rows (MC) and a partial panel of columns.
  std::string text = matmul("f32", 517, 301, 900);
  ASSERT_TRUE(runs_as_gemm(ir::parse_graph(text)));
  check(text, 900, "matmul 517x301x900");
}

TEST(CpuGemm, LastPanelOfWholeVectors) {
  // Columns past the last full panel that are whole vectors (64 = 48 + 16 on AVX-512,
  // 40 = 32 + 8 on AVX2) go through the narrow micro-kernels, straight to C: B read in
  // place (few rows) or packed, full and partial panels of A, one and several blocks of k.
  int gemms = 0;
  for (int64_t N : {40, 64, 112})
    for (int64_t M : {8, 12, 16, 40})
      for (int64_t K : {64, 700}) {
        std::string text = matmul("f32", M, N, K);
        if (!runs_as_gemm(ir::parse_graph(text))) continue;  // too small for the GEMM
        ++gemms;
        check(text, K, "matmul " + dims({M, N, K}));
      }
  EXPECT_GE(gemms, 20);
}

Tensor data(const Shape& s, uint64_t seed, DType t = DType::F32) {
  BufferPtr b = random_buffer({DType::F32, s}, seed);
  std::vector<float> v(b->as<float>(), b->as<float>() + numel(s));
  return from_data(v, s, t);
}

// Checks `t` against the reference, and that its first kernel is a GEMM.
void check(const Tensor& t, int64_t k, const std::string& what, DType tol_dtype = DType::F32) {
  std::vector<ir::NodePtr> roots = {t.node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  EXPECT_TRUE(runs_as_gemm(ex.graph)) << what;
  expect_matches_reference(cpu(), ex.graph, ex.inputs, accumulated_tolerance(tol_dtype, k), what);
}

TEST(CpuGemm, NarrowLastPanelReadInPlaceForManyRows) {
  // B a plain matrix, here a view with rows 80 apart, of many rows (130 x 64 per batch):
  // the narrow micro-kernels read its last panel (16 columns on AVX-512, 8 on AVX2) where it
  // is, the full panels are packed.
  Tensor a = data({4, 130, 70}, 11);
  Tensor b = slice(data({4, 70, 80}, 12), 2, 0, 64);
  check(matmul(a, b), 70, "batched 130 x 64 x 70, B a view");
  check(matmul(a, slice(data({70, 80}, 13), 1, 8, 24)), 70, "N = 16 only, broadcast B");
}

TEST(CpuGemm, EveryTransposeCombination) {
  const int64_t M = 67, N = 45, K = 130;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = ta ? transpose(data({K, M}, 1)) : data({M, K}, 1);
      Tensor b = tb ? transpose(data({N, K}, 2)) : data({K, N}, 2);
      check(matmul(a, b), K,
            std::string("transposes a ") + (ta ? "T" : "N") + " b " + (tb ? "T" : "N"));
    }
}

TEST(CpuGemm, BatchedWithBroadcastBatchDimensions) {
  check(matmul(data({3, 1, 20, 40}, 1), data({1, 4, 40, 33}, 2)), 40, "batch 3x1 by 1x4");
  // Few rows read B in place, at each batch's offset (a broadcast batch has stride 0).
  check(matmul(data({3, 1, 5, 40}, 7), data({1, 4, 40, 100}, 8)), 40, "few rows, batch 3x1 by 1x4");
  check(matmul(data({5, 20, 40}, 3), data({40, 70}, 4)), 40, "batch by a shared matrix");
  check(matmul(data({2, 20, 40}, 5), transpose(data({2, 70, 40}, 6), {0, 2, 1})), 40,
        "batch with a transposed operand");
}

TEST(CpuGemm, DTypes) {
  check(matmul(data({37, 70}, 1, DType::F64), data({70, 29}, 2, DType::F64)), 70, "f64",
        DType::F64);
  check(matmul(data({130, 300}, 3, DType::F64), data({300, 41}, 4, DType::F64)), 300, "f64 big",
        DType::F64);
  for (DType t : {DType::F16, DType::BF16})
    check(matmul(data({33, 90}, 5, t), data({90, 47}, 6, t)), 90, std::string(dtype_name(t)), t);
}

TEST(CpuGemm, FusedEpilogues) {
  Tensor a = data({70, 96}, 1), b = data({96, 50}, 2);
  Tensor bias = data({50}, 3), residual = data({70, 50}, 4);
  check(gelu(add(matmul(a, b), bias)), 96, "bias + gelu");
  check(add(matmul(a, b), residual), 96, "residual add");
  check(cast(multiply(matmul(a, b), 0.5f), DType::F16), 96, "scale, cast to f16", DType::F16);
  check(transpose(matmul(a, b)), 96, "transposed output");
}

// One eval of a GEMM kernel, with the launch's buffers, run by CpuGemm directly.
struct DirectGemm {
  frontend::Extraction ex;  // the program points into its graph
  codegen::Program p;
  std::vector<BufferPtr> inputs;
  std::vector<std::vector<uint8_t>> results;
  std::vector<uint8_t*> buffers;

  explicit DirectGemm(const Tensor& t) {
    std::vector<ir::NodePtr> roots = {t.node()};
    ex = frontend::extract_graph(roots, false);
    p = runtime::compile_graph(ex.graph, cpu());
    inputs = ex.inputs;
  }
  const codegen::Kernel& kernel() const { return p.kernels.at(0); }
  // Runs `fns` (a GEMM object's functions) on `pool` and returns the result's bytes.
  std::vector<uint8_t> run(const std::vector<runtime::cpu::KernelFn>& fns,
                           runtime::cpu::ThreadPool& pool) {
    auto g = kernels::cpu::host_gemm_kernels(kernel());
    EXPECT_TRUE(g);
    kernels::cpu::CpuGemm gemm(kernel(), std::move(*g), fns);
    std::vector<uint8_t> out;
    buffers.clear();
    for (int id : p.launches.at(0).buffers) {
      const codegen::ProgramValue& v = p.values[static_cast<size_t>(id)];
      if (v.kind == codegen::ProgramValue::Kind::Parameter) {
        buffers.push_back(reinterpret_cast<uint8_t*>(inputs[static_cast<size_t>(v.param)]->data()));
      } else {
        out.assign(static_cast<size_t>(v.nbytes()), 0);
        buffers.push_back(out.data());
      }
    }
    std::vector<uint64_t> scalars;
    for (const codegen::ScalarSource& src : p.launches.at(0).scalars)
      scalars.push_back(codegen::scalar_slot(src));
    gemm.run(buffers.data(), scalars.data(), pool);
    return out;
  }
};

TEST(CpuGemm, ThreadsDoNotChangeTheResult) {
  // Each output sums its products in the same order whatever the blocking across threads.
  for (const Shape& m : std::vector<Shape>{{3, 500}, {300, 500}}) {
    DirectGemm d(gelu(matmul(data(m, 1), data({m[1], 200}, 2))));
    ASSERT_EQ(d.p.kernels.size(), 1u);
    auto fns = runtime::cpu::KernelCache::global().get(d.kernel()).fns;
    runtime::cpu::ThreadPool one(1), two(2), three(3);
    std::vector<uint8_t> want = d.run(fns, one);
    EXPECT_EQ(d.run(fns, two), want) << shape_str(m);
    EXPECT_EQ(d.run(fns, three), want) << shape_str(m);
  }
}

TEST(CpuGemm, SmallProductsOfABatchRunWholeOnEachThread) {
  // A batch of small products (attention's per-head scores and values, smaller): with a
  // product for every thread, each thread runs whole products (kSmallBatchedProduct). The
  // result is the one-thread result, bit for bit, and the reference's.
  Tensor q = data({2, 3, 40, 32}, 1), k = data({2, 3, 32, 40}, 2);
  check(matmul(q, k), 32, "a batch of 6 products of 40 x 40 x 32");
  check(gelu(matmul(data({7, 30, 64}, 3), data({7, 64, 50}, 4))), 64, "an odd batch with gelu");
  DirectGemm d(matmul(q, k));
  ASSERT_EQ(d.p.kernels.size(), 1u);
  auto fns = runtime::cpu::KernelCache::global().get(d.kernel()).fns;
  runtime::cpu::ThreadPool one(1), two(2), four(4);
  std::vector<uint8_t> want = d.run(fns, one);
  EXPECT_EQ(d.run(fns, two), want);
  EXPECT_EQ(d.run(fns, four), want);
}

TEST(CpuGemm, LongKSplitsOverTheThreads) {
  // Few outputs over a long k: each thread sums a range of k's blocks into a matrix of its
  // own, added at the end, and the epilogue (gelu) runs on the sum. Against the reference,
  // and on one, two and three threads against each other (the order of the sum differs).
  Tensor t = gelu(matmul(data({24, 4000}, 1), data({4000, 40}, 2)));
  check(t, 4000, "24 x 40 x 4000");
  DirectGemm d(t);
  ASSERT_EQ(d.p.kernels.size(), 1u);
  auto g = kernels::cpu::host_gemm_kernels(d.kernel());
  ASSERT_TRUE(g);
  EXPECT_FALSE(kernels::cpu::splits_k(*g, 1));
  EXPECT_TRUE(kernels::cpu::splits_k(*g, 2));
  auto fns = runtime::cpu::KernelCache::global().get(d.kernel()).fns;
  runtime::cpu::ThreadPool one(1), two(2), three(3);
  std::vector<uint8_t> want = d.run(fns, one);
  for (runtime::cpu::ThreadPool* pool : {&two, &three}) {
    std::vector<uint8_t> got = d.run(fns, *pool);
    ASSERT_EQ(got.size(), want.size());
    const auto* a = reinterpret_cast<const float*>(got.data());
    const auto* b = reinterpret_cast<const float*>(want.data());
    for (size_t i = 0; i < got.size() / sizeof(float); ++i)
      ASSERT_NEAR(a[i], b[i], 1e-4 * (1 + std::abs(b[i]))) << i << " on " << pool->size();
  }
}

TEST(CpuGemm, LinearLayerOfFewRowsRunsTransposed) {
  // x W^T + b, relu, with W [N, K] as a linear layer holds it: 64 rows against 128 columns
  // over a long k (the CNN's classifier) runs as W x^T, its epilogue storing transposed;
  // also the same with a batch of x and with the bias and relu left out.
  Tensor x = data({64, 3136}, 21), w = data({128, 3136}, 22), bias = data({128}, 23);
  check(relu(matmul(x, transpose(w)) + bias), 3136, "64 x 128 x 3136, B = W^T");
  DirectGemm d(matmul(x, transpose(w)));
  EXPECT_EQ(kernels::cpu::host_gemm_kernels(d.kernel())->contraction.m.size(), 128);
  check(matmul(data({2, 24, 1000}, 24), transpose(data({40, 1000}, 25))), 1000,
        "batched 24 x 40 x 1000, B = W^T");
}

TEST(CpuGemm, BStoredTransposedIsPackedByBlocks) {
  // x W^T with both row-major runs as W x^T, whose B (x^T) is packed from x's rows by 8 x 8
  // transposes (GemmKernels::b_rows): blocks partial along n and along k, a last panel of
  // whole vectors and one of a few columns, k split over the threads, a batch.
  struct Shape3 {
    int64_t m, n, k;
  };
  for (const Shape3 s : {Shape3{67, 45, 130}, {64, 128, 3136}, {21, 70, 41}, {50, 33, 515}}) {
    const std::string what =
        "x W^T, " + std::to_string(s.m) + " x " + std::to_string(s.n) + " x " + std::to_string(s.k);
    Tensor y = matmul(data({s.m, s.k}, 31), transpose(data({s.n, s.k}, 32)));
    DirectGemm d(y);
    EXPECT_TRUE(kernels::cpu::host_gemm_kernels(d.kernel())->b_rows.has_value()) << what;
    check(y, s.k, what);
  }
  check(matmul(data({3, 19, 100}, 33), swapaxes(data({3, 26, 100}, 34), 1, 2)), 100,
        "batched x W^T, 19 x 26 x 100");
}

TEST(CpuGemm, DiskCacheRoundTrip) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kiln-gemm-cache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  static runtime::cpu::ObjectLoader loader;
  runtime::cpu::KernelCache cache(loader, dir.string());
  DirectGemm d(add(matmul(data({40, 64}, 1), data({64, 80}, 2)), 1.0f));
  auto compiled = cache.get(d.kernel());
  EXPECT_EQ(compiled.source, runtime::cpu::CacheSource::Compiled);
  // Packs of A and B and their tails, the epilogue, five micro-kernels, and four more that
  // read A in place where B has few panels (40 rows against 80 columns: two panels on
  // AVX-512, five on AVX2).
  const size_t fns = kernels::cpu::host_gemm_kernels(d.kernel())->a_in_place ? 14 : 10;
  EXPECT_EQ(compiled.fns.size(), fns);
  cache.forget_memory();
  auto loaded = cache.get(d.kernel());
  EXPECT_EQ(loaded.source, runtime::cpu::CacheSource::Disk);
  ASSERT_EQ(loaded.fns.size(), fns);
  runtime::cpu::ThreadPool pool(2);
  EXPECT_EQ(d.run(loaded.fns, pool), d.run(compiled.fns, pool));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::testing
