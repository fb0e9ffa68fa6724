// render_kernel: one KernelIR kernel -> an OpenCL C program and the launches that run it.
//
// The kernel is rendered in the shape, lanes and group sizes that the work-group passes
// chose for the device (map_to_work_groups, codegen/kernel_passes.h; GroupShape in
// codegen/kernel_ir.h):
//   map    one work-item per outer iteration (or per `lanes` consecutive ones, with vector
//          loads and stores where memory is contiguous); a stage's loops run inside the
//          work-item.
//   row    one work-group per outer iteration: Reduce stages are split across the group's
//          work-items and combined as a tree in local memory, loop stages are split the
//          same way, stages without loops run on work-item 0. Stages held in registers
//          are unrolled, so the row stays in registers from one stage to the next.
//   split  each Reduce stage is a partial pass over many work-groups and a final pass per
//          outer iteration; the stages after the reductions run in the last final pass.
// The renderer decides nothing of the kernel's mapping and has no fusion logic: it renders
// what lower_group made and the passes annotated.
// Tests: tests/codegen/opencl/render_test.cpp and tests/runtime/differential_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/opencl/prelude.h"
#include "codegen/opencl/target.h"

namespace kiln::codegen::opencl {

// One clEnqueueNDRangeKernel: a one-dimensional range of `global` work-items in groups of
// `local`. Every entry point of a kernel takes the same arguments: the kernel's buffers
// (b0, b1, ...), its scalars as ulong bit patterns (s0, s1, ...; codegen::scalar_slot),
// then the scratch buffer when scratch_bytes > 0.
struct ClLaunch {
  std::string entry;
  int64_t global = 0;
  int64_t local = 0;
};

struct RenderedKernel {
  std::string name;
  std::string source;              // the whole program: prelude and every entry point
  std::string body;                // the entry points alone
  PreludeNeeds needs;              // what they need of the prelude
  std::vector<ClLaunch> launches;  // in order; empty when the kernel has nothing to do
  int64_t scratch_bytes = 0;       // device scratch the launches share (split reductions)
  GroupShape shape = GroupShape::Map;
  int vector_width = 1;    // lanes per work-item along contiguous memory
  bool unrolled = false;   // row kernels: rows kept in registers across stages
  bool reordered = false;  // map kernels: work-items walk another loop than the last
  bool tiled = false;      // map kernels: stores pass through local memory tiles
};

// Maps the kernel onto the device (map_to_work_groups on a copy), then renders it; a kernel
// with a contraction renders as the tiled GEMM of kernels/opencl/gemm.h unless
// target.gemm is off (with target.gemm_tile, or the default tile for the device), and a
// kernel with a transform as the FFT of kernels/opencl/fft.h unless target.fft is off. Throws
// UnsupportedError when the kernel needs what the device lacks (f64 without cl_khr_fp64),
// naming the extension.
RenderedKernel render_kernel(const Kernel& kernel, const OpenCLTarget& target,
                             const std::string& name);

// The signature of an entry point of `kernel` (the argument order above); `reqd_wg` > 0
// fixes the work-group size.
std::string entry_signature(const Kernel& kernel, const std::string& entry, int64_t reqd_wg,
                            bool scratch);
// `const T aN = ...;`: scalar slot N as its compute type, from the ulong bit pattern sN.
std::string scalar_declaration(DType t, int slot);

// One program holding the entry points of several rendered kernels, with one prelude: a
// graph's kernels build together, which costs the driver far less than one build each.
std::string combine_sources(const std::vector<const RenderedKernel*>& kernels);

}  // namespace kiln::codegen::opencl
