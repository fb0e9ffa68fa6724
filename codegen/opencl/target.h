// OpenCLTarget: what the OpenCL renderer needs to know about the device it renders for.
// The renderer shapes kernels from these numbers (work-group sizes, how many work-groups a
// split reduction uses, whether f64 code may be emitted); the runtime fills them from
// clGetDeviceInfo (runtime/opencl/platform.h), tests fill them by hand. Nothing here
// needs an OpenCL library. Tests: tests/codegen/opencl/render_test.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::codegen::opencl {

// Which kernel shape (render_kernel.h) reductions take: chosen from the kernel and the
// device, or forced (tests cover every shape; benchmarks compare them).
enum class ShapeHint : uint8_t { Auto, Map, Row, Split };

struct OpenCLTarget {
  std::string device_name = "generic";  // for messages
  bool fp64 = false;                    // cl_khr_fp64
  bool fp16 = false;                    // cl_khr_fp16 (f16 storage needs only core vload_half)
  int64_t max_work_group_size = 256;    // CL_DEVICE_MAX_WORK_GROUP_SIZE
  int64_t local_mem_bytes = 32 * 1024;  // CL_DEVICE_LOCAL_MEM_SIZE
  int compute_units = 8;                // CL_DEVICE_MAX_COMPUTE_UNITS
  bool is_gpu = false;                  // CL_DEVICE_TYPE_GPU: wide work-groups, many of them

  // Work-group size of elementwise (map) kernels and of row reductions: the device's
  // preference, clamped to what it allows. 0 picks a default for the device type.
  int64_t map_group_size = 0;
  int64_t row_group_size = 0;
  // Elements a work-item loads or stores at once where memory is contiguous (1, 2 or 4).
  int vector_width = 4;
  // Row reductions whose per-work-item share of a row is at most this many vectors keep
  // the row in registers across the kernel's stages (one read of memory per row). 0 picks
  // a default: 16 on GPUs; 2 on CPUs, whose caches keep rows anyway and whose OpenCL
  // compilers (PoCL) take long over large unrolled kernels with barriers.
  int max_register_row = 0;
  // Work-groups a split (grid-wide) reduction aims for, per compute unit.
  int split_groups_per_unit = 8;
  ShapeHint shape_hint = ShapeHint::Auto;
  // Aligned vector stores through a pointer to the vector type (one wide store) rather
  // than vstoreN. Off by default: oclgrind 21.10 miscompiles such stores to undef values
  // (clang 14 itself compiles them correctly); KILN_OPENCL_CAST_STORES=1 turns it on.
  bool cast_vector_stores = false;

  int64_t map_wg() const;
  int64_t row_wg() const;
  int64_t register_row() const {
    return max_register_row > 0 ? max_register_row : (is_gpu ? 16 : 2);
  }
};

}  // namespace kiln::codegen::opencl
