// kiln::rearrange / reduce / repeat / einsum (kiln/einops.h): values against indices
// computed here by hand and einsum against NumPy's results for fixed small inputs, the
// lowering (views only for rearrange, the greedy contraction order), every error message,
// gradients through rearrange and einsum, and every built backend against the reference
// evaluator.
#include <kiln/einops.h>

#include <functional>

#include "tests/autodiff/gradcheck.h"
#include "tests/devices.h"
#include "tests/frontend/reference_check.h"
#include "tests/frontend/test_util.h"
#include "tests/tolerance.h"

namespace kiln::testing {
namespace {

// ((7 i + k) mod 11 - 5) / 4: exact in binary, the same formula as the NumPy script below.
std::vector<double> vals(int64_t n, int k = 0) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 7 + k) % 11 - 5) / 4);
  return v;
}
Tensor input(const Shape& shape, int k = 0) {
  std::vector<double> v = vals(numel(shape), k);
  return from_data(std::vector<float>(v.begin(), v.end()), shape);
}
Tensor iota(const Shape& shape) { return reshape(arange(numel(shape), DType::F32), shape); }

TEST(Einops, RearrangePermutesSplitsAndMerges) {
  Tensor x = iota({2, 3, 4});  // x[b, h, w] = 12 b + 4 h + w
  std::vector<double> want;
  for (int b = 0; b < 2; ++b)
    for (int w = 0; w < 4; ++w)
      for (int h = 0; h < 3; ++h) want.push_back(12 * b + 4 * h + w);
  expect_f32(rearrange(x, "b h w -> b w h"), {2, 4, 3}, want);
  // Merging in the other order: out[b, w * 3 + h] = x[b, h, w].
  expect_f32(rearrange(x, "b h w -> b (w h)"), {2, 12}, want);
  // Splitting: (h d) with h = 2 keeps the row-major order.
  Tensor y = iota({2, 6});
  expect_f32(rearrange(y, "b (h d) -> b h d", {{"h", 2}}), {2, 2, 3},
             {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  // Split and transpose: out[b, d, h] = y[b, h * 3 + d].
  want.clear();
  for (int b = 0; b < 2; ++b)
    for (int d = 0; d < 3; ++d)
      for (int h = 0; h < 2; ++h) want.push_back(6 * b + 3 * h + d);
  expect_f32(rearrange(y, "b (h d) -> b d h", {{"d", 3}}), {2, 3, 2}, want);
}

TEST(Einops, SpaceToDepthMatchesHandIndices) {
  // x [1, 2, 4, 4] -> [1, 2*2*2, 2, 2]: out[0, c*4 + i*2 + j, h, w] = x[0, c, 2h + i, 2w + j].
  Tensor x = iota({1, 2, 4, 4});
  std::vector<double> want;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        for (int h = 0; h < 2; ++h)
          for (int w = 0; w < 2; ++w) want.push_back(16 * c + 4 * (2 * h + i) + 2 * w + j);
  expect_f32(rearrange(x, "b c (h i) (w j) -> b (c i j) h w", {{"i", 2}, {"j", 2}}), {1, 8, 2, 2},
             want);
}

TEST(Einops, EllipsisAnonymousAxesAndEmptyGroups) {
  Tensor x = iota({2, 3, 4});
  std::vector<double> seq;
  for (int i = 0; i < 24; ++i) seq.push_back(i);
  expect_f32(rearrange(x, "b ... -> b (...)"), {2, 12}, seq);
  expect_f32(rearrange(x, "... h w -> ... (h w)"), {2, 12}, seq);
  expect_f32(rearrange(x, "... -> (...)"), {24}, seq);
  expect_f32(rearrange(x, "b h w -> b () h 1 w"), {2, 1, 3, 1, 4}, seq);
  Tensor y = rearrange(x, "b h w -> b () h 1 w");
  expect_f32(rearrange(y, "b () h 1 w -> (b h) w"), {6, 4}, seq);
  // "..." standing for no axis at all.
  expect_f32(rearrange(x, "a b c ... -> a b c ..."), {2, 3, 4}, seq);
  // "..." in the middle, moved to the end: out[w, b, h] = x[b, h, w].
  std::vector<double> want;
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < 3; ++h) want.push_back(12 * b + 4 * h + w);
  expect_f32(rearrange(x, "b ... w -> w b ..."), {4, 2, 3}, want);
}

TEST(Einops, RearrangeIsAViewAndNothingWhenNothingChanges) {
  Tensor x = input({2, 6, 4});
  EXPECT_EQ(rearrange(x, "a b c -> a b c").node(), x.node());
  EXPECT_EQ(rearrange(x, "a (b c) d -> a (b c) d", {{"b", 2}}).node(), x.node());
  for (const auto& op : graph_ops(rearrange(x, "a (b c) d -> (d a) c b", {{"b", 2}})))
    EXPECT_TRUE(op == "reshape" || op == "permute") << op;
  // One reshape to the elementary axes, one permute, one reshape to the groups.
  std::vector<std::string> ops = graph_ops(rearrange(x, "a (b c) d -> (d a) c b", {{"b", 2}}));
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "permute"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "reshape"), 2);
  // Splitting and merging without reordering: one reshape.
  EXPECT_EQ(graph_ops(rearrange(x, "a (b c) d -> a b (c d)", {{"b", 2}})),
            (std::vector<std::string>{"reshape"}));
}

