// The driver of an ahead-of-time CPU object: the exported functions of <name>.h, emitted
// as LLVM IR next to the kernels. <name>_run_with_workspace points each kernel's buffers
// at the caller's inputs and outputs, the embedded constants, or the workspace (the memory
// plan's slots), and launches every kernel in order through the runtime's
// kiln_aot_parallel_for, or through kiln_aot_gemm where the kernel's GEMM was emitted
// (gemm.h: it returns 1 when it cannot allocate, and so does the function); outputs that
// no kernel writes (an input or a constant returned as
// it is, a value returned twice) are copied. <name>_run allocates the workspace.
// Internal to codegen/aot/cpu/.
#pragma once

#include <optional>
#include <vector>

#include "codegen/aot/aot_model.h"
#include "codegen/aot/cpu/gemm.h"

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace kiln::codegen::aot {

// `kernels[k]` is the function of model.program.kernels[k] and `gemms[k]` its GEMM, if
// any; `lanes` the vector lanes they were emitted for.
void emit_driver(const AotModel& model, const std::vector<llvm::Function*>& kernels,
                 const std::vector<std::optional<AotGemm>>& gemms, int lanes, llvm::Module& module);

}  // namespace kiln::codegen::aot
