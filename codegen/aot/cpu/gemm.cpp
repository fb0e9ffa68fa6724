// emit_gemm: a kernel's GEMM in an ahead-of-time object (see gemm.h).
#include "codegen/aot/cpu/gemm.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Module.h>

#include "codegen/aot/runtime/kiln_aot_runtime.h"
#include "codegen/contraction.h"
#include "codegen/gemm_kernels.h"
#include "codegen/llvm/emit_gemm.h"
#include "codegen/llvm/emit_kernel.h"

namespace kiln::codegen::aot {

namespace {

// B's affine read at the end of `sizes`, where sizes[KILN_GEMM_AFFINE_B] points
// (kiln_aot_gemm.c lays it out).
void append_affine_b(const GemmKernels& g, int num_vars, std::vector<uint64_t>& sizes) {
  const AffineB& b = *g.b_affine;
  sizes[KILN_GEMM_AFFINE_B] = sizes.size();
  auto add = [&](int64_t v) { sizes.push_back(static_cast<uint64_t>(v)); };
  add(num_vars);
  add(b.buffer);
  add(b.offset);
  add(static_cast<int64_t>(b.guards.size()));
  for (int64_t c : b.coef) add(c);
  for (const AffineB::Guard& guard : b.guards) {
    add(guard.lo);
    add(guard.hi);
    for (int64_t c : guard.coef) add(c);
  }
  for (const VarSet* set : {&g.contraction.batch, &g.contraction.n, &g.contraction.k}) {
    add(static_cast<int64_t>(set->vars.size()));
    for (size_t i = 0; i < set->vars.size(); ++i) {
      add(set->vars[i]);
      add(set->extents[i]);
    }
  }
}

}  // namespace

std::optional<AotGemm> emit_gemm(const Kernel& kernel, const std::string& name,
                                 llvm::Module& module, const llvm_backend::TargetInfo& target) {
  if (!kernel.contraction) return std::nullopt;
  const Contraction& c = *kernel.contraction;
  LowerOptions options;
  options.vector_lanes = target.lanes;
  std::optional<GemmKernels> g =
      make_gemm_kernels(kernel, c, cpu_gemm_tile(c.acc, target.lanes), options);
  if (!g) return std::nullopt;
  const int64_t m = g->contraction.m.size(), n = g->contraction.n.size(),
                k = g->contraction.k.size();
  if (m * n * k == 0 || g->tile.mr * g->tile.nr > KILN_AOT_GEMM_MAX_TILE ||
      kernel.buffers.size() > KILN_AOT_GEMM_MAX_ARGS ||
      kernel.scalars.size() > KILN_AOT_GEMM_MAX_ARGS || kernel.num_vars > KILN_AOT_GEMM_MAX_ARGS ||
      (g->b_affine && g->b_affine->guards.size() > KILN_AOT_GEMM_MAX_ARGS))
    return std::nullopt;

  llvm::LLVMContext& ctx = module.getContext();
  std::vector<llvm::Constant*> fns;
  const std::pair<const Kernel*, const char*> parts[] = {{&g->pack_a, "_pack_a"},
                                                         {&g->pack_a_tail, "_pack_a_tail"},
                                                         {&g->pack_b, "_pack_b"},
                                                         {&g->pack_b_tail, "_pack_b_tail"},
                                                         {&g->epilogue, "_epilogue"}};
  for (const auto& [part, suffix] : parts) {
    llvm::Function* f = llvm_backend::emit_kernel(*part, name + suffix, module, target);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    fns.push_back(f);
  }
  const DType acc = g->contraction.acc;
  const int lanes = target.lanes / (acc == DType::F64 ? 2 : 1);
  for (const auto& [rows, suffix] :
       {std::pair{g->tile.mr, "_micro"}, std::pair{g->mr_tail, "_micro_tail"}}) {
    llvm::Function* f = llvm_backend::emit_micro_kernel(module, name + suffix, acc, rows,
                                                        g->tile.nr, lanes, g->tile.kc, false);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    fns.push_back(f);
  }
  auto* i8p = llvm::Type::getInt8PtrTy(ctx);
  for (llvm::Constant*& f : fns) f = llvm::ConstantExpr::getBitCast(f, i8p);
  auto* fn_array = llvm::ConstantArray::get(llvm::ArrayType::get(i8p, fns.size()), fns);
  auto* kernels =
      new llvm::GlobalVariable(module, fn_array->getType(), true, llvm::GlobalValue::PrivateLinkage,
                               fn_array, name + "_gemm_kernels");

  std::vector<uint64_t> sizes(KILN_GEMM_SIZES);
  auto set = [&](int field, int64_t v) {
    sizes[static_cast<size_t>(field)] = static_cast<uint64_t>(v);
  };
  set(KILN_GEMM_BATCH, g->contraction.batch.size());
  set(KILN_GEMM_M, m);
  set(KILN_GEMM_N, n);
  set(KILN_GEMM_K, k);
  set(KILN_GEMM_MR, g->tile.mr);
  set(KILN_GEMM_NR, g->tile.nr);
  set(KILN_GEMM_KC, g->tile.kc);
  set(KILN_GEMM_MR_TAIL, g->mr_tail);
  set(KILN_GEMM_ESIZE, acc == DType::F64 ? 8 : 4);
  set(KILN_GEMM_BUFFERS, static_cast<int64_t>(kernel.buffers.size()));
  set(KILN_GEMM_SCALARS, static_cast<int64_t>(kernel.scalars.size()));
  set(KILN_GEMM_A_ITEMS, llvm_backend::work_items(g->pack_a, target.lanes));
  set(KILN_GEMM_A_TAIL_ITEMS, llvm_backend::work_items(g->pack_a_tail, target.lanes));
  set(KILN_GEMM_B_ITEMS, llvm_backend::work_items(g->pack_b, target.lanes) / g->tile.kc);
  set(KILN_GEMM_B_TAIL_ITEMS, llvm_backend::work_items(g->pack_b_tail, target.lanes) / g->tile.kc);
  set(KILN_GEMM_OUT_BUFFER, g->direct_output ? g->out_buffer : -1);
  set(KILN_GEMM_EPILOGUE_LANES, llvm_backend::kernel_lanes(g->epilogue, target.lanes));
  if (g->b_affine) append_affine_b(*g, kernel.num_vars, sizes);
  auto* size_array = llvm::ConstantDataArray::get(ctx, sizes);
  auto* sizes_global =
      new llvm::GlobalVariable(module, size_array->getType(), true,
                               llvm::GlobalValue::PrivateLinkage, size_array, name + "_gemm_sizes");
  return AotGemm{llvm::ConstantExpr::getBitCast(sizes_global, llvm::Type::getInt64PtrTy(ctx)),
                 llvm::ConstantExpr::getBitCast(kernels, i8p)};
}

}  // namespace kiln::codegen::aot
