// The Device interface every backend implements, the registry that makes devices from a
// spec string ("reference", "cpu", "opencl:1", "H100"), and the process's default device.
// Tests: tests/runtime/device_test.cpp, tests/runtime/driver_test.cpp.
//
// A device only compiles, allocates, copies and launches: the driver (runtime/driver.h)
// runs the graph passes, schedules, lowers, caches plans, checks inputs, binds buffers and
// counts statistics, once for every device. A device that interprets graphs instead
// (the reference evaluator) says so and is handed whole graphs. A device of the user's
// own may instead override run() and do everything itself (say, wrap another device);
// the parts of the interface it does not implement throw UnsupportedError.
//
// A backend registers a factory under its name. Inside the static library a backend's
// static initializer would be dropped by the linker, so built-in backends register through
// a hook instead: runtime/<name>/register.h declares `void register_<name>_device();`
// (cpu, opencl), and runtime/backends.cpp calls it when KILN_HAS_LLVM / KILN_HAS_OPENCL
// is set and that header exists. Nothing in this file changes when a backend is added.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::codegen {
struct LowerOptions;
struct Program;
}  // namespace kiln::codegen

namespace kiln::runtime {

class PlanCache;

// Device memory, as a device's allocate and copy_in make it; each device subclasses it.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
};
using DeviceBufferPtr = std::shared_ptr<DeviceBuffer>;

// The kernels of one program in a device's form (what compile returns).
class DeviceKernels {
 public:
  virtual ~DeviceKernels() = default;
};

// One launch of a program with its buffers and scalar arguments bound (what bind returns);
// launch() may enqueue it any number of times.
class BoundLaunch {
 public:
  virtual ~BoundLaunch() = default;
  int64_t launches = 0;  // device launches one launch() makes, for Stats::launches
};

// What the device did for one run, added to kiln::stats() by the driver.
struct DeviceCounts {
  int64_t kernels_compiled = 0, cache_hits_memory = 0, cache_hits_disk = 0;
  double compile_seconds = 0;
  int64_t bytes_allocated = 0;  // fresh device memory (reused or resident memory is not)
  int64_t bytes_host_to_device = 0, bytes_device_to_host = 0;  // copies over the bus
  int64_t nodes_evaluated = 0;                                 // interpreters: body nodes computed
  int64_t launches = 0;                                        // run_custom: kernels launched
};

class Device {
 public:
  Device();
  virtual ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // "reference", "cpu", "opencl:0 (NVIDIA H100)".
  virtual std::string name() const = 0;

  // How the driver lowers graphs to KernelIR for this device (vector lanes, threads); the
  // default is codegen's defaults (one thread).
  virtual codegen::LowerOptions lower_options() const;
  // Every kernel of `program` in the device's form: from the device's caches, or built.
  virtual std::shared_ptr<const DeviceKernels> compile(const codegen::Program& program,
                                                       DeviceCounts& counts);
  // `bytes` of working memory (memory-plan slots), named `what` in errors.
  virtual DeviceBufferPtr allocate(int64_t bytes, const std::string& what, DeviceCounts& counts);
  // The memory of a graph result of `type` (not empty).
  virtual DeviceBufferPtr allocate_result(const Type& type, DeviceCounts& counts);
  // The device's copy of `host` (an input or a constant, not empty); the copy may still be
  // in flight. Buffers never change once a graph reads them, so a device may keep copies.
  virtual DeviceBufferPtr copy_in(const BufferPtr& host, DeviceCounts& counts);
  // A host buffer of `type` that holds `mem` once synchronize() returns. With `keep`, `mem`
  // is not written again: the device may keep it as the copy of the returned buffer, or
  // return a buffer whose contents stay on the device until the host reads them
  // (DeviceContents), so results that feed later graphs never cross the bus.
  virtual BufferPtr copy_out(const DeviceBufferPtr& mem, const Type& type, bool keep);
  // Launch `index` of `program` with one buffer per entry of its Launch::buffers (null for
  // an empty value) and its scalars, ready to launch.
  virtual std::unique_ptr<BoundLaunch> bind(const DeviceKernels& kernels,
                                            const codegen::Program& program, size_t index,
                                            const std::vector<DeviceBuffer*>& buffers);
  // Starts `launch` after everything launched before (it may return before it is done).
  virtual void launch(const BoundLaunch& launch);
  // Waits until everything launched and copied is done.
  virtual void synchronize() {}

  // Whether run_custom runs custom kernels (ir op `custom`); the driver sends those of
  // other devices to the process's runner (runtime/custom_kernel.h).
  virtual bool runs_custom_kernels() const { return false; }
  // Runs the custom kernel behind `node` on `operands`; returns all of its outputs.
  virtual std::vector<BufferPtr> run_custom(const ir::Node& node,
                                            const std::vector<BufferPtr>& operands,
                                            DeviceCounts& counts);

  // Whether the device runs whole graphs itself through interpret(), op by op, instead of
  // compiling them (the reference evaluator).
  virtual bool interprets() const { return false; }
  virtual std::vector<BufferPtr> interpret(const ir::Graph& graph,
                                           const std::vector<BufferPtr>& inputs,
                                           DeviceCounts& counts);

  // Runs `graph` on one host buffer per parameter (in order) and returns one host buffer
  // per result. The default is the driver's run_graph (runtime/driver.h) on this device.
  virtual std::vector<BufferPtr> run(const ir::Graph& graph, const std::vector<BufferPtr>& inputs);

  // The driver's plans for this device (graph -> program, by structure).
  PlanCache& plans() { return *plans_; }

 private:
  std::unique_ptr<PlanCache> plans_;
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

// The reference evaluator as a device: it interprets graphs (kiln::stats() counts
// graphs_run, nodes_evaluated, bytes_allocated and run_seconds) and has no kernels.
class ReferenceDevice : public Device {
 public:
  std::string name() const override { return "reference"; }
  bool interprets() const override { return true; }
  std::vector<BufferPtr> interpret(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                   DeviceCounts& counts) override;
  // Custom kernels run inside interpret(), node by node.
  bool runs_custom_kernels() const override { return true; }
};

}  // namespace kiln::runtime
