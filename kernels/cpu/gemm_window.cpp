// CpuGemm's WindowB path: a stride-1 convolution read in place from a padded copy of its
// input planes (see gemm.h and codegen/gemm_kernels.h).
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "ir/host_memory.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_util.h"

namespace kiln::kernels::cpu {

using namespace detail;  // NOLINT(google-build-using-namespace): the GEMM's own helpers

namespace {

// The coefficients of a WindowB's row guard (`none`, zeros, where it has none).
const std::vector<int64_t>& row_coef(const codegen::AffineB& ab, const codegen::WindowB& w,
                                     const std::vector<int64_t>& none) {
  return w.row_guard >= 0 ? ab.guards[static_cast<size_t>(w.row_guard)].coef : none;
}

// Where a tap (the variables of `set`, at `values`) starts in an image's padded planes:
// its plane, then its row and column (guard coefficients gr and gc) less the output
// pixel's, which the virtual column adds. With shifts, its column picks the copy of the
// planes instead.
int64_t tap_offset(const codegen::WindowB& w, const std::vector<int64_t>& gr,
                   const std::vector<int64_t>& gc, const std::vector<int64_t>& values,
                   const codegen::VarSet& set) {
  int64_t plane = 0;
  for (size_t i = 0; i < w.plane_vars.size(); ++i)
    plane = plane * w.plane_extents[i] + values[static_cast<size_t>(w.plane_vars[i])];
  const int64_t c = dot(gc, values, set);
  int64_t column = c - w.c_min;
  if (!w.shifts.empty()) {
    plane +=
        (std::lower_bound(w.shifts.begin(), w.shifts.end(), c) - w.shifts.begin()) * w.planes();
    column = 0;
  }
  return (plane * w.rows + dot(gr, values, set) - w.r_min) * w.cols + column;
}

// P's values: its planes once, or once per shift.
int64_t window_values(const codegen::WindowB& w) {
  const auto copies = static_cast<int64_t>(std::max<size_t>(1, w.shifts.size()));
  return copies * w.planes() * w.rows * w.cols;
}

}  // namespace

void CpuGemm::init_window(const codegen::Kernel& kernel) {
  const codegen::WindowB& w = *gemm_.b_window;
  const codegen::AffineB& ab = *gemm_.b_affine;
  const codegen::Contraction& c = gemm_.contraction;
  out_cols_ = c.n.extents.back();
  out_rows_ = c.n.vars.size() == 2 ? c.n.extents.front() : 1;
  window_n_ = w.virtual_columns(out_rows_, out_cols_);
  window_numel_ = kernel.buffers[static_cast<size_t>(ab.buffer)].numel;
  const std::vector<int64_t> none(ab.coef.size(), 0);
  const std::vector<int64_t>& gr = row_coef(ab, w, none);
  const std::vector<int64_t>& gc = ab.guards[static_cast<size_t>(w.col_guard)].coef;
  // B(k, n') = P[window_k_[k] + n'].
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
  window_k_.resize(static_cast<size_t>(K_));
  int64_t last = 0;
  for (int64_t k = 0; k < K_; ++k) {
    set_vars(values, c.k, k);
    const int64_t at = tap_offset(w, gr, gc, values, c.k);
    window_k_[static_cast<size_t>(k)] = at;
    last = std::max(last, at);
  }
  // The last panel reads NR virtual columns from the largest offset.
  window_size_ = std::max(window_values(w), last + round_up(window_n_, gemm_.tile.nr));
  a_per_batch_ = false;
  for (int v : c.batch.vars) a_per_batch_ = a_per_batch_ || c.a->depends_on_var(v);
}

void CpuGemm::fill_window(uint8_t* const* buffers, int64_t batch, uint8_t* P) const {
  const codegen::WindowB& w = *gemm_.b_window;
  const codegen::AffineB& ab = *gemm_.b_affine;
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
  set_vars(values, gemm_.contraction.batch, batch);
  const int64_t base = ab.offset + dot(ab.coef, values, gemm_.contraction.batch);
  fill_planes(w, ab, buffers[ab.buffer], base, w.shifts.empty() ? std::vector{w.c_min} : w.shifts,
              P);
  const int64_t filled = window_values(w);
  std::memset(P + filled * esize_, 0, static_cast<size_t>((window_size_ - filled) * esize_));
}

void CpuGemm::fill_planes(const codegen::WindowB& w, const codegen::AffineB& ab, const uint8_t* src,
                          int64_t base, const std::vector<int64_t>& origins, uint8_t* P) const {
  const codegen::AffineB::Guard& gc = ab.guards[static_cast<size_t>(w.col_guard)];
  const codegen::AffineB::Guard rows_all{
      {}, -codegen::AffineB::kUnbounded, codegen::AffineB::kUnbounded};
  const codegen::AffineB::Guard& gr =
      w.row_guard >= 0 ? ab.guards[static_cast<size_t>(w.row_guard)] : rows_all;
  const auto bytes = [&](int64_t n) { return static_cast<size_t>(n * esize_); };
  const int64_t planes = w.planes(), copy = planes * w.rows * w.cols * esize_;
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t at = plane_at(w, ab, base, p);
    if (w.cols == w.row_stride) {
      fill_plane_runs(w, gr, gc, src, at, origins, P + p * w.rows * w.cols * esize_, copy);
      continue;
    }
    for (int64_t rr = 0; rr < w.rows; ++rr) {
      const int64_t r = w.r_min + rr, row_at = at + w.row_stride * r;
      const bool kept = r >= gr.lo && r < gr.hi;
      uint8_t* dst = P + (p * w.rows + rr) * w.cols * esize_;
      for (int64_t origin : origins) {
        // The columns the guard keeps, inside the buffer whatever the guards allow (the
        // loops read only a part).
        const auto [c_lo, c_hi] = kept_columns(gc, origin, w.cols);
        int64_t lo = c_hi, hi = c_hi;  // the row's columns read from the buffer
        if (kept) {
          lo = std::clamp(-(row_at + origin), c_lo, c_hi);
          hi = std::clamp(window_numel_ - (row_at + origin), lo, c_hi);
          copy_short(dst + lo * esize_, src + (row_at + origin + lo) * esize_, bytes(hi - lo));
        }
        zero_short(dst, bytes(lo));
        zero_short(dst + hi * esize_, bytes(w.cols - hi));
        dst += copy;
      }
    }
  }
}

