// kiln/modelops.h: safe_divide and safe_log at their refused arguments, masked_softmax with
// a fully masked row (values and a gradient check), bert_padding against hand-computed
// indices (and its host syncs: one in count_tokens, none elsewhere), svd_lowrank and
// power_iteration on matrices U diag(s) V^T with known singular values, the errors, and
// every built backend against the reference evaluator.
#include <kiln/modelops.h>

#include <cmath>
#include <random>

#include "tests/autodiff/gradcheck.h"
#include "tests/devices.h"
#include "tests/frontend/reference_check.h"
#include "tests/frontend/test_util.h"

namespace kiln::testing {
namespace {

Tensor f32(const std::vector<float>& v, const Shape& s) { return from_data(v, s); }

TEST(ModelOps, SafeDivideGivesZeroWhereTheDenominatorIsRefused) {
  Tensor a = f32({1, 2, 3, 4}, {4}), b = f32({2, 0, -4, 0.5f}, {4});
  expect_f32(safe_divide(a, b), {4}, {0.5, 0, -0.75, 8});
  expect_f32(safe_divide(a, b, 1.0), {4}, {0.5, 0, -0.75, 0});
  expect_f32(safe_divide(a, 0), {4}, {0, 0, 0, 0});
  // The gradient at a zero denominator is 0, not inf or NaN.
  Tensor a64 = cast(a, DType::F64), b64 = cast(b, DType::F64);
  std::vector<Tensor> g = gradients(sum(safe_divide(a64, b64)), {a64, b64});
  expect_close(g[0], DType::F64, {4}, {0.5, 0, -0.25, 2});
  expect_close(g[1], DType::F64, {4}, {-0.25, 0, -3.0 / 16, -16});
  expect_error<ShapeError>([&] { safe_divide(a, b, -1); }, {"safe_divide", "eps must be >= 0"});
}

TEST(ModelOps, SafeLogIsFiniteAtZeroAndBelow) {
  const double tiny = std::log(1.1754943508222875e-38);  // -87.3365
  expect_f32(safe_log(f32({0, -1, 1, std::exp(1.f), NAN}, {5})), {5}, {tiny, tiny, 0, 1, NAN},
             1e-6);
  expect_f32(safe_log(f32({0, 1e-7f}, {2}), 1e-6), {2}, {std::log(1e-6), std::log(1e-6)}, 1e-6);
  expect_close(safe_log(from_data(std::vector<double>{0.0}, {1})), DType::F64, {1},
               {std::log(2.2250738585072014e-308)}, 1e-12);
  expect_f32(safe_log(from_data(std::vector<int32_t>{0, 1}, {2})), {2}, {tiny, 0}, 1e-6);
  expect_error<ShapeError>([] { safe_log(f32({1}, {1}), 0.0); }, {"safe_log", "eps must be > 0"});
}

TEST(ModelOps, MaskedSoftmaxZeroesAFullyMaskedRow) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor mask = from_data(std::vector<bool>{true, false, true, false, false, false}, {2, 3});
  const double e = std::exp(2.0);  // row 0: softmax of (1, 3) at positions 0 and 2
  expect_f32(masked_softmax(x, mask), {2, 3}, {1 / (1 + e), 0, e / (1 + e), 0, 0, 0}, 1e-6);
  // A mask that broadcasts: the same keep pattern on every row.
  Tensor cols = from_data(std::vector<bool>{false, true, true}, {3});
  expect_f32(masked_softmax(x, cols), {2, 3},
             {0, 1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0)), 0, 1 / (1 + std::exp(1.0)),
              1 / (1 + std::exp(-1.0))},
             1e-6);
  // Along axis 0: column 1 fully masked.
  Tensor m0 = from_data(std::vector<bool>{true, false, true, true, false, false}, {2, 3});
  expect_f32(masked_softmax(x, m0, 0), {2, 3},
             {1 / (1 + std::exp(3.0)), 0, 1, 1 / (1 + std::exp(-3.0)), 0, 0}, 1e-6);
  expect_error<DTypeError>([&] { masked_softmax(x, cast(mask, DType::I32)); },
                           {"masked_softmax", "mask i32[2,3] must be bool"});
  Rng rng(4);
  check_vjp(Sample{{rng.uniform({2, 3}, -2, 2)},
                   [mask](const std::vector<Tensor>& in) { return masked_softmax(in[0], mask); }});
}