TEST(Einops, ReduceEveryReduction) {
  Tensor x = iota({2, 3, 4});
  // Sum and mean over h: out[b, w] = sum_h (12 b + 4 h + w) = 36 b + 12 + 3 w.
  std::vector<double> s, m;
  for (int b = 0; b < 2; ++b)
    for (int w = 0; w < 4; ++w) {
      s.push_back(36 * b + 12 + 3 * w);
      m.push_back((36 * b + 12 + 3 * w) / 3.0);
    }
  expect_f32(reduce(x, "b h w -> b w", ReduceOp::Sum), {2, 4}, s);
  expect_f32(reduce(x, "b h w -> b w", ReduceOp::Mean), {2, 4}, m, 1e-5);
  // Max pooling 2 x 2 over the last axes of [2, 4]: (h 2) (w 2) -> h w.
  Tensor y = iota({2, 4});
  expect_f32(reduce(y, "(h 2) (w 2) -> h w", ReduceOp::Max), {1, 2}, {5, 7});
  expect_f32(reduce(y, "(h h2) (w w2) -> h w", ReduceOp::Min, {{"h2", 2}, {"w2", 2}}), {1, 2},
             {0, 2});
  expect_f32(reduce(iota({2, 3}) + 1, "a b -> b", ReduceOp::Prod), {3}, {4, 10, 18});
  // Over "...", keeping a length-1 axis.
  expect_f32(reduce(x, "b ... -> b ()", ReduceOp::Sum), {2, 1}, {66, 210});
}

TEST(Einops, RepeatAddsAxes) {
  Tensor x = iota({2, 3});
  std::vector<double> want;
  for (int h = 0; h < 2; ++h)
    for (int w = 0; w < 3; ++w)
      for (int c = 0; c < 2; ++c) want.push_back(3 * h + w);
  expect_f32(repeat(x, "h w -> h w c", {{"c", 2}}), {2, 3, 2}, want);
  // Each row twice: out[2 h + i, w] = x[h, w].
  want.clear();
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 2; ++i)
      for (int w = 0; w < 3; ++w) want.push_back(3 * h + w);
  expect_f32(repeat(x, "h w -> (h 2) w"), {4, 3}, want);
  // The whole tensor twice along a new leading axis (tile).
  want.clear();
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 6; ++i) want.push_back(i);
  expect_f32(repeat(x, "h w -> r h w", {{"r", 2}}), {2, 2, 3}, want);
  std::vector<std::string> ops = graph_ops(repeat(x, "h w -> (h 2) w"));
  EXPECT_TRUE(contains(ops, "broadcast"));
}

