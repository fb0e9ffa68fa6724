// The host compiler: KernelIR kernels -> one optimized LLVM module -> a relocatable object
// file for the host CPU (triple, CPU name and features detected at run time, so AVX-512
// is used where the machine has it). The object bytes are what the kernel cache stores
// on disk; runtime/cpu/jit.h loads them. Tests: tests/runtime/cpu/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/llvm/target.h"

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace kiln::codegen::llvm_backend {

// Compiles `kernels` into one object file; kernel i is the function `names[i]`. Throws
// CompileError (with LLVM's verifier message) if the generated IR is malformed. Thread
// safe: each call has its own LLVM context and target machine.
std::string compile_object(const std::vector<const Kernel*>& kernels,
                           const std::vector<std::string>& names);
// As above, with the functions `extra` adds to the module (the GEMM's micro-kernel).
std::string compile_object(const std::vector<const Kernel*>& kernels,
                           const std::vector<std::string>& names,
                           const std::function<void(llvm::Module&)>& extra);

// A target machine for `target` emitting position-independent code.
std::unique_ptr<llvm::TargetMachine> make_target_machine(const HostTarget& target);

// The kernels' optimization pipeline: O3 without the loop and SLP vectorizers, since
// kernels arrive vectorized. Shared with kiln-aot (codegen/aot/cpu/).
void optimize_module(llvm::Module& m, llvm::TargetMachine& tm);
// The object file of an optimized module; `who` names the caller in errors.
std::string emit_object(llvm::Module& m, llvm::TargetMachine& tm, const std::string& who);

// The LLVM IR of one kernel as text, before or after the O3 pipeline (for inspection).
std::string kernel_llvm_ir(const Kernel& kernel, bool optimized);

}  // namespace kiln::codegen::llvm_backend
