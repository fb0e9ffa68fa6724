// CpuGemm: the blocked GEMM driver (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "codegen/contraction.h"
#include "codegen/llvm/emit_kernel.h"
#include "codegen/llvm/target.h"
#include "ir/error.h"
#include "ir/host_memory.h"
#include "kernels/cpu/gemm_util.h"
#include "kernels/cpu/vec.h"

namespace kiln::kernels::cpu {

using namespace detail;  // NOLINT(google-build-using-namespace): the GEMM's own helpers

namespace {

// Adds (or copies) the valid rows x cols of a full MR x NR tile into C.
template <typename T>
void put_tile(const void* tile, int64_t nr, void* c, int64_t ldc, int64_t rows, int64_t cols,
              bool accumulate) {
  const T* t = static_cast<const T*>(tile);
  T* out = static_cast<T*>(c);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * ldc + j] = accumulate ? out[i * ldc + j] + t[i * nr + j] : t[i * nr + j];
}

// floor(a / b) and ceil(a / b) for b > 0.
int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }
int64_t ceil_div_signed(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Narrows [ja, jb) to the j with lo <= x + s * j < hi (|bounds| <= AffineB::kUnbounded).
void keep_in_bounds(int64_t x, int64_t s, int64_t lo, int64_t hi, int64_t& ja, int64_t& jb) {
  if (s == 0) {
    if (x < lo || x >= hi) jb = ja;
  } else if (s == 1) {
    ja = std::max(ja, lo - x);
    jb = std::min(jb, hi - x);
  } else if (s > 0) {
    ja = std::max(ja, ceil_div_signed(lo - x, s));
    jb = std::min(jb, ceil_div_signed(hi - x, s));
  } else {  // lo <= x + s j < hi  <=>  1 - hi <= -x - s j < 1 - lo
    keep_in_bounds(-x, -s, 1 - hi, 1 - lo, ja, jb);
  }
}

// dst[0, len): buffer[at + j * stride] for j in [ja, jb), zeros elsewhere (the buffer is
// read at ja..jb only).
template <typename T>
void copy_run(T* dst, const T* buffer, int64_t at, int64_t stride, int64_t ja, int64_t jb,
              int64_t len) {
  if (stride == 1 && ja <= 0 && jb >= len) {  // the common case: no padding in the run
    std::memcpy(dst, buffer + at, static_cast<size_t>(len) * sizeof(T));
    return;
  }
  ja = std::clamp<int64_t>(ja, 0, len);
  jb = std::clamp<int64_t>(jb, ja, len);
  std::memset(dst, 0, static_cast<size_t>(ja) * sizeof(T));
  if (stride == 1)
    std::memcpy(dst + ja, buffer + at + ja, static_cast<size_t>(jb - ja) * sizeof(T));
  else
    for (int64_t j = ja; j < jb; ++j) dst[j] = buffer[at + j * stride];
  std::memset(dst + jb, 0, static_cast<size_t>(len - jb) * sizeof(T));
}

// c[i] = the sum over the parts of part[p * mn + i], for i in [i0, i1).
template <typename T>
void sum_parts(const uint8_t* parts, int64_t count, int64_t mn, uint8_t* c, int64_t i0,
               int64_t i1) {
  const T* p = reinterpret_cast<const T*>(parts);
  T* out = reinterpret_cast<T*>(c);
  for (int64_t i = i0; i < i1; ++i) out[i] = p[i];
  for (int64_t q = 1; q < count; ++q)
    for (int64_t i = i0; i < i1; ++i) out[i] += p[q * mn + i];
}

// A panel of B from its transpose in memory: dst[kk * nr + r] = src[r * ld + kk] for
// r < cols and kk < depth, zeros for r in [cols, nr); by 8 x 8 blocks (nr is a multiple
// of 8).
KILN_HOST_CLONES void pack_transposed(const float* src, int64_t ld, int64_t cols, int64_t depth,
                                      int nr, float* dst) {
  int64_t r = 0;
  for (; r + kLanes <= cols; r += kLanes) {
    int64_t kk = 0;
    for (; kk + kLanes <= depth; kk += kLanes) {
      Vec block[kLanes];
      for (int i = 0; i < kLanes; ++i) block[i] = KILN_LOAD(src + (r + i) * ld + kk);
      transpose8(block);
      for (int i = 0; i < kLanes; ++i) store(dst + (kk + i) * nr + r, block[i]);
    }
    for (; kk < depth; ++kk)
      for (int i = 0; i < kLanes; ++i) dst[kk * nr + r + i] = src[(r + i) * ld + kk];
  }
  for (; r < cols; ++r)
    for (int64_t kk = 0; kk < depth; ++kk) dst[kk * nr + r] = src[r * ld + kk];
  if (cols < nr)
    for (int64_t kk = 0; kk < depth; ++kk)
      std::memset(dst + kk * nr + cols, 0, static_cast<size_t>(nr - cols) * sizeof(float));
}

// Zeros columns [filled, nr) of the kc rows of a packed panel of B (the columns past N).
void zero_columns(uint8_t* panel, int64_t kc, int nr, int64_t filled, int64_t esize) {
  if (filled >= nr) return;
  for (int64_t kk = 0; kk < kc; ++kk)
    std::memset(panel + (kk * nr + filled) * esize, 0, static_cast<size_t>((nr - filled) * esize));
}

}  // namespace

