// The Device interface every backend implements, the registry that makes devices from a
// spec string ("reference", "cpu", "opencl:1", "H100"), and the process's default device.
// Tests: tests/runtime/device_test.cpp.
//
// A backend registers a factory under its name. Inside the static library a backend's
// static initializer would be dropped by the linker, so built-in backends register through
// a hook instead: runtime/<name>/register.h declares `void register_<name>_device();`
// (cpu, opencl), and runtime/backends.cpp calls it when KILN_HAS_LLVM / KILN_HAS_OPENCL
// is set and that header exists. Nothing in this file changes when a backend is added.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::runtime {

class Device {
 public:
  virtual ~Device() = default;
  // "reference", "cpu", "opencl:0 (NVIDIA H100)".
  virtual std::string name() const = 0;
  // Runs `graph` on one host buffer per parameter (in order) and returns one host buffer
  // per result.
  virtual std::vector<BufferPtr> run(const ir::Graph& graph,
                                     const std::vector<BufferPtr>& inputs) = 0;
  // Whether run() takes graphs with custom OpenCL kernels (ir op `custom`) itself; for the
  // others, run_graph (runtime/custom_kernel.h) cuts the graph around them.
  virtual bool runs_custom_kernels() const { return false; }
};

// Makes a device from `spec`. Its name makes it the factory's: the whole spec, or the part
// before ':' ("opencl:1" goes to "opencl"). A factory may return nullptr for a spec that
// names none of its devices. A spec that no name claims is offered to every factory in
// turn as a device-name substring ("H100"). Anything unknown or not built throws
// DeviceError listing what is available.
using DeviceFactory = std::function<std::shared_ptr<Device>(std::string_view spec)>;

std::shared_ptr<Device> make_device(std::string_view spec);
// Registers (or replaces) the factory for `name`.
void register_device_factory(std::string name, DeviceFactory factory);
// The registered names, in registration order ("reference" first).
std::vector<std::string> available_devices();

// set_default_device() if called, else KILN_DEVICE, else the best built backend ("cpu" if
// registered, else "reference"). The device is made once and kept while its spec holds.
std::shared_ptr<Device> default_device();
// nullptr goes back to KILN_DEVICE / the best backend.
void set_default_device(std::shared_ptr<Device> device);

// The reference evaluator as a device; counts graphs_run, nodes_evaluated,
// bytes_allocated and run_seconds in kiln::stats().
class ReferenceDevice : public Device {
 public:
  std::string name() const override { return "reference"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) override;
  bool runs_custom_kernels() const override { return true; }  // node by node
};

}  // namespace kiln::runtime
