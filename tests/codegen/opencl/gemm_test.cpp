// The OpenCL GEMM renderer (kernels/opencl/gemm.h) without a device: which kernels take
// it, the tiles and launch geometry it picks per device class, the checks on tiles, and
// the source it writes. Running it is tests/runtime/opencl/gemm_test.cpp.
#include "kernels/opencl/gemm.h"

#include <gtest/gtest.h>

#include "codegen/program.h"
#include "ir/error.h"
#include "ir/parser.h"

namespace kiln::kernels::opencl {
namespace {

struct Compiled {
  ir::Graph g;
  codegen::Program p;
  explicit Compiled(const std::string& text)
      : g(ir::parse_graph(text)), p(codegen::build_program(g)) {}
};

std::string product(int64_t m, int64_t n, int64_t k, const std::string& dt = "f32") {
  auto t = [&](int64_t a, int64_t b) {
    return dt + "[" + std::to_string(a) + "," + std::to_string(b) + "]";
  };
  return "func @f(%a: " + t(m, k) + ", %b: " + t(k, n) + ", %c: " + dt + "[" + std::to_string(n) +
         "]) -> (" + t(m, n) + ") {\n  %0 = matmul %a, %b : " + t(m, n) +
         "\n  %1 = reshape %c : " + dt + "[1," + std::to_string(n) +
         "]\n  %2 = broadcast %1 : " + t(m, n) + "\n  %3 = add %0, %2 : " + t(m, n) +
         "\n  %4 = tanh %3 : " + t(m, n) + "\n  return %4\n}";
}

OpenCLTarget gpu() {
  OpenCLTarget t;
  t.is_gpu = true;
  t.max_work_group_size = 1024;
  t.local_mem_bytes = 48 * 1024;
  t.compute_units = 132;
  t.fp64 = true;
  return t;
}

OpenCLTarget cpu() {
  OpenCLTarget t;
  t.max_work_group_size = 4096;
  t.local_mem_bytes = 256 * 1024;
  t.compute_units = 2;
  return t;
}

TEST(OpenCLGemmRender, ABigProductTakesTheGpuTilesAndFusesItsEpilogue) {
  Compiled c(product(4096, 4096, 4096));
  ASSERT_EQ(c.p.kernels.size(), 1u);
  const codegen::Kernel& k = c.p.kernels[0];
  ASSERT_TRUE(k.contraction);
  const GemmTile tile = default_gemm_tile(*k.contraction, gpu());
  EXPECT_EQ(tile, (GemmTile{128, 128, 16, 8, 8}));
  RenderedKernel r = codegen::opencl::render_kernel(k, gpu(), "kg");
  EXPECT_EQ(r.shape, codegen::GroupShape::Gemm);
  ASSERT_EQ(r.launches.size(), 1u);
  EXPECT_EQ(r.launches[0].local, 256);
  EXPECT_EQ(r.launches[0].global, 32 * 32 * 256);
  EXPECT_NE(r.source.find("reqd_work_group_size(256, 1, 1)"), std::string::npos);
  // Two k steps of the A tile (double-buffered), rows padded to 132.
  EXPECT_NE(r.source.find("__local float As[" + std::to_string(2 * 16 * 132) + "]"),
            std::string::npos);
  EXPECT_NE(r.source.find("fma("), std::string::npos);
  EXPECT_NE(r.source.find("tanh"), std::string::npos) << r.source;  // the epilogue, fused
  EXPECT_NE(r.body.find("gemm 128x128x16/8x8"), std::string::npos);
}

TEST(OpenCLGemmRender, TilesFollowTheDeviceClassAndTheProblem) {
  Compiled big(product(2048, 2048, 512)), skinny(product(8, 4096, 1024)),
      mid(product(512, 512, 512));
  const auto& cb = *big.p.kernels[0].contraction;
  EXPECT_EQ(default_gemm_tile(cb, cpu()), (GemmTile{64, 64, 16, 8, 8}));
  // Too few 128 x 128 tiles for two per compute unit (of 132): smaller ones.
  const GemmTile m = default_gemm_tile(*mid.p.kernels[0].contraction, gpu());
  EXPECT_GE((512 / m.bm) * (512 / m.bn), 2 * 132) << gemm_tile_str(m);
  // 192 columns: 128-wide tiles would compute 256 of them, 64-wide ones compute 192.
  Compiled narrow(product(65536, 192, 768));
  EXPECT_EQ(default_gemm_tile(*narrow.p.kernels[0].contraction, gpu()),
            (GemmTile{128, 64, 16, 8, 8}));
  // Eight rows: a tile no taller than 16.
  EXPECT_LE(default_gemm_tile(*skinny.p.kernels[0].contraction, gpu()).bm, 16);
  EXPECT_EQ(gemm_shape_class(cb), "mL.nL.kM.b0");
  EXPECT_EQ(gemm_shape_class(*skinny.p.kernels[0].contraction), "mS.nL.kL.b0");
  for (const GemmTile& t : gemm_candidates(cb, gpu()))
    EXPECT_EQ(check_gemm_tile(t, DType::F32, gpu()), "") << gemm_tile_str(t);
  EXPECT_EQ(gemm_candidates(cb, gpu()).front(), default_gemm_tile(cb, gpu()));
}

TEST(OpenCLGemmRender, TileChecksNameTheProblem) {
  OpenCLTarget small = gpu();
  small.max_work_group_size = 128;
  small.local_mem_bytes = 8 * 1024;
  EXPECT_EQ(check_gemm_tile({128, 128, 16, 8, 8}, DType::F32, small),
            "256 work-items per group, more than the device's 128");
  EXPECT_EQ(check_gemm_tile({64, 64, 32, 8, 8}, DType::F64, small),
            "67584 bytes of local memory, more than the device's 8192");
  EXPECT_EQ(check_gemm_tile({64, 48, 16, 8, 8}, DType::F32, gpu()),
            "the tiles' 1024 and 768 elements are not multiples of the 48 work-items");
  EXPECT_EQ(check_gemm_tile({64, 64, 16, 8, 6}, DType::F32, gpu()),
            "bn 64 is not a multiple of tn 6");
  EXPECT_EQ(check_gemm_tile({0, 64, 16, 8, 8}, DType::F32, gpu()),
            "every tile size must be positive");
  Compiled c(product(256, 256, 256));
  try {
    render_gemm(c.p.kernels[0], small, "k", {128, 128, 16, 8, 8});
    FAIL() << "expected a CompileError";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("more than the device's 128"), std::string::npos);
  }
}

TEST(OpenCLGemmRender, ForcedTilesAndTheLoopNestFallback) {
  Compiled c(product(300, 200, 100));
  const codegen::Kernel& k = c.p.kernels[0];
  OpenCLTarget t = gpu();
  t.gemm_tile = {32, 64, 8, 4, 4};
  RenderedKernel r = codegen::opencl::render_kernel(k, t, "k");
  EXPECT_NE(r.body.find("gemm 32x64x8/4x4"), std::string::npos);
  EXPECT_EQ(r.launches[0].local, 8 * 16);
  EXPECT_EQ(r.launches[0].global, 10 * 4 * 128);  // ceil(300/32) x ceil(200/64) groups
  t.gemm = false;
  EXPECT_NE(codegen::opencl::render_kernel(k, t, "k").shape, codegen::GroupShape::Gemm);
}

TEST(OpenCLGemmRender, DoubleNeedsTheExtension) {
  Compiled c(product(128, 128, 128, "f64"));
  OpenCLTarget t = gpu();
  t.fp64 = false;
  t.device_name = "dev";
  try {
    codegen::opencl::render_kernel(c.p.kernels[0], t, "k");
    FAIL() << "expected an UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("lacks the extension cl_khr_fp64"), std::string::npos);
  }
}

TEST(OpenCLGemmRender, HalfProductsUseTensorCoresThroughInlinePtxOnNvidia) {
  OpenCLTarget t = gpu();
  t.nvidia = true;
  t.mma = codegen::opencl::MmaMode::Ptx;
  Compiled f16(product(256, 256, 256, "f16")), bf16(product(256, 256, 256, "bf16")),
      f32(product(256, 256, 256));
  RenderedKernel r = codegen::opencl::render_kernel(f16.p.kernels[0], t, "kh");
  EXPECT_NE(r.source.find("asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                          "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\""),
            std::string::npos)
      << r.source;
  EXPECT_EQ(r.launches[0].local, 128);
  EXPECT_EQ(r.launches[0].global, 2 * 2 * 128);
  EXPECT_NE(r.body.find("gemm mma f16 128x128x32"), std::string::npos);
  EXPECT_TRUE(uses_tensor_cores(f16.p.kernels[0], t));
  EXPECT_FALSE(uses_tensor_cores(f32.p.kernels[0], t));
  EXPECT_NE(codegen::opencl::render_kernel(bf16.p.kernels[0], t, "kb")
                .source.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"),
            std::string::npos);
  // f32 products, and every product without mma, take the portable kernel.
  EXPECT_EQ(codegen::opencl::render_kernel(f32.p.kernels[0], t, "kf").source.find("mma.sync"),
            std::string::npos);
  t.mma = codegen::opencl::MmaMode::Off;
  EXPECT_EQ(codegen::opencl::render_kernel(f16.p.kernels[0], t, "kh").source.find("mma"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::kernels::opencl
