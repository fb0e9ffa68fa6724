// Vectors of 8 floats for the CPU GEMM's C++ loops (the Winograd transforms, transposing
// packs): GCC/Clang vector extensions, compiled as the host's vectors inside functions
// marked KILN_HOST_CLONES (an AVX2 clone beside the default one, picked at load time), as
// pairs of SSE vectors otherwise.
#pragma once

// The vectors are passed between inline functions only; GCC's note that their ABI
// differs with and without AVX does not concern them.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define KILN_HOST_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KILN_HOST_CLONES
#endif

namespace kiln::kernels::cpu::detail {

inline constexpr int kLanes = 8;
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));
// The same at any float's address.
using UnalignedVec =
    float __attribute__((vector_size(kLanes * sizeof(float)), aligned(4), may_alias));

// Vectors pass by reference only: one passed or returned by value would have another ABI
// in the AVX2 clone than in the default one, which Clang refuses. So a load is a macro: a
// copy of the vector at p, read as an UnalignedVec (and a store writes one).
#define KILN_LOAD(p)                  \
  (::kiln::kernels::cpu::detail::Vec( \
      *reinterpret_cast<const ::kiln::kernels::cpu::detail::UnalignedVec*>(p)))
inline void store(float* p, const Vec& v) { *reinterpret_cast<UnalignedVec*>(p) = v; }

// The lanes of (a, b) at the given indices (0-7 of a, 8-15 of b).
#if defined(__clang__)
#define KILN_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
using VecIndex = int __attribute__((vector_size(kLanes * sizeof(int))));
#define KILN_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, VecIndex{__VA_ARGS__})
#endif

// lo = (a0 b0 a1 b1 a2 b2 a3 b3), hi = (a4 b4 ... a7 b7).
inline void interleave(const Vec& a, const Vec& b, Vec& lo, Vec& hi) {
  lo = KILN_SHUFFLE(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = KILN_SHUFFLE(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

// Transposes the 8 x 8 block r[0..7] in place (r[i][j] becomes r[j][i]).
inline void transpose8(Vec* r) {
  Vec t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = KILN_SHUFFLE(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = KILN_SHUFFLE(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) {
      s[i + 2 * j] = KILN_SHUFFLE(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      s[i + 2 * j + 1] = KILN_SHUFFLE(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int j = 0; j < 4; ++j) {
    r[j] = KILN_SHUFFLE(s[j], s[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[j + 4] = KILN_SHUFFLE(s[j], s[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

}  // namespace kiln::kernels::cpu::detail