// hidden[b, s, d] = 10 b + s + 0.5 d over a [2, 4, 2] batch; mask rows hold 2 and 3 tokens.
Tensor hidden_states() {
  std::vector<float> v;
  for (int b = 0; b < 2; ++b)
    for (int s = 0; s < 4; ++s)
      for (int d = 0; d < 2; ++d) v.push_back(10.f * b + s + 0.5f * d);
  return from_data(v, {2, 4, 2});
}
Tensor token_mask() { return from_data(std::vector<int32_t>{1, 1, 0, 0, 1, 1, 1, 0}, {2, 4}); }

TEST(ModelOps, UnpadAndPadRoundTrip) {
  Tensor h = hidden_states(), mask = token_mask();
  const int64_t syncs = stats().host_syncs;
  Unpadded u = unpad_input(h, mask, 5);
  Tensor back = pad_input(u.hidden, u.indices, 2, 4);
  EXPECT_EQ(stats().host_syncs, syncs) << "building the graph must not sync";
  expect_values<int64_t>(u.indices, DType::I64, {5}, {0, 1, 4, 5, 6});
  expect_values<int32_t>(u.cu_seqlens, DType::I32, {3}, {0, 2, 5});
  expect_values<int32_t>(u.max_seqlen_in_batch, DType::I32, {}, {3});
  expect_f32(u.hidden, {5, 2}, {0, 0.5, 1, 1.5, 10, 10.5, 11, 11.5, 12, 12.5});
  expect_f32(back, {2, 4, 2}, {0, 0.5, 1, 1.5, 0, 0, 0, 0, 10, 10.5, 11, 11.5, 12, 12.5, 0, 0});
  expect_f32(
      index_first_axis(f32({0, 1, 2, 3, 4, 5}, {3, 2}), from_data(std::vector<int32_t>{2, 0}, {2})),
      {2, 2}, {4, 5, 0, 1});
}

TEST(ModelOps, CountingTokensIsTheOneCountedSync) {
  Tensor h = hidden_states(), mask = token_mask();
  const int64_t syncs = stats().host_syncs;
  EXPECT_EQ(count_tokens(mask), 5);
  EXPECT_EQ(stats().host_syncs, syncs + 1);
  Unpadded u = unpad_input(h, mask);
  EXPECT_EQ(stats().host_syncs, syncs + 2);
  EXPECT_EQ(u.hidden.shape(), (Shape{5, 2}));
}

TEST(ModelOps, PaddingErrors) {
  Tensor h = hidden_states();
  expect_error<ShapeError>(
      [&] {
        unpad_input(h, f32({1, 1, 1}, {1, 3}), 1);
      },
      {"unpad_input", "f32[2,4,2]", "[batch, seqlen, ...] and [batch, seqlen]"});
  expect_error<ShapeError>([&] { unpad_input(h, token_mask(), 9); },
                           {"unpad_input", "total_tokens 9 is outside [0, 8]"});
  expect_error<ShapeError>([&] { pad_input(h, from_data(std::vector<int64_t>{0}, {1}), 2, 4); },
                           {"pad_input", "one index per row"});
  expect_error<ShapeError>(
      [&] {
        index_first_axis(h, zeros({2, 2}, DType::I64));
      },
      {"index_first_axis", "must be 1-D"});
}

// A [m, n] = U diag(s) V^T with orthonormal U, V from Gram-Schmidt (in double, here) of
// fixed pseudo-random matrices.
std::vector<double> orthonormal_columns(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<double> dist;
  std::vector<double> q(static_cast<size_t>(rows * cols));
  for (double& x : q) x = dist(engine);
  for (int64_t j = 0; j < cols; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t i = 0; i < rows; ++i) dot += q[i * cols + j] * q[i * cols + k];
        for (int64_t i = 0; i < rows; ++i) q[i * cols + j] -= dot * q[i * cols + k];
      }
    double n = 0;
    for (int64_t i = 0; i < rows; ++i) n += q[i * cols + j] * q[i * cols + j];
    for (int64_t i = 0; i < rows; ++i) q[i * cols + j] /= std::sqrt(n);
  }
  return q;
}

const std::vector<double> kSingular = {5, 3, 2, 1, 0.5, 0.25, 0.1, 0.05};

