// The OpenCL GEMM (kernels/opencl/gemm.h) on the test device against the reference
// evaluator: a shape sweep with odd tails, batches (broadcast too), transposed operands as
// views, every float dtype, fused epilogues, and several tile configurations, which must
// all give the same numbers. The sweep forces every GEMM-shaped kernel into the GEMM
// whatever its size (match_contraction's size threshold is tested in
// tests/codegen/contraction_test.cpp); the kernel-count test takes the automatic path.

#include "kernels/opencl/gemm.h"

#include <array>
#include <cmath>
#include <cstdlib>

#include "codegen/contraction.h"
#include "opencl_test_util.h"
#include "runtime/driver.h"

namespace kiln::testing {
namespace {

using codegen::GemmTile;
using runtime::opencl::OpenCLDevice;

struct GemmRun {
  std::vector<BufferPtr> got, want;
  int gemms = 0;  // kernels rendered as a GEMM
};

// Runs `outputs` on a fresh device like `base` with `tile` (not chosen: the default), with
// every GEMM-shaped kernel forced into the GEMM; and on the reference evaluator.
GemmRun run_gemm(OpenCLDevice& base, const std::vector<Tensor>& outputs, GemmTile tile) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  GemmRun run;
  run.want = runtime::evaluate(ex.graph, ex.inputs);
  codegen::opencl::OpenCLTarget target = base.target();
  target.gemm_tile = tile;
  OpenCLDevice device(base.info(), target);
  codegen::Program p = runtime::compile_graph(ex.graph, device);
  for (codegen::Kernel& k : p.kernels)
    if ((k.contraction = codegen::find_contraction(k))) ++run.gemms;
  run.got = runtime::run_program(device, p, ex.inputs);
  return run;
}

::testing::AssertionResult close(const GemmRun& run, int64_t terms) {
  for (size_t i = 0; i < run.want.size(); ++i) {
    auto r = buffers_close(*run.got[i], *run.want[i],
                           accumulated_tolerance(run.want[i]->dtype(), terms));
    if (!r) return r << " (result " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

const std::vector<int64_t> kSizes = {1, 2, 3, 7, 16, 17, 63, 64, 65};

// Every size as M and as N, with the other sizes cycling through N, M and K; a K sweep;
// one bigger product. `long_sums` counts those with K >= 16, which always stay a sum (short
// ones may be unrolled into elementwise work by the lowering).
std::vector<Tensor> sweep(DType dtype, int64_t* max_k, int* long_sums) {
  std::vector<Tensor> out;
  uint64_t seed = 1;
  auto add = [&](int64_t M, int64_t N, int64_t K) {
    out.push_back(matmul(test_data({M, K}, dtype, seed), test_data({K, N}, dtype, seed + 1)));
    seed += 2;
    *max_k = std::max(*max_k, K);
    *long_sums += K >= 16;
  };
  const size_t n = kSizes.size();
  for (size_t i = 0; i < n; ++i) {
    add(kSizes[i], kSizes[(i * 4 + 3) % n], kSizes[(i * 2 + 5) % n]);
    add(kSizes[(i * 5 + 2) % n], kSizes[i], kSizes[(i * 7 + 1) % n]);
  }
  for (int64_t K : {1, 17, 65, 255}) add(17, 65, K);
  add(255, 129, 255);
  return out;
}

// Small register blocks read as vectors: PoCL compiles them fast, and they take every
// edge path.
const GemmTile kTestTile = {16, 32, 8, 4, 4};

TEST(OpenCLGemm, ShapeSweepF32) {
  KILN_REQUIRE_OPENCL(device);
  int64_t max_k = 0;
  int long_sums = 0;
  std::vector<Tensor> outs = sweep(DType::F32, &max_k, &long_sums);
  GemmRun run = run_gemm(*device, outs, kTestTile);
  EXPECT_GE(run.gemms, long_sums);
  EXPECT_TRUE(close(run, max_k));
}

TEST(OpenCLGemm, EveryTileGivesTheSameNumbers) {
  // Each output element sums k in order with fma whatever the tiles: results are equal to
  // the bit across tile configurations, and match the reference.
  KILN_REQUIRE_OPENCL(device);
  std::vector<Tensor> outs;
  uint64_t seed = 100;
  for (auto [M, N, K] :
       std::vector<std::array<int64_t, 3>>{{1, 65, 33}, {17, 3, 64}, {65, 63, 17}, {130, 70, 40}}) {
    outs.push_back(
        matmul(test_data({M, K}, DType::F32, seed), test_data({K, N}, DType::F32, seed + 1)));
    seed += 2;
  }
  std::vector<GemmTile> tiles = {{16, 16, 16, 2, 2}, {32, 64, 16, 4, 4}, {64, 16, 8, 4, 2}};
  GemmRun first = run_gemm(*device, outs, tiles[0]);
  ASSERT_TRUE(close(first, 64));
  for (size_t t = 1; t < tiles.size(); ++t) {
    GemmRun run = run_gemm(*device, outs, tiles[t]);
    for (size_t i = 0; i < outs.size(); ++i)
      EXPECT_EQ(std::memcmp(run.got[i]->data(), first.got[i]->data(), run.got[i]->nbytes()), 0)
          << "tile " << kernels::opencl::gemm_tile_str(tiles[t]) << ", result " << i;
  }
}

TEST(OpenCLGemm, BatchedAndBroadcastBatches) {
  KILN_REQUIRE_OPENCL(device);
  const DType f = DType::F32;
  std::vector<Tensor> outs = {
      matmul(test_data({4, 17, 33}, f, 1), test_data({4, 33, 9}, f, 2)),
      // Broadcast batch dimensions on both sides.
      matmul(test_data({3, 1, 17, 20}, f, 3), test_data({1, 5, 20, 19}, f, 4)),
      // A weight shared by the batch.
      matmul(test_data({4, 16, 64}, f, 5), test_data({64, 8}, f, 6)),
      // Matrix-vector and vector-matrix.
      matmul(test_data({65, 70}, f, 7), test_data({70}, f, 8)),
      matmul(test_data({70}, f, 9), test_data({70, 33}, f, 10)),
  };
  GemmRun run = run_gemm(*device, outs, kTestTile);
  EXPECT_GE(run.gemms, 3);
  EXPECT_TRUE(close(run, 70));
}

TEST(OpenCLGemm, TransposedOperandsReadInPlace) {
  KILN_REQUIRE_OPENCL(device);
  const DType f = DType::F32;
  Tensor a = test_data({37, 65}, f, 1), b = test_data({65, 20}, f, 2);
  Tensor at = test_data({65, 37}, f, 3), bt = test_data({20, 65}, f, 4);
  Tensor ab = test_data({2, 65, 37}, f, 5), bb = test_data({2, 20, 65}, f, 6);
  std::vector<Tensor> outs = {
      matmul(a, b),
      matmul(transpose(at), b),
      matmul(a, transpose(bt)),
      matmul(transpose(at), transpose(bt)),
      matmul(permute(ab, {0, 2, 1}), permute(bb, {0, 2, 1})),
  };
  GemmRun run = run_gemm(*device, outs, kTestTile);
  EXPECT_EQ(run.gemms, static_cast<int>(outs.size()));
  EXPECT_TRUE(close(run, 65));
}

// On NVIDIA (target.mma Ptx) the f32 GEMM copies its tiles with cp.async; with the mma
// emulated, the same pipeline runs with plain copies on any device. A shape sweep (tails,
// 4- and 16-byte copies), transposed and batched factors, in 2, 3 and 4 stages (as many k
// steps as local memory holds): every result equal to the register pipeline's to the bit.
TEST(OpenCLGemm, AsynchronousCopyPipeline) {
  KILN_REQUIRE_OPENCL(device);
  const DType f = DType::F32;
  int64_t max_k = 0;
  int long_sums = 0;
  std::vector<Tensor> outs = sweep(f, &max_k, &long_sums);
  outs.push_back(matmul(transpose(test_data({65, 36}, f, 90)), test_data({65, 20}, f, 91)));
  outs.push_back(matmul(test_data({2, 20, 48}, f, 92), transpose(test_data({64, 48}, f, 93))));
  // Sizes that divide the tiles: copies without guards.
  outs.push_back(matmul(test_data({32, 40}, f, 94), test_data({40, 64}, f, 95)));
  outs.push_back(matmul(transpose(test_data({40, 32}, f, 96)), test_data({40, 64}, f, 97)));
  GemmRun plain = run_gemm(*device, outs, kTestTile);
  ASSERT_TRUE(close(plain, max_k));
  codegen::opencl::OpenCLTarget target = device->target();
  target.mma = codegen::opencl::MmaMode::Emulated;
  // One k step of kTestTile's tiles, rows padded by a vector: 8 x (16 + 4) + 8 x (32 + 4).
  const int64_t stage_bytes = (8 * 20 + 8 * 36) * 4;
  for (int stages : {2, 3, 4}) {
    target.local_mem_bytes = stages * stage_bytes;
    OpenCLDevice async(device->info(), target);
    GemmRun run = run_gemm(async, outs, kTestTile);
    EXPECT_EQ(run.gemms, plain.gemms);
    for (size_t i = 0; i < outs.size(); ++i)
      EXPECT_EQ(std::memcmp(run.got[i]->data(), plain.got[i]->data(), run.got[i]->nbytes()), 0)
          << stages << " stages, result " << i;
  }
}

TEST(OpenCLGemm, HalfAndDoublePrecision) {
  KILN_REQUIRE_OPENCL(device);
  std::vector<Tensor> outs;
  // f16 and bf16 inputs accumulate in f32.
  for (DType t : {DType::F16, DType::BF16}) {
    outs.push_back(matmul(test_data({33, 40}, t, 1), test_data({40, 65}, t, 2)));
    outs.push_back(matmul(transpose(test_data({40, 17}, t, 3)), test_data({40, 64}, t, 4)));
  }
  if (device->target().fp64)
    outs.push_back(matmul(test_data({33, 70}, DType::F64, 5), test_data({70, 65}, DType::F64, 6)));
  GemmRun run = run_gemm(*device, outs, kTestTile);
  EXPECT_EQ(run.gemms, static_cast<int>(outs.size()));
  EXPECT_TRUE(close(run, 70));
}

TEST(OpenCLGemm, TensorCoreKernelThroughAnEmulatedMma) {
  // The tensor-core kernel with its mma.sync replaced by a portable emulation of the
  // instruction's fragment layouts: checks the tiles, fragments and epilogue on any device
  // (the PTX itself runs only on NVIDIA: docs/gpu.md says how to test it there).
  KILN_REQUIRE_OPENCL(device);
  // About four minutes on PoCL (a barrier per emulated mma): run on request only.
  if (!std::getenv("KILN_TEST_EMULATED_MMA"))
    GTEST_SKIP() << "KILN_TEST_EMULATED_MMA=1 runs the emulated tensor-core kernel";
  if (device->target().max_work_group_size < 128) GTEST_SKIP() << "needs 128 work-items";
  // Tails on every side (two row tiles), a transposed and batched bf16 product, and an
  // epilogue.
  std::vector<Tensor> outs = {
      matmul(test_data({130, 40}, DType::F16, 1), test_data({40, 70}, DType::F16, 2)),
      matmul(test_data({2, 20, 48}, DType::BF16, 5),
             transpose(test_data({65, 48}, DType::BF16, 6))),
      gelu(matmul(test_data({64, 32}, DType::F16, 7), test_data({32, 64}, DType::F16, 8)) +
           test_data({64}, DType::F16, 9)),
  };
  codegen::opencl::OpenCLTarget target = device->target();
  target.mma = codegen::opencl::MmaMode::Emulated;
  runtime::opencl::OpenCLDevice emulated(device->info(), target);
  GemmRun run = run_gemm(emulated, outs, {});
  EXPECT_EQ(run.gemms, static_cast<int>(outs.size()));
  EXPECT_TRUE(close(run, 48));
}

// f32 products as TF32 on the tensor cores (OpenCLTarget::tf32, KILN_OPENCL_TF32=1): on an
// NVIDIA device through the PTX, elsewhere through the emulated mma (KILN_TEST_EMULATED_MMA=1,
// as above). Each product's factors are rounded to 11 significant bits, so a result may be
// off by k * max|a| * max|b| * 2^-10; and some must be off by more than f32 rounding, or the
// product did not run as TF32.
TEST(OpenCLGemm, Tf32ProductsOnTheTensorCores) {
  KILN_REQUIRE_OPENCL(device);
  codegen::opencl::OpenCLTarget target = device->target();
  if (target.mma != codegen::opencl::MmaMode::Ptx) {
    if (!std::getenv("KILN_TEST_EMULATED_MMA"))
      GTEST_SKIP() << "no tensor cores; KILN_TEST_EMULATED_MMA=1 runs the emulated mma";
    if (target.max_work_group_size < 128) GTEST_SKIP() << "needs 128 work-items";
    target.mma = codegen::opencl::MmaMode::Emulated;
  }
  target.tf32 = true;
  const DType f = DType::F32;
  // Tails on every side, a transposed and batched product, an epilogue; factors in [-2, 2].
  std::vector<Tensor> outs = {
      matmul(test_data({130, 40}, f, 1), test_data({40, 70}, f, 2)),
      matmul(test_data({2, 40, 48}, f, 5), transpose(test_data({65, 48}, f, 6))),
      gelu(matmul(test_data({64, 32}, f, 7), test_data({32, 64}, f, 8)) + test_data({64}, f, 9)),
  };
  const int64_t ks[] = {40, 48, 32};
  runtime::opencl::OpenCLDevice tf32(device->info(), target);
  GemmRun run = run_gemm(tf32, outs, {});
  EXPECT_EQ(run.gemms, static_cast<int>(outs.size()));
  double largest = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    const float* got = run.got[i]->as<float>();
    const float* want = run.want[i]->as<float>();
    const double bound = 1.2 * static_cast<double>(ks[i]) * 4 * std::ldexp(1.0, -10);
    for (int64_t e = 0; e < run.want[i]->type().numel(); ++e) {
      const double err = std::abs(static_cast<double>(got[e]) - want[e]);
      ASSERT_LE(err, bound) << "result " << i << " element " << e;
      largest = std::max(largest, err);
    }
  }
  EXPECT_GT(largest, 1e-4) << "the products agree with f32 to f32 rounding: TF32 did not run";
}

TEST(OpenCLGemm, FusedEpilogues) {
  KILN_REQUIRE_OPENCL(device);
  const DType f = DType::F32;
  // Distinct products: a shared one would be computed once, its uses in other kernels.
  auto a = [&](uint64_t s) { return test_data({65, 48}, f, s); };
  Tensor b = test_data({48, 33}, f, 2);
  Tensor bias = test_data({33}, f, 3), res = test_data({65, 33}, f, 4);
  std::vector<Tensor> outs = {
      gelu(matmul(a(10), b) + bias),
      matmul(a(11), b) + res,
      cast(relu(matmul(a(12), b)) * 0.5, DType::F16),
      tanh(matmul(test_data({3, 17, 48}, f, 5), b) + bias),
  };
  GemmRun run = run_gemm(*device, outs, kTestTile);
  EXPECT_EQ(run.gemms, static_cast<int>(outs.size()));
  EXPECT_TRUE(close(run, 48));
}

TEST(OpenCLGemm, MatmulWithEpilogueIsOneGemmKernel) {
  // The automatic path: a product big enough for the GEMM, bias and gelu fused into it.
  KILN_REQUIRE_OPENCL(device);
  Tensor a = test_data({128, 96}, DType::F32, 1), b = test_data({96, 80}, DType::F32, 2);
  Tensor y = gelu(matmul(a, b) + test_data({80}, DType::F32, 3));
  std::vector<ir::NodePtr> roots{y.node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  codegen::Program p = runtime::compile_graph(ex.graph, *device);
  ASSERT_EQ(p.kernels.size(), 1u);
  ASSERT_TRUE(p.kernels[0].contraction);
  EXPECT_EQ(codegen::opencl::render_kernel(p.kernels[0], device->target(), "k").shape,
            codegen::GroupShape::Gemm);
  EXPECT_TRUE(matches_reference(*device, {y}, accumulated_tolerance(DType::F32, 96)));
}

TEST(OpenCLGemm, ATileTheDeviceCannotRunIsAnError) {
  KILN_REQUIRE_OPENCL(device);
  Tensor y = matmul(test_data({64, 64}, DType::F32, 1), test_data({64, 64}, DType::F32, 2));
  try {
    run_gemm(*device, {y}, {64, 64, 16, 3, 4});
    FAIL() << "expected a CompileError";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("bm 64 is not a multiple of tm 3"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace kiln::testing
