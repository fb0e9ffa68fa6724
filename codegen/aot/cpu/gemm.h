// The matrix products of an ahead-of-time CPU object: a kernel with a Contraction
// (codegen/contraction.h) gets the pack, epilogue and micro-kernels of
// codegen/gemm_kernels.h emitted into the module, internal, and the two constant tables
// the driver hands to the runtime's kiln_aot_gemm in place of a launch of its loop nest.
// Every panel is packed: a convolution's input (an AffineB, described in the sizes table)
// by copies of runs, as the JIT packs it, also where the JIT reads it in place (a WindowB);
// everything else by the pack kernels, which evaluate the factors element by element (a
// weight gradient's WindowA too).
// Internal to codegen/aot/cpu/. Tests: tests/tools/aot_test.cpp.
#pragma once

#include <optional>
#include <string>

#include "codegen/kernel_ir.h"
#include "codegen/llvm/target.h"

namespace llvm {
class Constant;
class Module;
}  // namespace llvm

namespace kiln::codegen::aot {

struct AotGemm {
  llvm::Constant* sizes;    // i64[KILN_GEMM_SIZES] (kiln_aot_runtime.h)
  llvm::Constant* kernels;  // struct kiln_aot_gemm_kernels: seven function pointers
};

// The GEMM of `kernel` emitted into `module` with names from `name`, or nothing when
// kiln_aot_gemm cannot run it.
std::optional<AotGemm> emit_gemm(const Kernel& kernel, const std::string& name,
                                 llvm::Module& module, const llvm_backend::TargetInfo& target);

}  // namespace kiln::codegen::aot
