// The host compiler: KernelIR kernels -> one optimized LLVM module -> a relocatable object
// file for the host CPU (triple, CPU name and features detected at run time, so AVX-512
// is used where the machine has it). The object bytes are what the kernel cache stores
// on disk; runtime/cpu/jit.h loads them. Tests: tests/cpu/.
#pragma once

#include <string>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/llvm/emit_context.h"

namespace kiln::codegen::llvm_backend {

struct HostTarget {
  std::string triple;
  std::string cpu;
  std::string features;  // "+avx2,+fma,..."
  TargetInfo info;
  // Everything that makes object code for this host differ from another's: part of every
  // cache key (with the LLVM version and the codegen version).
  std::string id() const;
};

// Detected once; initializes LLVM's native target on first use.
const HostTarget& host_target();

// Compiles `kernels` into one object file; kernel i is the function `names[i]`. Throws
// CompileError (with LLVM's verifier message) if the generated IR is malformed.
std::string compile_object(const std::vector<const Kernel*>& kernels, const std::vector<std::string>& names);

// The LLVM IR of one kernel as text, before or after the O3 pipeline (for inspection).
std::string kernel_llvm_ir(const Kernel& kernel, bool optimized);

// Bumped whenever generated code changes meaning for the same KernelIR (invalidates disk
// caches).
inline constexpr int kCodegenVersion = 1;

}  // namespace kiln::codegen::llvm_backend
