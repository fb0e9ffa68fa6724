// fft_kernels: the KernelIR kernels a library FFT (kernels/cpu/fft.h) runs around the
// transform, derived from a kernel with a Spectral description (codegen/spectral.h):
//
//   pack      staging[(row - row0) * in_len + j] = input(batch, j)
//   epilogue  the kernel's epilogue stage over the outer loops (row, k), with the
//             transform's value read from staging_out[(row - row0) * fft_out_len + k]
//
// where row is the linear index of the batch variables (outermost first; rows = the
// product of their extents) and row0 the first row of the block the call covers, a scalar
// argument appended after the kernel's own (slot_row0). The staging buffer is one buffer
// appended after the kernel's own (extra_buffer), as many rows long as the driver's blocks
// (its numel says all rows: the bound, not the size). Both kernels run
// over the outer loops (row, j) or (row, k), so a call over work items [row * per_row,
// row_end * per_row) covers whole rows. The input is evaluated where it is packed (views,
// pads, casts, the product of two spectra) and the epilogue fuses what follows the
// transform (crop, bias, gelu, gating).
//
// Where the input is a plain read of contiguous rows (buffer[offset + row * in_len + j])
// the library may transform it in place of the packed copy (direct_input); where the
// epilogue only stores the transform's value at [row][k] of a buffer of its dtype, the
// library may write there (direct_output).
// Tests: tests/runtime/cpu/fft_test.cpp.
#pragma once

#include <optional>

#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"
#include "codegen/spectral.h"

namespace kiln::codegen {

// The length of one row of a transform's input and output as the library stores them: n
// complex values, n reals (c2r's output, r2c's input), or n / 2 + 1 complex values (r2c's
// output, c2r's input).
int64_t fft_in_len(SpectralKind kind, int64_t n);
int64_t fft_out_len(SpectralKind kind, int64_t n);

// A buffer read (or written) as contiguous rows: element (row, i) at offset + row * len + i.
struct RowsInBuffer {
  int buffer = 0;
  int64_t offset = 0;
};

struct FftKernels {
  Spectral spectral;
  int64_t rows = 1;  // product of the batch extents
  Kernel pack, epilogue;
  int slot_row0 = 0;
  int extra_buffer = 0;
  std::optional<RowsInBuffer> direct_input, direct_output;
};

// The kernels of `kernel`'s transform, or nothing where the library cannot run it (a
// kernel with private row buffers, stages other than the transform's sum and its
// epilogue, or a sum over other than a whole input row). An epilogue over fewer outputs
// than the transform makes (a fused crop) reads them from the library's full rows.
// `options` is the device's (vectorization).
std::optional<FftKernels> make_fft_kernels(const Kernel& kernel, const Spectral& spectral,
                                           const LowerOptions& options);

}  // namespace kiln::codegen
