// The CPU an ahead-of-time object is compiled for: "native" is the host as the JIT sees it
// (codegen/llvm/target.h); any other name is an LLVM CPU of the host's architecture
// ("x86-64-v3", "skylake-avx512", ...) with that CPU's own features, so that the object
// runs on every machine that has them. Internal to codegen/aot/cpu/.
#pragma once

#include <string>

#include "codegen/llvm/target.h"

namespace kiln::codegen::aot {

// Throws kiln::Error naming the CPU when LLVM does not know it for the host's triple.
llvm_backend::HostTarget resolve_cpu_target(const std::string& cpu);

}  // namespace kiln::codegen::aot
