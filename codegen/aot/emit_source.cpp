// opencl_source: every kernel of a program rendered as OpenCL C. The LLVM side lives in
// cpu/emit_llvm.cpp (no_llvm.cpp when kiln is built without LLVM).
#include "codegen/aot/emit_source.h"

#include <cstdio>

#include "codegen/opencl/render_kernel.h"
#include "codegen/program.h"
#include "ir/error.h"

namespace kiln::codegen::aot {

std::string kernel_symbol(uint64_t hash) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("kiln_") + buf;
}

opencl::OpenCLTarget inspection_target() {
  opencl::OpenCLTarget t;
  t.device_name = "inspection (fp64, fp16)";
  t.fp64 = true;
  t.fp16 = true;
  return t;
}

std::string opencl_source(const ir::Graph& graph, const opencl::OpenCLTarget& target) {
  LowerOptions lower;
  lower.vector_lanes = target.vector_width;  // as the OpenCL device lowers
  lower.threads = 1;
  Program p = build_program(graph, lower);
  std::string out;
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    // The OpenCL device's naming: kiln_ and the kernel's structural hash.
    opencl::RenderedKernel r =
        opencl::render_kernel(p.kernels[k], target, kernel_symbol(p.kernel_hashes[k]));
    out += "// kernel " + std::to_string(k) + ": " + r.name + " (" +
           std::string(group_shape_name(r.shape)) + ", vector width " +
           std::to_string(r.vector_width) + (r.unrolled ? ", unrolled" : "") + ")\n";
    for (const opencl::ClLaunch& l : r.launches)
      out += "//   launch " + l.entry + " global " + std::to_string(l.global) + " local " +
             std::to_string(l.local) + "\n";
    if (r.scratch_bytes > 0) out += "//   scratch " + std::to_string(r.scratch_bytes) + " bytes\n";
    out += r.source;
    if (!r.source.empty() && r.source.back() != '\n') out += "\n";
    out += "\n";
  }
  return out;
}

}  // namespace kiln::codegen::aot
