// CpuGemm's Winograd path: a 3x3 stride-1 convolution (a WindowB) as F(2x2, 3x3), see
// gemm.h. Per 2 x 2 block of outputs (a tile), with d the tile's 4 x 4 window of the
// padded input and g a 3 x 3 filter:
//   V = B^T d B,  U = G g G^T,  Y = A^T (sum over the input planes of U . V) A,
// so that each of the 16 positions of a tile's transform is a product over the planes:
// M[xi] (c_out x tiles) = U[xi] (c_out x planes) V[xi] (planes x tiles), which the GEMM's
// own micro-kernel runs. 16 multiply-adds per tile and plane instead of 36: 2.25 times
// fewer. The transforms (vector loops over 8 tiles, kernels/cpu/vec.h) add and subtract
// only (and halve, in G), so the result differs from the direct sum by a few rounding
// errors of the values involved.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "ir/host_memory.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_util.h"
#include "kernels/cpu/vec.h"

namespace kiln::kernels::cpu {

using namespace detail;  // NOLINT(google-build-using-namespace): the GEMM's own helpers

namespace {

constexpr int kPositions = 16;  // a tile's transform is 4 x 4

// Input planes from which the transforms pay: with fewer, the 16 products are too shallow
// for the micro-kernel and the transforms cost more than they save.
constexpr int64_t kMinWinogradPlanes = 8;

// g[0..2] -> G g: the filter transform along one axis.
inline void filter_1d(float g0, float g1, float g2, float* u, int stride) {
  u[0] = g0;
  u[stride] = 0.5f * (g0 + g1 + g2);
  u[2 * stride] = 0.5f * (g0 - g1 + g2);
  u[3 * stride] = g2;
}

// Tiles (th, tw0 .. tw0 + len) of an image, columns `column` on in a chunk's products.
struct TileRun {
  int64_t image, th, tw0, len, column;
};

// The planes' padded input, columns split by parity: even[p * plane_size + y * pitch + x]
// is the column 2x of row y of plane p, odd[...] the column 2x + 1.
struct SplitPlanes {
  const float* even;
  const float* odd;
  int64_t planes, pitch, plane_size;
};

// One padded row split by column parity: even[x] = row[2x], odd[x] = row[2x + 1] for
// x < pitch, where row[i] is src[i] for i in [lo, hi) and 0 elsewhere. `line` holds
// 2 pitch + 2 vectors of zeros, and is left so; even and odd get whole vectors (room past
// pitch).
KILN_HOST_CLONES void split_row(const float* src, int64_t lo, int64_t hi, int64_t pitch,
                                float* line, float* even, float* odd) {
  const auto bytes = [](int64_t n) { return static_cast<size_t>(n) * sizeof(float); };
  if (hi > lo)
    copy_short(reinterpret_cast<uint8_t*>(line + lo), reinterpret_cast<const uint8_t*>(src + lo),
               bytes(hi - lo));
  for (int64_t x = 0; x < pitch; x += kLanes) {
    const Vec a = KILN_LOAD(line + 2 * x), b = KILN_LOAD(line + 2 * x + kLanes);
    store(even + x, KILN_SHUFFLE(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
    store(odd + x, KILN_SHUFFLE(a, b, 1, 3, 5, 7, 9, 11, 13, 15));
  }
  if (hi > lo) zero_short(reinterpret_cast<uint8_t*>(line + lo), bytes(hi - lo));
}

// V = B^T d B of the tiles (th, tw0 + l), l < len, of every plane, 8 at a time, into V's
// columns (rows of ldv: per position, per plane). d[i][j] is the padded input's row
// 2th + i at column 2tw + j: even[tw + j / 2] for even j, odd[...] for odd j. The last
// vector may reach past len, on both sides (the planes and V's rows have room for it).
KILN_HOST_CLONES void input_tiles(const SplitPlanes& in, int64_t th, int64_t tw0, int64_t len,
                                  float* V, int64_t ldv) {
  const int64_t position_size = in.planes * ldv, pitch = in.pitch;
  for (int64_t p = 0; p < in.planes; ++p) {
    const float* e = in.even + p * in.plane_size + 2 * th * pitch + tw0;
    const float* o = in.odd + p * in.plane_size + 2 * th * pitch + tw0;
    float* out = V + p * ldv;
    for (int64_t l = 0; l < len; l += kLanes) {
      Vec c[4][4];  // B^T d, column by column
      for (int j = 0; j < 4; ++j) {
        const float* src = (j % 2 ? o : e) + j / 2 + l;
        const Vec d0 = KILN_LOAD(src), d1 = KILN_LOAD(src + pitch);
        const Vec d2 = KILN_LOAD(src + 2 * pitch), d3 = KILN_LOAD(src + 3 * pitch);
        c[0][j] = d0 - d2;
        c[1][j] = d1 + d2;
        c[2][j] = d2 - d1;
        c[3][j] = d1 - d3;
      }
      for (int i = 0; i < 4; ++i) {  // (B^T d) B, row by row
        float* row = out + 4 * i * position_size + l;
        store(row, c[i][0] - c[i][2]);
        store(row + position_size, c[i][1] + c[i][2]);
        store(row + 2 * position_size, c[i][2] - c[i][1]);
        store(row + 3 * position_size, c[i][1] - c[i][3]);
      }
    }
  }
}

// The outputs' shape: images of `rows` (c_out) planes of out_h x out_w.
struct OutputPlanes {
  float* C;
  int64_t rows, out_h, out_w;
};

// Y = A^T M A of a chunk's tiles [0, n) from their products Mt (rows of ldm, positions
// `position_size` apart) into the outputs: per row of A, first Y of every tile, 8 tiles
// at a time, into `y` ([row][column parity][tile], 4 rows of ldm; reading past n: Mt's
// rows have room), then each run's rows 2th and 2th + 1, columns 2tw0 .. 2(tw0 + len), so
// that each output plane is written in order.
KILN_HOST_CLONES void output_tiles(const float* Mt, int64_t ldm, int64_t position_size, int64_t n,
                                   const std::vector<TileRun>& runs, const OutputPlanes& out,
                                   float* y) {
  const int64_t out_h = out.out_h, out_w = out.out_w, image_size = out.rows * out_h * out_w;
  for (int64_t m = 0; m < out.rows; ++m) {
    const float* src = Mt + m * ldm;
    for (int64_t t = 0; t < n; t += kLanes) {
      Vec s[4][2];  // M A, row by row
      for (int i = 0; i < 4; ++i) {
        const float* x = src + 4 * i * position_size + t;
        const Vec m1 = KILN_LOAD(x + position_size), m2 = KILN_LOAD(x + 2 * position_size);
        s[i][0] = KILN_LOAD(x) + m1 + m2;
        s[i][1] = m1 - m2 - KILN_LOAD(x + 3 * position_size);
      }
      for (int j = 0; j < 2; ++j) {  // A^T (M A), column by column
        store(y + j * ldm + t, s[0][j] + s[1][j] + s[2][j]);
        store(y + (2 + j) * ldm + t, s[1][j] - s[2][j] - s[3][j]);
      }
    }
    for (const TileRun& run : runs) {
      float* c = out.C + run.image * image_size + (m * out_h + 2 * run.th) * out_w + 2 * run.tw0;
      const int64_t width = std::min(2 * run.len, out_w - 2 * run.tw0);
      for (int64_t i = 0; i < std::min<int64_t>(2, out_h - 2 * run.th); ++i) {
        const float* even = y + 2 * i * ldm + run.column;
        const float* odd = even + ldm;
        float* row = c + i * out_w;
        for (int64_t l = 0; 2 * l < width; l += kLanes) {
          const Vec e = KILN_LOAD(even + l), o = KILN_LOAD(odd + l);
          Vec lo, hi;
          interleave(e, o, lo, hi);
          int64_t at = 2 * l, rest = width - at;
          if (rest >= 2 * kLanes) {
            store(row + at, lo);
            store(row + at + kLanes, hi);
            continue;
          }
          // The last columns: whole vectors, then the rest of one lane by lane.
          Vec last = lo;
          if (rest >= kLanes) {
            store(row + at, lo);
            at += kLanes;
            rest -= kLanes;
            last = hi;
          }
          for (int64_t t = 0; t < rest; ++t) row[at + t] = last[t];
        }
      }
    }
  }
}

}  // namespace

bool winograd_enabled() {
  const char* v = std::getenv("KILN_CPU_WINOGRAD");
  return !(v && std::string(v) == "0");
}

std::vector<int64_t> winograd_taps(const codegen::GemmKernels& gemm, int num_vars) {
  if (!gemm.b_window || !gemm.b_affine) return {};
  const codegen::Contraction& c = gemm.contraction;
  const codegen::WindowB& w = *gemm.b_window;
  const codegen::AffineB& ab = *gemm.b_affine;
  if (c.acc != DType::F32 || c.n.vars.size() != 2 || w.row_guard < 0) return {};
  if (w.planes() < kMinWinogradPlanes || c.k.size() != 9 * w.planes()) return {};
  for (int v : c.batch.vars)
    if (c.a->depends_on_var(v)) return {};  // the filters are transformed once
  // Each value of k one tap (plane, dr, dc) of the 3 x 3 window, each tap once.
  const std::vector<int64_t>& gr = ab.guards[static_cast<size_t>(w.row_guard)].coef;
  const std::vector<int64_t>& gc = ab.guards[static_cast<size_t>(w.col_guard)].coef;
  std::vector<int64_t> values(static_cast<size_t>(num_vars), 0), taps;
  std::vector<bool> seen(static_cast<size_t>(c.k.size()), false);
  for (int64_t k = 0; k < c.k.size(); ++k) {
    set_vars(values, c.k, k);
    int64_t plane = 0;
    for (size_t i = 0; i < w.plane_vars.size(); ++i)
      plane = plane * w.plane_extents[i] + values[static_cast<size_t>(w.plane_vars[i])];
    const int64_t dr = dot(gr, values, c.k) - w.r_min, dc = dot(gc, values, c.k) - w.c_min;
    if (dr < 0 || dr > 2 || dc < 0 || dc > 2) return {};
    const int64_t tap = plane * 9 + dr * 3 + dc;
    if (seen[static_cast<size_t>(tap)]) return {};
    seen[static_cast<size_t>(tap)] = true;
    taps.push_back(tap);
  }
  return taps;
}

void CpuGemm::init_winograd() {
  winograd_tap_ = winograd_taps(gemm_, num_vars_);
  if (winograd_tap_.empty()) return;
  const codegen::Contraction& c = gemm_.contraction;
  tiles_h_ = ceil_div(c.n.extents[0], 2);
  tiles_w_ = ceil_div(c.n.extents[1], 2);
}

void CpuGemm::winograd_filters(const uint8_t* packed_a, float* U, int64_t m0, int64_t m1) const {
  // A(m, k) in pack_all_a's layout: per block of KC values of k, per panel of MR rows,
  // row-major at a row stride of KC. U is laid out the same way per position, over the
  // planes instead of k: U[xi] is a packed A of c_out x planes, zero past c_out.
  const int mr = gemm_.tile.mr;
  const int64_t kc = gemm_.tile.kc, a_panels = ceil_div(M_, mr), m_rows = a_panels * mr;
  const int64_t planes = gemm_.b_window->planes(), p_blocks = ceil_div(planes, kc);
  const int64_t position_size = p_blocks * m_rows * kc;
  const auto* a = reinterpret_cast<const float*>(packed_a);
  // at(m, k) = row_at[m] + k_at[k]
  std::vector<int64_t> row_at(static_cast<size_t>(m_rows)), k_at(static_cast<size_t>(K_));
  for (int64_t m = 0; m < m_rows; ++m) row_at[m] = (m / mr) * mr * kc + (m % mr) * kc;
  for (int64_t k = 0; k < K_; ++k) k_at[k] = (k / kc) * a_panels * mr * kc + k % kc;
  std::vector<float> g(static_cast<size_t>(planes) * 9);
  std::vector<float> u(static_cast<size_t>(planes) * kPositions);  // one row of A's, per plane
  for (int64_t m = m0; m < m1; ++m) {
    std::fill(u.begin(), u.end(), 0.0f);
    if (m < M_) {
      for (int64_t k = 0; k < K_; ++k)
        g[static_cast<size_t>(winograd_tap_[k])] = a[row_at[m] + k_at[k]];
      for (int64_t p = 0; p < planes; ++p) {
        float gg[12];  // G g, 4 x 3
        const float* f = &g[static_cast<size_t>(p) * 9];
        float* up = &u[static_cast<size_t>(p) * kPositions];
        for (int j = 0; j < 3; ++j) filter_1d(f[j], f[3 + j], f[6 + j], gg + j, 3);
        for (int i = 0; i < 4; ++i)
          filter_1d(gg[3 * i], gg[3 * i + 1], gg[3 * i + 2], up + 4 * i, 1);
      }
    }
    for (int xi = 0; xi < kPositions; ++xi)
      for (int64_t p = 0; p < planes; ++p)
        U[xi * position_size + row_at[m] + k_at[p]] = u[static_cast<size_t>(p * kPositions + xi)];
  }
}

void CpuGemm::winograd_planes(const uint8_t* src, int64_t base, float* even, float* odd,
                              float* line) const {
  // Padded row y is the buffer's row r_min + y from column c_min: zeros where a guard
  // fails or outside the buffer.
  const codegen::WindowB& w = *gemm_.b_window;
  const codegen::AffineB& ab = *gemm_.b_affine;
  const codegen::AffineB::Guard& gr = ab.guards[static_cast<size_t>(w.row_guard)];
  const codegen::AffineB::Guard& gc = ab.guards[static_cast<size_t>(w.col_guard)];
  const int64_t rows = 2 * tiles_h_ + 2, cols = 2 * tiles_w_ + 2, pitch = tiles_w_ + 1;
  const auto [c_lo, c_hi] = kept_columns(gc, w.c_min, cols);
  const auto* buffer = reinterpret_cast<const float*>(src);
  for (int64_t p = 0; p < w.planes(); ++p) {
    const int64_t at = plane_at(w, ab, base, p);
    for (int64_t y = 0; y < rows; ++y) {
      const int64_t r = w.r_min + y, first = at + w.row_stride * r + w.c_min;
      int64_t lo = c_hi, hi = c_hi;
      if (r >= gr.lo && r < gr.hi) {
        lo = std::clamp(-first, c_lo, c_hi);
        hi = std::clamp(window_numel_ - first, lo, c_hi);
      }
      const int64_t row = (p * rows + y) * pitch;
      split_row(buffer + first, lo, hi, pitch, line, even + row, odd + row);
    }
  }
}

void CpuGemm::run_winograd(uint8_t* const* buffers, const uint64_t* scalars,
                           runtime::cpu::ThreadPool& pool) const {
  const codegen::WindowB& w = *gemm_.b_window;
  const codegen::AffineB& ab = *gemm_.b_affine;
  const codegen::Contraction& c = gemm_.contraction;
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const int64_t kc = gemm_.tile.kc, a_panels = ceil_div(M_, mr), m_rows = a_panels * mr;
  const int64_t planes = w.planes(), p_blocks = ceil_div(planes, kc);
  auto& memory = HostMemoryPool::global();

  // The filters, transformed once per run.
  const auto a_bytes = static_cast<size_t>(ceil_div(K_, kc) * m_rows * kc * esize_);
  const int64_t position_size = p_blocks * m_rows * kc;
  std::shared_ptr<uint8_t> packed_a = memory.take(a_bytes);
  pack_all_a(buffers, scalars, 0, packed_a.get());
  std::shared_ptr<uint8_t> filters =
      memory.take(static_cast<size_t>(kPositions * position_size) * sizeof(float));
  auto* U = reinterpret_cast<float*>(filters.get());
  pool.parallel_for(m_rows, mr,
                    [&](int64_t m0, int64_t m1) { winograd_filters(packed_a.get(), U, m0, m1); });

  // Each image's planes padded to whole tiles and split by column parity
  // (winograd_planes).
  const int64_t pitch = tiles_w_ + 1, plane_size = (2 * tiles_h_ + 2) * pitch;
  const int64_t image_tiles = tiles_h_ * tiles_w_, tiles = batch_ * image_tiles;

  // Chunks of tiles, whole panels of B, with the chunk's transformed planes and products
  // (16 x (planes + c_out) values per tile) in about a megabyte (L2).
  const int64_t tile_bytes = kPositions * (planes + m_rows) * int64_t{sizeof(float)};
  const int64_t chunk = nr * std::clamp<int64_t>((int64_t{1} << 20) / (tile_bytes * nr), 1, 8);
  const int64_t chunks = ceil_div(tiles, chunk);

  const int64_t mn = M_ * N_;
  std::shared_ptr<uint8_t> scratch;
  if (!gemm_.direct_output) scratch = memory.take(static_cast<size_t>(batch_ * mn) * sizeof(float));
  auto* C =
      reinterpret_cast<float*>(gemm_.direct_output ? buffers[gemm_.out_buffer] : scratch.get());
  const MicroKernel micro = packed_a_micro_.full;

  pool.parallel_for(chunks, 1, [&](int64_t q0, int64_t q1) {
    // A padded row of zeros (winograd_planes), then the split planes, with a vector of room
    // past each half (for the last row's stores, and the transforms' last vector).
    const int64_t line_size = 2 * round_up(pitch, kLanes) + 2 * kLanes;
    auto* line = reinterpret_cast<float*>(thread_buffer(
        6, static_cast<size_t>(line_size + 2 * (planes * plane_size + 2 * kLanes)) * 4));
    std::fill(line, line + line_size, 0.0f);
    float* even = line + line_size;
    float* odd = even + planes * plane_size + 2 * kLanes;
    const SplitPlanes split{even, odd, planes, pitch, plane_size};
    auto* V = reinterpret_cast<float*>(
        thread_buffer(7, static_cast<size_t>(kPositions * planes * (chunk + kLanes)) * 4));
    auto* Mt = reinterpret_cast<float*>(
        thread_buffer(8, static_cast<size_t>(kPositions * m_rows * (chunk + kLanes)) * 4));
    auto* Y =
        reinterpret_cast<float*>(thread_buffer(1, static_cast<size_t>(4 * (chunk + kLanes)) * 4));
    std::vector<int64_t> values(static_cast<size_t>(num_vars_), 0);
    int64_t image_in_planes = -1;
    std::vector<TileRun> runs;  // the chunk's runs of tiles along rows of tiles
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t t0 = q * chunk, t1 = std::min(tiles, t0 + chunk);
      // Rows of V and Mt hold the chunk's panels and room for the transforms' last vector.
      const int64_t n = t1 - t0, panels = ceil_div(n, nr), ldv = panels * nr + kLanes;
      runs.clear();
      for (int64_t t = t0; t < t1;) {
        const int64_t image = t / image_tiles, r = t % image_tiles;
        const int64_t th = r / tiles_w_, tw0 = r % tiles_w_;
        runs.push_back({image, th, tw0, std::min(tiles_w_ - tw0, t1 - t), t - t0});
        t += runs.back().len;
      }
      for (const TileRun& run : runs) {
        if (run.image != image_in_planes) {
          set_vars(values, c.batch, run.image);
          winograd_planes(buffers[ab.buffer], ab.offset + dot(ab.coef, values, c.batch), even, odd,
                          line);
          image_in_planes = run.image;
        }
        input_tiles(split, run.th, run.tw0, run.len, V + run.column, ldv);
      }
      // Columns past the last tile: zeros (their products are dropped).
      if (n < panels * nr)
        for (int64_t row = 0; row < kPositions * planes; ++row)
          std::memset(V + row * ldv + n, 0, static_cast<size_t>(panels * nr - n) * sizeof(float));
      for (int xi = 0; xi < kPositions; ++xi)
        for (int64_t pb = 0; pb < p_blocks; ++pb) {
          const int64_t depth = std::min(kc, planes - pb * kc);
          for (int64_t jp = 0; jp < panels; ++jp)
            for (int64_t ip = 0; ip < a_panels; ++ip)
              micro(depth, U + xi * position_size + (pb * a_panels + ip) * mr * kc,
                    V + (xi * planes + pb * kc) * ldv + jp * nr, ldv,
                    Mt + (xi * m_rows + ip * mr) * ldv + jp * nr, ldv, pb > 0);
        }
      output_tiles(Mt, ldv, m_rows * ldv, n, runs, {C, M_, c.n.extents[0], c.n.extents[1]}, Y);
    }
  });
  if (!gemm_.direct_output)
    pool.parallel_for(batch_ * M_, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / M_, m = r % M_;
        epilogue_rows(buffers, scalars, b, scratch.get() + b * mn * esize_, m, m + 1, 0, N_);
      }
    });
}

}  // namespace kiln::kernels::cpu
