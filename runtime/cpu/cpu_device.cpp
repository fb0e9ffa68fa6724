// CpuDevice::run: compile, fetch kernels, allocate, launch (see cpu_device.h).
#include "runtime/cpu/cpu_device.h"

#include <chrono>
#include <exception>

#include "codegen/llvm/compiler.h"
#include "codegen/llvm/emit_kernel.h"
#include "ir/clone.h"
#include "ir/error.h"
#include "ir/host_memory.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "runtime/cpu/kernel_cache.h"
#include "runtime/cpu/register.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/stats.h"

namespace kiln::runtime::cpu {

namespace {

using codegen::ProgramValue;

// Where kernels read and write empty buffers: never dereferenced, but a valid address.
alignas(64) uint8_t g_empty[64];

void check_inputs(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) {
  if (inputs.size() != graph.params.size())
    throw Error("cpu device: graph " + graph.name + " takes " +
                std::to_string(graph.params.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Node& p = *graph.params[i];
    if (!inputs[i])
      throw Error("cpu device: input " + std::to_string(i) + " (" + p.name + ") is null");
    if (inputs[i]->type() != p.type)
      throw Error("cpu device: input " + std::to_string(i) + " (" + p.name + ") is " +
                  inputs[i]->type().str() + ", the parameter is " + p.type.str());
  }
}

// Work per work item, so that chunks handed to threads are big enough to be worth it.
int64_t grain_for(const codegen::Kernel& k, int lanes) {
  int64_t cost = 1;
  for (const codegen::Stage& s : k.stages) {
    int64_t n = 1;
    for (const codegen::Loop& l : s.loops) n *= std::max<int64_t>(l.extent, 1);
    cost += n;
  }
  if (k.vector_mode == codegen::VectorMode::Outer)
    cost *= codegen::llvm_backend::kernel_lanes(k, lanes);
  return std::max<int64_t>(1, 32768 / cost);
}

}  // namespace

codegen::LowerOptions CpuDevice::lower_options() {
  codegen::LowerOptions o;
  o.vector_lanes = codegen::llvm_backend::host_target().info.lanes;
  o.threads = ThreadPool::global().size();
  o.row_cache_bytes = 64 << 10;  // on the stack of each kernel instance
  return o;
}

codegen::Program CpuDevice::compile(ir::Graph& graph) {
  passes::optimize_graph(graph);
  return codegen::build_program(graph, lower_options());
}

std::vector<BufferPtr> CpuDevice::run(const ir::Graph& graph,
                                      const std::vector<BufferPtr>& inputs) {
  check_inputs(graph, inputs);
  std::shared_ptr<const CompiledGraph> plan = plans_.get(graph, compile);
  return execute(plan->program, inputs);
}

std::vector<BufferPtr> CpuDevice::execute(const codegen::Program& p,
                                          const std::vector<BufferPtr>& inputs) {
  const auto start = std::chrono::steady_clock::now();

  // Kernels.
  KernelCache& cache = KernelCache::global();
  std::vector<CacheResult> got(p.kernels.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < p.kernels.size(); ++i) {
    if (cache.in_memory(p.kernel_hashes[i]))
      got[i] = cache.get(p.kernels[i], p.kernel_hashes[i]);
    else
      missing.push_back(i);
  }
  // Kernels not loaded yet come from disk or the compiler, several at once.
  std::vector<std::exception_ptr> errors(missing.size());
  ThreadPool::global().parallel_for(static_cast<int64_t>(missing.size()), 1,
                                    [&](int64_t b, int64_t e) {
                                      for (int64_t m = b; m < e; ++m) {
                                        size_t i = missing[static_cast<size_t>(m)];
                                        try {
                                          got[i] = cache.get(p.kernels[i], p.kernel_hashes[i]);
                                        } catch (...) {
                                          errors[static_cast<size_t>(m)] = std::current_exception();
                                        }
                                      }
                                    });
  for (const std::exception_ptr& err : errors)
    if (err) std::rethrow_exception(err);
  std::vector<KernelFn> fns;
  int64_t compiled = 0, hits_memory = 0, hits_disk = 0;
  double compile_seconds = 0;
  for (const CacheResult& r : got) {
    fns.push_back(r.fn);
    compile_seconds += r.compile_seconds;
    switch (r.source) {
      case CacheSource::Memory: ++hits_memory; break;
      case CacheSource::Disk: ++hits_disk; break;
      case CacheSource::Compiled: ++compiled; break;
    }
  }

  // Buffers.
  int64_t allocated = 0;
  std::vector<std::shared_ptr<uint8_t>> slots;
  for (int64_t bytes : p.memory.slot_bytes) {
    bool fresh = false;
    slots.push_back(kiln::HostMemoryPool::global().take(static_cast<size_t>(bytes), &fresh));
    if (fresh) allocated += bytes;
  }
  std::vector<BufferPtr> owned(p.values.size());
  std::vector<uint8_t*> ptr(p.values.size(), g_empty);
  for (size_t i = 0; i < p.values.size(); ++i) {
    const ProgramValue& v = p.values[i];
    switch (v.kind) {
      case ProgramValue::Kind::Parameter: owned[i] = inputs.at(v.param); break;
      case ProgramValue::Kind::Constant: owned[i] = v.node->buffer; break;
      case ProgramValue::Kind::Result:
        owned[i] = std::make_shared<Buffer>(v.node->type, Buffer::Init::Uninitialized);
        allocated += static_cast<int64_t>(v.node->type.nbytes());
        break;
      case ProgramValue::Kind::Intermediate:
      case ProgramValue::Kind::Temp:
        if (v.slot >= 0) ptr[i] = slots[v.slot].get();
        break;
    }
    if (owned[i] && v.numel > 0) ptr[i] = reinterpret_cast<uint8_t*>(owned[i]->data());
    if (v.numel == 0) ptr[i] = g_empty;
  }

  // Launches.
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  ThreadPool& pool = ThreadPool::global();
  int64_t launches = 0;
  for (const codegen::Launch& l : p.launches) {
    const codegen::Kernel& k = p.kernels[l.kernel];
    const int64_t n = codegen::llvm_backend::work_items(k, lanes);
    if (n == 0) continue;
    std::vector<uint8_t*> bufs;
    for (int id : l.buffers) bufs.push_back(ptr[id]);
    std::vector<uint64_t> scalars;
    for (const codegen::ScalarSource& s : l.scalars) scalars.push_back(codegen::scalar_slot(s));
    KernelFn fn = fns[l.kernel];
    uint8_t** b = bufs.data();
    const uint64_t* s = scalars.data();
    pool.parallel_for(n, grain_for(k, lanes),
                      [&](int64_t begin, int64_t end) { fn(b, s, begin, end); });
    ++launches;
  }

  std::vector<BufferPtr> results;
  for (int id : p.results) results.push_back(owned.at(id));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  add_stats([&](Stats& st) {
    ++st.graphs_run;
    st.launches += launches;
    st.kernels_compiled += compiled;
    st.cache_hits_memory += hits_memory;
    st.cache_hits_disk += hits_disk;
    st.compile_seconds += compile_seconds;
    st.bytes_allocated += allocated;
    st.run_seconds += seconds;
  });
  return results;
}

}  // namespace kiln::runtime::cpu

namespace kiln::runtime {

void register_cpu_device() {
  register_device_factory("cpu", [](std::string_view spec) -> std::shared_ptr<Device> {
    if (spec != "cpu") return nullptr;
    static auto device = std::make_shared<cpu::CpuDevice>();
    return device;
  });
}

}  // namespace kiln::runtime