void CpuGemm::fill_plane_runs(const codegen::WindowB& w, const codegen::AffineB::Guard& gr,
                              const codegen::AffineB::Guard& gc, const uint8_t* src, int64_t at,
                              const std::vector<int64_t>& origins, uint8_t* dst,
                              int64_t copy) const {
  const auto bytes = [&](int64_t n) { return static_cast<size_t>(n * esize_); };
  const int64_t size = w.rows * w.cols;
  const int64_t rr0 = std::clamp(gr.lo - w.r_min, int64_t{0}, w.rows);
  const int64_t rr1 = std::clamp(gr.hi - w.r_min, rr0, w.rows);
  for (int64_t origin : origins) {
    // P's value q of the plane is the buffer's at + row_stride * r_min + origin + q: the
    // kept rows are one run, inside the buffer.
    const int64_t q0 = at + w.row_stride * w.r_min + origin;
    const int64_t lo = std::clamp(-q0, rr0 * w.cols, rr1 * w.cols);
    const int64_t hi = std::clamp(window_numel_ - q0, lo, rr1 * w.cols);
    std::memcpy(dst + lo * esize_, src + (q0 + lo) * esize_, bytes(hi - lo));
    std::memset(dst, 0, bytes(lo));
    std::memset(dst + hi * esize_, 0, bytes(size - hi));
    // The columns the guard drops, which the run read from the neighbouring rows.
    const auto [c_lo, c_hi] = kept_columns(gc, origin, w.cols);
    for (int64_t rr = rr0; rr < rr1; ++rr) {
      zero_short(dst + rr * w.cols * esize_, bytes(c_lo));
      zero_short(dst + (rr * w.cols + c_hi) * esize_, bytes(w.cols - c_hi));
    }
    dst += copy;
  }
}

void CpuGemm::pack_all_a(uint8_t* const* buffers, const uint64_t* scalars, int64_t batch,
                         uint8_t* dst) const {
  const int mr = gemm_.tile.mr;
  const int64_t kc = gemm_.tile.kc, a_panels = ceil_div(M_, mr);
  std::vector<uint8_t*> bufs(buffers, buffers + num_buffers_);
  bufs.push_back(nullptr);
  std::vector<uint64_t> scal(scalars, scalars + num_scalars_);
  scal.insert(scal.end(), {static_cast<uint64_t>(batch), 0, 0});
  for (int64_t pc = 0, block = 0; pc < K_; pc += kc, ++block) {
    for (int64_t ip = 0; ip < a_panels; ++ip) {
      bufs.back() = dst + (block * a_panels + ip) * mr * kc * esize_;
      scal[scal.size() - 2] = static_cast<uint64_t>(pc);
      scal.back() = static_cast<uint64_t>(ip * mr);
      if (pc + kc <= K_)
        pack_a_(bufs.data(), scal.data(), 0, a_items_);
      else
        pack_a_tail_(bufs.data(), scal.data(), 0, a_tail_items_);
    }
  }
}

