// The host CPU as the LLVM backend sees it: triple, CPU name, features, and what the
// emitters derive from them (vector lanes). Free of LLVM headers, so that tests and the
// runtime can ask without LLVM's include paths.
#pragma once

#include <string>

namespace kiln::codegen::llvm_backend {

struct TargetInfo {
  int lanes = 8;     // vector lanes of f32 in the widest registers
  bool f16c = true;  // hardware half <-> float conversions
};

struct HostTarget {
  std::string triple;
  std::string cpu;
  std::string features;  // "+avx2,+fma,..."
  TargetInfo info;
  // Everything that makes object code for this host differ from another's: part of every
  // cache key (with the LLVM version and the codegen version).
  std::string id() const;
};

// Detected once; initializes LLVM's native target on first use. KILN_CPU_LANES (4, 8 or
// 16, at most what the host has) narrows the vector lanes.
const HostTarget& host_target();

// Bumped whenever generated code changes meaning for the same KernelIR (invalidates disk
// caches).
inline constexpr int kCodegenVersion = 2;

}  // namespace kiln::codegen::llvm_backend
