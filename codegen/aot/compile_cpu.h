// Ahead-of-time compilation for CPUs: a graph becomes one relocatable object file holding
// its kernels, its constants and a driver function, plus a C header declaring
//
//   int <name>_run(const float* x, ..., float* out0, ...);
//
// The object needs no LLVM and no JIT at run time: link it with the small C runtime
// library libkiln_aot_runtime.a (the kernels' out-of-line math and a pthreads parallel
// loop, codegen/aot/runtime/) and -lm -lpthread. The target CPU is selectable ("native",
// or an LLVM CPU name such as "x86-64-v3" or "skylake-avx512"). Without LLVM in the build,
// compile_cpu throws UnsupportedError. Tests: examples/aot/ (run by CTest).
#pragma once

#include <string>
#include <vector>

#include "codegen/aot/aot_model.h"
#include "ir/graph.h"

namespace kiln::codegen::aot {

struct CpuAotOptions {
  std::string name = "model";  // prefix of every exported symbol, and of the files
  std::string cpu = "native";  // LLVM CPU name for the host's architecture
};

// Compiles `graph` (optimized, its data as constants) to <name>.o and <name>.h.
std::vector<OutputFile> compile_cpu(const ir::Graph& graph, const CpuAotOptions& options);

}  // namespace kiln::codegen::aot
