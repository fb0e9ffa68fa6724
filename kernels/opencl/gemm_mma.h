// gemm_mma: the GEMM of kernels/opencl/gemm.h on NVIDIA tensor cores, for products of
// f16 or bf16 values accumulated in f32, and, where the user allows TF32
// (KILN_OPENCL_TF32=1), of f32 values rounded to TF32. The OpenCL source carries inline PTX
// `mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}` or `m16n8k8...tf32` (NVIDIA's OpenCL
// compiler accepts it; its OpenCL has no cl_khr_fp16, so halves are only ever bits here):
//
//   a work-group of 4 warps computes a 128 x 128 output tile, each warp 64 x 64 of it as
//   4 x 8 fragments of 16 x 8 accumulators;
//   per k step of 32 (16 for TF32): every work-item evaluates its share of the A and B tiles
//   (the factor expressions, so views, broadcasts and prologues are read in place; zero
//   outside M, N, K) as pairs of halves packed in 32-bit registers (TF32: one value a
//   register, rounded to nearest), one step ahead of the tensor cores
//   (the loads of step k + 1 overlap the products of step k), and stores them in local
//   memory, A by rows of m and B by rows of n, both with k pairs consecutive: the layout
//   the fragments of m16n8k16 read;
//   the epilogue (the kernel's loop-free stage 1) runs on each accumulator with the outer
//   variables at its (batch, m, n), as in the portable kernel.
//
// render_gemm (gemm.h) hands a kernel here where uses_tensor_cores says so: the target's
// mma mode is Ptx (NVIDIA, compute capability 8.0 or later, unless KILN_OPENCL_MMA=0) or
// Emulated (tests on any device: each mma is computed from the same fragments through
// local memory, which checks the layouts and the staging; tests/runtime/opencl/gemm_test.cpp).
// Tests: tests/codegen/opencl/gemm_mma_test.cpp (the rendered source); the PTX itself runs
// on an NVIDIA GPU only (tests/runtime/gemm_test.cpp there).
#pragma once

#include <optional>
#include <string>

#include "codegen/kernel_ir.h"
#include "codegen/opencl/render_kernel.h"
#include "codegen/opencl/target.h"

namespace kiln::kernels::opencl {

// The half dtype (F16 or BF16) both factors of `kernel`'s contraction convert from to
// their f32 accumulator, or F32 when they do not.
DType mma_operand_dtype(const codegen::Kernel& kernel);

// What `kernel`'s factors enter the tensor cores of `target` as: F16 or BF16
// (mma_operand_dtype), F32 for f32 factors rounded to TF32 where the target allows it
// (OpenCLTarget::tf32), or nothing.
std::optional<DType> tensor_core_operands(const codegen::Kernel& kernel,
                                          const codegen::opencl::OpenCLTarget& target);

codegen::opencl::RenderedKernel render_gemm_mma(const codegen::Kernel& kernel,
                                                const codegen::opencl::OpenCLTarget& target,
                                                const std::string& name);

}  // namespace kiln::kernels::opencl
