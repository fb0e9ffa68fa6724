// WorkGroupTarget: what the work-group passes (codegen/kernel_passes.h, map_to_work_groups)
// need to know about a device that runs kernels as groups of work-items, as OpenCL devices
// do: its limits (clGetDeviceInfo) and the settings docs/gpu.md lists (KILN_OPENCL_*). The
// passes decide a kernel's shape, lanes and group sizes from these numbers; a renderer
// only renders what they decided. Tests fill them by hand:
// tests/codegen/work_group_passes_test.cpp.
#pragma once

#include <algorithm>
#include <cstdint>

namespace kiln::codegen {

// Which shape (GroupShape, kernel_ir.h) reductions take: chosen from the kernel and the
// device, or forced (tests cover every shape; benchmarks compare them).
enum class ShapeHint : uint8_t { Auto, Map, Row, Split };

struct WorkGroupTarget {
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
  // Whether map kernels may have consecutive work-items walk another outer loop than the
  // last where more of their memory runs along it (choose_map_order.h): what GPUs, whose
  // loads coalesce across work-items, want.
  bool coalesce_map_order = false;
  // Whether such a reordered map kernel that stores one value along the last loop passes
  // it through local memory in tiles (GroupMapping::tiled), so its stores coalesce too.
  bool tile_map_transposes = false;

  int64_t map_wg() const {
    int64_t wg = map_group_size > 0 ? map_group_size : (is_gpu ? 256 : 64);
    return std::max<int64_t>(1, std::min(wg, max_work_group_size));
  }
  // A power of two: the trees that combine a group's values halve it.
  int64_t row_wg() const {
    int64_t wg = row_group_size > 0 ? row_group_size : (is_gpu ? 1024 : 16);
    wg = std::max<int64_t>(1, std::min(wg, max_work_group_size));
    int64_t p = 1;
    while (p * 2 <= wg) p *= 2;
    return p;
  }
  int64_t register_row() const {
    return max_register_row > 0 ? max_register_row : (is_gpu ? 16 : 2);
  }
};

}  // namespace kiln::codegen
