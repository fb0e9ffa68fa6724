// OpenCLDevice: runs graphs as OpenCL kernels on one device (a GPU, or the CPU through
// PoCL), through the same pipeline as the CPU device: graph passes (passes/pipeline.h),
// schedule and lowering to KernelIR (codegen/program.h), the OpenCL C renderer
// (codegen/opencl/render_kernel.h), programs from the ProgramCache, then launches.
//
// Each device has one context and one in-order queue. Launches never block the host: a
// run enqueues the uploads of its inputs, every kernel and the reads of its results, and
// waits once, at the end, which is the run's host sync. prepare() stops before that: the
// returned OpenCLExecutable holds the device buffers and kernels with their arguments
// set, and replays the launches on demand (what benchmarks time, and what keeps data on
// the device between runs). Work is counted in kiln::stats(): graphs_run, launches,
// kernels_compiled, cache_hits_memory, cache_hits_disk, compile_seconds,
// bytes_allocated, run_seconds. KILN_OPENCL_DUMP=DIR writes every rendered program to
// DIR/<kernel>.cl. Tests: tests/runtime/opencl/.
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
#include "runtime/opencl/cl_api.h"
#include "runtime/opencl/platform.h"
#include "runtime/opencl/program_cache.h"
#include "runtime/plan_cache.h"

namespace kiln::runtime::opencl {

class OpenCLDevice;

// A graph compiled for a device, its buffers allocated and uploaded, its kernels' arguments
// set. Not thread safe; one executable per thread.
class OpenCLExecutable {
 public:
  OpenCLExecutable(const OpenCLExecutable&) = delete;
  OpenCLExecutable& operator=(const OpenCLExecutable&) = delete;
  ~OpenCLExecutable();

  // Enqueues every launch in order and returns without waiting.
  void enqueue();
  // Waits until everything enqueued on the device's queue is done.
  void finish();
  // Waits, then copies each result into a new host buffer (parameters and constants that
  // are results are returned as they are).
  std::vector<BufferPtr> read_results();

  int64_t launches_per_run() const { return static_cast<int64_t>(steps_.size()); }
  // Launch `i` as the raw OpenCL objects (benchmarks compare with a bare enqueue of them).
  cl_kernel launch_kernel(size_t i) const { return steps_.at(i).kernel.get(); }
  size_t launch_global(size_t i) const { return steps_.at(i).global; }
  size_t launch_local(size_t i) const { return steps_.at(i).local; }
  // Distinct kernels, and what getting them cost (the statistics of prepare()).
  int64_t kernels() const { return kernels_; }
  int64_t kernels_compiled = 0, cache_hits_memory = 0, cache_hits_disk = 0;
  double compile_seconds = 0;
  int64_t bytes_allocated = 0;
  // The rendered kernels (for tests and logs), in program order.
  std::vector<codegen::opencl::RenderedKernel> rendered;

 private:
  friend class OpenCLDevice;
  explicit OpenCLExecutable(OpenCLDevice& device) : device_(device) {}

  // Ownership of result r's device buffer (null for results that are inputs or empty).
  std::shared_ptr<MemHandle> release_result(size_t r);

  struct Step {
    KernelHandle kernel;
    size_t global = 0, local = 0;
    std::string what;
  };
  OpenCLDevice& device_;
  std::vector<Step> steps_;
  std::vector<MemHandle> owned_;                    // every device buffer it allocated
  std::vector<std::shared_ptr<MemHandle>> inputs_;  // device copies of its inputs (shared)
  std::vector<cl_mem> value_mem_;                   // per program value
  std::vector<codegen::ProgramValue> values_;
  std::vector<int> results_;        // program value per graph result
  std::vector<Type> result_types_;  // per graph result (the program's nodes die with it)
  std::vector<BufferPtr> hosts_;    // per program value: host buffers of inputs/constants
  int64_t kernels_ = 0;
};

class OpenCLDevice : public Device {
 public:
  // `target` overrides what the renderer assumes (tests force kernel shapes with it).
  explicit OpenCLDevice(const DeviceInfo& info,
                        std::optional<codegen::opencl::OpenCLTarget> target = std::nullopt);
  ~OpenCLDevice() override;

