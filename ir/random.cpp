// Philox4x32-10: each round multiplies two counter words by fixed odd constants and mixes
// the high and low halves of the products with the other words and the key; the key is
// bumped by Weyl constants between rounds.
#include "ir/random.h"

namespace kiln::ir {

namespace {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

PhiloxCounter round(const PhiloxCounter& c, const PhiloxKey& k) {
  uint64_t p0 = uint64_t{kMul0} * c[0];
  uint64_t p1 = uint64_t{kMul1} * c[2];
  auto hi = [](uint64_t p) { return static_cast<uint32_t>(p >> 32); };
  auto lo = [](uint64_t p) { return static_cast<uint32_t>(p); };
  return {hi(p1) ^ c[1] ^ k[0], lo(p1), hi(p0) ^ c[3] ^ k[1], lo(p0)};
}

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    counter = round(counter, key);
  }
  return counter;
}

uint32_t philox_word0(uint64_t key, uint64_t counter) {
  PhiloxCounter c = {static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0, 0};
  PhiloxKey k = {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)};
  return philox4x32_10(c, k)[0];
}

uint64_t derive_key(uint64_t key, uint64_t counter) {
  uint64_t lo = philox_word0(key, counter);
  uint64_t hi = philox_word0(key, counter | 1);
  return lo | (hi << 32);
}

float random_uniform_f32(uint64_t key, uint64_t counter) {
  return static_cast<float>(philox_word0(key, counter) >> 8) * 0x1p-24f;
}

double random_uniform_f64(uint64_t key, uint64_t counter) {
  return static_cast<double>(philox_word0(key, counter) >> 8) * 0x1p-24;
}

float random_uniform_f16(uint64_t key, uint64_t counter) {
  return static_cast<float>(philox_word0(key, counter) >> 21) * 0x1p-11f;
}

float random_uniform_bf16(uint64_t key, uint64_t counter) {
  return static_cast<float>(philox_word0(key, counter) >> 24) * 0x1p-8f;
}

}  // namespace kiln::ir
