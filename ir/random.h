// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011), the generator behind random_uniform. Being a pure
// function of (key, counter), it gives the same values on every device and in every
// fusion order; the reference evaluator and both backends compute exactly this.
// Tests: tests/ir/random_test.cpp (the published known-answer vectors).
#pragma once

#include <array>
#include <cstdint>

namespace kiln::ir {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

// The full generator: ten rounds over a 128-bit counter with a 64-bit key.
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// Word 0 of philox4x32_10 with counter = (lo32, hi32, 0, 0) of `counter` and
// key = (lo32, hi32) of `key`: the contract of random_uniform, where `counter` is the
// element's flat (row-major) index and `key` the node's key (after its derivations).
uint32_t philox_word0(uint64_t key, uint64_t counter);

// A key derived from `key`: word 0 at counters `counter` (low half) and `counter | 1`
// (high half). kiln::split and kiln::fold_in derive keys with it on the host, and
// random_uniform applies its `derive` counters with it to a key that is a graph value, so
// a key tensor derived k times draws exactly what the host-derived key draws.
uint64_t derive_key(uint64_t key, uint64_t counter);

// Uniform in [0, 1): (word0 >> 8) * 2^-24, exact in every float dtype of 24 or more
// significand bits. f64 gives the same value as f32, widened.
float random_uniform_f32(uint64_t key, uint64_t counter);
double random_uniform_f64(uint64_t key, uint64_t counter);

// For f16 and bf16 the top 11 and 8 bits of word0 (their significand widths), so that the
// value is exact and never rounds up to 1: (word0 >> 21) * 2^-11, (word0 >> 24) * 2^-8.
// Returned as float; converting to the 16-bit type is exact.
float random_uniform_f16(uint64_t key, uint64_t counter);
float random_uniform_bf16(uint64_t key, uint64_t counter);

}  // namespace kiln::ir