struct CpuGemm::Blocking {
  int64_t kc, nc, mc;
  int64_t row_blocks;  // blocks of mc rows
  int64_t chunks;      // ranges of B's panels per row block
  bool private_b;      // each task packs the panels of B it uses (see blocking())
};

// One batch's block of columns and depth, as the tasks see it.
struct CpuGemm::Call {
  const Blocking* blk;
  uint8_t* const* buffers;
  const uint64_t* scalars;
  uint8_t* c;  // the accumulator matrix of the batch (output or scratch), row stride N
  uint8_t* packed_b;
  int64_t batch, jc, nc, pc, kc;
  const int64_t* affine_k;  // affine_b_k_table of the block, where B is an AffineB
  bool accumulate;          // add to c (not the first block of k)
  bool epilogue;            // run the epilogue on the tiles after this block
};

CpuGemm::CpuGemm(const codegen::Kernel& kernel, codegen::GemmKernels gemm,
                 const std::vector<KernelFn>& fns)
    : gemm_(std::move(gemm)) {
  const codegen::Contraction& c = gemm_.contraction;
  acc_ = c.acc;
  esize_ = acc_ == DType::F64 ? 8 : 4;
  batch_ = c.batch.size();
  M_ = c.m.size();
  N_ = c.n.size();
  K_ = c.k.size();
  num_buffers_ = static_cast<int>(kernel.buffers.size());
  num_scalars_ = static_cast<int>(kernel.scalars.size());
  num_vars_ = kernel.num_vars;
  pack_a_ = fns.at(0);
  pack_a_tail_ = fns.at(1);
  pack_b_ = fns.at(2);
  pack_b_tail_ = fns.at(3);
  epilogue_ = fns.at(4);
  auto micro = [&](size_t i) {
    return reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(i)));
  };
  packed_a_micro_ = {micro(5), micro(6), micro(8), micro(9)};
  micro_wide_ = micro(7);
  if (gemm_.a_in_place) in_place_a_micro_ = {micro(10), micro(11), micro(12), micro(13)};
  if (gemm_.a_window) init_window_a(kernel);
  if (gemm_.b_window) {
    micro_window_ = micro(10);
    micro_window_narrow_ = micro(11);
    init_window(kernel);
    init_winograd();
  }
  batch_extents_ = c.batch.extents;
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  narrow_ = narrow_columns(gemm_, acc_ == DType::F64 ? lanes / 2 : lanes);
  using codegen::llvm_backend::work_items;
  a_items_ = work_items(gemm_.pack_a, lanes);
  a_tail_items_ = work_items(gemm_.pack_a_tail, lanes);
  b_items_ = work_items(gemm_.pack_b, lanes) / gemm_.tile.kc;
  b_tail_items_ = work_items(gemm_.pack_b_tail, lanes) / gemm_.tile.kc;
  epilogue_lanes_ = codegen::llvm_backend::kernel_lanes(gemm_.epilogue, lanes);
}