// NumPy's results, hard-coded from this script (NumPy 1.24.2):
//   import numpy as np
//   def v(n, k=0): return ((np.arange(n) * 7 + k) % 11 - 5).astype(np.float64) / 4
//   q = v(8).reshape(1,2,2,2); k = v(12, 3).reshape(1,2,3,2)
//   np.einsum("bhld,bhmd->bhlm", q, k); a = v(9).reshape(3,3); np.einsum("ii->i", a)
//   np.einsum("ii", a); x = v(6).reshape(2,3); y = v(12, 1).reshape(3,4)
//   z = v(8, 2).reshape(4,2); np.einsum("ij,jk,kl->il", x, y, z); np.einsum("ij,jk", x, y)
//   u = v(12).reshape(2,1,2,3); w = v(18, 5).reshape(3,3,2)
//   np.einsum("...ij,...jk->...ik", u, w); np.einsum("i,j->ij", v(2), v(3,1))
//   np.einsum("bij->j", v(12).reshape(2,3,2))
//   np.einsum("bjjc,c->bj", v(36, 4).reshape(2,3,3,2), v(2,2))
TEST(Einops, EinsumMatchesNumPy) {
  expect_f32(einsum("bhld,bhmd->bhlm", {input({1, 2, 2, 2}), input({1, 2, 3, 2}, 3)}), {1, 2, 2, 3},
             {1.25, -0.6875, -1.25, 1.8125, -1.0625, -0.5, -0.8125, 0.875, 0.5, -1.0, -0.25, 0.5});
  Tensor a = input({3, 3});
  expect_f32(einsum("ii->i", {a}), {3}, {-1.25, 0.25, -1.0});
  expect_f32(einsum("ii", {a}), {}, {-2.0});
  Tensor x = input({2, 3}), y = input({3, 4}, 1), z = input({4, 2}, 2);
  expect_f32(einsum("ij,jk,kl->il", {x, y, z}), {2, 2}, {-3.4375, 4.421875, 1.359375, -1.0});
  expect_f32(einsum("ij,jk", {x, y}), {2, 4},
             {1.875, -1.6875, 0.9375, 2.1875, -0.5625, 0.0625, 0.0, -0.75});
  expect_f32(
      einsum("...ij,...jk->...ik", {input({2, 1, 2, 3}), input({3, 3, 2}, 5)}), {2, 3, 2, 2},
      {1.0,  0.875, 1.125, -1.6875, 0.25, -1.9375, -1.3125, 1.375, 0.875, -1.3125, -1.6875, 1.0,
       1.25, -1.5,  1.375, -1.3125, -1.5, 1.25,    -1.6875, 1.125, -1.5,  1.25,    -1.3125, 1.5});
  expect_f32(einsum("i,j->ij", {input({2}), input({3}, 1)}), {2, 3},
             {1.25, -0.9375, 0.3125, -0.5, 0.375, -0.125});
  expect_f32(einsum("bij->j", {input({2, 3, 2})}), {2}, {-1.75, 0.5});
  expect_f32(einsum("bjjc,c->bj", {input({2, 3, 3, 2}, 4), input({2}, 2)}), {2, 3},
             {-1.0625, -1.0, -0.9375, -0.75, -0.6875, 1.4375});
}

// The matmul nodes of a graph, as "a x b" operand types.
std::vector<std::string> matmuls(const Tensor& t) {
  std::vector<std::string> out;
  for (const auto& n : graph_of(t).nodes)
    if (n->op == ir::OpKind::MatMul)
      out.push_back(n->operands[0]->type.str() + " x " + n->operands[1]->type.str());
  return out;
}

TEST(Einops, EinsumContractsTheCheapestPairFirst) {
  // A [64, 2] B [2, 64] C [64, 3]: A B would make a [64, 64] intermediate, B C a [2, 3] one.
  Tensor A = input({64, 2}), B = input({2, 64}, 1), C = input({64, 3}, 2);
  EXPECT_EQ(matmuls(einsum("ij,jk,kl->il", {A, B, C})),
            (std::vector<std::string>{"f32[2,64] x f32[64,3]", "f32[64,2] x f32[2,3]"}));
  // Batch indices stay a batch dimension of one matmul: b h merge into 4.
  EXPECT_EQ(matmuls(einsum("bhld,bhmd->bhlm", {input({2, 2, 5, 3}), input({2, 2, 6, 3})})),
            (std::vector<std::string>{"f32[4,5,3] x f32[4,3,6]"}));
  expect_close(einsum("ij,jk,kl->il", {A, B, C}), DType::F32, {64, 3},
               cast(matmul(matmul(A, B), C), DType::F64).to_vector<double>(), 1e-5, 1e-5);
}

