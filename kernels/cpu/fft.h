// The CPU library FFT: runs a kernel with a Spectral description (codegen/spectral.h)
// through FFTW (kernels/cpu/fft_plan.h) instead of its DFT loop nest.
//
// The rows of the transform (one per value of the batch variables) are split into blocks
// (fft_block_rows: one per thread where FFTW reads and writes the rows in place, else
// blocks whose data stays in the cache) that the thread pool's threads take
// in turn; each block is packed (the pack kernel evaluates the input expression: views,
// pads, casts, a product of spectra) into a per-thread staging buffer, transformed by
// FFTW into a second one, and its epilogue kernel stores the results (crop, bias, gelu,
// gating). An input that is already contiguous rows of a buffer is transformed where it
// is (no pack), and an output that is only the transform stored as rows is written by
// FFTW directly (no epilogue). Where long rows are fewer than the threads, one plan runs
// all rows on FFTW's own threads (a long transform). The pack and epilogue kernels are
// KernelIR (codegen/fft_kernels.h) compiled into one object (compile_fft_object).
// CpuFft is built only with KILN_HAS_FFTW (without, host_fft_kernels finds nothing). Tests:
// tests/runtime/cpu/fft_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/fft_kernels.h"
#include "kernels/cpu/fft_plan.h"
#include "kernels/cpu/gemm.h"
#include "runtime/cpu/jit.h"
#include "runtime/cpu/thread_pool.h"

namespace kiln::kernels::cpu {

// The FFT kernels of `kernel` for this host, or nothing when it has no Spectral
// description or the library cannot run it.
std::optional<codegen::FftKernels> host_fft_kernels(const codegen::Kernel& kernel);

// The object code of the pack and the epilogue kernel, named `prefix` + "_fft_pack" and
// + "_fft_epilogue", in that order.
GemmObject compile_fft_object(const codegen::FftKernels& fft, const std::string& prefix);

// Runs of CpuFft in this process (tests check that the library, not the loop nest, ran).
int64_t fft_library_runs();

class CpuFft {
 public:
  // `fns`: the loaded functions of compile_fft_object's names, in order.
  CpuFft(const codegen::Kernel& kernel, codegen::FftKernels fft, const std::vector<KernelFn>& fns,
         FftPlans& plans);

  // Runs the kernel on the launch's buffers and scalar slots.
  void run(uint8_t* const* buffers, const uint64_t* scalars, runtime::cpu::ThreadPool& pool) const;

 private:
  // Packs, transforms and finishes rows [r0, r0 + count) with `plan`, staging in `in` /
  // `out` where the rows are not read or written in place.
  void run_rows(uint8_t* const* buffers, const uint64_t* scalars, int64_t r0, int64_t count,
                const FftPlan& plan, uint8_t* in, uint8_t* out) const;
  uint8_t* input_rows(uint8_t* const* buffers, int64_t r0) const;   // null: packed
  uint8_t* output_rows(uint8_t* const* buffers, int64_t r0) const;  // null: staged

  codegen::FftKernels fft_;
  FftPlans& plans_;
  int64_t in_len_, out_len_, in_size_, out_size_;
  int num_buffers_, num_scalars_;
  KernelFn pack_, epilogue_;
  int64_t pack_items_, epilogue_items_;  // work items per row
};

}  // namespace kiln::kernels::cpu
