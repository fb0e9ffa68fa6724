// gemm: the OpenCL GEMM library kernel. A kernel with a contraction (Kernel::contraction,
// codegen/contraction.h) renders as a tiled matrix product with its epilogue fused:
//
//   one work-group per bm x bn output tile (and batch), a 1-D range of them;
//   for each k step of bk: the work-items stage an A tile (bm x bk) and a B tile (bk x bn)
//     in local memory, evaluating the factor expressions a(batch, m, k) and b(batch, k, n)
//     in place (so transposed views, broadcasts, casts from f16/bf16 and a convolution's
//     im2col are read where they lie), zero outside M, N and K; consecutive work-items take
//     consecutive elements along the factor's contiguous index (coalesced reads);
//   each work-item accumulates a tm x tn block in registers, its rows and columns strided
//     by the group's width so that local reads are conflict-free and stores coalesce; with
//     the asynchronous copies below, each warp of 32 takes a 4 x 8 block of work-items
//     (CUTLASS's SIMT warp tile), so that its reads of a k row touch 128 bytes of each tile;
//   the k steps are pipelined: the next step's elements load into registers during the
//     products and are stored in the other of two local buffers; on NVIDIA (compute
//     capability 8.0, as target.mma says) tiles of f32 buffers read as they are go from
//     global to local memory by asynchronous copies instead (inline PTX cp.async: 16 bytes
//     where the factor runs along the tile's rows, else 4), as many k steps ahead as local
//     memory holds (2 to 4); target.mma Emulated renders the same pipeline with plain copies;
//   the epilogue (the kernel's loop-free stage 1) runs on each register element with the
//     outer variables at (batch, m, n) and StageValue(0) = the accumulator.
//
// On NVIDIA with target.mma, f16 / bf16 factors (f32 accumulation) run on the tensor
// cores instead (kernels/opencl/gemm_mma.h).
//
// The tiles (GemmTile, codegen/kernel_ir.h) are parameters, checked by check_gemm_tile;
// default_gemm_tile picks one per device class and problem size, and the tuner
// (kernels/opencl/gemm_tuner.h) times gemm_candidates on a device.
// Tests: tests/codegen/opencl/gemm_test.cpp, tests/runtime/opencl/gemm_test.cpp.
#pragma once

#include <string>
#include <vector>

#include "codegen/contraction.h"
#include "codegen/kernel_ir.h"
#include "codegen/opencl/expr_renderer.h"
#include "codegen/opencl/render_kernel.h"
#include "codegen/opencl/target.h"

namespace kiln::kernels::opencl {

using codegen::Contraction;
using codegen::GemmTile;
using codegen::Kernel;
using codegen::opencl::OpenCLTarget;
using codegen::opencl::RenderedKernel;

// Why `tile` cannot run a contraction accumulating in `acc` on `target` (sizes that do
// not divide, too many work-items or too much local memory), or "" when it can.
std::string check_gemm_tile(const GemmTile& tile, DType acc, const OpenCLTarget& target);

// Whether `factor` reads memory contiguously along the innermost variable of `set` (the
// tile loads then walk that index across consecutive work-items).
bool contiguous_along(const codegen::ExprPtr& factor, const codegen::VarSet& set);

// Binds the variables of `set` (in `subst`, indexed by variable) to the row-major
// multi-index of `flat`.
void bind_var_set(std::vector<codegen::ExprPtr>& subst, const codegen::VarSet& set,
                  const codegen::ExprPtr& flat);

// Where a tile stage reads factor a (`is_a`) or b of GEMM kernel `k`: the substitution of the
// kernel's variables for batch `batch`, factor row `row` (m of a, n of b) and `kk` along k,
// both clamped into the product so that every address stays inside its buffer, and whether
// (row, kk) is inside the product (outside, the stage stores zero).
struct FactorAt {
  std::vector<codegen::ExprPtr> subst;
  codegen::ExprPtr valid;
};
FactorAt factor_at(const Kernel& k, bool is_a, const codegen::ExprPtr& batch,
                   const codegen::ExprPtr& row, const codegen::ExprPtr& kk);

// The epilogue of GEMM kernel `k` for its result at (batch, m, n), whose accumulator is the
// C expression `acc`: stage 1's stores with the outer variables bound there, for results
// inside the output only.
void render_gemm_stores(codegen::opencl::CodeWriter& w, codegen::opencl::ExprRenderer& r,
                        const Kernel& k, const codegen::ExprPtr& batch, const codegen::ExprPtr& m,
                        const codegen::ExprPtr& n, const std::string& acc);

// "bm x bn x bk / tm x tn".
std::string gemm_tile_str(const GemmTile& tile);

// A good tile without timing: by device class (GPU or CPU OpenCL) and problem size.
GemmTile default_gemm_tile(const Contraction& c, const OpenCLTarget& target);

// The tiles the tuner tries for `c` on `target`, every one valid, the default first.
std::vector<GemmTile> gemm_candidates(const Contraction& c, const OpenCLTarget& target);

// The class of problem sizes one tuned tile serves: each of M, N and K as small
// (<= 16), medium (<= 512) or large, and whether there is a batch. E.g. "mL.nL.kM.b1".
std::string gemm_shape_class(const Contraction& c);

// Whether `kernel` (with a contraction) renders on tensor cores on `target` (target.mma,
// f16 or bf16 factors, f32 accumulation, big enough): then render_gemm hands it to
// kernels/opencl/gemm_mma.h, whose tiles are fixed, and `tile` is unused.
bool uses_tensor_cores(const Kernel& kernel, const OpenCLTarget& target);

// Renders `kernel` (which must have a contraction) with `tile`; throws CompileError when
// check_gemm_tile rejects it, UnsupportedError for f64 on a device without cl_khr_fp64.
RenderedKernel render_gemm(const Kernel& kernel, const OpenCLTarget& target,
                           const std::string& name, const GemmTile& tile);

}  // namespace kiln::kernels::opencl
