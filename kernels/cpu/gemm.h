// The CPU GEMM: runs a kernel with a Contraction (codegen/contraction.h) as a cache-blocked,
// packed matrix product over the thread pool, then its fused epilogue.
//
// For each batch, in blocks of NC columns, KC values of k and MC rows (the loop order of
// BLIS): a block of B is packed into panels of NR columns (in parallel, one panel per
// item), then each task packs MC rows of A into panels of MR rows and runs the micro-kernel
// (codegen/llvm/emit_gemm.h) over its panels of B (outer) and A (inner), accumulating into
// the output when the epilogue only stores the accumulator, else into a scratch matrix.
// After the last block of k, the task runs the epilogue kernel on its rows of the tile,
// while they are in cache. Tasks are blocks of MC rows, or, for few rows (M = 1..16),
// ranges of B's panels, so that every thread has work. A B that is an AffineB (a conv's
// padded im2col) is packed here by copies of runs along n, and with few rows each task
// packs the panels it uses itself, just before using them (no block of B shared between
// threads). (Where B's runs are along k instead, a conv's weight gradient, the product
// comes transposed: codegen/gemm_kernels.h; its image is then a WindowA, below.) A batch
// of small products with one for every thread (attention's heads) runs the other way
// round: each thread takes whole products and runs their blocks alone, since waking the
// workers for each product would cost more than the product. A product of few outputs
// over a long k splits k over the threads (splits_k).
// A B that is a WindowB (a stride-1 conv's padded im2col) is not packed: each batch's
// input planes are copied once into a padded buffer, and the window micro-kernel reads B's
// rows there in place at a table of per-k offsets, over virtual columns that it computes
// into a tile and the driver scatters to the output's (run_window). An A that is a
// WindowA (a stride-1 conv's image in its weight gradient) is packed as runs of the
// images' virtual pixels from such a copy, k split over the threads (run_window_a).
// A WindowB of 3 x 3 taps over enough input planes runs as a Winograd F(2x2, 3x3)
// convolution instead (run_winograd): 16 products of c_out x planes x tiles, 2.25 times
// fewer multiply-adds, by the same micro-kernel; KILN_CPU_WINOGRAD=0 turns it off.
// The pack and epilogue kernels are KernelIR (codegen/gemm_kernels.h) compiled with the
// micro-kernel into one object (compile_gemm_object). kiln-aot emits the same kernels into
// its objects for the run-time library's C driver (codegen/aot/cpu/gemm.h), which runs
// the packed form only: no windows read in place.
// Tests: tests/runtime/cpu/gemm_test.cpp, tests/runtime/cpu/conv_gemm_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/gemm_kernels.h"
#include "runtime/cpu/jit.h"
#include "runtime/cpu/thread_pool.h"