TEST(Einops, PatternErrorsNameThePatternAndTheAxis) {
  Tensor x = iota({2, 6});
  expect_error<PatternError>([&] { rearrange(x, "a b -> a c"); },
                             {"rearrange", "'a b -> a c'", "axis 'c' on the right"});
  expect_error<PatternError>([&] { rearrange(x, "a b -> a"); },
                             {"'a b -> a'", "axis 'b' of the left is missing"});
  expect_error<PatternError>([&] { rearrange(x, "a a -> a"); },
                             {"'a a -> a'", "axis 'a' appears twice on the left"});
  expect_error<PatternError>([&] { rearrange(x, "a b -> a b b"); },
                             {"axis 'b' appears twice on the right"});
  expect_error<ShapeError>(
      [&] {
        rearrange(x, "a (b c) -> a b c", {{"b", 4}});
      },
      {"'a (b c) -> a b c'", "input dimension 1 (b c) has length 6", "not divisible by 4",
       "'c' cannot be inferred"});
  expect_error<ShapeError>(
      [&] {
        rearrange(x, "a (b c) -> a b c", {{"b", 2}, {"c", 2}});
      },
      {"(b c) has length 6", "b=2, c=2 make it 4"});
  expect_error<ShapeError>(
      [&] {
        rearrange(x, "a b -> b a", {{"a", 3}});
      },
      {"input dimension 0 a has length 2", "a=3 make it 3"});
  expect_error<PatternError>([&] { rearrange(x, "a (b c) -> a b c"); },
                             {"cannot infer both 'b' and 'c' of (b c)"});
  expect_error<PatternError>([&] { rearrange(x, "... a ... -> a"); },
                             {"'...' appears twice on the left"});
  expect_error<PatternError>([&] { rearrange(x, "a (b -> a b"); },
                             {"unbalanced parentheses", "never closed"});
  expect_error<PatternError>([&] { rearrange(x, "a b) -> a b"); },
                             {"unbalanced parentheses", "')' without '('"});
  expect_error<PatternError>([&] { rearrange(x, "a ((b)) -> a b"); }, {"nested parentheses"});
  expect_error<PatternError>([&] { rearrange(x, "a b"); }, {"'a b'", "no '->'"});
  expect_error<PatternError>(
      [&] {
        rearrange(x, "a b -> a b", {{"z", 2}});
      },
      {"sizes give axis 'z'", "does not name"});
  expect_error<PatternError>([&] { rearrange(x, "a b -> a b ..."); },
                             {"'...' on the right but not on the left"});
  expect_error<PatternError>([&] { rearrange(x, "a (b ...) -> a b"); },
                             {"'...' inside parentheses on the left"});
  expect_error<PatternError>([&] { rearrange(x, "a b -> a b 2"); },
                             {"anonymous axis 2 on the right", "only repeat"});
  expect_error<PatternError>([&] { rearrange(x, "a b! -> a b"); }, {"unexpected character '!'"});
  expect_error<ShapeError>([&] { rearrange(x, "a b c -> a b c"); },
                           {"the left has 3 axes", "f32[2,6] has rank 2"});
  expect_error<ShapeError>([&] { rearrange(x, "a b c ... -> a b c"); },
                           {"the left names at least 3 axes", "rank 2"});
  expect_error<PatternError>([&] { repeat(x, "a b -> a b c"); },
                             {"repeat", "new axis 'c' on the right has no length"});
  expect_error<PatternError>([&] { repeat(x, "a b -> a"); }, {"axis 'b' of the left is missing"});
  expect_error<PatternError>([&] { rearrange(x, "a ... -> a"); },
                             {"the axes of '...' on the left are missing on the right"});
  expect_error<PatternError>([&] { reduce(x, "a b -> a c", ReduceOp::Sum); },
                             {"reduce", "axis 'c' on the right is not on the left"});
}

