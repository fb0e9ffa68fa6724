// OpenCLDevice: a device of the driver (runtime/driver.h) that runs kernels through OpenCL
// on one device (a GPU, or the CPU through PoCL). compile renders the program's kernels
// that are new to the device with the OpenCL C renderer (codegen/opencl/render_kernel.h)
// and builds them together, through the ProgramCache; memory is OpenCL buffers; bind
// creates one cl_kernel per launch with its arguments set, so a prepared executable
// replays launches with nothing but clEnqueueNDRangeKernel.
//
// Each device has one context and one in-order queue. Launches and copies never block the
// host: a run enqueues the uploads of its inputs and every kernel, and waits once, at the
// end (synchronize), which is the run's host sync. Results stay in device memory
// (ClContents) until the host reads them, and uploaded inputs stay on the device while
// their host buffers live (resident_copy), so parameters and optimizer state that go from
// one step's results to the next step's inputs never cross the bus. KILN_OPENCL_DUMP=DIR writes
// every rendered program to DIR/<kernel>.cl. Tests: tests/runtime/opencl/.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/opencl/render_kernel.h"
#include "codegen/program.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/opencl/cl_api.h"
#include "runtime/opencl/kernel_profile.h"
#include "runtime/opencl/platform.h"
#include "runtime/opencl/program_cache.h"

namespace kiln::kernels::opencl {
class GemmTuner;
}

namespace kiln::runtime::opencl {

// An OpenCL buffer as the driver holds it.
struct ClBuffer : DeviceBuffer {
  explicit ClBuffer(MemHandle m) : mem(std::move(m)) {}
  MemHandle mem;
};

// A result that stays in device memory until the host reads it (Buffer::data()); the
// buffer's copy_in on the same device (same queue) binds `mem` itself.
class ClContents : public DeviceContents {
 public:
  ClContents(std::shared_ptr<ClBuffer> mem, cl_command_queue queue);
  // A blocking read on the queue, after everything enqueued before; counted in
  // Stats::bytes_device_to_host.
  void read(std::byte* dst, size_t bytes) const override;
  const std::shared_ptr<ClBuffer>& mem() const { return mem_; }
  cl_command_queue queue() const { return queue_.get(); }

 private:
  std::shared_ptr<ClBuffer> mem_;
  QueueHandle queue_;  // retained: the buffer may outlive its device
};

// One launch of a kiln kernel as OpenCL runs it: a cl_kernel with its arguments set.
struct ClStep {
  KernelHandle kernel;
  size_t global = 0, local = 0;
  std::string what;
};

class OpenCLDevice : public Device {
 public:
  // `target` overrides what the renderer assumes (tests force kernel shapes with it).
  explicit OpenCLDevice(const DeviceInfo& info,
                        std::optional<codegen::opencl::OpenCLTarget> target = std::nullopt);
  ~OpenCLDevice() override;

  // "opencl:0 (NVIDIA H100 80GB HBM3)".
  std::string name() const override;

  // The lowering options for this device (vector lanes).
  codegen::LowerOptions lower_options() const override;
  // Drops the resident copies whose host buffers are gone first: a run starts with
  // compile, before it allocates.
  std::shared_ptr<const DeviceKernels> compile(const codegen::Program& program,
                                               DeviceCounts& counts) override;
  DeviceBufferPtr allocate(int64_t bytes, const std::string& what, DeviceCounts& counts) override;
  DeviceBufferPtr allocate_result(const Type& type, DeviceCounts& counts) override;
  // The resident copy of `host` (see resident_copy).
  DeviceBufferPtr copy_in(const BufferPtr& host, DeviceCounts& counts) override;
  BufferPtr copy_out(const DeviceBufferPtr& mem, const Type& type, bool keep) override;
  std::unique_ptr<BoundLaunch> bind(const DeviceKernels& kernels, const codegen::Program& program,
                                    size_t index,
                                    const std::vector<DeviceBuffer*>& buffers) override;
  void launch(const BoundLaunch& launch) override;
  void synchronize() override;

