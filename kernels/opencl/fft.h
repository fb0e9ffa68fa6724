// fft: kiln's OpenCL FFT library kernel. A kernel with a transform (Kernel::spectral,
// codegen/spectral.h) renders as Stockham autosort passes over its rows, its prologue and
// epilogue fused:
//
//   a transform of length len = L_1 * L_2 * ... runs as one launch per factor L_p (a "global
//   pass"): a work-group takes C consecutive units (a unit: a row and a position j in
//   [0, len / L_p)), loads each unit's L_p points x[j + r * len / L_p] into local memory
//   (multiplied by the twiddles of the earlier passes), transforms them there with radix
//   8 / 4 / 2 (and 3, 5, 7) Stockham passes, a barrier between passes, each work-item's
//   butterflies in registers, and stores them where the Stockham order puts them. While a
//   row fits in local memory there is one global pass (one work-group per row, or per
//   several short rows); on GPUs also a row up to twice that long, its points in registers
//   and exchanged through local memory a part at a time (FftPass::in_halves); beyond,
//   passes ping-pong through the device scratch buffer.
//   The first pass reads its input through Spectral::input (views, pads, casts and cheap
//   prologue ops such as the product of two spectra evaluated in place); the last pass
//   runs the epilogue stage on every result and stores where the kernel's stores say.
//   Twiddles are computed with sincos in float from an exact integer phase.
//
// Lengths with a prime factor above 7 run through Bluestein: the input times a chirp, a
// power-of-two convolution (forward FFT, times the chirp filter's spectrum, which a setup
// launch computes into the scratch buffer, inverse FFT), times the chirp. Real transforms
// of even length n whose half has no prime factor above 7 run as complex transforms of
// half the length ("half"): RealForward transforms z[j] = x[2j] + i x[2j+1] and splits the
// spectrum Z of the even and odd points into X as it stores (X[k] from Z[k] and
// conj(Z[n/2 - k]): in local memory when the row is one pass, else in a last launch over
// the scratch buffer); RealInverse combines X[k] and conj(X[n/2 - k]) into Z[k] as it reads
// and stores z[j]'s two parts as x[2j] and x[2j+1]. Other real transforms run as complex
// transforms of the real row (RealForward stores the non-negative half; RealInverse extends
// the half spectrum by Hermitian symmetry as it reads and keeps the real part).
// Tests: tests/runtime/opencl/fft_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/opencl/render_kernel.h"
#include "codegen/opencl/target.h"
#include "codegen/spectral.h"

namespace kiln::kernels::opencl {

// The radices (3s, 5s and 7s first, then 8s, then a 4 or a 2) whose product is n, or empty
// when n has a prime factor above 7 (or n < 2). With an even radix last, the last pass makes
// X[n/2] of an even-length transform from twiddle-free sums (as X[0] always is), so a real
// row's Nyquist term comes out exactly real.
std::vector<int> fft_radices(int64_t n);

// One launch of an FFT: `rows` transforms of length `len`, of which this pass does the
// factor `points` (`span`: the product of the factors before it), `units` (points-sized
// pieces of rows) per work-group of `work_items`. A pass `in_halves` holds its points in
// registers between its radix passes and exchanges them through local memory one part (real,
// then imaginary) at a time: on GPUs, a row up to twice as long as local memory holds as
// complex values runs in one pass (an 8192-point row in 32 KB).
struct FftPass {
  int64_t rows = 1, len = 1, points = 1, span = 1, units = 1, work_items = 1;
  bool in_halves = false;
};

// How a kernel's transform runs on a device: Bluestein or not, a real transform as a complex
// one of half its length or not, the length of the complex FFTs that run (n, n / 2, or the
// Bluestein convolution's power of two), and the passes of the transform itself
// (Bluestein: the forward ones; the inverse ones are alike).
struct FftPlan {
  bool bluestein = false;
  bool half = false;
  int64_t len = 1;
  std::vector<FftPass> passes;
};
FftPlan plan_fft(const codegen::Spectral& s, const codegen::opencl::OpenCLTarget& target);
// "n=4099 bluestein 8192 = 512 x 16", "n=4096 half 2048 = 2048", "n=4096 4096 = 4096" or
// "n=16384 half 8192 = 8192 in halves".
std::string fft_plan_str(const codegen::Spectral& s, const FftPlan& plan);

// Whether render_kernel hands `kernel` to render_fft on `target`: it has a transform of a
// length above 1 and at least target.fft_min_length, and target.fft is on.
bool renders_as_fft(const codegen::Kernel& kernel, const codegen::opencl::OpenCLTarget& target);

// Renders `kernel` (which must have a transform) as the passes above.
codegen::opencl::RenderedKernel render_fft(const codegen::Kernel& kernel,
                                           const codegen::opencl::OpenCLTarget& target,
                                           const std::string& name);

}  // namespace kiln::kernels::opencl
