// The generated code of a graph as text, for inspection (kiln-ir --emit): the OpenCL C of
// every distinct kernel as the OpenCL device renders it, or their LLVM IR as the CPU device
// compiles it. The graph must already be optimized (passes/pipeline.h); scheduling and
// lowering are codegen::build_program's. Tests: tests/tools/ (goldens of kiln-ir --emit).
#pragma once

#include <string>

#include "codegen/lower_group.h"
#include "codegen/opencl/target.h"
#include "ir/graph.h"

namespace kiln::codegen::aot {

// The name kiln's devices give a kernel: "kiln_" and its structural hash in hex.
std::string kernel_symbol(uint64_t hash);

// A device for looking at code without one: OpenCLTarget's defaults, with cl_khr_fp64 and
// cl_khr_fp16 (so that kernels computing in f64 render instead of being refused).
opencl::OpenCLTarget inspection_target();

// Every kernel's OpenCL program, each after a comment line naming the kernel, its shape
// and its launches (entry, global and local size).
std::string opencl_source(const ir::Graph& graph,
                          const opencl::OpenCLTarget& target = inspection_target());

// The lowering options the CPU device uses on this host (vector lanes of the widest
// registers; one thread, so that the text does not depend on the core count). Without LLVM,
// LowerOptions' defaults.
LowerOptions host_lower_options();

// Every kernel's LLVM IR after LLVM's O3 pipeline, for this host's CPU. Throws
// UnsupportedError when kiln was built without LLVM.
std::string llvm_ir(const ir::Graph& graph);

}  // namespace kiln::codegen::aot
