// The driver: the one path from a graph to results, for every device. A run checks the
// inputs (ir/inputs.h), cuts the graph around custom kernels (runtime/custom_kernel.h),
// takes the device's plan for the graph (runtime/plan_cache.h: the graph passes of
// passes/pipeline.h, then codegen::build_program with the device's lowering options), has
// the device compile the program's kernels, allocates and copies in through the device,
// binds and launches every kernel in order, synchronizes once, copies the results out,
// and counts the run in kiln::stats(): graphs_run, launches, kernels_compiled,
// cache_hits_memory, cache_hits_disk, compile_seconds, bytes_allocated, run_seconds (and
// nodes_evaluated for interpreting devices). Devices only do what runtime/device.h asks.
// Tests: tests/runtime/driver_test.cpp, tests/runtime/cpu/, tests/runtime/opencl/.
#pragma once

#include <memory>
#include <vector>

#include "codegen/program.h"
#include "ir/graph.h"
#include "ir/node.h"
#include "runtime/device.h"
#include "runtime/plan_cache.h"

namespace kiln::runtime {

// A program prepared on a device: kernels compiled, buffers allocated, inputs copied in,
// every launch bound. enqueue() replays the launches (what benchmarks time); the buffers
// stay on the device while it lives. Not thread safe; one executable per thread.
class Executable {
 public:
  Executable(const Executable&) = delete;
  Executable& operator=(const Executable&) = delete;
  // Waits for the device: launches in flight use the executable's buffers.
  ~Executable();

  // Launches every kernel in order, without waiting.
  void enqueue();
  // Waits until everything launched on the device is done.
  void finish();
  // Waits, then returns each result in a host buffer (parameters and constants that are
  // results are returned as they are). With `keep`, the device may keep each result's
  // memory as its copy of the returned buffer (the executable is not replayed after).
  std::vector<BufferPtr> read_results(bool keep = false);

  int64_t launches_per_run() const { return launches_per_run_; }
  // Distinct kernels of the program.
  int64_t kernels() const { return static_cast<int64_t>(program_.kernels.size()); }
  // What preparing cost: compiles, cache hits, fresh device memory.
  const DeviceCounts& counts() const { return counts_; }
  const codegen::Program& program() const { return program_; }
  // The device's form of the kernels, and each bound launch (in order), for the device's
  // own tools (the OpenCL device lists rendered kernels and raw launches from these).
  const DeviceKernels& device_kernels() const { return *kernels_; }
  const std::vector<std::unique_ptr<BoundLaunch>>& bound() const { return bound_; }

  // Prepares `program` on `inputs` (one per graph parameter, checked already); `plan`, when
  // set, is what keeps the program and the nodes it reads alive.
  Executable(Device& device, const codegen::Program& program,
             std::shared_ptr<const CompiledGraph> plan, const std::vector<BufferPtr>& inputs);

 private:
  void bind_buffers(const std::vector<BufferPtr>& inputs);
  // Waits for the device, ignoring its errors (destructor, failed preparation).
  void wait_quietly() noexcept;

  Device& device_;
  const codegen::Program& program_;
  std::shared_ptr<const CompiledGraph> plan_;
  std::shared_ptr<const DeviceKernels> kernels_;
  std::vector<DeviceBufferPtr> memory_;  // per program value; null where empty or unused
  std::vector<DeviceBufferPtr> slots_;   // the memory plan's slots
  std::vector<BufferPtr> hosts_;         // per program value: inputs' and constants' buffers
  std::vector<std::unique_ptr<BoundLaunch>> bound_;
  int64_t launches_per_run_ = 0;
  DeviceCounts counts_;
};

// The program `graph` compiles to on `device`: the graph passes (which rewrite `graph`),
// then scheduling and lowering with the device's options.
codegen::Program compile_graph(ir::Graph& graph, const Device& device);

// Prepares `graph` (through the device's plan cache) on `inputs`, which it checks; nothing
// runs until enqueue(). Graphs with custom kernels go through run_graph.
std::unique_ptr<Executable> prepare(Device& device, const ir::Graph& graph,
                                    const std::vector<BufferPtr>& inputs);
// Runs `graph` on `device` with one buffer per parameter and returns one per result.
std::vector<BufferPtr> run_graph(Device& device, const ir::Graph& graph,
                                 const std::vector<BufferPtr>& inputs);

// Runs a plan of `device`'s plan cache (found by PlanCache::find) on one buffer per
// parameter of its graph, which it checks: run_graph's path after the plan lookup.
std::vector<BufferPtr> run_plan(Device& device, const std::shared_ptr<const CompiledGraph>& plan,
                                const std::vector<BufferPtr>& inputs);

// Runs a program compiled already, on one buffer per parameter of its graph (which must
// still be alive: constants and scalars are read from its nodes). No plan cache.
std::vector<BufferPtr> run_program(Device& device, const codegen::Program& program,
                                   const std::vector<BufferPtr>& inputs);

// Runs one custom kernel on `device` (which runs_custom_kernels()), counted in kiln::stats().
std::vector<BufferPtr> run_custom(Device& device, const ir::Node& node,
                                  const std::vector<BufferPtr>& operands);

}  // namespace kiln::runtime
