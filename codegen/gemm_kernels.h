// gemm_kernels: the KernelIR kernels a packed GEMM (kernels/cpu/gemm.h) runs around its
// micro-kernel, derived from a kernel with a Contraction (codegen/contraction.h):
//
//   pack_a       packed[r * KC + kk] = a(batch, m0 + r, k0 + kk), 0 where m0 + r >= M
//   pack_a_tail  the same for kk < K - k0                             (the last block of k)
//   pack_b       packed[kk * NR + r] = b(batch, k0 + kk, n0 + r)   (a full panel)
//   pack_b_tail  the same, 0 where n0 + r >= N                      (the last panel)
//   epilogue     the kernel's epilogue stage, its outer loops reordered (batch, m, n), with
//                the accumulator read from a scratch matrix [m * N + n] of the batch
//
// The factors are evaluated where they are packed, so views, broadcasts and casts (f16 /
// bf16 inputs) are read in place. batch, k0 and m0 / n0 are scalar arguments appended
// after the kernel's own (slot_batch, slot_k0, slot_mn0); the packed panel and the scratch
// matrix are a buffer appended after the kernel's own (extra_buffer). A pack of A runs
// over outer loops (r < MR, kk < KC), a whole panel per call; a pack of B over (kk < KC,
// r < NR): a call over [0, rows * items_per_row) packs the panel's first `rows` values of k.
//
// A plain matrix A of many rows against few columns is read in place (a_in_place), by
// micro-kernels whose rows of A are its row stride apart.
// Rewrites that serve convolutions: leading variables of n that the output stores before
// m (the image of an NCHW conv) become batch variables, so that each batch's output is a
// row-major M x N matrix the micro-kernel writes directly; a factor B that is one load at
// an affine index under affine bounds (the padded im2col of a conv, through views) is
// described as an AffineB, which the driver packs by copying runs of the last variable of
// n with zeros around them instead of evaluating the factor per element, or, for a
// stride-1 conv, as a WindowB read in place (below); and a product whose B runs along k
// but only briefly along n (a conv's weight gradient), or x W^T of few rows against its
// k (a classifier's last layers), is computed transposed,
// C^T = B^T A^T, so that those runs are rows of A (the epilogue stores each value where
// it belongs).
// Tests: tests/runtime/cpu/gemm_test.cpp, tests/runtime/cpu/conv_gemm_test.cpp.
#pragma once

#include <optional>

#include "codegen/contraction.h"
#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"

