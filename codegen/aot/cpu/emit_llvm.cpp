// llvm_ir: every kernel of a program as LLVM IR, through the CPU backend's compiler
// (codegen/llvm/compiler.h), after the same O3 pipeline the JIT runs.
#include "codegen/aot/emit_source.h"
#include "codegen/llvm/compiler.h"
#include "codegen/program.h"

namespace kiln::codegen::aot {

LowerOptions host_lower_options() {
  LowerOptions o;
  o.vector_lanes = llvm_backend::host_target().info.lanes;
  o.threads = 1;
  return o;
}

std::string llvm_ir(const ir::Graph& graph) {
  Program p = build_program(graph, host_lower_options());
  std::string out;
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    // The compiler names every kernel @kernel; here each gets its cache name instead.
    std::string text = llvm_backend::kernel_llvm_ir(p.kernels[k], /*optimized=*/true);
    std::string name = "@" + kernel_symbol(p.kernel_hashes[k]) + "(";
    for (size_t at = text.find("@kernel("); at != std::string::npos; at = text.find("@kernel(", at))
      text.replace(at, 8, name);
    out += "; kernel " + std::to_string(k) + ": " + kernel_symbol(p.kernel_hashes[k]) + "\n" +
           text + "\n";
  }
  return out;
}

}  // namespace kiln::codegen::aot
