// spectral: the description of a kernel that computes a discrete Fourier transform (IR ops
// fft, rfft, irfft) followed by elementwise work on each result (the fused epilogue), for
// the library FFTs (kernels/cpu/fft.h: FFTW; kernels/opencl/fft.h: kiln's own Stockham
// kernels). lower_group lowers a transform as a DFT loop nest, the fallback every backend
// (and kiln-aot) can run:
//
//   acc[batch, k] = sum_j x(batch, j) * exp(sign * 2 pi i * j * k / n)   (stage 0, Reduce Sum)
//   stage 1: stores of f(acc[batch, k], loads at the outer index)      (the epilogue)
//
// and describes it in Kernel::spectral: the batch variables (every outer loop but the transformed
// axis, outermost first), the output variable k, the sum's variable j, and the input as a KernelIR
// expression of batch and j (loads through views and pads, casts, cheap elementwise prologue ops
// such as the product of two spectra), so a library transform evaluates the prologue as it reads
// its input and the epilogue as it writes its output.
//
// The kinds, with n the transform's length:
//   Forward      c64 -> c64, j and k in [0, n), sign -1
//   Inverse      c64 -> c64, j and k in [0, n), sign +1 (unnormalized)
//   RealForward  f32 -> c64, j in [0, n), k in [0, n/2 + 1), sign -1
//   RealInverse  c64 -> f32, j in [0, n/2 + 1), k in [0, out_len), out_len <= n, sign +1
//                (unnormalized): the input is the non-negative half of a Hermitian
//                spectrum; the imaginary parts of its zero (and, for even n, its n/2)
//                frequency are ignored; outputs from out_len on are not stored (irfft's
//                `length`: a crop of the signal fused into the transform)
// Tests: tests/codegen/spectral_test.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "codegen/contraction.h"
#include "codegen/expr.h"

namespace kiln::codegen {

enum class SpectralKind : uint8_t { Forward, Inverse, RealForward, RealInverse };

struct Spectral {
  SpectralKind kind = SpectralKind::Forward;
  int64_t n = 1;           // the transform's length
  VarSet batch;            // outer loops other than k, outermost first
  int out_var = 0;         // k: the outer loop along the transformed axis
  int64_t out_len = 1;     // its extent: n, n/2 + 1 for RealForward, <= n for RealInverse
  int in_var = 0;          // j: the Reduce stage's loop
  int64_t in_len = 1;      // its extent: n, or n/2 + 1 for RealInverse
  ExprPtr input;           // x(batch, j): c64, or f32 for RealForward
  int reduce_stage = 0;    // the stage that sums the DFT
  int epilogue_stage = 1;  // the Loop stage (no loops) that stores f(acc)

  // The dtype of the input and of the accumulator (the transform's result).
  DType input_dtype() const { return kind == SpectralKind::RealForward ? DType::F32 : DType::C64; }
  DType acc_dtype() const { return kind == SpectralKind::RealInverse ? DType::F32 : DType::C64; }
  bool inverse() const {
    return kind == SpectralKind::Inverse || kind == SpectralKind::RealInverse;
  }
};

std::string_view spectral_kind_name(SpectralKind kind);

}  // namespace kiln::codegen
