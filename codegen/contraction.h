// contraction: recognizes a kernel that is a sum of products (a matmul, or a convolution
// lowered as one) followed by elementwise work on each result (the fused epilogue), and
// describes it as a GEMM for the library kernels (kernels/):
//
//   acc[b, m, n] = sum_k a(b, m, k) * b(b, k, n)        (stage 0, a Reduce Sum)
//   stage 1: stores of f(acc[b, m, n], loads at the outer index)   (the epilogue)
//
// where b, m, n and k each stand for one or several loop variables: batch variables are
// the outer loops both factors depend on, m the outer loops only `a` depends on (or
// neither), n those only `b` depends on, k the Reduce stage's loops. Linearizing each set
// row-major gives a batch of M x N x K products. The factors are KernelIR expressions of
// those variables (loads through any index arithmetic, casts, cheap prologue ops), so a
// library kernel evaluates them when it packs or tiles its operands: transposed views,
// broadcasts and the im2col of a convolution are read in place, never copied.
//
// match_contraction runs as a kernel pass (optimize_kernel) and sets Kernel::contraction
// when the kernel has this form and is big enough that a GEMM beats the loop nest; the
// loop nest stays the fallback every backend can run. Tests: tests/codegen/contraction_test.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "codegen/expr.h"

namespace kiln::codegen {

struct Kernel;

// One set of loop variables of a contraction, outermost first, with their extents.
struct VarSet {
  std::vector<int> vars;
  std::vector<int64_t> extents;
  int64_t size() const;  // product of extents (1 when empty)
};

struct Contraction {
  VarSet batch, m, n, k;   // batch, m, n are outer loops; k the Reduce stage's loops
  ExprPtr a, b;            // the factors, of dtype `acc`: a(batch, m, k), b(batch, k, n)
  DType acc = DType::F32;  // the accumulator (and factors') dtype: f32 or f64
  int reduce_stage = 0;    // the stage that sums a * b
  int epilogue_stage = 1;  // the Loop stage (no loops) that stores f(acc)
};

// The contraction `kernel` computes, or null when it has another form. Does not look at
// sizes: any kernel of the form matches.
std::shared_ptr<const Contraction> find_contraction(const Kernel& kernel);

// Sets kernel.contraction to find_contraction's result when a library GEMM should run the
// kernel: float accumulation and enough work per output (see contraction.cpp).
void match_contraction(Kernel& kernel);

// The Var expressions of a set, in order (for substitute()).
std::vector<ExprPtr> var_exprs(const VarSet& set);

}  // namespace kiln::codegen
