// The backends built into the library. The reference evaluator is always there; a backend
// in runtime/<name>/ that declares `void register_<name>_device();` in
// runtime/<name>/register.h is registered here when it is built (runtime/device.h says why
// registration is not a static initializer).
#include "runtime/device.h"

#if defined(KILN_HAS_LLVM) && __has_include("runtime/cpu/register.h")
#include "runtime/cpu/register.h"
#define KILN_REGISTER_CPU 1
#endif
#if defined(KILN_HAS_OPENCL) && __has_include("runtime/opencl/register.h")
#include "runtime/opencl/register.h"
#define KILN_REGISTER_OPENCL 1
#endif

namespace kiln::runtime {

void register_builtin_backends() {
  register_device_factory("reference", [](std::string_view spec) -> std::shared_ptr<Device> {
    if (spec != "reference") return nullptr;
    static auto device = std::make_shared<ReferenceDevice>();
    return device;
  });
#ifdef KILN_REGISTER_CPU
  register_cpu_device();
#endif
#ifdef KILN_REGISTER_OPENCL
  register_opencl_device();
#endif
}

}  // namespace kiln::runtime
