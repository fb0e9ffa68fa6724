// Inspecting what kiln does with a graph on a device: the kernels the scheduler and the
// lowering make for that device (with the ops in each and why each stored value is
// stored), a Graphviz picture with one cluster per kernel, and a measured run with a
// summary of the outputs and kiln's statistics. This is the library behind the kiln-ir
// tool (<kiln/inspect.h>); C++ code can call it on graph_of(tensors) too. Graphs given
// here must already be optimized (passes/pipeline.h), as the driver would run them.
// Tests: tests/tools/.
#pragma once

#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"
#include "runtime/device.h"
#include "runtime/stats.h"

namespace kiln::inspect {

// One block per kernel, in launch order:
//
//   kernel 0: pointwise over [4,256], rows [1] (group 0)
//     ops: %1 = broadcast, %2 = sub, %3 = exp, %4 = reduce_sum, %6 = div
//     reads: %x
//     stores: %6 (graph result)
//   kernels: 1
//
// `ops` are the IR values the kernel computes, named as print_graph names them (with the
// source location when the node has one); `stores` gives the reason each stored value is a
// kernel boundary. A group that lowers to several kernels (scatter_add) prints one block
// per kernel. The last line counts the kernels. Groups are lowered with `device`'s options
// (runtime/driver.h), so the kernels are those the device runs; without a device, those of
// the default device.
std::string schedule_report(const ir::Graph& graph, const runtime::Device& device);
std::string schedule_report(const ir::Graph& graph);

// The graph as a Graphviz digraph: parameters and constants as boxes, every kernel a
// cluster holding the ops it computes (a value recomputed by two kernels appears in both),
// edges from each operand to its users. Kernels are counted as schedule_report counts them.
std::string dot_graph(const ir::Graph& graph, const runtime::Device& device);
std::string dot_graph(const ir::Graph& graph);

// Deterministic inputs for a parameter type: floats uniform in [-1, 1), integers in
// [-8, 8) ([0, 16) for u8), bools true with probability 1/2, from kiln's Philox generator
// keyed by `seed`.
BufferPtr random_buffer(const Type& type, uint64_t seed);

// The buffers a run of `graph` takes, one per parameter: bound[i] where it is set (data
// from an IR file's side file), else the next of `given` (which must have the parameter's
// type; when `given` is not empty it must hold exactly one buffer per unbound parameter),
// else random_buffer(type, seed + i). Throws kiln::Error naming the parameter.
std::vector<BufferPtr> run_inputs(const ir::Graph& graph, const std::vector<BufferPtr>& bound,
                                  const std::vector<BufferPtr>& given, uint64_t seed);

struct RunResult {
  std::string device;
  std::vector<BufferPtr> outputs;  // of the last run
  double first_ms = 0;             // the first run, compiles included
  std::vector<double> warm_ms;     // each later run
  Stats stats;                     // counters over all runs (reset at the start)
};

// Runs `graph` on `device` 1 + `warm_runs` times with `inputs` (one per parameter). Resets
// kiln::stats() first; each run is a host sync recorded at `loc`.
RunResult run_graph(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                    const std::shared_ptr<runtime::Device>& device, int warm_runs = 0,
                    std::source_location loc = std::source_location::current());

// One line about a buffer: type, then min / max / mean of its finite values and counts of
// NaN and infinities (floats), and its first elements.
std::string summarize_buffer(const Buffer& buffer);

// The report kiln-ir --run prints: the device, each output's summary (named as the graph
// prints it), the timings, and the statistics (kernels, compiles, cache hits, launches,
// host syncs with their call sites).
std::string run_report(const ir::Graph& graph, const RunResult& result);

}  // namespace kiln::inspect