namespace kiln::codegen {

// The register tile of the micro-kernel and the depth of a packed panel.
struct CpuGemmTile {
  int mr = 1, nr = 1;  // rows of A and columns of B per micro-kernel call
  int64_t kc = 1;      // values of k per packed panel
};

// The tile for `acc` (f32 or f64) on a machine with `lanes` f32 lanes.
CpuGemmTile cpu_gemm_tile(DType acc, int lanes);

// Panels of B up to which A is read in place (GemmKernels::a_in_place).
inline constexpr int64_t kAInPlacePanels = 2;

// The most column shifts, and bytes of planes, for which a WindowB copies its planes once
// per shift (WindowB::shifts).
inline constexpr size_t kMaxWindowShifts = 7;
inline constexpr int64_t kMaxWindowShiftBytes = int64_t{4} << 20;

// An operand as a matrix in memory that the micro-kernel may read in place (no packing):
// element (batch, r, c) at offset + sum(batch_strides[i] * batch var i) + r * ld + c of
// `buffer`, where (r, c) is (k, n) for B and (m, k) for A.
struct InPlaceMatrix {
  int buffer = 0;
  int64_t offset = 0, ld = 0;
  std::vector<int64_t> batch_strides;  // per variable of the batch set
};

// B as a read of a buffer at an affine index under affine bounds: element (batch, k, n) is
//   buffer[offset + sum_v coef[v] * v]  where every guard g has lo <= sum_v g.coef[v] * v < hi,
//   0 elsewhere,
// with v over the kernel's loop variables (those of the batch, k and n sets).
struct AffineB {
  // A bound a guard lacks (far from any index, so that bounds minus indices cannot overflow).
  static constexpr int64_t kUnbounded = int64_t{1} << 60;
  struct Guard {
    std::vector<int64_t> coef;
    int64_t lo = 0, hi = 0;
  };
  int buffer = 0;
  int64_t offset = 0;
  std::vector<int64_t> coef;
  std::vector<Guard> guards;
};

// B as windows of a padded copy of its planes (a stride-1 convolution's im2col), from an
// AffineB whose index is base + row_stride * r + c: r and c are the indices of its two
// guards (the image's rows and columns, padding outside their bounds), n is (oh, ow) or
// (ow) with r = oh + ... and c = ow + ..., and the base depends only on variables that no
// guard reads (the planes: input channels of k, images of the batch). The driver copies
// a batch's planes into P[plane][rows][cols], zeros where a guard fails, so that
//   B(batch, k, n) = P[k_offset(k) + oh * cols + ow],
// and the micro-kernel reads B in place, a row of B per step of k at a table of offsets,
// over the virtual columns n' = oh * cols + ow: those with ow >= OW are computed and
// dropped. Nothing is packed, and each input value is copied once instead of once per tap.
// A row's reads cover `span` columns, but its pitch `cols` may be less: the zeros of one
// row's right border are those of the next row's left border (a 3x3 conv padded by 1 reads
// W + 2 columns, at a pitch of W + 1), so that fewer virtual columns are dropped.
struct WindowB {
  int row_guard = -1;           // r's guard in the AffineB, -1 where n is (ow) (one row)
  int col_guard = 0;            // c's guard
  int64_t row_stride = 0;       // the buffer's stride along r
  int64_t r_min = 0, rows = 1;  // r's range over the loops: P's rows
  int64_t c_min = 0, span = 1;  // c's range: the columns a row's reads cover
  int64_t cols = 1;             // P's row pitch: span, or less where borders are shared
  // Where not empty, P holds one copy of the planes per value of the taps' column
  // (`shifts`: c - ow, ascending) at a pitch of OW: P[shift][plane][rows][OW], whose row
  // holds the columns ow + shift. Then every virtual column is an output (n' = n), at the
  // cost of a copy of the planes per shift (choose_shifts in gemm_kernels.cpp).
  std::vector<int64_t> shifts;
  std::vector<int> plane_vars;  // the variables of k in the base, outermost first
  std::vector<int64_t> plane_extents;
  int64_t planes() const;  // P's planes: the product of plane_extents
  int64_t virtual_columns(int64_t oh, int64_t ow) const;  // n' for OH x OW outputs
};

// A as windows of a padded copy of its planes, read along k: the transposed product of a
// stride-1 conv's weight gradient (m the taps, k the images' pixels, n the output
// channels). `window` is a's read seen as a WindowB over a contraction whose n is k's last
// two variables (the pixels), whose k is m (the taps) and whose batch adds k's leading
// variables (`images`); b (the cotangent) is a read without guards. The driver copies
// every image's padded planes once, packs A's panels as runs of virtual pixels (the
// columns past the image's are B's zero rows), and B's panels from the cotangent.
struct WindowA {
  AffineB image;      // a's read
  WindowB window;     // its window
  AffineB cotangent;  // b's read
  VarSet images;      // k's variables before the pixels'
};

struct GemmKernels {
  Contraction contraction;  // the product the kernels compute (batch variables promoted)
  CpuGemmTile tile;
  int mr_tail = 0;  // rows of the last panel of A (M % MR, or MR)
  int nr_tail = 0;  // columns of the last panel of B (N % NR, or NR; a window's virtual N)
  // B as a plain matrix, where it is one: the narrow micro-kernels read B's last, partial
  // panel there for any M (N = 16: attention's values), which packing would gather.
  std::optional<InPlaceMatrix> b_plain;
  // Few rows (M <= 16) where B is plain: every panel of B is read there, none packed.
  bool b_in_place = false;
  // B as the transpose of an f32 matrix in memory, where it is one (InPlaceMatrix's (r, c)
  // here (n, k): x W^T's W, or the transposed product's x): its panels are packed by
  // transposing 8 x 8 blocks instead of by the pack kernels, which would gather.
  std::optional<InPlaceMatrix> b_rows;
  // Set where A allows it, for many rows (M > 16) and few columns (N <= kAInPlacePanels
  // panels): each value of A serves a few panels only, so packing it would cost more than
  // reading it where it is (a transformer's 2048 -> 64 layer). Its micro-kernels read rows
  // of A `ld` apart.
  std::optional<InPlaceMatrix> a_in_place;
  std::optional<AffineB> b_affine;  // set where B is an affine read (packed by copies)
  std::optional<WindowB> b_window;  // set where that read is a window (read in place)
  std::optional<WindowA> a_window;  // set where A is a window read along k
  Kernel pack_a, pack_a_tail, pack_b, pack_b_tail, epilogue;
  int slot_batch = 0, slot_k0 = 0, slot_mn0 = 0;
  int extra_buffer = 0;
  // The epilogue only stores the accumulator, in its dtype, at [batch][m][n] of
  // `out_buffer`: the micro-kernel may write there and the epilogue need not run.
  bool direct_output = false;
  int out_buffer = 0;
};

// The kernels of `kernel`'s GEMM, or nothing when the GEMM cannot run it (kernels with
// private row buffers). `options` is the device's (vectorization of the new kernels).
std::optional<GemmKernels> make_gemm_kernels(const Kernel& kernel, const Contraction& c,
                                             const CpuGemmTile& tile, const LowerOptions& options);

}  // namespace kiln::codegen
