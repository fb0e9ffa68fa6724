// emit_gemm: the register-blocked micro-kernel of the CPU GEMM (kernels/cpu/gemm.h) as one
// LLVM function
//
//   void name(i64 K, const T* A, const T* B, i64 ldb, T* C, i64 ldc, i64 accumulate)
//
// C[i][j] (+)= sum_k A[i * a_stride + k] * B[k * ldb + j] for i < MR, j < NR: A is a packed
// panel of MR rows, B a packed panel (ldb = NR) or NR contiguous columns of a matrix read
// in place. The MR x NR tile of accumulators stays in vector registers of the target's lanes;
// each step of k loads NR / lanes vectors of B and adds one broadcast value of A times them
// to each row (fused multiply-adds), four steps per loop iteration. `accumulate` != 0 adds
// the tile to C, 0 overwrites it. `prefetch_b` (B read in place, rows far apart) asks for
// the rows of B some steps ahead. With `b_row_table`, B's rows are not ldb apart: `ldb`
// holds the address of an i64 table, row k of B starting at B + table[k] (the windows of a
// padded image, kernels/cpu/gemm.h). Tests: tests/runtime/cpu/gemm_test.cpp,
// tests/runtime/cpu/conv_gemm_test.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "ir/dtype.h"

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace kiln::codegen::llvm_backend {

// `lanes`: vector lanes of `dtype` (f32 or f64); nr a multiple of it.
llvm::Function* emit_micro_kernel(llvm::Module& module, const std::string& name, DType dtype,
                                  int mr, int nr, int lanes, int64_t a_stride, bool prefetch_b,
                                  bool b_row_table = false);

}  // namespace kiln::codegen::llvm_backend
