// Philox4x32-10 against the known-answer vectors published with Random123
// (kat_vectors: philox4x32 10 rounds), and the uniform helpers' closed forms.
#include "ir/random.h"

#include <gtest/gtest.h>

namespace kiln::ir {
namespace {

TEST(Philox, KnownAnswerVectors) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            (PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  // Digits of pi as counter and key.
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            (PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Philox, Word0SplitsKeyAndCounterLowWordFirst) {
  EXPECT_EQ(philox_word0(0, 0), 0x6627e8d5u);
  uint64_t key = 0x299f31d0a4093822ull;
  uint64_t counter = 0x85a308d3243f6a88ull;
  EXPECT_EQ(philox_word0(key, counter),
            philox4x32_10({0x243f6a88u, 0x85a308d3u, 0, 0}, {0xa4093822u, 0x299f31d0u})[0]);
}

TEST(Philox, UniformHelpers) {
  // word0 = 0x6627e8d5 for key 0, counter 0.
  EXPECT_EQ(random_uniform_f32(0, 0), static_cast<float>(0x6627e8) / 16777216.0f);
  EXPECT_EQ(random_uniform_f64(0, 0), static_cast<double>(0x6627e8) / 16777216.0);
  EXPECT_EQ(random_uniform_f16(0, 0), static_cast<float>(0x6627e8d5u >> 21) / 2048.0f);
  EXPECT_EQ(random_uniform_bf16(0, 0), static_cast<float>(0x66) / 256.0f);
  for (uint64_t i = 0; i < 10000; ++i) {
    float u = random_uniform_f32(7, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_LT(random_uniform_f16(7, i), 1.0f);
    ASSERT_LT(random_uniform_bf16(7, i), 1.0f);
  }
}

TEST(Philox, UniformMeanIsNearOneHalf) {
  // 2^16 samples: the mean of U[0,1) has standard deviation 1/sqrt(12 * 65536) ~ 0.0011.
  double sum = 0;
  for (uint64_t i = 0; i < 65536; ++i) sum += random_uniform_f64(12345, i);
  EXPECT_NEAR(sum / 65536, 0.5, 0.006);
}

}  // namespace
}  // namespace kiln::ir