  // "opencl:0 (NVIDIA H100 80GB HBM3)".
  std::string name() const override;
  std::vector<BufferPtr> run(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) override;
  bool runs_custom_kernels() const override { return true; }

  // Compiles `graph` (a copy is optimized), allocates its buffers and enqueues the uploads
  // of `inputs`; nothing runs until enqueue(). Graphs with custom kernels go through run().
  std::unique_ptr<OpenCLExecutable> prepare(const ir::Graph& graph,
                                            const std::vector<BufferPtr>& inputs);

  // Runs the custom kernel behind `node` (codegen/opencl/custom_kernel.h) on `operands`
  // and returns all of its outputs. The program is built once per source, parameter
  // values, shapes and device, and cached like every other.
  std::vector<BufferPtr> run_custom(const ir::Node& node, const std::vector<BufferPtr>& operands);

  const DeviceInfo& info() const { return info_; }
  const codegen::opencl::OpenCLTarget& target() const { return target_; }
  cl_context context() const { return context_.get(); }
  cl_command_queue queue() const { return queue_.get(); }
  ProgramCache& programs() { return *programs_; }
  // The options every program is built with (and KILN_OPENCL_OPTIONS appended).
  const std::string& build_options() const { return options_; }
  // A device buffer of `bytes` (at least 1); DeviceError naming `what` when it cannot be had.
  MemHandle allocate(int64_t bytes, cl_mem_flags flags, const std::string& what);
  // The program of `source`, through the cache; counts its `kernels` into `exe`'s
  // statistics (compiled, or cache hits).
  cl_program program(const std::string& source, const std::string& what, OpenCLExecutable* exe,
                     int64_t kernels = 1);

  // The lowering options for this device (vector lanes).
  codegen::LowerOptions lower_options() const;

  // The device copy of `host`, an input of a graph: uploaded (enqueued) the first time,
  // the same copy while `host` lives (results read back by run() keep theirs too). A Buffer's
  // contents never change once a graph reads it (the API has no way to write one), so weights and
  // other inputs that come back are not uploaded again. The least recently used copies are dropped
  // beyond a quarter of the device's memory. `uploaded` says whether this call enqueued an upload.
  std::shared_ptr<MemHandle> resident_copy(const BufferPtr& host, bool* uploaded);
  // Bytes of the copies kept.
  int64_t resident_bytes();
  // Keeps `mem` as the device copy of `host` (whose contents it must hold).
  void keep_resident(const BufferPtr& host, std::shared_ptr<MemHandle> mem);

 private:
  struct CompiledKernel {
    codegen::opencl::RenderedKernel rendered;
    cl_program program = nullptr;
  };
  std::vector<BufferPtr> run_fused(const ir::Graph& graph, const std::vector<BufferPtr>& inputs);
  // The compiled form of every kernel of `program`; those not compiled yet are rendered
  // and built together, as one program.
  std::vector<const CompiledKernel*> compile_all(const codegen::Program& program,
                                                 OpenCLExecutable& exe);

  DeviceInfo info_;
  codegen::opencl::OpenCLTarget target_;
  ContextHandle context_;
  QueueHandle queue_;
  std::unique_ptr<ProgramCache> programs_;
  std::string options_;
  std::mutex mutex_;
  std::map<uint64_t, CompiledKernel> kernels_;
  PlanCache plans_{256};  // graph -> program, by structure

  // Releases the copies whose host buffers are gone (the _locked form holds the mutex).
  void drop_stale_resident();
  void drop_stale_resident_locked();

  struct Resident {
    std::weak_ptr<const Buffer> host;  // the entry is stale once this expires
    std::shared_ptr<MemHandle> mem;
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
