// OpenCLTarget: what the OpenCL renderer needs to know about the device it renders for:
// the work-group limits and settings the work-group passes shape kernels from
// (codegen/work_group_target.h), and what the OpenCL C it writes may use (f64, f16, cast
// vector stores). The runtime fills them from clGetDeviceInfo (runtime/opencl/platform.h),
// tests fill them by hand. Nothing here needs an OpenCL library.
// Tests: tests/codegen/opencl/render_test.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/kernel_ir.h"
#include "codegen/work_group_target.h"

namespace kiln::codegen::opencl {

// How f16 / bf16 GEMMs use tensor cores (kernels/opencl/gemm.h): not at all, through
// inline PTX mma.sync (NVIDIA), or through a portable emulation of the same instruction
// (tests of the tensor-core kernel's data layout on any device).
enum class MmaMode : uint8_t { Off, Ptx, Emulated };

struct OpenCLTarget : WorkGroupTarget {
  std::string device_name = "generic";  // for messages
  bool fp64 = false;                    // cl_khr_fp64
  bool fp16 = false;                    // cl_khr_fp16 (f16 storage needs only core vload_half)
  // Aligned vector stores through a pointer to the vector type (one wide store) rather
  // than vstoreN. Off by default: oclgrind 21.10 miscompiles such stores to undef values
  // (clang 14 itself compiles them correctly); KILN_OPENCL_CAST_STORES=1 turns it on.
  bool cast_vector_stores = false;
  // Kernels with a contraction (Kernel::contraction) render as a tiled GEMM
  // (kernels/opencl/gemm.h); off, they stay loop nests (KILN_OPENCL_GEMM=0).
  bool gemm = true;
  // The GEMM tiles to use (the tuner's choice, or forced by tests and KILN_OPENCL_GEMM_TILE);
  // not chosen: the default for the device class.
  GemmTile gemm_tile;
  // Kernels with a transform (Kernel::spectral) render as kiln's Stockham FFT
  // (kernels/opencl/fft.h); off, they stay DFT loop nests (KILN_OPENCL_FFT=0).
  bool fft = true;
  // Complex elements an FFT work-group may hold in local memory; 0: what the device's local
  // memory holds (on CPUs at most 8192, a size the caches keep). Tests lower it to take the
  // several-pass path on short rows.
  int64_t fft_local_elems = 0;
  // Shorter transforms stay DFT loop nests; 0: 2 on GPUs, 64 on CPUs (a short row's loop nest
  // is cheap there, and PoCL builds it several times faster than the FFT's passes).
  int64_t fft_min_length = 0;
  bool nvidia = false;  // the device's vendor is NVIDIA (inline PTX is accepted)
  // Tensor cores for f16 / bf16 GEMMs: Ptx on NVIDIA devices of compute capability 8.0 or
  // later (runtime/opencl/platform.cpp; KILN_OPENCL_MMA=0 turns them off).
  MmaMode mma = MmaMode::Off;
  // f32 GEMMs on the tensor cores too, their factors rounded to TF32 (10 fraction bits; f32
  // accumulation): off unless the user asks (KILN_OPENCL_TF32=1), as PyTorch's allow_tf32.
  bool tf32 = false;
};

}  // namespace kiln::codegen::opencl
