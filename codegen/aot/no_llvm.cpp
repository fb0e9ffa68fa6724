// Stand-ins for the LLVM parts of codegen/aot/ (cpu/) when kiln is built without LLVM:
// each says so instead of leaving an undefined symbol.
#include "codegen/aot/compile_cpu.h"
#include "codegen/aot/emit_source.h"
#include "ir/error.h"

namespace kiln::codegen::aot {

#ifndef KILN_HAS_LLVM
LowerOptions host_lower_options() { return {}; }

std::vector<OutputFile> compile_cpu(const ir::Graph&, const CpuAotOptions&) {
  throw UnsupportedError(
      "kiln-aot --target cpu: this build of kiln has no LLVM backend "
      "(configure with KILN_WITH_LLVM=ON and llvm-14-dev installed)");
}

std::string llvm_ir(const ir::Graph&) {
  throw UnsupportedError(
      "--emit=llvm: this build of kiln has no LLVM backend (configure with "
      "KILN_WITH_LLVM=ON and llvm-14-dev installed)");
}
#endif

}  // namespace kiln::codegen::aot
