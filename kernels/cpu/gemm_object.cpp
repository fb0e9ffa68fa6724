// The GEMM's kernels for this host and their object code (see gemm.h).
#include <algorithm>

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
  return codegen::make_gemm_kernels(kernel, c, codegen::cpu_gemm_tile(c.acc, lanes), options);
}

int narrow_columns(const codegen::GemmKernels& g, int lanes) {
  return g.nr_tail != g.tile.nr && g.nr_tail % lanes == 0 ? g.nr_tail : lanes;
}

int window_lanes(const codegen::GemmKernels& g, int lanes) {
  return g.nr_tail <= lanes / 2 ? lanes / 2 : lanes;
}

int window_columns(const codegen::GemmKernels& g, int lanes) {
  const int l = window_lanes(g, lanes);
  return static_cast<int>(std::min<int64_t>(g.tile.nr, (g.nr_tail + l - 1) / l * l));
}

GemmObject compile_gemm_object(const codegen::GemmKernels& g, const std::string& prefix) {
  GemmObject out;
  for (const char* part :
       {"_pack_a", "_pack_a_tail", "_pack_b", "_pack_b_tail", "_epilogue", "_micro", "_micro_tail",
        "_micro_wide", "_micro_narrow", "_micro_narrow_tail"})
    out.names.push_back(prefix + part);
  if (g.b_window)
    for (const char* part : {"_micro_window", "_micro_window_narrow"})
      out.names.push_back(prefix + part);
  if (g.a_in_place)
    for (const char* part :
         {"_micro_a", "_micro_a_tail", "_micro_a_narrow", "_micro_a_narrow_tail"})
      out.names.push_back(prefix + part);
  const DType acc = g.pack_a.buffers.back().dtype;
  const int lanes = codegen::llvm_backend::host_target().info.lanes / (acc == DType::F64 ? 2 : 1);
  std::vector<std::string> kernel_names(out.names.begin(), out.names.begin() + 5);
  out.object = codegen::llvm_backend::compile_object(
      {&g.pack_a, &g.pack_a_tail, &g.pack_b, &g.pack_b_tail, &g.epilogue}, kernel_names,
      [&](llvm::Module& m) {
        // The full tile, the rows of the last panel of A, and up to kWideRows of them over
        // kWidePanels panels of B at once (B read in place: longer runs of each row of B).
        using codegen::llvm_backend::emit_micro_kernel;
        const bool in_place = g.b_in_place;
        emit_micro_kernel(m, out.names[5], acc, g.tile.mr, g.tile.nr, lanes, g.tile.kc, in_place);
        emit_micro_kernel(m, out.names[6], acc, g.mr_tail, g.tile.nr, lanes, g.tile.kc, in_place);
        emit_micro_kernel(m, out.names[7], acc, std::min(g.mr_tail, kWideRows),
                          kWidePanels * g.tile.nr, lanes, g.tile.kc, in_place);
        // The columns of the last panel of B, when they are whole vectors: written to C
        // in place of a full tile through a scratch tile.
        const int narrow = narrow_columns(g, lanes);
        emit_micro_kernel(m, out.names[8], acc, g.tile.mr, narrow, lanes, g.tile.kc, in_place);
        emit_micro_kernel(m, out.names[9], acc, g.mr_tail, narrow, lanes, g.tile.kc, in_place);
        // B's rows at a table of offsets (a WindowB; full panels of A, zeros past M), over
        // a full panel and over the last panel's vectors.
        if (g.b_window) {
          emit_micro_kernel(m, out.names[10], acc, g.tile.mr, g.tile.nr, lanes, g.tile.kc, false,
                            true);
          emit_micro_kernel(m, out.names[11], acc, g.tile.mr, window_columns(g, lanes),
                            window_lanes(g, lanes), g.tile.kc, false, true);
        }
        // A read in place, its rows `ld` apart: the full and the last panel's rows, over
        // a full panel and over the last panel's vectors (never with a window).
        if (g.a_in_place) {
          const int64_t lda = g.a_in_place->ld;
          emit_micro_kernel(m, out.names[10], acc, g.tile.mr, g.tile.nr, lanes, lda, in_place);
          emit_micro_kernel(m, out.names[11], acc, g.mr_tail, g.tile.nr, lanes, lda, in_place);
          emit_micro_kernel(m, out.names[12], acc, g.tile.mr, narrow, lanes, lda, in_place);
          emit_micro_kernel(m, out.names[13], acc, g.mr_tail, narrow, lanes, lda, in_place);
        }
      });
  return out;
}

}  // namespace kiln::kernels::cpu
