// The Device base (its plan cache and the defaults of its optional parts), the device
// registry and the default device.
#include "runtime/device.h"

#include <cstdlib>
#include <mutex>
#include <utility>

#include "codegen/program.h"
#include "ir/error.h"
#include "runtime/plan_cache.h"

namespace kiln::runtime {

Device::Device() : plans_(std::make_unique<PlanCache>(256)) {}
Device::~Device() = default;

namespace {

// The kernel half of the interface, for devices that override run() or interpret().
[[noreturn]] void no_kernels(const Device& d, const char* what) {
  throw UnsupportedError("device " + d.name() + " does not " + what +
                         ": it runs graphs through its own run() or interpret()");
}

}  // namespace

codegen::LowerOptions Device::lower_options() const { return {}; }
std::shared_ptr<const DeviceKernels> Device::compile(const codegen::Program&, DeviceCounts&) {
  no_kernels(*this, "compile kernels");
}
DeviceBufferPtr Device::allocate(int64_t, const std::string&, DeviceCounts&) {
  no_kernels(*this, "allocate memory");
}
DeviceBufferPtr Device::allocate_result(const Type&, DeviceCounts&) {
  no_kernels(*this, "allocate memory");
}
DeviceBufferPtr Device::copy_in(const BufferPtr&, DeviceCounts&) {
  no_kernels(*this, "copy buffers");
}
BufferPtr Device::copy_out(const DeviceBufferPtr&, const Type&, bool) {
  no_kernels(*this, "copy buffers");
}
std::unique_ptr<BoundLaunch> Device::bind(const DeviceKernels&, const codegen::Program&, size_t,
                                          const std::vector<DeviceBuffer*>&) {
  no_kernels(*this, "launch kernels");
}
void Device::launch(const BoundLaunch&) { no_kernels(*this, "launch kernels"); }

std::vector<BufferPtr> Device::run_custom(const ir::Node& node, const std::vector<BufferPtr>&,
                                          DeviceCounts&) {
  throw UnsupportedError("device " + name() + " does not run custom kernel '" +
                         node.attr_str("name") + "' itself");
}

std::vector<BufferPtr> Device::interpret(const ir::Graph& graph, const std::vector<BufferPtr>&,
                                         DeviceCounts&) {
  throw UnsupportedError("device " + name() + " compiles graphs; it does not interpret graph " +
                         graph.name);
}

void register_builtin_backends();  // runtime/backends.cpp

namespace {

struct Registry {
  // Recursive: registering the built-in backends registers factories from inside the lock.
  std::recursive_mutex mutex;
  bool builtins_registered = false;
  std::vector<std::pair<std::string, DeviceFactory>> factories;

  std::shared_ptr<Device> default_device;  // set_default_device, or made from default_spec
  bool default_is_explicit = false;
  std::string default_spec;
};

Registry& registry() {
  static Registry r;
  std::lock_guard lock(r.mutex);
  if (!r.builtins_registered) {
    r.builtins_registered = true;
    register_builtin_backends();
  }
  return r;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

// What a known backend needs at build time, for the message when it is absent.
std::string build_hint(std::string_view name) {
  if (name == "cpu")
    return "the CPU backend needs LLVM 14 when kiln is built (cmake -DKILN_WITH_LLVM=ON, "
           "Debian package llvm-14-dev)";
  if (name == "opencl")
    return "the OpenCL backend needs an OpenCL ICD loader when kiln is built "
           "(cmake -DKILN_WITH_OPENCL=ON, Debian package ocl-icd-opencl-dev)";
  return "";
}

}  // namespace

void register_device_factory(std::string name, DeviceFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& [n, f] : r.factories) {
    if (n == name) {
      f = std::move(factory);
      return;
    }
  }
  r.factories.emplace_back(std::move(name), std::move(factory));
}

std::vector<std::string> available_devices() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

std::shared_ptr<Device> make_device(std::string_view spec) {
  // Factories run outside the lock: they may be slow (driver start-up) or make devices.
  std::vector<std::pair<std::string, DeviceFactory>> factories;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    factories = r.factories;
  }
  std::vector<std::string> names;
  for (const auto& [n, f] : factories) names.push_back(n);
  std::string available = "available devices: " + join(names) +
                          " (\"opencl:N\" picks one OpenCL device, and a part of a device's "
                          "name picks the first device whose name contains it)";

  std::string_view prefix = spec.substr(0, spec.find(':'));
  for (const auto& [n, factory] : factories) {
    if (n != spec && n != prefix) continue;
    if (auto device = factory(spec)) return device;
    throw DeviceError("no device '" + std::string(spec) + "'; " + available);
  }
  std::string hint = build_hint(prefix);
  if (!hint.empty())
    throw DeviceError("device '" + std::string(spec) + "' is not built into this kiln: " + hint +
                      "; " + available);
  if (spec.empty()) throw DeviceError("empty device name; " + available);

  // A device-name substring: the first factory that recognizes it wins. A factory that
  // fails (say, no OpenCL platform) does not stop the search, but its reason is reported.
  std::string reasons;
  for (const auto& [n, factory] : factories) {
    try {
      if (auto device = factory(spec)) return device;
    } catch (const DeviceError& e) {
      reasons += std::string("; ") + n + ": " + e.what();
    }
  }
  throw DeviceError("unknown device '" + std::string(spec) + "'; " + available + reasons);
}

std::shared_ptr<Device> default_device() {
  Registry& r = registry();
  std::string spec;
  const char* env = std::getenv("KILN_DEVICE");
  {
    std::lock_guard lock(r.mutex);
    if (r.default_is_explicit) return r.default_device;
    if (env && *env) {
      spec = env;
    } else {
      spec = "reference";
      for (const auto& [n, f] : r.factories)
        if (n == "cpu") spec = "cpu";
    }
    if (r.default_device && r.default_spec == spec) return r.default_device;
  }
  // Made outside the lock, like every device (see make_device).
  std::shared_ptr<Device> device;
  try {
    device = make_device(spec);
  } catch (const DeviceError& e) {
    if (env && *env) throw DeviceError(std::string("KILN_DEVICE: ") + e.what());
    throw;
  }
  std::lock_guard lock(r.mutex);
  if (r.default_is_explicit) return r.default_device;
  if (!(r.default_device && r.default_spec == spec)) {
    r.default_device = std::move(device);
    r.default_spec = spec;
  }
  return r.default_device;
}

void set_default_device(std::shared_ptr<Device> device) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.default_is_explicit = device != nullptr;
  r.default_device = std::move(device);
  r.default_spec.clear();
}

}  // namespace kiln::runtime
