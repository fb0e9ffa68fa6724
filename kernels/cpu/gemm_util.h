// Small helpers of the CPU GEMM's driver (kernels/cpu/gemm.cpp, gemm_window.cpp): index
// arithmetic over a contraction's variable sets, and per-thread scratch buffers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "codegen/contraction.h"
#include "codegen/gemm_kernels.h"

namespace kiln::kernels::cpu::detail {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Sets the variables of `set` in `values` to the row-major delinearization of `flat`.
inline void set_vars(std::vector<int64_t>& values, const codegen::VarSet& set, int64_t flat) {
  for (size_t i = set.vars.size(); i-- > 0;) {
    values[static_cast<size_t>(set.vars[i])] = flat % set.extents[i];
    flat /= set.extents[i];
  }
}

// sum_v coef[v] * values[v] over the variables of `set`.
inline int64_t dot(const std::vector<int64_t>& coef, const std::vector<int64_t>& values,
                   const codegen::VarSet& set) {
  int64_t s = 0;
  for (int v : set.vars) s += coef[static_cast<size_t>(v)] * values[static_cast<size_t>(v)];
  return s;
}

// Where plane `plane` of a WindowB starts in its buffer, from the batch's base index.
inline int64_t plane_at(const codegen::WindowB& w, const codegen::AffineB& ab, int64_t base,
                        int64_t plane) {
  for (size_t i = w.plane_vars.size(); i-- > 0;) {
    base += ab.coef[static_cast<size_t>(w.plane_vars[i])] * (plane % w.plane_extents[i]);
    plane /= w.plane_extents[i];
  }
  return base;
}

// A padded row's columns [lo, hi) that the column guard `gc` keeps, the row's first
// column being the buffer's column `origin`, of `cols`.
inline std::pair<int64_t, int64_t> kept_columns(const codegen::AffineB::Guard& gc, int64_t origin,
                                                int64_t cols) {
  const int64_t lo = std::clamp(gc.lo - origin, int64_t{0}, cols);
  return {lo, std::clamp(gc.hi - origin, lo, cols)};
}

// Copies `n` bytes of a short run (a row of a tile: tens of floats) as pieces of `piece`
// bytes, the last one overlapping: inline moves, where a call to memcpy costs more than
// the copy itself.
template <size_t piece>
inline void copy_pieces(uint8_t* dst, const uint8_t* src, size_t n) {
  for (size_t i = 0; i + piece < n; i += piece) std::memcpy(dst + i, src + i, piece);
  std::memcpy(dst + n - piece, src + n - piece, piece);
}
inline void copy_short(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n >= 16)
    copy_pieces<16>(dst, src, n);
  else if (n >= 4)
    copy_pieces<4>(dst, src, n);
  else
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Zeros `n` bytes of a short run, as copy_short copies one.
inline void zero_short(uint8_t* dst, size_t n) {
  static constexpr uint8_t kZeros[16] = {};
  while (n >= 16) {
    std::memcpy(dst, kZeros, 16);
    dst += 16;
    n -= 16;
  }
  for (size_t i = 0; i < n; ++i) dst[i] = 0;
}

// Per-thread buffers that grow and are kept, 64-byte aligned. Slots: packed panels of A
// (0), tail tiles or the Winograd path's output rows (1), a task's panel of B (2), a WindowB's
// padded planes (3), all of A packed (4), an accumulator matrix (5), and the Winograd path's planes
// split by column parity (6), transformed tiles (7) and products (8).
inline uint8_t* thread_buffer(int which, size_t bytes) {
  thread_local std::vector<uint8_t> buffers[9];
  std::vector<uint8_t>& b = buffers[which];
  if (b.size() < bytes + 64) b.resize(bytes + 64);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(b.data()) + 63) & ~uintptr_t{63});
}

}  // namespace kiln::kernels::cpu::detail
