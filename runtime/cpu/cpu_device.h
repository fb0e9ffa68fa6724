// CpuDevice: runs graphs as JIT-compiled kernels on the host. A run clones the graph,
// applies the graph passes (passes/pipeline.h), compiles it to a program
// (codegen/program.h), fetches each kernel from the kernel cache (memory, disk, or a fresh
// LLVM compile), allocates the results and the memory plan's slots, and launches every
// kernel over the thread pool. Work is counted in kiln::stats(): graphs_run, launches,
// kernels_compiled, cache_hits_memory, cache_hits_disk, compile_seconds, bytes_allocated,
// run_seconds. Tests: tests/runtime/cpu/, tests/runtime/differential_test.cpp.
#pragma once

#include <string>
#include <vector>

#include "codegen/program.h"
#include "runtime/device.h"
#include "runtime/plan_cache.h"

namespace kiln::runtime::cpu {

class CpuDevice : public Device {
 public:
  std::string name() const override { return "cpu"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) override;

  // The program a graph compiles to (after the graph passes, which rewrite `graph`),
  // without running it.
  static codegen::Program compile(ir::Graph& graph);
  // Runs a compiled program on one buffer per graph parameter (the graph it was compiled
  // from must still be alive: constants and scalars are read from its nodes).
  std::vector<BufferPtr> execute(const codegen::Program& program,
                                 const std::vector<BufferPtr>& inputs);
  // The lowering options for this host (vector lanes, threads).
  static codegen::LowerOptions lower_options();

 private:
  PlanCache plans_{256};
};

}  // namespace kiln::runtime::cpu