namespace kiln::kernels::cpu {

using runtime::cpu::KernelFn;

// The GEMM kernels of `kernel` for this host, or nothing when it has no contraction or
// the GEMM cannot run it.
std::optional<codegen::GemmKernels> host_gemm_kernels(const codegen::Kernel& kernel);

// The object code of a GEMM: pack_a, pack_a_tail, pack_b, pack_b_tail, epilogue, the
// micro-kernel, the micro-kernel of the last panel's rows (GemmKernels::mr_tail), its wide
// form over kWidePanels panels of B, and the micro-kernels of the full and the last panel's
// rows over the columns of B's last panel (narrow_columns), named `prefix` + a suffix each,
// in that order; then, for a WindowB, the window micro-kernels over a full panel and over
// the last panel's columns (window_columns).
struct GemmObject {
  std::string object;
  std::vector<std::string> names;
};
GemmObject compile_gemm_object(const codegen::GemmKernels& gemm, const std::string& prefix);

// Columns of the narrow micro-kernels: those of B's last, partial panel when they are
// whole vectors of `lanes` (f32 or f64 lanes of the accumulator), else one vector (unused).
int narrow_columns(const codegen::GemmKernels& gemm, int lanes);

// Columns of the window micro-kernel of the last panel: its virtual columns in whole
// vectors of `lanes`.
int window_columns(const codegen::GemmKernels& gemm, int lanes);

// Lanes of that micro-kernel's vectors: half vectors where its columns fit in one (a
// 14 x 14 image's last 4 of 196), which cost half as much as full ones.
int window_lanes(const codegen::GemmKernels& gemm, int lanes);

// Panels of B the wide micro-kernel covers, for at most kWideRows rows of A (one or two
// rows, B read in place; its accumulators fit the registers).
inline constexpr int kWidePanels = 4, kWideRows = 2;

// Rows (M) up to which the tasks of a GEMM whose B is an AffineB pack their own panels of B.
inline constexpr int64_t kPrivateBRows = 128;

// Outputs (M x N) up to which a product with a long k splits it over the threads
// (splits_k): one such matrix per thread.
inline constexpr int64_t kSplitKOutputs = int64_t{1} << 20;

// Whether `threads` threads run the product with k split between them: at most 4 outputs
// per value of k (a conv's weight gradient: taps x c_out summed over every pixel; a dense
// layer of 128 outputs over 3136 inputs at batch 64), where a split by rows would fork
// and join twice per block of k for little work. Summed in another order than on one
// thread, so the last bits differ.
bool splits_k(const codegen::GemmKernels& gemm, int threads);

// Multiply-adds of one product of a batch up to which each thread runs whole products of
// the batch (when the batch has a product for every thread) instead of splitting each.
inline constexpr int64_t kSmallBatchedProduct = int64_t{1} << 20;

// Per value of k, its tap (plane * 9 + row * 3 + column) where the product is a 3 x 3
// stride-1 convolution that runs as Winograd F(2x2, 3x3) (gemm_winograd.cpp): an f32
// WindowB of 3 x 3 taps, each once, over at least 8 planes, with filters shared by the
// batch. Empty where it is not. `num_vars`: the kernel's.
std::vector<int64_t> winograd_taps(const codegen::GemmKernels& gemm, int num_vars);

// Whether such products run as Winograd convolutions: unless KILN_CPU_WINOGRAD=0 (read
// at each run), where they run as windows (exact sums of the taps, about 1.2x slower for
// a 3x3 conv of 32 -> 64 channels on 14 x 14 images).
bool winograd_enabled();

class CpuGemm {
 public:
  // `fns`: the loaded functions of compile_gemm_object's names, in order.
  CpuGemm(const codegen::Kernel& kernel, codegen::GemmKernels gemm,
          const std::vector<KernelFn>& fns);

  // Runs the kernel on the launch's buffers and scalar slots.
  void run(uint8_t* const* buffers, const uint64_t* scalars, runtime::cpu::ThreadPool& pool) const;

