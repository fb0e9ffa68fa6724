// OpenCL discovery, selection and the renderer's view of a device.
#include "runtime/opencl/platform.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "ir/error.h"

namespace kiln::runtime::opencl {

namespace {

std::string device_string(cl_device_id d, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string s(size, '\0');
  if (clGetDeviceInfo(d, what, size, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string platform_string(cl_platform_id p, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string s(size, '\0');
  if (clGetPlatformInfo(p, what, size, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

template <class T>
T device_value(cl_device_id d, cl_device_info what, T fallback) {
  T v{};
  if (clGetDeviceInfo(d, what, sizeof v, &v, nullptr) != CL_SUCCESS) return fallback;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* kNoPlatform =
    "no OpenCL platform found: no OpenCL driver (ICD) is registered. Install one (PoCL for "
    "the CPU: Debian package pocl-opencl-icd; a GPU vendor's driver) or point "
    "OCL_ICD_VENDORS at a folder of .icd files, or choose another device (KILN_DEVICE=cpu "
    "or reference)";

std::optional<int64_t> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0') throw Error(std::string(name) + "='" + v + "' is not an integer");
  return x;
}

}  // namespace

bool DeviceInfo::has_extension(std::string_view ext) const {
  size_t at = 0;
  while ((at = extensions.find(ext, at)) != std::string::npos) {
    size_t end = at + ext.size();
    bool starts = at == 0 || extensions[at - 1] == ' ';
    bool ends = end == extensions.size() || extensions[end] == ' ';
    if (starts && ends) return true;
    at = end;
  }
  return false;
}

std::vector<DeviceInfo> list_devices() {
  cl_uint count = 0;
  cl_int status = clGetPlatformIDs(0, nullptr, &count);
  if (status != CL_SUCCESS || count == 0) {
    std::string code = status == CL_SUCCESS ? "" : " (" + cl_status_name(status) + ")";
    throw DeviceError(std::string(kNoPlatform) + code);
  }
  std::vector<cl_platform_id> platforms(count);
  check(clGetPlatformIDs(count, platforms.data(), nullptr), "clGetPlatformIDs");
  std::vector<DeviceInfo> out;
  for (cl_platform_id p : platforms) {
    cl_uint n = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) continue;
    std::vector<cl_device_id> devices(n);
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, devices.data(), nullptr) != CL_SUCCESS) continue;
    for (cl_device_id d : devices) {
      DeviceInfo info;
      info.index = static_cast<int>(out.size());
      info.platform = p;
      info.device = d;
      info.platform_name = platform_string(p, CL_PLATFORM_NAME);
      info.platform_vendor = platform_string(p, CL_PLATFORM_VENDOR);
      info.platform_version = platform_string(p, CL_PLATFORM_VERSION);
      info.name = device_string(d, CL_DEVICE_NAME);
      info.vendor = device_string(d, CL_DEVICE_VENDOR);
      info.version = device_string(d, CL_DEVICE_VERSION);
      info.driver_version = device_string(d, CL_DRIVER_VERSION);
      info.extensions = device_string(d, CL_DEVICE_EXTENSIONS);
      info.is_gpu = (device_value<cl_device_type>(d, CL_DEVICE_TYPE, 0) & CL_DEVICE_TYPE_GPU) != 0;
      info.compute_units =
          static_cast<int>(device_value<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS, 1));
      info.max_work_group_size =
          static_cast<int64_t>(device_value<size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, 1));
      info.local_mem_bytes =
          static_cast<int64_t>(device_value<cl_ulong>(d, CL_DEVICE_LOCAL_MEM_SIZE, 0));
      info.global_mem_bytes =
          static_cast<int64_t>(device_value<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE, 0));
      info.max_alloc_bytes =
          static_cast<int64_t>(device_value<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, 0));
      info.fp64 = info.has_extension("cl_khr_fp64") ||
                  device_value<cl_device_fp_config>(d, CL_DEVICE_DOUBLE_FP_CONFIG, 0) != 0;
      info.fp16 = info.has_extension("cl_khr_fp16");
      if (info.has_extension("cl_nv_device_attribute_query")) {
        // CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV and _MINOR_NV.
        constexpr cl_device_info kMajorNV = 0x4000, kMinorNV = 0x4001;
        info.nvidia_compute_capability = static_cast<int>(
            10 * device_value<cl_uint>(d, kMajorNV, 0) + device_value<cl_uint>(d, kMinorNV, 0));
      }
      info.correctly_rounded_divide_sqrt =
          (device_value<cl_device_fp_config>(d, CL_DEVICE_SINGLE_FP_CONFIG, 0) &
           CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
      out.push_back(std::move(info));
    }
  }
  if (out.empty())
    throw DeviceError("OpenCL platforms are registered but none has a device; " +
                      std::string(kNoPlatform));
  return out;
}

std::optional<DeviceInfo> select_device(std::string_view spec) {
  std::vector<DeviceInfo> devices = list_devices();
  if (spec == "opencl") {
    for (const DeviceInfo& d : devices)
      if (d.is_gpu) return d;
    return devices.front();
  }
  if (spec.substr(0, 7) == "opencl:") {
    std::string n(spec.substr(7));
    char* end = nullptr;
    long index = std::strtol(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || index < 0 || index >= static_cast<long>(devices.size()))
      throw DeviceError("no OpenCL device '" + std::string(spec) + "'; the OpenCL devices are:\n" +
                        describe_devices(devices));
    return devices[static_cast<size_t>(index)];
  }
  const std::string want = lower(spec);
  for (const DeviceInfo& d : devices)
    if (lower(d.name).find(want) != std::string::npos) return d;
  return std::nullopt;
}

codegen::opencl::OpenCLTarget target_for(const DeviceInfo& info) {
  codegen::opencl::OpenCLTarget t;
  t.device_name = info.name;
  t.fp64 = info.fp64;
  t.fp16 = info.fp16;
  t.max_work_group_size = std::max<int64_t>(1, info.max_work_group_size);
  t.local_mem_bytes = info.local_mem_bytes;
  t.compute_units = std::max(1, info.compute_units);
  t.is_gpu = info.is_gpu;
  if (const char* shape = std::getenv("KILN_OPENCL_SHAPE"); shape && *shape) {
    std::string s = shape;
    if (s == "map")
      t.shape_hint = codegen::ShapeHint::Map;
    else if (s == "row")
      t.shape_hint = codegen::ShapeHint::Row;
    else if (s == "split")
      t.shape_hint = codegen::ShapeHint::Split;
    else if (s != "auto")
      throw Error("KILN_OPENCL_SHAPE='" + s + "': expected auto, map, row or split");
  }
  if (auto v = env_int("KILN_OPENCL_VECTOR")) {
    if (*v != 1 && *v != 2 && *v != 4) throw Error("KILN_OPENCL_VECTOR must be 1, 2 or 4");
    t.vector_width = static_cast<int>(*v);
  }
  if (auto v = env_int("KILN_OPENCL_MAP_WG")) t.map_group_size = *v;
  t.coalesce_map_order = t.is_gpu;
  if (auto v = env_int("KILN_OPENCL_MAP_ORDER")) t.coalesce_map_order = *v != 0;
  t.tile_map_transposes = t.is_gpu;
  if (auto v = env_int("KILN_OPENCL_MAP_TILES")) t.tile_map_transposes = *v != 0;
  if (auto v = env_int("KILN_OPENCL_ROW_WG")) t.row_group_size = *v;
  if (auto v = env_int("KILN_OPENCL_REGISTER_ROW")) t.max_register_row = static_cast<int>(*v);
  if (auto v = env_int("KILN_OPENCL_CAST_STORES")) t.cast_vector_stores = *v != 0;
  t.nvidia = info.vendor.find("NVIDIA") != std::string::npos ||
             info.platform_vendor.find("NVIDIA") != std::string::npos;
  if (auto v = env_int("KILN_OPENCL_GEMM")) t.gemm = *v != 0;
  if (auto v = env_int("KILN_OPENCL_FFT")) t.fft = *v != 0;
  // mma.sync.m16n8k16 on f16 and bf16 needs compute capability 8.0 (KILN_OPENCL_MMA=0 turns
  // the tensor cores off, =1 on for any NVIDIA device).
  const bool ampere = info.nvidia_compute_capability >= 80;
  const auto mma = env_int("KILN_OPENCL_MMA");
  if (t.nvidia && (mma ? *mma != 0 : ampere)) t.mma = codegen::opencl::MmaMode::Ptx;
  // TF32 (m16n8k8 on f32 factors rounded to 10 fraction bits) only when asked for.
  if (auto v = env_int("KILN_OPENCL_TF32")) t.tf32 = *v != 0;
  if (const char* tile = std::getenv("KILN_OPENCL_GEMM_TILE"); tile && *tile) {
    // bm,bn,bk,tm,tn: every GEMM runs with these tiles (checked when rendered).
    codegen::GemmTile g;
    if (std::sscanf(tile, "%d,%d,%d,%d,%d", &g.bm, &g.bn, &g.bk, &g.tm, &g.tn) != 5 || !g.chosen())
      throw Error(std::string("KILN_OPENCL_GEMM_TILE='") + tile + "': expected bm,bn,bk,tm,tn");
    t.gemm_tile = g;
  }
  return t;
}

std::string describe_devices(const std::vector<DeviceInfo>& devices) {
  std::string s;
  for (const DeviceInfo& d : devices)
    s += "  opencl:" + std::to_string(d.index) + " " + d.name + " (" + d.platform_name + ", " +
         d.version + ", driver " + d.driver_version + ")\n";
  return s;
}

}  // namespace kiln::runtime::opencl