CpuGemm::Blocking CpuGemm::blocking(int threads) const {
  const codegen::CpuGemmTile& t = gemm_.tile;
  Blocking b;
  b.kc = std::max<int64_t>(1, std::min(t.kc, K_));  // a small product packs only its depth
  // A block of B (KC x NC) stays in the last-level cache, a block of A (MC x KC) in L2.
  b.nc = round_up(std::min<int64_t>(N_, acc_ == DType::F64 ? 1536 : 3072), t.nr);
  const int64_t mc_max = 480;
  const int64_t panels = ceil_div(std::min(N_, b.nc), t.nr);
  // Ranges of panels must start on a vector of the epilogue.
  if (threads == 1 || M_ >= 4 * t.mr * threads || t.nr % epilogue_lanes_ != 0) {
    // Row blocks, as many per thread.
    int64_t blocks = round_up(ceil_div(M_, mc_max), threads);
    b.mc = round_up(ceil_div(M_, blocks), t.mr);
    b.chunks = 1;
  } else {
    // Few rows: every task takes all of them and a range of B's panels.
    b.mc = M_;
    b.chunks = std::min<int64_t>(panels, 4 * threads);
  }
  b.row_blocks = ceil_div(M_, b.mc);
  // An AffineB with few rows (a conv's c_out): packing B costs as much as the product over
  // a panel, so each task packs the panels it uses, just before using them, into a buffer
  // of its own that stays in cache; all of N is one block, with no wait between packing
  // and the product.
  b.private_b = gemm_.b_affine && threads > 1 && M_ <= kPrivateBRows && t.nr % epilogue_lanes_ == 0;
  if (b.private_b) {
    b.nc = round_up(N_, t.nr);
    b.mc = M_;
    b.row_blocks = 1;
    b.chunks = std::min<int64_t>(ceil_div(N_, t.nr), 2 * threads);
  }
  return b;
}

void CpuGemm::pack_b_block(const Call& call, int64_t panel, uint8_t* dst) const {
  const int nr = gemm_.tile.nr;
  const int64_t n0 = call.jc + panel * nr;
  std::vector<uint8_t*> bufs(call.buffers, call.buffers + num_buffers_);
  bufs.push_back(dst);
  std::vector<uint64_t> scal(call.scalars, call.scalars + num_scalars_);
  scal.insert(scal.end(), {static_cast<uint64_t>(call.batch), static_cast<uint64_t>(call.pc),
                           static_cast<uint64_t>(n0)});
  if (gemm_.b_in_place) {
    // A matrix in memory: its partial panel is copied and padded with zeros here (the
    // guarded pack kernel would gather it), unless the narrow micro-kernels read it.
    const int64_t cols = std::min<int64_t>(nr, N_ - n0);
    auto [src, ldb] = in_place_b(call, n0);
    for (int64_t k = 0; k < call.kc; ++k) {
      std::memcpy(dst + k * nr * esize_, src + k * ldb * esize_,
                  static_cast<size_t>(cols * esize_));
      std::memset(dst + (k * nr + cols) * esize_, 0, static_cast<size_t>((nr - cols) * esize_));
    }
  } else if (gemm_.b_affine) {
    pack_affine_b(call, n0, dst);
  } else if (gemm_.b_rows) {
    const codegen::InPlaceMatrix& in = *gemm_.b_rows;
    const int64_t offset = batch_offset(in, call.batch) + n0 * in.ld + call.pc;
    pack_transposed(reinterpret_cast<const float*>(call.buffers[in.buffer]) + offset, in.ld,
                    std::min<int64_t>(nr, N_ - n0), call.kc, nr, reinterpret_cast<float*>(dst));
  } else if (n0 + nr <= N_) {
    pack_b_(bufs.data(), scal.data(), 0, call.kc * b_items_);
  } else {
    pack_b_tail_(bufs.data(), scal.data(), 0, call.kc * b_tail_items_);
  }
}

std::vector<int64_t> CpuGemm::affine_b_k_table(int64_t pc, int64_t kc) const {
  const codegen::AffineB& ab = *gemm_.b_affine;
  const codegen::VarSet& kset = gemm_.contraction.k;
  const size_t row = 1 + ab.guards.size();
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0), table(kc * row);
  for (int64_t kk = 0; kk < kc; ++kk) {
    set_vars(values, kset, pc + kk);
    int64_t* t = &table[static_cast<size_t>(kk) * row];
    t[0] = dot(ab.coef, values, kset);
    for (size_t g = 0; g < ab.guards.size(); ++g) t[1 + g] = dot(ab.guards[g].coef, values, kset);
  }
  return table;
}