 private:
  struct Blocking;
  struct Call;
  using MicroKernel = void (*)(int64_t K, const void* A, const void* B, int64_t ldb, void* C,
                               int64_t ldc, int64_t accumulate);
  // The micro-kernels of one form of A (packed, or in place): full and last-panel rows, over
  // a full panel of B and over the narrow last panel.
  struct MicroSet {
    MicroKernel full = nullptr, tail = nullptr, narrow = nullptr, narrow_tail = nullptr;
  };
  Blocking blocking(int threads) const;
  // Whether the product is too small to share: a few hundred thousand multiply-adds take
  // microseconds, about what waking the workers would cost.
  bool runs_alone() const { return M_ * N_ * K_ < (int64_t{1} << 19); }
  void task(const Call& call, int64_t index) const;
  // One product of the batch with blocking `blk` over k in [k0, k1) (whole blocks): its
  // tasks on `pool`, or all on this thread when pool is null. Into `part` when given (a
  // part of split_k's: no epilogue), else the output or a scratch matrix and the epilogue.
  void run_batch(uint8_t* const* buffers, const uint64_t* scalars, const Blocking& blk,
                 int64_t batch, runtime::cpu::ThreadPool* pool, int64_t k0, int64_t k1,
                 uint8_t* part) const;
  // splits_k's product: each thread takes a range of k's blocks into a matrix of its own,
  // then their sum is the product (its epilogue run on it).
  void run_split_k(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                   runtime::cpu::ThreadPool& pool) const;
  // The sum of `parts` M x N matrices at `partial` as the batch's product: its output, or
  // a scratch matrix and the epilogue.
  void finish_parts(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                    const uint8_t* partial, int64_t parts, runtime::cpu::ThreadPool& pool) const;
  // Packs the panel `panel` of the block of B into dst.
  void pack_b_block(const Call& call, int64_t panel, uint8_t* dst) const;
  // Where the shared block of B holds panel `panel` (null where tasks pack their own).
  uint8_t* panel_in_block(const Call& call, int64_t panel) const;
  // Packs the panel at column n0 of an AffineB (gemm_.b_affine) into `dst`.
  void pack_affine_b(const Call& call, int64_t n0, uint8_t* dst) const;
  // Per value of k of the block at pc: the part of the index of an AffineB and of each of
  // its guards that the variables of k contribute (a row of 1 + guards values each).
  std::vector<int64_t> affine_b_k_table(int64_t pc, int64_t kc) const;
  // The panel `panel` of B for the micro-kernel, and its row stride.
  std::pair<const uint8_t*, int64_t> panel_of_b(const Call& call, int64_t panel) const;
  // B read in place from column n0 (gemm_.b_plain), and its row stride.
  std::pair<const uint8_t*, int64_t> in_place_b(const Call& call, int64_t n0) const;
  // A read in place from row m0 (gemm_.a_in_place), at the call's block of k.
  const uint8_t* in_place_a(const Call& call, int64_t m0) const;
  // Where a batch's matrix starts in an operand read in place.
  int64_t batch_offset(const codegen::InPlaceMatrix& in, int64_t batch) const;
  // C (+)= A B for one tile of `rows` x `cols` at `c` (row stride N): a panel of A (packed,
  // or in place) and a panel of B (row stride ldb), by `micro`'s kernel for the tile's
  // shape, or through a scratch tile.
  void tile_product(const MicroSet& micro, int64_t kc, const uint8_t* a, const uint8_t* b,
                    int64_t ldb, uint8_t* c, int64_t rows, int64_t cols, bool accumulate) const;
  // The epilogue over rows [m0, m1) and columns [n0, n1) of the accumulator matrix `c` of
  // `batch`.
  void epilogue_rows(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch, uint8_t* c,
                     int64_t m0, int64_t m1, int64_t n0, int64_t n1) const;

  // The WindowB path (kernels/cpu/gemm_window.cpp): the whole product, batches over the
  // pool where there are enough of them, else each batch's panels.
  void run_window(uint8_t* const* buffers, const uint64_t* scalars,
                  runtime::cpu::ThreadPool& pool) const;
  void init_window(const codegen::Kernel& kernel);
  // Copies the planes of `batch` into the padded buffer P (WindowB).
  void fill_window(uint8_t* const* buffers, int64_t batch, uint8_t* P) const;
  // Copies the padded planes of one image (or batch) whose base index in the buffer is
  // `base` into P: `w`'s planes of rows x cols, zeros where `ab`'s guards fail, once per
  // value of `origins` (the column of a row's first value: c_min, or each shift).
  void fill_planes(const codegen::WindowB& w, const codegen::AffineB& ab, const uint8_t* src,
                   int64_t base, const std::vector<int64_t>& origins, uint8_t* P) const;
  // fill_planes for one plane at `at` whose rows follow one another in the buffer at P's
  // pitch (a conv whose output is as wide as its input): one run per origin, then the
  // columns the guard drops are zeroed. Its copies are `copy` bytes apart.
  void fill_plane_runs(const codegen::WindowB& w, const codegen::AffineB::Guard& gr,
                       const codegen::AffineB::Guard& gc, const uint8_t* src, int64_t at,
                       const std::vector<int64_t>& origins, uint8_t* dst, int64_t copy) const;
  // The WindowA path (kernels/cpu/gemm_window.cpp): every image's padded planes copied
  // once, then k (the images' virtual pixels) split over the threads, each packing its
  // panels of A (runs of pixels) and of B (the cotangent) and summing into a matrix of
  // its own (finish_parts).
  void init_window_a(const codegen::Kernel& kernel);
  void run_window_a(uint8_t* const* buffers, const uint64_t* scalars,
                    runtime::cpu::ThreadPool& pool) const;
  // The panel of A of taps [m0, m0 + MR) over virtual pixels [k0, k0 + kc), from P.
  void pack_window_a(const uint8_t* P, int64_t m0, int64_t k0, int64_t kc, uint8_t* dst) const;
  // The panel of B of columns [n0, n0 + NR) over virtual pixels [k0, k0 + kc): the
  // cotangent, zero at the dropped pixels and past N; `at` its batch's base index.
  void pack_cotangent(const uint8_t* src, int64_t at, int64_t n0, int64_t k0, int64_t kc,
                      uint8_t* dst) const;
  // Panels [p0, p1) of the virtual columns of one batch: the micro-kernel over the packed
  // A (all blocks of k) and P into a tile, whose real columns go to `c` (row stride N).
  void window_panels(const uint8_t* packed_a, const uint8_t* P, int64_t p0, int64_t p1,
                     uint8_t* c) const;
  // Packs all of A for `batch` into dst: per block of k, per panel of MR rows.
  void pack_all_a(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                  uint8_t* dst) const;