void CpuGemm::window_panels(const uint8_t* packed_a, const uint8_t* P, int64_t p0, int64_t p1,
                            uint8_t* c) const {
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const int64_t kc = gemm_.tile.kc, a_panels = ceil_div(M_, mr), cols = gemm_.b_window->cols;
  uint8_t* tile = thread_buffer(1, static_cast<size_t>(a_panels * mr * nr * esize_));
  // Where every virtual column is an output (a window with shifts), the micro-kernel
  // writes the full panels of whole rows of A straight into C; the rest goes through the
  // tile, whose real columns are then copied.
  const bool exact = cols == out_cols_;
  for (int64_t jp = p0; jp < p1; ++jp) {
    const int64_t n0 = jp * nr, n1 = std::min(n0 + nr, window_n_);
    const bool full = n0 + nr <= window_n_;
    const int64_t direct_panels = exact && full ? M_ / mr : 0;
    const MicroKernel micro = full ? micro_window_ : micro_window_narrow_;
    for (int64_t pc = 0, block = 0; pc < K_; pc += kc, ++block) {
      const auto table =
          static_cast<int64_t>(reinterpret_cast<uintptr_t>(&window_k_[static_cast<size_t>(pc)]));
      for (int64_t ip = 0; ip < a_panels; ++ip) {
        const bool direct = ip < direct_panels;
        micro(std::min(kc, K_ - pc), packed_a + (block * a_panels + ip) * mr * kc * esize_,
              P + n0 * esize_, table,
              direct ? c + (ip * mr * N_ + n0) * esize_ : tile + ip * mr * nr * esize_,
              direct ? N_ : nr, pc > 0);
      }
    }
    // The real columns of the tile: runs of an output row, less the dropped columns.
    for (int64_t j = n0; j < n1;) {
      const int64_t oh = j / cols, ow = j % cols, len = std::min(n1 - j, cols - ow);
      if (ow < out_cols_) {
        const auto run = static_cast<size_t>(std::min(len, out_cols_ - ow) * esize_);
        const int64_t to = oh * out_cols_ + ow;
        for (int64_t m = direct_panels * mr; m < M_; ++m)
          copy_short(c + (m * N_ + to) * esize_, tile + (m * nr + j - n0) * esize_, run);
      }
      j += len;
    }
  }
}

void CpuGemm::run_window(uint8_t* const* buffers, const uint64_t* scalars,
                         runtime::cpu::ThreadPool& pool) const {
  const int64_t panels = ceil_div(window_n_, gemm_.tile.nr);
  const auto a_bytes = static_cast<size_t>(ceil_div(K_, gemm_.tile.kc) *
                                           round_up(M_, gemm_.tile.mr) * gemm_.tile.kc * esize_);
  // A is packed once where no batch variable reads it (a conv's weights).
  std::shared_ptr<uint8_t> shared_a;
  if (!a_per_batch_) {
    shared_a = HostMemoryPool::global().take(a_bytes);
    pack_all_a(buffers, scalars, 0, shared_a.get());
  }
  // One batch, from its planes' copy to its epilogue; `split` runs its panels and epilogue
  // rows over the pool, else this thread runs them alone.
  auto one = [&](int64_t batch, runtime::cpu::ThreadPool* split) {
    uint8_t* P = thread_buffer(3, static_cast<size_t>(window_size_ * esize_));
    fill_window(buffers, batch, P);
    const uint8_t* a = shared_a.get();
    if (!a) {
      uint8_t* own = thread_buffer(4, a_bytes);
      pack_all_a(buffers, scalars, batch, own);
      a = own;
    }
    uint8_t* c = gemm_.direct_output ? buffers[gemm_.out_buffer] + batch * M_ * N_ * esize_
                                     : thread_buffer(5, static_cast<size_t>(M_ * N_ * esize_));
    if (split)
      split->parallel_for(panels, 1, [&](int64_t b, int64_t e) { window_panels(a, P, b, e, c); });
    else
      window_panels(a, P, 0, panels, c);
    if (gemm_.direct_output) return;
    if (split)
      split->parallel_for(M_, 1, [&](int64_t m0, int64_t m1) {
        epilogue_rows(buffers, scalars, batch, c, m0, m1, 0, N_);
      });
    else
      epilogue_rows(buffers, scalars, batch, c, 0, M_, 0, N_);
  };
  // Whole batches per thread where each thread has at least two; else each batch's panels
  // are split.
  if (batch_ >= 2 * pool.size() || pool.size() == 1) {
    pool.parallel_for(batch_, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t batch = b0; batch < b1; ++batch) one(batch, nullptr);
    });
  } else {
    for (int64_t batch = 0; batch < batch_; ++batch) one(batch, &pool);
  }
}

