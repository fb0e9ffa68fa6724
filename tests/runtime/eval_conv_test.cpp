// Reference evaluator: conv on small cases whose values are worked out by hand in the
// comments (padding, stride, causal dilation, groups, 2-D, rounding once in f16, NaN from
// an infinite weight times padding), and its refusal of ill-typed nodes.
#include "tests/runtime/eval_test_util.h"

namespace kiln::test {
namespace {

using I64s = std::vector<int64_t>;

// conv of constants x and w with the given attributes; the result type is the verifier's.
BufferPtr conv(const BufferPtr& x, const BufferPtr& w, I64s stride, I64s dilation, I64s low,
               I64s high, int64_t groups, const Shape& out) {
  return eval(node(OpKind::Conv, {cst(x), cst(w)}, {stride, dilation, low, high, groups},
                   Type{x->dtype(), out}));
}

TEST(EvalConv, OneDimensional) {
  auto x = buf(DType::F32, {1, 1, 5}, {1, 2, 3, 4, 5});
  auto w = buf(DType::F32, {1, 1, 3}, {1, 0, -1});
  // out[o] = x[o] - x[o + 2].
  EXPECT_TRUE(same(*conv(x, w, {1}, {1}, {0}, {0}, 1, {1, 1, 3}), Type{DType::F32, {1, 1, 3}},
                   {-2, -2, -2}));
  // Padded [0, 1, 2, 3, 4, 5, 0], stride 2: windows (0, 1, 2), (2, 3, 4), (4, 5, 0).
  EXPECT_TRUE(same(*conv(x, w, {2}, {1}, {1}, {1}, 1, {1, 1, 3}), Type{DType::F32, {1, 1, 3}},
                   {-2, -2, 4}));
  // Causal with dilation 2 (pad 2 on the left): out[t] = x[t - 2] + 10 x[t].
  auto w2 = buf(DType::F32, {1, 1, 2}, {1, 10});
  EXPECT_TRUE(same(*conv(x, w2, {1}, {2}, {2}, {0}, 1, {1, 1, 5}), Type{DType::F32, {1, 1, 5}},
                   {10, 20, 31, 42, 53}));
}

TEST(EvalConv, ChannelsAndGroups) {
  // Channels [1, 2, 3] and [4, 5, 6].
  auto x = buf(DType::I32, {1, 2, 3}, {1, 2, 3, 4, 5, 6});
  // Dense: out = 2 * ch0 + 3 * ch1.
  auto dense = buf(DType::I32, {1, 2, 1}, {2, 3});
  EXPECT_TRUE(same(*conv(x, dense, {1}, {1}, {0}, {0}, 1, {1, 1, 3}), Type{DType::I32, {1, 1, 3}},
                   {14, 19, 24}));
  // Two groups of one channel: ch0[t] + ch0[t + 1], then ch1[t] - ch1[t + 1].
  auto grouped = buf(DType::I32, {2, 1, 2}, {1, 1, 1, -1});
  EXPECT_TRUE(same(*conv(x, grouped, {1}, {1}, {0}, {0}, 2, {1, 2, 2}), Type{DType::I32, {1, 2, 2}},
                   {3, 5, -1, -1}));
  // Two outputs per group (channel multiplier 2): ch0 * 1, ch0 * -1, ch1 * 2, ch1 * 3.
  auto multiplier = buf(DType::I32, {4, 1, 1}, {1, -1, 2, 3});
  EXPECT_TRUE(same(*conv(x, multiplier, {1}, {1}, {0}, {0}, 2, {1, 4, 3}),
                   Type{DType::I32, {1, 4, 3}}, {1, 2, 3, -1, -2, -3, 8, 10, 12, 12, 15, 18}));
}

TEST(EvalConv, TwoDimensional) {
  // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, 1]]: x[i, j] + x[i + 1, j + 1].
  auto x = buf(DType::F64, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = buf(DType::F64, {1, 1, 2, 2}, {1, 0, 0, 1});
  EXPECT_TRUE(same(*conv(x, w, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1, {1, 1, 2, 2}),
                   Type{DType::F64, {1, 1, 2, 2}}, {6, 8, 12, 14}));
  // One row of padding above, stride 2 both ways: the padded rows are (pad, r0, r1, r2),
  // so out[0, 0] = pad[0, 0] + x[0, 1] = 2 and out[1, 0] = x[1, 0] + x[2, 1] = 12.
  EXPECT_TRUE(same(*conv(x, w, {2, 2}, {1, 1}, {1, 0}, {0, 0}, 1, {1, 1, 2, 1}),
                   Type{DType::F64, {1, 1, 2, 1}}, {2, 12}));
}

TEST(EvalConv, HalfPrecisionRoundsOnce) {
  // 2048 + 1 + 1 in f16 (spacing 2 at 2048): adding in f16 would round 2049 to 2048 twice;
  // the wide sum 2050 is representable.
  auto x = buf(DType::F16, {1, 1, 3}, {2048, 1, 1});
  auto w = buf(DType::F16, {1, 1, 3}, {1, 1, 1});
  EXPECT_TRUE(
      same(*conv(x, w, {1}, {1}, {0}, {0}, 1, {1, 1, 1}), Type{DType::F16, {1, 1, 1}}, {2050}));
}

TEST(EvalConv, PaddingIsMultipliedLikeData) {
  // An infinite weight on a padding position gives NaN (inf * 0), as an explicit pad does.
  auto x = buf(DType::F32, {1, 1, 2}, {1, 2});
  auto w = buf(DType::F32, {1, 1, 2}, {kInf, 1});
  EXPECT_TRUE(same(*conv(x, w, {1}, {1}, {1}, {0}, 1, {1, 1, 2}), Type{DType::F32, {1, 1, 2}},
                   {kNaN, kInf}));
}

TEST(EvalConv, RefusesIllTypedNodes) {
  auto x = cst(buf(DType::F32, {1, 4, 5}, std::vector<double>(20, 1)));
  auto w = cst(buf(DType::F32, {2, 2, 3}, std::vector<double>(12, 1)));
  // groups 3 does not divide 4 channels.
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::Conv, {x, w}, {I64s{1}, I64s{1}, I64s{0}, I64s{0}, int64_t{3}},
                  Type{DType::F32, {1, 2, 3}}));
      },
      {"reference evaluator", "conv", "not divisible by groups 3"});
  // A declared result of the wrong shape.
  expect_error<VerifyError>(
      [&] {
        eval(node(OpKind::Conv, {x, w}, {I64s{1}, I64s{1}, I64s{0}, I64s{0}, int64_t{2}},
                  Type{DType::F32, {1, 2, 4}}));
      },
      {"reference evaluator", "the result should be f32[1,2,3]"});
}

}  // namespace
}  // namespace kiln::test