  // Runs the custom kernel behind `node` (codegen/opencl/custom_kernel.h) on `operands`
  // and returns all of its outputs. The program is built once per source, parameter
  // values, shapes and device, and cached like every other.
  bool runs_custom_kernels() const override { return true; }
  std::vector<BufferPtr> run_custom(const ir::Node& node, const std::vector<BufferPtr>& operands,
                                    DeviceCounts& counts) override;

  // The rendered kernels of a prepared executable (in program order), and its launches
  // as OpenCL objects (benchmarks compare them with a bare enqueue).
  static std::vector<codegen::opencl::RenderedKernel> rendered(const Executable& exe);
  static std::vector<const ClStep*> steps(const Executable& exe);

  const DeviceInfo& info() const { return info_; }
  const codegen::opencl::OpenCLTarget& target() const { return target_; }
  cl_context context() const { return context_.get(); }
  cl_command_queue queue() const { return queue_.get(); }
  ProgramCache& programs() { return *programs_; }
  // Chooses the tiles of GEMM kernels (kernels/opencl/gemm_tuner.h); times candidates when
  // KILN_TUNE=1 (KILN_TUNE_CANDIDATES=N: only the first N).
  kernels::opencl::GemmTuner& gemm_tuner() { return *tuner_; }
  // The options every program is built with (and KILN_OPENCL_OPTIONS appended).
  const std::string& build_options() const { return options_; }
  // The KILN_OPENCL_PROFILE table so far (kernel_profile.h); "" when not profiling.
  std::string profile_report();
  // A device buffer of `bytes` (at least 1); DeviceError naming `what` when it cannot be had.
  MemHandle allocate(int64_t bytes, cl_mem_flags flags, const std::string& what);
  using Device::allocate;
  // The program of `source`, through the cache; counts its `kernels` into `counts`
  // (compiled, or cache hits) when given.
  cl_program program(const std::string& source, const std::string& what, DeviceCounts* counts,
                     int64_t kernels = 1);

  // The device copy of `host`, an input of a graph: uploaded (enqueued) the first time,
  // the same copy while `host` lives (a result of this device is its own copy). A Buffer's
  // contents never change once a graph reads it (the API has no way to write one), so weights and
  // other inputs that come back are not uploaded again. The least recently used copies are dropped
  // beyond a quarter of the device's memory. `uploaded` says whether this call enqueued an upload.
  std::shared_ptr<ClBuffer> resident_copy(const BufferPtr& host, bool* uploaded);
  // Bytes of the copies kept.
  int64_t resident_bytes();
  // Keeps `mem` as the device copy of `host` (whose contents it must hold).
  void keep_resident(const BufferPtr& host, std::shared_ptr<ClBuffer> mem);

  struct CompiledKernel {
    codegen::opencl::RenderedKernel rendered;
    cl_program program = nullptr;
  };

 private:
  // Renders `missing` kernels of `program` and builds them together, as one program.
  std::vector<CompiledKernel> build(const codegen::Program& program,
                                    const std::vector<size_t>& missing, DeviceCounts& counts);

  DeviceInfo info_;
  codegen::opencl::OpenCLTarget target_;
  ContextHandle context_;
  QueueHandle queue_;
  std::unique_ptr<ProgramCache> programs_;
  std::unique_ptr<kernels::opencl::GemmTuner> tuner_;
  bool tune_ = false;
  std::string options_;
  std::mutex mutex_;
  std::map<uint64_t, CompiledKernel> kernels_;
  MemHandle empty_;                         // bound where a launch's value is empty
  std::unique_ptr<KernelProfile> profile_;  // KILN_OPENCL_PROFILE

  // Releases the copies whose host buffers are gone (the _locked form holds the mutex).
  void drop_stale_resident();
  void drop_stale_resident_locked();

  struct Resident {
    std::weak_ptr<const Buffer> host;  // the entry is stale once this expires
    std::shared_ptr<ClBuffer> mem;
    int64_t bytes = 0;
  };
  std::mutex resident_mutex_;
  std::list<std::pair<const Buffer*, Resident>> resident_;  // most recently used first
  std::unordered_map<const Buffer*, decltype(resident_)::iterator> resident_index_;
  int64_t resident_bytes_ = 0;
};

// The process's device for `info` (one context per device, made on first use).
std::shared_ptr<OpenCLDevice> device_for(const DeviceInfo& info);

}  // namespace kiln::runtime::opencl