void CpuGemm::pack_affine_b(const Call& call, int64_t n0, uint8_t* dst) const {
  // Runs of the panel's columns along the last variable of n, each a strided copy of the
  // buffer between the bounds the guards give it, zeros around; zeros past N.
  const codegen::AffineB& ab = *gemm_.b_affine;
  const codegen::Contraction& c = gemm_.contraction;
  const int nr = gemm_.tile.nr;
  const size_t guards = ab.guards.size(), row = 1 + guards;
  const auto last = static_cast<size_t>(c.n.vars.back());
  const int64_t last_extent = c.n.extents.back(), n_end = std::min(N_, n0 + nr);
  const int64_t stride = ab.coef[last];
  // Per guard: its index at the run's start (less k's part), step along the run, bounds.
  // Guards constant along the run (step 0: a conv's rows) are checked first, as a whole.
  struct Bound {
    int64_t at, step, lo, hi;
    size_t k;  // its column in the k table
  };
  std::vector<Bound> bounds(guards);
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
  set_vars(values, c.batch, call.batch);
  const int64_t batch_at = ab.offset + dot(ab.coef, values, c.batch);
  const uint8_t* buffer = call.buffers[ab.buffer];
  for (int64_t n = n0; n < n_end;) {
    set_vars(values, c.n, n);
    const int64_t len = std::min(n_end - n, last_extent - values[last]);
    const int64_t at = batch_at + dot(ab.coef, values, c.n);
    size_t fixed = 0, moving = guards;
    for (size_t g = 0; g < guards; ++g) {
      const codegen::AffineB::Guard& gd = ab.guards[g];
      const Bound b{dot(gd.coef, values, c.batch) + dot(gd.coef, values, c.n), gd.coef[last], gd.lo,
                    gd.hi, 1 + g};
      bounds[b.step == 0 ? fixed++ : --moving] = b;
    }
    for (int64_t kk = 0; kk < call.kc; ++kk) {
      const int64_t* k = call.affine_k + kk * static_cast<int64_t>(row);
      int64_t ja = 0, jb = len;
      for (size_t g = 0; g < fixed; ++g) {
        const int64_t x = bounds[g].at + k[bounds[g].k];
        if (x < bounds[g].lo || x >= bounds[g].hi) jb = 0;
      }
      for (size_t g = fixed; g < guards && ja < jb; ++g)
        keep_in_bounds(bounds[g].at + k[bounds[g].k], bounds[g].step, bounds[g].lo, bounds[g].hi,
                       ja, jb);
      uint8_t* out = dst + (kk * nr + (n - n0)) * esize_;
      if (acc_ == DType::F64)
        copy_run(reinterpret_cast<double*>(out), reinterpret_cast<const double*>(buffer), at + k[0],
                 stride, ja, jb, len);
      else
        copy_run(reinterpret_cast<float*>(out), reinterpret_cast<const float*>(buffer), at + k[0],
                 stride, ja, jb, len);
    }
    n += len;
  }
  zero_columns(dst, call.kc, nr, n_end - n0, esize_);
}

std::pair<const uint8_t*, int64_t> CpuGemm::in_place_b(const Call& call, int64_t n0) const {
  const codegen::InPlaceMatrix& in = *gemm_.b_plain;
  const int64_t offset = batch_offset(in, call.batch) + call.pc * in.ld + n0;
  return {call.buffers[in.buffer] + offset * esize_, in.ld};
}

int64_t CpuGemm::batch_offset(const codegen::InPlaceMatrix& in, int64_t batch) const {
  int64_t offset = in.offset, rest = batch;
  for (size_t i = batch_extents_.size(); i-- > 0;) {
    offset += in.batch_strides[i] * (rest % batch_extents_[i]);
    rest /= batch_extents_[i];
  }
  return offset;
}

uint8_t* CpuGemm::panel_in_block(const Call& call, int64_t panel) const {
  return call.packed_b ? call.packed_b + panel * call.blk->kc * gemm_.tile.nr * esize_ : nullptr;
}

std::pair<const uint8_t*, int64_t> CpuGemm::panel_of_b(const Call& call, int64_t panel) const {
  const int nr = gemm_.tile.nr;
  const int64_t n0 = call.jc + panel * nr;
  if (gemm_.b_in_place && n0 + nr <= N_) return in_place_b(call, n0);
  return {panel_in_block(call, panel), nr};
}

