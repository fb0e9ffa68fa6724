// OpenCL platform and device discovery: every device of every platform in one list (the
// N of "opencl:N"), with what the renderer and the program cache need to know about each,
// and the selection rules of KILN_DEVICE / make_device. A machine without any OpenCL
// platform (no ICD registered) gives a DeviceError that says how to get one, never a
// crash. Tests: tests/runtime/opencl/device_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/opencl/target.h"
#include "runtime/opencl/cl_api.h"

namespace kiln::runtime::opencl {

struct DeviceInfo {
  int index = 0;  // position in list_devices(): the N of "opencl:N"
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  std::string platform_name, platform_vendor, platform_version;
  std::string name, vendor, version, driver_version, extensions;
  bool is_gpu = false;
  int compute_units = 1;
  int64_t max_work_group_size = 1;
  int64_t local_mem_bytes = 0;
  int64_t global_mem_bytes = 0;
  int64_t max_alloc_bytes = 0;
  bool fp64 = false, fp16 = false;
  bool correctly_rounded_divide_sqrt = false;
  // NVIDIA devices (cl_nv_device_attribute_query): compute capability as 10 * major +
  // minor, e.g. 90 for an H100; 0 elsewhere.
  int nvidia_compute_capability = 0;

  bool has_extension(std::string_view ext) const;
};

// Every device of every platform, in platform order. Throws DeviceError when there is no
// platform at all, or none has a device.
std::vector<DeviceInfo> list_devices();

// The device a spec names: "opencl" (the first GPU, else the first device), "opencl:N",
// or a part of a device's name (case-insensitive); nullopt when a name part matches none.
// Throws DeviceError for an N out of range, listing the devices.
std::optional<DeviceInfo> select_device(std::string_view spec);

// What the renderer should assume for `info`, with the tuning overrides of the
// environment applied (KILN_OPENCL_SHAPE=map|row|split, KILN_OPENCL_VECTOR=1|2|4,
// KILN_OPENCL_MAP_WG, KILN_OPENCL_ROW_WG, KILN_OPENCL_REGISTER_ROW, KILN_OPENCL_CAST_STORES).
codegen::opencl::OpenCLTarget target_for(const DeviceInfo& info);

// A one-line description per device ("opencl:0 NVIDIA H100 (NVIDIA CUDA, OpenCL 3.0...)").
std::string describe_devices(const std::vector<DeviceInfo>& devices);

}  // namespace kiln::runtime::opencl
