// Ahead-of-time compilation for OpenCL: a graph becomes a C source bundle, <name>.c and
// <name>.h, that holds every kernel's OpenCL C (one program, built when the bundle's state
// is created) and a host launcher written against the OpenCL 1.2 API only:
//
//   <name>_state* <name>_create(cl_device_id device, int* error);   // NULL: a GPU if any
//   int <name>_run_on(<name>_state* state, const float* x, ..., float* out0, ...);
//   void <name>_destroy(<name>_state* state);
//   int <name>_run(const float* x, ..., float* out0, ...);         // all three in one
//
// Compile <name>.c with the program and link -lOpenCL; no kiln library is needed. The
// kernels are rendered for `target` at compile time (OpenCLTarget's defaults unless told
// otherwise), the same renderer and launches as kiln's OpenCL device.
// Tests: examples/aot/ (run by CTest on PoCL, label opencl).
#pragma once

#include <string>
#include <vector>

#include "codegen/aot/aot_model.h"
#include "codegen/opencl/target.h"
#include "ir/graph.h"

namespace kiln::codegen::aot {

struct OpenCLAotOptions {
  std::string name = "model";
  opencl::OpenCLTarget target;
};

// Compiles `graph` (optimized, its data as constants) to <name>.c and <name>.h.
std::vector<OutputFile> compile_opencl(const ir::Graph& graph, const OpenCLAotOptions& options);

}  // namespace kiln::codegen::aot
