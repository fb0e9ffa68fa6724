// The driver: run_graph, prepare and the Executable they use (see driver.h).
#include "runtime/driver.h"

#include <algorithm>
#include <chrono>
#include <new>

#include "ir/error.h"
#include "ir/inputs.h"
#include "passes/pipeline.h"
#include "runtime/custom_kernel.h"
#include "runtime/stats.h"

namespace kiln::runtime {

namespace {

using codegen::ProgramValue;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Adds a run (`graphs` of them: custom kernels are not graphs) to kiln::stats().
void count_run(const DeviceCounts& c, int64_t graphs, int64_t launches, double seconds) {
  add_stats([&](Stats& st) {
    st.graphs_run += graphs;
    st.launches += launches;
    st.kernels_compiled += c.kernels_compiled;
    st.cache_hits_memory += c.cache_hits_memory;
    st.cache_hits_disk += c.cache_hits_disk;
    st.compile_seconds += c.compile_seconds;
    st.bytes_allocated += c.bytes_allocated;
    st.bytes_host_to_device += c.bytes_host_to_device;
    st.bytes_device_to_host += c.bytes_device_to_host;
    st.nodes_evaluated += c.nodes_evaluated;
    st.run_seconds += seconds;
  });
}

// A plan on inputs checked already: prepare, launch, read back.
std::vector<BufferPtr> run_checked_plan(Device& device,
                                        const std::shared_ptr<const CompiledGraph>& plan,
                                        const std::vector<BufferPtr>& inputs,
                                        Clock::time_point start) {
  Executable exe(device, plan->program, plan, inputs);
  exe.enqueue();
  // The results' device memory is not written again: the device may keep it as the copy of
  // the host buffers read back, for the evals that take them as inputs.
  std::vector<BufferPtr> results = exe.read_results(/*keep=*/true);
  count_run(exe.counts(), 1, exe.launches_per_run(), seconds_since(start));
  return results;
}

// One graph without custom kernels, its inputs checked.
std::vector<BufferPtr> run_fused(Device& device, const ir::Graph& graph,
                                 const std::vector<BufferPtr>& inputs) {
  const auto start = Clock::now();
  if (device.interprets()) {
    DeviceCounts counts;
    std::vector<BufferPtr> results = device.interpret(graph, inputs, counts);
    count_run(counts, 1, 0, seconds_since(start));
    return results;
  }
  return run_checked_plan(
      device, device.plans().get(graph, [&](ir::Graph& g) { return compile_graph(g, device); }),
      inputs, start);
}

// Turns the C++ library's out-of-memory failures of `run` into kiln's error.
template <class Run>
std::vector<BufferPtr> out_of_memory_explained(const Device& device, const ir::Graph& graph,
                                               const Run& run) {
  try {
    return run();
  } catch (const std::bad_alloc&) {
    // Buffers fail with their size (ir/host_memory.h); this is the bookkeeping of a graph
    // too large for what memory is left.
    throw DeviceError("out of host memory running graph " + graph.name + " (" +
                      std::to_string(graph.nodes.size()) + " nodes) on " + device.name() +
                      "; evaluate a smaller batch or a smaller graph, or lower KILN_HOST_CACHE_MB "
                      "so that kiln keeps less freed memory for reuse");
  }
}

}  // namespace

// ---- Executable ----

Executable::Executable(Device& device, const codegen::Program& program,
                       std::shared_ptr<const CompiledGraph> plan,
                       const std::vector<BufferPtr>& inputs)
    : device_(device), program_(program), plan_(std::move(plan)) {
  try {
    kernels_ = device.compile(program, counts_);
    bind_buffers(inputs);
    std::vector<DeviceBuffer*> buffers;
    bound_.reserve(program.launches.size());
    for (size_t i = 0; i < program.launches.size(); ++i) {
      buffers.clear();
      for (int id : program.launches[i].buffers)
        buffers.push_back(memory_[static_cast<size_t>(id)].get());
      bound_.push_back(device.bind(*kernels_, program, i, buffers));
      launches_per_run_ += bound_.back()->launches;
    }
  } catch (...) {
    wait_quietly();  // copies already started read the buffers about to be released
    throw;
  }
}

void Executable::bind_buffers(const std::vector<BufferPtr>& inputs) {
  const codegen::Program& p = program_;
  // Only the values that launches touch or that are results get device memory.
  std::vector<bool> used(p.values.size(), false);
  for (const codegen::Launch& l : p.launches)
    for (int id : l.buffers) used[static_cast<size_t>(id)] = true;
  for (int id : p.results) used[static_cast<size_t>(id)] = true;

  for (int64_t bytes : p.memory.slot_bytes)
    slots_.push_back(device_.allocate(bytes, "an intermediate buffer", counts_));
  memory_.assign(p.values.size(), nullptr);
  hosts_.assign(p.values.size(), nullptr);
  for (size_t i = 0; i < p.values.size(); ++i) {
    const ProgramValue& v = p.values[i];
    if (v.kind == ProgramValue::Kind::Parameter)
      hosts_[i] = inputs.at(static_cast<size_t>(v.param));
    if (v.kind == ProgramValue::Kind::Constant) hosts_[i] = v.node->buffer;
    if (!used[i] || v.numel == 0) continue;
    switch (v.kind) {
      case ProgramValue::Kind::Parameter:
      case ProgramValue::Kind::Constant: memory_[i] = device_.copy_in(hosts_[i], counts_); break;
      case ProgramValue::Kind::Result:
        memory_[i] = device_.allocate_result(v.node->type, counts_);
        break;
      case ProgramValue::Kind::Intermediate:
      case ProgramValue::Kind::Temp:
        if (v.slot >= 0) memory_[i] = slots_[static_cast<size_t>(v.slot)];
        break;
    }
  }
}

Executable::~Executable() { wait_quietly(); }

void Executable::wait_quietly() noexcept {
  try {
    device_.synchronize();
  } catch (...) {  // a failed device reports at its next call; this one must not throw
  }
}

void Executable::enqueue() {
  for (const auto& b : bound_) device_.launch(*b);
}

void Executable::finish() { device_.synchronize(); }

std::vector<BufferPtr> Executable::read_results(bool keep) {
  const std::vector<int>& results = program_.results;
  std::vector<BufferPtr> out;
  for (size_t r = 0; r < results.size(); ++r) {
    const auto v = static_cast<size_t>(results[r]);
    if (hosts_[v]) {
      out.push_back(hosts_[v]);
    } else if (!memory_[v]) {  // empty
      out.push_back(std::make_shared<Buffer>(program_.values[v].node->type));
    } else {
      // A value returned twice is kept once.
      const bool first = std::find(results.begin(), results.begin() + static_cast<long>(r),
                                   results[r]) == results.begin() + static_cast<long>(r);
      out.push_back(device_.copy_out(memory_[v], program_.values[v].node->type, keep && first));
    }
  }
  finish();
  return out;
}

// ---- the driver ----

codegen::Program compile_graph(ir::Graph& graph, const Device& device) {
  passes::optimize_graph(graph);
  return codegen::build_program(graph, device.lower_options());
}

std::unique_ptr<Executable> prepare(Device& device, const ir::Graph& graph,
                                    const std::vector<BufferPtr>& inputs) {
  ir::check_inputs(graph, inputs);
  if (has_custom_kernels(graph))
    throw UnsupportedError("prepare: graph " + graph.name +
                           " holds custom kernels; run it with run_graph (Device::run)");
  if (device.interprets())
    throw UnsupportedError("prepare: device " + device.name() +
                           " interprets graphs; run them with run_graph (Device::run)");
  std::shared_ptr<const CompiledGraph> plan =
      device.plans().get(graph, [&](ir::Graph& g) { return compile_graph(g, device); });
  return std::make_unique<Executable>(device, plan->program, plan, inputs);
}

namespace {

// What run_graph does, with out-of-memory failures of the C++ library left as they are.
std::vector<BufferPtr> run_graph_unguarded(Device& device, const ir::Graph& graph,
                                           const std::vector<BufferPtr>& inputs) {
  if ((device.interprets() && device.runs_custom_kernels()) || !has_custom_kernels(graph))
    return run_fused(device, graph, inputs);
  return run_with_custom_kernels(
      graph, inputs,
      [&](const ir::Graph& g, const std::vector<BufferPtr>& in) {
        return run_fused(device, g, in);
      },
      [&](const ir::Node& n, const std::vector<BufferPtr>& ops) {
        return device.runs_custom_kernels() ? run_custom(device, n, ops)
                                            : run_custom_kernel(n, ops);
      });
}

}  // namespace

std::vector<BufferPtr> run_graph(Device& device, const ir::Graph& graph,
                                 const std::vector<BufferPtr>& inputs) {
  ir::check_inputs(graph, inputs);
  return out_of_memory_explained(device, graph,
                                 [&] { return run_graph_unguarded(device, graph, inputs); });
}

std::vector<BufferPtr> run_plan(Device& device, const std::shared_ptr<const CompiledGraph>& plan,
                                const std::vector<BufferPtr>& inputs) {
  const auto start = Clock::now();
  ir::check_inputs(plan->graph, inputs);
  return out_of_memory_explained(device, plan->graph,
                                 [&] { return run_checked_plan(device, plan, inputs, start); });
}

std::vector<BufferPtr> run_program(Device& device, const codegen::Program& program,
                                   const std::vector<BufferPtr>& inputs) {
  const auto start = Clock::now();
  Executable exe(device, program, nullptr, inputs);
  exe.enqueue();
  std::vector<BufferPtr> results = exe.read_results(/*keep=*/true);
  count_run(exe.counts(), 1, exe.launches_per_run(), seconds_since(start));
  return results;
}

std::vector<BufferPtr> run_custom(Device& device, const ir::Node& node,
                                  const std::vector<BufferPtr>& operands) {
  const auto start = Clock::now();
  DeviceCounts counts;
  std::vector<BufferPtr> outputs = device.run_custom(node, operands, counts);
  count_run(counts, 0, counts.launches, seconds_since(start));
  return outputs;
}

std::vector<BufferPtr> Device::run(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) {
  return run_graph(*this, graph, inputs);
}

}  // namespace kiln::runtime