  // The Winograd path (kernels/cpu/gemm_winograd.cpp): chunks of tiles (2 x 2 outputs)
  // over the pool, each transformed from its image's padded planes, multiplied by the
  // transformed filters per position, and transformed back into the outputs.
  void init_winograd();
  void run_winograd(uint8_t* const* buffers, const uint64_t* scalars,
                    runtime::cpu::ThreadPool& pool) const;
  // U = G g G^T of the filters of rows [m0, m1) of A (rows past c_out: zeros), from all
  // of A packed (pack_all_a), into 16 packed As of c_out x planes.
  void winograd_filters(const uint8_t* packed_a, float* U, int64_t m0, int64_t m1) const;
  // An image's planes (its index in the buffer `src` at `base`) padded to whole tiles
  // (rows r_min .. r_min + 2 TH + 2, columns c_min .. c_min + 2 TW + 2, zeros where a
  // guard fails) and split by column parity into even and odd: planes of 2 TH + 2 rows
  // of TW + 1; `line` is a row of zeros that it uses.
  void winograd_planes(const uint8_t* src, int64_t base, float* even, float* odd,
                       float* line) const;

  codegen::GemmKernels gemm_;
  DType acc_;
  int64_t esize_;
  int64_t batch_, M_, N_, K_;
  std::vector<int64_t> batch_extents_;
  int num_buffers_, num_scalars_, num_vars_;
  KernelFn pack_a_, pack_a_tail_, pack_b_, pack_b_tail_, epilogue_;
  MicroSet packed_a_micro_, in_place_a_micro_;
  MicroKernel micro_wide_ = nullptr;
  MicroKernel micro_window_ = nullptr, micro_window_narrow_ = nullptr;
  // The WindowB path: per value of k, the offset of B's row in P (WindowB); P's values
  // (with room past its planes for the last panel's reads, zeros there); the virtual
  // columns and the output's rows and columns; whether A reads a batch variable.
  std::vector<int64_t> window_k_;
  int64_t window_size_ = 0, window_n_ = 0, out_rows_ = 1, out_cols_ = 1;
  int64_t window_numel_ = 0;  // elements of the buffer the planes are copied from
  // The WindowA path: per tap (m), its offset in an image's planes; per column (n), its
  // part of the cotangent's index; per image, its part of the image's and the cotangent's
  // index; virtual pixels per image and an image's padded planes.
  std::vector<int64_t> tap_at_, column_at_, image_at_, image_cotangent_at_;
  int64_t pixels_ = 0, image_size_ = 0;
  bool a_per_batch_ = false;
  // The Winograd path: winograd_taps (empty where the path is not taken), and the tiles
  // per column and per row of an image.
  std::vector<int64_t> winograd_tap_;
  int64_t tiles_h_ = 0, tiles_w_ = 0;
  int narrow_ = 0;  // columns of the narrow micro-kernels
  // Work items of a panel of A, per value of k of each pack of B, and elements per work
  // item of the epilogue along n.
  int64_t a_items_, a_tail_items_, b_items_, b_tail_items_, epilogue_lanes_;
};

}  // namespace kiln::kernels::cpu
