// The GEMM's kernels for this host and their object code (see gemm.h).
#include "codegen/contraction.h"
#include "codegen/llvm/compiler.h"
#include "codegen/llvm/emit_gemm.h"
#include "codegen/llvm/target.h"
#include "kernels/cpu/gemm.h"
#include "runtime/cpu/thread_pool.h"

namespace kiln::kernels::cpu {

std::optional<codegen::GemmKernels> host_gemm_kernels(const codegen::Kernel& kernel) {
  if (!kernel.contraction) return std::nullopt;
  const codegen::Contraction& c = *kernel.contraction;
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  codegen::LowerOptions options;
  options.vector_lanes = lanes;
  return codegen::make_gemm_kernels(kernel, c, codegen::gemm_tile(c.acc, lanes), options);
}

GemmObject compile_gemm_object(const codegen::GemmKernels& g, const std::string& prefix) {
  GemmObject out;
  for (const char* part :
       {"_pack_a", "_pack_a_tail", "_pack_b", "_pack_b_tail", "_epilogue", "_micro", "_micro_tail"})
    out.names.push_back(prefix + part);
  const DType acc = g.pack_a.buffers.back().dtype;
  const int lanes = codegen::llvm_backend::host_target().info.lanes / (acc == DType::F64 ? 2 : 1);
  std::vector<std::string> kernel_names(out.names.begin(), out.names.end() - 2);
  out.object = codegen::llvm_backend::compile_object(
      {&g.pack_a, &g.pack_a_tail, &g.pack_b, &g.pack_b_tail, &g.epilogue}, kernel_names,
      [&](llvm::Module& m) {
        // The full tile, and the rows of the last panel of A.
        for (int i : {0, 1})
          codegen::llvm_backend::emit_micro_kernel(m, out.names[5 + static_cast<size_t>(i)], acc,
                                                   i ? g.mr_tail : g.tile.mr, g.tile.nr, lanes,
                                                   g.tile.kc, g.b_in_place.has_value());
      });
  return out;
}

}  // namespace kiln::kernels::cpu