void CpuGemm::task(const Call& call, int64_t index) const {
  const Blocking& blk = *call.blk;
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const int64_t kc_max = gemm_.tile.kc;
  const int64_t m0 = (index / blk.chunks) * blk.mc, m1 = std::min(M_, m0 + blk.mc);
  const int64_t panels = ceil_div(call.nc, nr), chunk = index % blk.chunks;
  const int64_t p0 = panels * chunk / blk.chunks, p1 = panels * (chunk + 1) / blk.chunks;
  if (p0 == p1) return;

  // This task's rows of A: packed, panel by panel, or where they are (a_in_place).
  const int64_t a_panels = ceil_div(m1 - m0, mr);
  const uint8_t* a_base = nullptr;
  int64_t a_panel_bytes = kc_max * mr * esize_;
  if (gemm_.a_in_place) {
    a_base = in_place_a(call, m0);
    a_panel_bytes = mr * gemm_.a_in_place->ld * esize_;
  } else {
    uint8_t* packed_a = thread_buffer(0, static_cast<size_t>(a_panels * kc_max * mr * esize_));
    std::vector<uint8_t*> bufs(call.buffers, call.buffers + num_buffers_);
    bufs.push_back(nullptr);
    std::vector<uint64_t> scal(call.scalars, call.scalars + num_scalars_);
    scal.insert(scal.end(), {static_cast<uint64_t>(call.batch), static_cast<uint64_t>(call.pc), 0});
    for (int64_t ip = 0; ip < a_panels; ++ip) {
      bufs.back() = packed_a + ip * kc_max * mr * esize_;
      scal.back() = static_cast<uint64_t>(m0 + ip * mr);
      if (call.kc == kc_max)
        pack_a_(bufs.data(), scal.data(), 0, a_items_);
      else
        pack_a_tail_(bufs.data(), scal.data(), 0, a_tail_items_);
    }
    a_base = packed_a;
  }
  const MicroSet& micro = gemm_.a_in_place ? in_place_a_micro_ : packed_a_micro_;

  const bool accumulate = call.accumulate;
  for (int64_t jp = p0; jp < p1; ++jp) {
    const int64_t n = call.jc + jp * nr, cols = std::min<int64_t>(nr, N_ - n);
    if (gemm_.b_in_place && M_ <= kWideRows && jp + kWidePanels <= p1 &&
        n + kWidePanels * nr <= N_) {
      // Few rows: kWidePanels panels of B at once, read in place.
      const auto [b, ldb] = in_place_b(call, n);
      micro_wide_(call.kc, a_base, b, ldb, call.c + (m0 * N_ + n) * esize_, N_, accumulate);
      jp += kWidePanels - 1;
      continue;
    }
    const bool narrow = cols == narrow_ && cols < nr;
    auto [b, ldb] = narrow && gemm_.b_plain ? in_place_b(call, n) : panel_of_b(call, jp);
    if (blk.private_b) {
      uint8_t* own = thread_buffer(2, static_cast<size_t>(kc_max * nr * esize_));
      pack_b_block(call, jp, own);
      b = own;
    }
    for (int64_t ip = 0; ip < a_panels; ++ip) {
      const int64_t m = m0 + ip * mr, rows = std::min<int64_t>(mr, m1 - m);
      tile_product(micro, call.kc, a_base + ip * a_panel_bytes, b, ldb,
                   call.c + (m * N_ + n) * esize_, rows, cols, accumulate);
    }
  }
  if (call.epilogue)
    epilogue_rows(call.buffers, call.scalars, call.batch, call.c, m0, m1, call.jc + p0 * nr,
                  std::min(N_, call.jc + p1 * nr));
}