namespace {

// The part of `ab`'s index that `set`'s variables contribute, for each value of the set.
std::vector<int64_t> offsets_over(const codegen::AffineB& ab, const codegen::VarSet& set,
                                  int num_vars) {
  std::vector<int64_t> values(static_cast<size_t>(num_vars), 0), out;
  for (int64_t i = 0, n = set.size(); i < n; ++i) {
    set_vars(values, set, i);
    out.push_back(dot(ab.coef, values, set));
  }
  return out;
}

// dst[j] = src[at + offsets[n0 + j]] for n0 + j < n, zeros after, j < width.
template <typename T>
void gather_row(T* dst, const T* src, int64_t at, const int64_t* offsets, int64_t n0, int64_t n,
                int64_t width) {
  const int64_t valid = std::clamp<int64_t>(n - n0, 0, width);
  for (int64_t j = 0; j < valid; ++j) dst[j] = src[at + offsets[n0 + j]];
  for (int64_t j = valid; j < width; ++j) dst[j] = T(0);
}

}  // namespace

void CpuGemm::init_window_a(const codegen::Kernel& kernel) {
  const codegen::WindowA& wa = *gemm_.a_window;
  const codegen::WindowB& w = wa.window;
  const codegen::Contraction& c = gemm_.contraction;
  out_cols_ = c.k.extents.back();
  out_rows_ = c.k.extents[c.k.extents.size() - 2];
  pixels_ = w.virtual_columns(out_rows_, out_cols_);
  image_size_ = w.planes() * w.rows * w.cols;
  window_numel_ = kernel.buffers[static_cast<size_t>(wa.image.buffer)].numel;
  // A tap's pixel (oh, ow) is P[image][tap_at_[tap] + oh * cols + ow], as window_k_ is.
  const std::vector<int64_t> none(wa.image.coef.size(), 0);
  const std::vector<int64_t>& gr = row_coef(wa.image, w, none);
  const std::vector<int64_t>& gc = wa.image.guards[static_cast<size_t>(w.col_guard)].coef;
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
  for (int64_t m = 0; m < M_; ++m) {
    set_vars(values, c.m, m);
    tap_at_.push_back(tap_offset(w, gr, gc, values, c.m));
  }
  column_at_ = offsets_over(wa.cotangent, c.n, num_vars_);
  image_at_ = offsets_over(wa.image, wa.images, num_vars_);
  image_cotangent_at_ = offsets_over(wa.cotangent, wa.images, num_vars_);
}

void CpuGemm::pack_window_a(const uint8_t* P, int64_t m0, int64_t k0, int64_t kc,
                            uint8_t* dst) const {
  const int mr = gemm_.tile.mr;
  const int64_t stride = gemm_.tile.kc;  // the micro-kernel's row stride of A
  for (int64_t r = 0; r < mr; ++r) {
    uint8_t* row = dst + r * stride * esize_;
    if (m0 + r >= M_) {
      std::memset(row, 0, static_cast<size_t>(kc * esize_));
      continue;
    }
    const int64_t tap = tap_at_[static_cast<size_t>(m0 + r)];
    for (int64_t kk = 0; kk < kc;) {
      const int64_t image = (k0 + kk) / pixels_, p = (k0 + kk) % pixels_;
      const int64_t len = std::min(kc - kk, pixels_ - p);
      std::memcpy(row + kk * esize_, P + (image * image_size_ + tap + p) * esize_,
                  static_cast<size_t>(len * esize_));
      kk += len;
    }
  }
}

