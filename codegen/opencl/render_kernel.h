// render_kernel: one KernelIR kernel -> an OpenCL C program and the launches that run it.
//
// The renderer picks one of three shapes from the kernel and the device (OpenCLTarget):
//   map    one work-item per outer iteration (or per `vector_width` consecutive ones, with
//          vector loads and stores where memory is contiguous); a stage's loops run inside
//          the work-item. Elementwise kernels, scans, scatters, short or strided rows.
//   row    one work-group per outer iteration: Reduce stages are split across the group's
//          work-items and combined as a tree in local memory, loop stages are split the
//          same way, stages without loops run on work-item 0. When a work-item's share of
//          the row is small, the row loop is unrolled and the row stays in registers from
//          one stage to the next (softmax and layer_norm read their row once).
//   split  few outer iterations with long rows (full reductions): each Reduce stage is a
//          partial pass over many work-groups and a final pass per outer iteration; the
//          stages after the reductions run in the last final pass.
// The renderer has no fusion logic: it renders what lower_group made.
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

enum class RenderShape : uint8_t { Map, Row, Split };
std::string_view render_shape_name(RenderShape shape);

struct RenderedKernel {
  std::string name;
  std::string source;              // the whole program: prelude and every entry point
  std::string body;                // the entry points alone
  PreludeNeeds needs;              // what they need of the prelude
  std::vector<ClLaunch> launches;  // in order; empty when the kernel has nothing to do
  int64_t scratch_bytes = 0;       // device scratch the launches share (split reductions)
  RenderShape shape = RenderShape::Map;
  int vector_width = 1;   // lanes per work-item along contiguous memory
  bool unrolled = false;  // row kernels: rows kept in registers across stages
};

// Throws UnsupportedError when the kernel needs what the device lacks (f64 without
// cl_khr_fp64), naming the extension.
RenderedKernel render_kernel(const Kernel& kernel, const OpenCLTarget& target,
                             const std::string& name);

// One program holding the entry points of several rendered kernels, with one prelude: a
// graph's kernels build together, which costs the driver far less than one build each.
std::string combine_sources(const std::vector<const RenderedKernel*>& kernels);

}  // namespace kiln::codegen::opencl