TEST(Einops, EinsumErrorsNameTheSpecAndTheIndex) {
  Tensor a = iota({2, 3}), b = iota({4, 5});
  expect_error<PatternError>([&] { einsum("ij,jk->ik", {a}); },
                             {"einsum", "'ij,jk->ik'", "names 2 operands but 1 was given"});
  expect_error<ShapeError>(
      [&] {
        einsum("ij,jk->ik", {a, b});
      },
      {"index 'j' has length 3 in operand 0 but 4 in operand 1"});
  expect_error<ShapeError>([&] { einsum("ijk->i", {a}); },
                           {"operand 0 (f32[2,3]) has rank 2 but its term names 3 indices"});
  expect_error<PatternError>([&] { einsum("ij->iz", {a}); }, {"output index 'z' is in no operand"});
  expect_error<PatternError>([&] { einsum("ij->ii", {a}); },
                             {"index 'i' appears twice in the output"});
  expect_error<PatternError>([&] { einsum("i...j...->i", {a}); },
                             {"'...' appears twice in operand 0"});
  expect_error<PatternError>([&] { einsum("i1->i", {a}); }, {"unexpected character '1'"});
  expect_error<ShapeError>(
      [&] {
        einsum("...i,...i->...", {iota({2, 3}), iota({3, 3})});
      },
      {"index '... dimension 0' has length 2 in operand 0 but 3"});
  expect_error<PatternError>([&] { einsum("i", {}); }, {"no operands"});
}

TEST(Einops, GradientsFlowThroughRearrangeAndEinsum) {
  Rng rng(3);
  check_vjp(Sample{{rng.uniform({2, 6}, -1, 1)}, [](const std::vector<Tensor>& x) {
                     return rearrange(x[0], "b (h d) -> d (b h)", {{"h", 3}});
                   }});
  check_vjp(Sample{
      {rng.uniform({2, 3, 4}, -1, 1), rng.uniform({4, 2}, -1, 1), rng.uniform({3, 3}, -1, 1)},
      [](const std::vector<Tensor>& x) {
        return einsum("bij,jk,ii->bk", {x[0], x[1], x[2]});
      }});
}

// Every built backend against the reference evaluator: all the lowered forms in one graph.
std::vector<Tensor> lowered_forms() {
  Tensor x = input({2, 6, 4}), y = input({6, 5}, 1), s = input({3, 3}, 2);
  return {rearrange(x, "b (h d) w -> (w b) d h", {{"h", 2}}),
          reduce(x, "b (h 2) w -> b w h", ReduceOp::Max),
          reduce(x, "b h w -> w", ReduceOp::Mean),
          repeat(x, "b h w -> b (h r) w", {{"r", 2}}),
          einsum("bhw,hk->bkw", {x, y}),
          einsum("ii,bhw->bw", {s, x}),
          einsum("bhw,bhv->bwv", {x, x})};
}

// Fusion sees through a rearrange: an elementwise chain around a split, permute and merge is
// one kernel.
TEST(Einops, FusesWithTheElementwiseOpsAroundIt) {
  KILN_TEST_DEVICE_OR_SKIP(cpu, "cpu");
  Tensor y = rearrange(input({4, 6}) * 2, "b (h d) -> (d b) h", {{"h", 2}}) + 1;
  const int64_t before = stats().launches;
  eval(cpu, y);
  EXPECT_EQ(stats().launches - before, 1);
  std::vector<double> want;
  std::vector<double> x = vals(24);
  for (int d = 0; d < 3; ++d)
    for (int b = 0; b < 4; ++b)
      for (int h = 0; h < 2; ++h) want.push_back(x[b * 6 + h * 3 + d] * 2 + 1);
  expect_f32(y, {12, 2}, want);
}

class EinopsOn : public ::testing::TestWithParam<std::string> {};

TEST_P(EinopsOn, MatchesTheReference) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  expect_matches_reference(device, lowered_forms, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Devices, EinopsOn, ::testing::Values("cpu", "opencl"));

}  // namespace
}  // namespace kiln::testing
