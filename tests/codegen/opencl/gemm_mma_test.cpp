// The tensor-core GEMM renderer (kernels/opencl/gemm_mma.h) without a device: which
// kernels take it, how each factor's tile is staged, and the PTX it writes. Its numbers
// are checked on an NVIDIA GPU by tests/runtime/gemm_test.cpp (f16 and bf16 products).
#include "kernels/opencl/gemm_mma.h"

#include <gtest/gtest.h>

#include "codegen/opencl/render_kernel.h"
#include "codegen/program.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "kernels/opencl/gemm.h"

namespace kiln::kernels::opencl {
namespace {

using codegen::opencl::OpenCLTarget;

struct Compiled {
  ir::Graph g;
  codegen::Program p;
  explicit Compiled(const std::string& text)
      : g(ir::parse_graph(text)), p(codegen::build_program(g)) {}
  const codegen::Kernel& kernel() const { return p.kernels.at(0); }
};

OpenCLTarget nvidia(bool tensor_cores = true) {
  OpenCLTarget t;
  t.is_gpu = true;
  t.nvidia = true;
  t.mma = tensor_cores ? codegen::opencl::MmaMode::Ptx : codegen::opencl::MmaMode::Off;
  t.max_work_group_size = 1024;
  t.local_mem_bytes = 48 * 1024;
  t.compute_units = 132;
  return t;
}

// a [m, k] @ b [k, n] in `dt`; `bt`: b is read as the transpose of a stored [n, k].
std::string product(const std::string& dt, int64_t m, int64_t n, int64_t k, bool bt = false) {
  auto t = [&](int64_t a, int64_t b) {
    return dt + "[" + std::to_string(a) + "," + std::to_string(b) + "]";
  };
  std::string b = bt ? "  %0 = permute %b {perm = [1, 0]} : " + t(k, n) + "\n" : "";
  return "func @f(%a: " + t(m, k) + ", %b: " + (bt ? t(n, k) : t(k, n)) + ") -> (" + t(m, n) +
         ") {\n" + b + "  %1 = matmul %a, " + (bt ? "%0" : "%b") + " : " + t(m, n) +
         "\n  return %1\n}";
}

TEST(GemmMma, HalfProductsOnTensorCoresOnly) {
  Compiled h(product("f16", 256, 256, 256)), bf(product("bf16", 256, 256, 256)),
      f(product("f32", 256, 256, 256));
  EXPECT_EQ(mma_operand_dtype(h.kernel()), DType::F16);
  EXPECT_EQ(mma_operand_dtype(bf.kernel()), DType::BF16);
  EXPECT_EQ(mma_operand_dtype(f.kernel()), DType::F32);
  EXPECT_TRUE(uses_tensor_cores(h.kernel(), nvidia()));
  EXPECT_TRUE(uses_tensor_cores(bf.kernel(), nvidia()));
  EXPECT_FALSE(uses_tensor_cores(f.kernel(), nvidia()));
  EXPECT_FALSE(uses_tensor_cores(h.kernel(), nvidia(false)));  // not NVIDIA, or before sm_80
  Compiled small(product("f16", 16, 256, 256));
  EXPECT_FALSE(uses_tensor_cores(small.kernel(), nvidia()));
  EXPECT_THROW(render_gemm_mma(f.kernel(), nvidia(), "k"), CompileError);
}

// f32 products take the tensor cores as TF32 only where the target allows it: m16n8k8, one
// value a register, rounded by kiln_mma_tf32, a k step of 16.
TEST(GemmMma, Tf32OnlyWhenAllowed) {
  Compiled f(product("f32", 256, 256, 256)), d(product("f64", 256, 256, 256));
  OpenCLTarget tf32 = nvidia();
  tf32.tf32 = true;
  EXPECT_FALSE(uses_tensor_cores(f.kernel(), nvidia()));
  EXPECT_TRUE(uses_tensor_cores(f.kernel(), tf32));
  EXPECT_FALSE(uses_tensor_cores(d.kernel(), tf32));
  OpenCLTarget no_mma = nvidia(false);
  no_mma.tf32 = true;
  EXPECT_FALSE(uses_tensor_cores(f.kernel(), no_mma));
  auto r = codegen::opencl::render_kernel(f.kernel(), tf32, "k");
  EXPECT_NE(r.body.find("gemm mma tf32 128x128x16"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"), std::string::npos);
  // a contiguous along k: 4 floats a load; b along n: 4 rows a load.
  EXPECT_NE(r.body.find("uint4 ra[4];"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("uint4 rb[4];"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("= kiln_mma_tf32_4("), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("= kiln_mma_tf32(as_float("), std::string::npos) << r.body;
  // Rows of 70 floats are not in 16-byte runs: each value staged alone.
  Compiled odd(product("f32", 256, 70, 256));
  EXPECT_NE(codegen::opencl::render_kernel(odd.kernel(), tf32, "k").body.find("uint rb["),
            std::string::npos);
  // Half products keep m16n8k16 with TF32 allowed.
  Compiled h(product("f16", 256, 256, 256));
  EXPECT_NE(codegen::opencl::render_kernel(h.kernel(), tf32, "k").body.find("m16n8k16"),
            std::string::npos);
}

TEST(GemmMma, SourceStagesContiguousFactorsWithVectorLoads) {
  // a is contiguous along k: 16-byte loads of 8 k; b along n: 8 rows of n per load,
  // interleaved into k pairs.
  Compiled h(product("f16", 256, 256, 256));
  auto r = codegen::opencl::render_kernel(h.kernel(), nvidia(), "k");
  EXPECT_NE(r.body.find("gemm mma f16"), std::string::npos);
  EXPECT_NE(r.body.find("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"), std::string::npos);
  EXPECT_NE(r.body.find("uint4 ra[4];"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("uint4 rb[2][2];"), std::string::npos) << r.body;
  ASSERT_EQ(r.launches.size(), 1u);
  EXPECT_EQ(r.launches[0].local, 128);
  EXPECT_EQ(r.launches[0].global, 4 * 128);  // 2 x 2 tiles of 128 x 128
  // A transposed weight (b read as [n, k] stored) is contiguous along k too.
  Compiled t(product("bf16", 256, 256, 256, true));
  auto rt = codegen::opencl::render_kernel(t.kernel(), nvidia(), "k");
  EXPECT_NE(rt.body.find("f32.bf16.bf16.f32"), std::string::npos);
  EXPECT_NE(rt.body.find("uint4 rb[4];"), std::string::npos) << rt.body;
  // Sizes that are not multiples of 8 fall back to one value at a time, packed in pairs.
  Compiled odd(product("f16", 100, 90, 70));
  auto ro = codegen::opencl::render_kernel(odd.kernel(), nvidia(), "k");
  EXPECT_NE(ro.body.find("kiln_mma_pack_f16"), std::string::npos);
  EXPECT_NE(ro.body.find("uint ra[16];"), std::string::npos) << ro.body;
}

}  // namespace
}  // namespace kiln::kernels::opencl