Tensor known_matrix() {
  const int64_t m = 12, n = 8;
  std::vector<double> U = orthonormal_columns(m, n, 1), V = orthonormal_columns(n, n, 2);
  std::vector<float> A(static_cast<size_t>(m * n), 0.f);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double a = 0;
      for (int64_t k = 0; k < n; ++k) a += U[i * n + k] * kSingular[k] * V[j * n + k];
      A[i * n + j] = static_cast<float>(a);
    }
  return from_data(A, {m, n});
}

// The factorizations unroll into a few hundred small ops: their values are checked on the
// reference evaluator (no kernels to compile), the backends on a smaller case below.
TEST(ModelOps, SvdLowRankFindsKnownSingularValues) {
  DeviceGuard on(runtime::make_device("reference"));
  Tensor A = known_matrix();
  LowRankSvd r = svd_lowrank(A, 3, 2, Key(7));
  expect_f32(r.S, {3}, {5, 3, 2}, 1e-4);
  ASSERT_EQ(r.U.shape(), (Shape{12, 3}));
  ASSERT_EQ(r.V.shape(), (Shape{8, 3}));
  expect_f32(matmul(transpose(r.U), r.U), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1e-5);
  expect_f32(matmul(transpose(r.V), r.V), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1e-5);
  // The rank-3 reconstruction error is the optimum sqrt(1 + 0.25 + ...) (Eckart-Young).
  double optimum = 0;
  for (size_t k = 3; k < kSingular.size(); ++k) optimum += kSingular[k] * kSingular[k];
  optimum = std::sqrt(optimum);
  Tensor err = A - matmul(r.U * r.S, transpose(r.V));
  const double e = std::sqrt(sum(err * err).item<float>());
  EXPECT_NEAR(e, optimum, 1e-4 * optimum);
  // The full rank, through the oversampling's cap at min(m, n): every value.
  LowRankSvd full = svd_lowrank(A, 8, 1, Key(3));
  expect_f32(full.S, {8}, kSingular, 2e-4);
  expect_error<ShapeError>([&] { svd_lowrank(A, 9, 1, Key(1)); },
                           {"svd_lowrank", "rank 9", "f32[12,8]", "[1, 8]"});
  expect_error<ShapeError>(
      [&] {
        svd_lowrank(f32({1, 2}, {2}), 1, 1, Key(1));
      },
      {"svd_lowrank", "must be a matrix"});
}

TEST(ModelOps, PowerIterationFindsTheTopTriplet) {
  DeviceGuard on(runtime::make_device("reference"));
  Tensor A = known_matrix();
  SingularTriplet t = power_iteration(A, 40, Key(5));
  expect_f32(t.s, {}, {5}, 1e-5);
  // A v = s u and |u| = |v| = 1.
  expect_close(matmul(A, t.v), DType::F32, {12}, cast(t.u * t.s, DType::F64).to_vector<double>(),
               1e-4, 1e-4);
  expect_f32(sum(t.v * t.v), {}, {1}, 1e-5);
  expect_error<ShapeError>([&] { power_iteration(A, 0, Key(1)); }, {"iters must be >= 1"});
}

// Every built backend against the reference evaluator, all the ops in one graph. The
// factorizations join on the CPU only: their unrolled iterations make dozens of distinct
// small kernels, which PoCL compiles slowly (15 s cold for svd_lowrank at rank 1, 12 s for
// 3 power steps); on OpenCL their ops (matmul, reductions, take, concatenate) are covered
// by the forms here and by the device suites.
std::vector<Tensor> model_ops_forms(bool factorizations) {
  Tensor x = hidden_states();
  Tensor mask =
      from_data(std::vector<bool>{true, false, true, true, false, false, false, false}, {2, 4});
  Unpadded u = unpad_input(x, token_mask(), 5);
  std::vector<Tensor> forms = {safe_divide(x, x - 1), safe_log(x - 1),
                               masked_softmax(sum(x, -1), mask), u.hidden,
                               pad_input(u.hidden * 2, u.indices, 2, 4)};
  if (factorizations) {
    forms.push_back(svd_lowrank(known_matrix(), 2, 1, Key(2)).S);
    forms.push_back(power_iteration(known_matrix(), 10, Key(1)).s);
  }
  return forms;
}

class ModelOpsOn : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelOpsOn, MatchesTheReference) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  const bool factorizations = GetParam() == "cpu";
  expect_matches_reference(
      device, [&] { return model_ops_forms(factorizations); }, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Devices, ModelOpsOn, ::testing::Values("cpu", "opencl"));

}  // namespace
}  // namespace kiln::testing