void CpuGemm::tile_product(const MicroSet& micro, int64_t kc, const uint8_t* a, const uint8_t* b,
                           int64_t ldb, uint8_t* c, int64_t rows, int64_t cols,
                           bool accumulate) const {
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const bool narrow = cols == narrow_ && cols < nr;
  const bool full_rows = rows == mr;
  if (!full_rows && rows != gemm_.mr_tail)
    throw DeviceError("cpu backend: internal error: a GEMM tile of " + std::to_string(rows) +
                      " rows (MR " + std::to_string(mr) + ", the last panel's " +
                      std::to_string(gemm_.mr_tail) + ")");
  if (cols == nr) {
    (full_rows ? micro.full : micro.tail)(kc, a, b, ldb, c, N_, accumulate);
  } else if (narrow) {
    (full_rows ? micro.narrow : micro.narrow_tail)(kc, a, b, ldb, c, N_, accumulate);
  } else {
    // A partial panel of B that is not whole vectors: a full tile into a scratch tile (B's
    // panel is packed with zeros past N), then its real columns.
    uint8_t* tile = thread_buffer(1, static_cast<size_t>(mr * nr * esize_));
    (full_rows ? micro.full : micro.tail)(kc, a, b, ldb, tile, nr, 0);
    if (acc_ == DType::F64)
      put_tile<double>(tile, nr, c, N_, rows, cols, accumulate);
    else
      put_tile<float>(tile, nr, c, N_, rows, cols, accumulate);
  }
}

const uint8_t* CpuGemm::in_place_a(const Call& call, int64_t m0) const {
  const codegen::InPlaceMatrix& in = *gemm_.a_in_place;
  const int64_t offset = batch_offset(in, call.batch) + m0 * in.ld + call.pc;
  return call.buffers[in.buffer] + offset * esize_;
}

void CpuGemm::epilogue_rows(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                            uint8_t* c, int64_t m0, int64_t m1, int64_t n0, int64_t n1) const {
  std::vector<uint8_t*> bufs(buffers, buffers + num_buffers_);
  bufs.push_back(c);
  // Work items of a row: n in blocks of the epilogue's lanes (n0 is a multiple of them).
  const int64_t l = epilogue_lanes_, row_items = ceil_div(N_, l);
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t row = (batch * M_ + m) * row_items;
    epilogue_(bufs.data(), scalars, row + n0 / l, row + ceil_div(n1, l));
  }
}

void CpuGemm::run(uint8_t* const* buffers, const uint64_t* scalars,
                  runtime::cpu::ThreadPool& pool) const {
  if (!winograd_tap_.empty() && winograd_enabled()) {
    run_winograd(buffers, scalars, pool);
    return;
  }
  if (micro_window_) {
    run_window(buffers, scalars, pool);
    return;
  }
  if (gemm_.a_window) {
    run_window_a(buffers, scalars, pool);
    return;
  }
  // A batch of small products (attention's heads: 128 x 128 x 32 each): waking the workers
  // for every product costs more than the product, so each thread runs whole products of
  // the batch on its own.
  if (batch_ >= pool.size() && pool.size() > 1 && M_ * N_ * K_ <= kSmallBatchedProduct) {
    const Blocking one = blocking(1);
    pool.parallel_for(batch_, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t batch = b0; batch < b1; ++batch)
        run_batch(buffers, scalars, one, batch, nullptr, 0, K_, nullptr);
    });
    return;
  }
  if (splits_k(gemm_, pool.size())) {
    for (int64_t batch = 0; batch < batch_; ++batch) run_split_k(buffers, scalars, batch, pool);
    return;
  }
  // A product that runs on this thread alone is one task per block of rows: splitting it
  // for threads would pack A once per task.
  const Blocking blk = blocking(runs_alone() ? 1 : pool.size());
  for (int64_t batch = 0; batch < batch_; ++batch)
    run_batch(buffers, scalars, blk, batch, &pool, 0, K_, nullptr);
}

bool splits_k(const codegen::GemmKernels& gemm, int threads) {
  const codegen::Contraction& c = gemm.contraction;
  const int64_t M = c.m.size(), N = c.n.size(), K = c.k.size();
  const int64_t kc = std::min(gemm.tile.kc, K);
  // 64 x 128 x 3136: 0.41 ms split by rows, 0.30 split over k (OpenBLAS 0.33).
  return threads > 1 && !gemm.b_window && K >= 2 * kc * threads && M * N <= 4 * K &&
         M * N <= kSplitKOutputs;
}

void CpuGemm::run_split_k(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                          runtime::cpu::ThreadPool& pool) const {
  const Blocking one = blocking(1);
  const int64_t blocks = ceil_div(K_, one.kc), mn = M_ * N_;
  const int64_t parts = std::min<int64_t>(pool.size(), blocks);
  auto& memory = HostMemoryPool::global();
  std::shared_ptr<uint8_t> partial = memory.take(static_cast<size_t>(parts * mn * esize_));
  pool.parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      run_batch(buffers, scalars, one, batch, nullptr, blocks * p / parts * one.kc,
                std::min(K_, blocks * (p + 1) / parts * one.kc), partial.get() + p * mn * esize_);
  });
  finish_parts(buffers, scalars, batch, partial.get(), parts, pool);
}