void CpuGemm::pack_cotangent(const uint8_t* src, int64_t at, int64_t n0, int64_t k0, int64_t kc,
                             uint8_t* dst) const {
  const int nr = gemm_.tile.nr;
  const codegen::AffineB& cot = gemm_.a_window->cotangent;
  const codegen::Contraction& c = gemm_.contraction;
  const int64_t cols = gemm_.a_window->window.cols;
  const auto oh_var = static_cast<size_t>(c.k.vars[c.k.vars.size() - 2]);
  const auto ow_var = static_cast<size_t>(c.k.vars.back());
  for (int64_t kk = 0; kk < kc; ++kk) {
    const int64_t image = (k0 + kk) / pixels_, p = (k0 + kk) % pixels_;
    const int64_t oh = p / cols, ow = p % cols;
    uint8_t* row = dst + kk * nr * esize_;
    if (ow >= out_cols_) {
      std::memset(row, 0, static_cast<size_t>(nr * esize_));
      continue;
    }
    const int64_t pixel = at + image_cotangent_at_[static_cast<size_t>(image)] +
                          cot.coef[oh_var] * oh + cot.coef[ow_var] * ow;
    if (acc_ == DType::F64)
      gather_row(reinterpret_cast<double*>(row), reinterpret_cast<const double*>(src), pixel,
                 column_at_.data(), n0, N_, nr);
    else
      gather_row(reinterpret_cast<float*>(row), reinterpret_cast<const float*>(src), pixel,
                 column_at_.data(), n0, N_, nr);
  }
}

void CpuGemm::run_window_a(uint8_t* const* buffers, const uint64_t* scalars,
                           runtime::cpu::ThreadPool& pool) const {
  const codegen::WindowA& wa = *gemm_.a_window;
  const codegen::Contraction& c = gemm_.contraction;
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const int64_t kc_max = gemm_.tile.kc, images = wa.images.size();
  const int64_t K = images * pixels_, blocks = ceil_div(K, kc_max), mn = M_ * N_;
  const int64_t a_panels = ceil_div(M_, mr), b_panels = ceil_div(N_, nr);
  const int64_t parts = std::min<int64_t>(pool.size(), blocks);
  auto& memory = HostMemoryPool::global();
  std::shared_ptr<uint8_t> P = memory.take(static_cast<size_t>(images * image_size_ * esize_));
  std::shared_ptr<uint8_t> partial = memory.take(static_cast<size_t>(parts * mn * esize_));
  std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
  for (int64_t batch = 0; batch < batch_; ++batch) {
    set_vars(values, c.batch, batch);
    const int64_t image_base = wa.image.offset + dot(wa.image.coef, values, c.batch);
    const int64_t cotangent_base = wa.cotangent.offset + dot(wa.cotangent.coef, values, c.batch);
    pool.parallel_for(images, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        fill_planes(wa.window, wa.image, buffers[wa.image.buffer],
                    image_base + image_at_[static_cast<size_t>(i)], {wa.window.c_min},
                    P.get() + i * image_size_ * esize_);
    });
    // Each part a range of k's blocks, packing its own panels.
    pool.parallel_for(parts, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        uint8_t* out = partial.get() + q * mn * esize_;
        uint8_t* a = thread_buffer(0, static_cast<size_t>(a_panels * mr * kc_max * esize_));
        uint8_t* b = thread_buffer(2, static_cast<size_t>(b_panels * nr * kc_max * esize_));
        const int64_t first = blocks * q / parts, last = blocks * (q + 1) / parts;
        for (int64_t block = first; block < last; ++block) {
          const int64_t k0 = block * kc_max, kc = std::min(kc_max, K - k0);
          for (int64_t ip = 0; ip < a_panels; ++ip)
            pack_window_a(P.get(), ip * mr, k0, kc, a + ip * mr * kc_max * esize_);
          for (int64_t jp = 0; jp < b_panels; ++jp)
            pack_cotangent(buffers[wa.cotangent.buffer], cotangent_base, jp * nr, k0, kc,
                           b + jp * nr * kc_max * esize_);
          for (int64_t jp = 0; jp < b_panels; ++jp)
            for (int64_t ip = 0; ip < a_panels; ++ip)
              tile_product(
                  packed_a_micro_, kc, a + ip * mr * kc_max * esize_, b + jp * nr * kc_max * esize_,
                  nr, out + (ip * mr * N_ + jp * nr) * esize_, std::min<int64_t>(mr, M_ - ip * mr),
                  std::min<int64_t>(nr, N_ - jp * nr), block > first);
        }
      }
    });
    finish_parts(buffers, scalars, batch, partial.get(), parts, pool);
  }
}

}  // namespace kiln::kernels::cpu