void CpuGemm::finish_parts(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                           const uint8_t* partial, int64_t parts,
                           runtime::cpu::ThreadPool& pool) const {
  // The parts' sum, then the epilogue, by rows.
  const int64_t mn = M_ * N_;
  std::shared_ptr<uint8_t> scratch;
  if (!gemm_.direct_output)
    scratch = HostMemoryPool::global().take(static_cast<size_t>(mn * esize_));
  uint8_t* c =
      gemm_.direct_output ? buffers[gemm_.out_buffer] + batch * mn * esize_ : scratch.get();
  pool.parallel_for(M_, 1, [&](int64_t m0, int64_t m1) {
    if (acc_ == DType::F64)
      sum_parts<double>(partial, parts, mn, c, m0 * N_, m1 * N_);
    else
      sum_parts<float>(partial, parts, mn, c, m0 * N_, m1 * N_);
    if (!gemm_.direct_output) epilogue_rows(buffers, scalars, batch, c, m0, m1, 0, N_);
  });
}

void CpuGemm::run_batch(uint8_t* const* buffers, const uint64_t* scalars, const Blocking& blk,
                        int64_t batch, runtime::cpu::ThreadPool* pool, int64_t k0, int64_t k1,
                        uint8_t* part) const {
  const int nr = gemm_.tile.nr;
  std::shared_ptr<uint8_t> scratch, packed_b;
  auto& memory = HostMemoryPool::global();
  if (!blk.private_b) packed_b = memory.take(static_cast<size_t>(blk.kc * blk.nc * esize_));
  if (!gemm_.direct_output && !part) scratch = memory.take(static_cast<size_t>(M_ * N_ * esize_));
  const int64_t tasks = blk.row_blocks * blk.chunks;
  const bool serial = runs_alone();
  const int64_t grain = serial ? tasks : 1;
  // Runs fn over [0, n): on the pool, or on this thread when it runs the batch alone.
  auto for_range = [&](int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
    if (pool)
      pool->parallel_for(n, chunk, fn);
    else
      fn(0, n);
  };
  // The part of an AffineB's index that k contributes, per block of k.
  std::vector<std::vector<int64_t>> affine_k;
  if (gemm_.b_affine)
    for (int64_t pc = k0; pc < k1; pc += blk.kc)
      affine_k.push_back(affine_b_k_table(pc, std::min(blk.kc, k1 - pc)));
  uint8_t* c = part                  ? part
               : gemm_.direct_output ? buffers[gemm_.out_buffer] + batch * M_ * N_ * esize_
                                     : scratch.get();
  for (int64_t jc = 0; jc < N_; jc += blk.nc) {
    for (int64_t pc = k0; pc < k1; pc += blk.kc) {
      const int64_t kc = std::min(blk.kc, k1 - pc);
      Call call{
          &blk,
          buffers,
          scalars,
          c,
          packed_b.get(),
          batch,
          jc,
          std::min(blk.nc, N_ - jc),
          pc,
          kc,
          affine_k.empty() ? nullptr : affine_k[static_cast<size_t>((pc - k0) / blk.kc)].data(),
          pc > k0,
          !part && !gemm_.direct_output && pc + kc >= k1};
      const int64_t panels = ceil_div(call.nc, nr);
      // A plain B's narrow last panel is read in place by the narrow micro-kernels; the
      // other panels are packed, unless few rows read them all in place.
      const bool narrow_last = gemm_.b_plain && call.nc % nr == narrow_;
      if (blk.private_b) {
        // The tasks pack B.
      } else if (!gemm_.b_in_place) {
        for_range(panels - (narrow_last ? 1 : 0), serial ? panels : 1, [&](int64_t b, int64_t e) {
          for (int64_t p = b; p < e; ++p) pack_b_block(call, p, panel_in_block(call, p));
        });
      } else if (call.nc % nr && !narrow_last) {
        pack_b_block(call, panels - 1,
                     panel_in_block(call, panels - 1));  // the partial panel at the end of B
      }
      for_range(tasks, grain, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) task(call, t);
      });
    }
  }
}

}  // namespace kiln::kernels::cpu
