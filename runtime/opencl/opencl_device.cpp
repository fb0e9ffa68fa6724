// OpenCLDevice and OpenCLExecutable: compile, allocate, upload, launch, read back.
#include "runtime/opencl/opencl_device.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "codegen/opencl/custom_kernel.h"
#include "ir/clone.h"
#include "ir/error.h"
#include "passes/pipeline.h"
#include "runtime/custom_kernel.h"
#include "runtime/log.h"
#include "runtime/opencl/register.h"
#include "runtime/stats.h"

namespace kiln::runtime::opencl {

namespace {

using codegen::ProgramValue;

void check_inputs(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) {
  if (inputs.size() != graph.params.size())
    throw Error("opencl device: graph " + graph.name + " takes " +
                std::to_string(graph.params.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Node& p = *graph.params[i];
    if (!inputs[i])
      throw Error("opencl device: input " + std::to_string(i) + " (" + p.name + ") is null");
    if (inputs[i]->type() != p.type)
      throw Error("opencl device: input " + std::to_string(i) + " (" + p.name + ") is " +
                  inputs[i]->type().str() + ", the parameter is " + p.type.str());
  }
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string bytes_str(int64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1 << 20));
  return buf;
}

}  // namespace

// ---- OpenCLExecutable ----

OpenCLExecutable::~OpenCLExecutable() {
  // Uploads and launches may still be in flight; their host memory and buffers must
  // outlive them.
  if (device_.queue()) clFinish(device_.queue());
}

void OpenCLExecutable::enqueue() {
  for (const Step& s : steps_) {
    cl_int status = clEnqueueNDRangeKernel(device_.queue(), s.kernel.get(), 1, nullptr, &s.global,
                                           &s.local, 0, nullptr, nullptr);
    check(status, "launching " + s.what);
  }
}

void OpenCLExecutable::finish() { check(clFinish(device_.queue()), "waiting for the device"); }

std::vector<BufferPtr> OpenCLExecutable::read_results() {
  std::vector<BufferPtr> out;
  for (size_t r = 0; r < results_.size(); ++r) {
    const int id = results_[r];
    const ProgramValue& v = values_[static_cast<size_t>(id)];
    if (hosts_[static_cast<size_t>(id)]) {
      out.push_back(hosts_[static_cast<size_t>(id)]);
      continue;
    }
    auto buffer = std::make_shared<Buffer>(result_types_[r], Buffer::Init::Uninitialized);
    if (v.numel > 0)
      check(
          clEnqueueReadBuffer(device_.queue(), value_mem_[static_cast<size_t>(id)], CL_FALSE, 0,
                              static_cast<size_t>(v.nbytes()), buffer->data(), 0, nullptr, nullptr),
          "reading a result back");
    out.push_back(std::move(buffer));
  }
  finish();
  return out;
}

std::shared_ptr<MemHandle> OpenCLExecutable::release_result(size_t r) {
  const int id = results_.at(r);
  if (hosts_[static_cast<size_t>(id)] || values_[static_cast<size_t>(id)].numel == 0)
    return nullptr;
  const cl_mem mem = value_mem_[static_cast<size_t>(id)];
  for (MemHandle& owned : owned_)
    if (owned.get() == mem) return std::make_shared<MemHandle>(std::move(owned));
  return nullptr;  // handed over already (a value returned twice)
}

// ---- OpenCLDevice ----

OpenCLDevice::OpenCLDevice(const DeviceInfo& info,
                           std::optional<codegen::opencl::OpenCLTarget> target)
    : info_(info), target_(target ? *target : target_for(info)) {
  cl_int status = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                   reinterpret_cast<cl_context_properties>(info.platform), 0};
  context_ = ContextHandle(clCreateContext(props, 1, &info_.device, nullptr, nullptr, &status));
  check(status, "creating a context on " + info.name);
  queue_ = QueueHandle(clCreateCommandQueue(context_.get(), info_.device, 0, &status));
  check(status, "creating a command queue on " + info.name);
  programs_ = std::make_unique<ProgramCache>(context_.get(), info_, ProgramCache::default_dir());
  if (info_.correctly_rounded_divide_sqrt) options_ = "-cl-fp32-correctly-rounded-divide-sqrt";
  if (const char* extra = std::getenv("KILN_OPENCL_OPTIONS"); extra && *extra)
    options_ += std::string(" ") + extra;
}

OpenCLDevice::~OpenCLDevice() {
  if (queue_) clFinish(queue_.get());
}

std::string OpenCLDevice::name() const {
  return "opencl:" + std::to_string(info_.index) + " (" + info_.name + ")";
}

codegen::LowerOptions OpenCLDevice::lower_options() const {
  codegen::LowerOptions o;
  o.vector_lanes = target_.vector_width;
  o.threads = 1;
  return o;
}

MemHandle OpenCLDevice::allocate(int64_t bytes, cl_mem_flags flags, const std::string& what) {
  bytes = std::max<int64_t>(bytes, 64);
  if (info_.max_alloc_bytes > 0 && bytes > info_.max_alloc_bytes)
    throw DeviceError("opencl: " + what + " needs " + bytes_str(bytes) + " in one buffer, but " +
                      info_.name + " allows at most " + bytes_str(info_.max_alloc_bytes) +
                      " per buffer; evaluate smaller pieces or use another device");
  cl_int status = CL_SUCCESS;
  MemHandle mem(
      clCreateBuffer(context_.get(), flags, static_cast<size_t>(bytes), nullptr, &status));
  check(status, "allocating " + bytes_str(bytes) + " for " + what);
  return mem;
}

std::shared_ptr<MemHandle> OpenCLDevice::resident_copy(const BufferPtr& host, bool* uploaded) {
  *uploaded = false;
  {
    std::lock_guard lock(resident_mutex_);
    if (auto it = resident_index_.find(host.get()); it != resident_index_.end()) {
      if (it->second->second.host.lock() == host) {  // the same buffer, not a new one there
        resident_.splice(resident_.begin(), resident_, it->second);
        return it->second->second.mem;
      }
    }
  }
  const auto bytes = static_cast<int64_t>(host->nbytes());
  auto mem = std::make_shared<MemHandle>(
      allocate(bytes, CL_MEM_READ_ONLY, "an input of " + host->type().str()));
  check(clEnqueueWriteBuffer(queue_.get(), mem->get(), CL_FALSE, 0, static_cast<size_t>(bytes),
                             host->data(), 0, nullptr, nullptr),
        "uploading an input");
  *uploaded = true;
  keep_resident(host, mem);
  return mem;
}

void OpenCLDevice::keep_resident(const BufferPtr& host, std::shared_ptr<MemHandle> mem) {
  std::lock_guard lock(resident_mutex_);
  const auto bytes = static_cast<int64_t>(host->nbytes());
  if (auto it = resident_index_.find(host.get()); it != resident_index_.end()) {
    resident_bytes_ -= it->second->second.bytes;
    resident_.erase(it->second);
    resident_index_.erase(it);
  }
  drop_stale_resident_locked();
  resident_.emplace_front(host.get(), Resident{host, std::move(mem), bytes});
  resident_index_[host.get()] = resident_.begin();
  resident_bytes_ += bytes;
  const int64_t budget = info_.global_mem_bytes > 0 ? info_.global_mem_bytes / 4 : int64_t{1} << 30;
  while (resident_bytes_ > budget && resident_.size() > 1) {
    resident_bytes_ -= resident_.back().second.bytes;
    resident_index_.erase(resident_.back().first);
    resident_.pop_back();
  }
}

void OpenCLDevice::drop_stale_resident() {
  std::lock_guard lock(resident_mutex_);
  drop_stale_resident_locked();
}

void OpenCLDevice::drop_stale_resident_locked() {
  for (auto it = resident_.begin(); it != resident_.end();) {
    if (it->second.host.expired()) {
      resident_bytes_ -= it->second.bytes;
      resident_index_.erase(it->first);
      it = resident_.erase(it);
    } else {
      ++it;
    }
  }
}

int64_t OpenCLDevice::resident_bytes() {
  std::lock_guard lock(resident_mutex_);
  return resident_bytes_;
}

cl_program OpenCLDevice::program(const std::string& source, const std::string& what,
                                 OpenCLExecutable* exe, int64_t kernels) {
  CachedProgram p = programs_->get(source, options_, what);
  if (exe) {
    exe->compile_seconds += p.seconds;
    switch (p.source) {
      case ProgramSource::Memory: exe->cache_hits_memory += kernels; break;
      case ProgramSource::Disk: exe->cache_hits_disk += kernels; break;
      case ProgramSource::Built: exe->kernels_compiled += kernels; break;
    }
  }
  return p.program;
}

std::vector<const OpenCLDevice::CompiledKernel*> OpenCLDevice::compile_all(
    const codegen::Program& p, OpenCLExecutable& exe) {
  std::vector<const CompiledKernel*> out(p.kernels.size(), nullptr);
  std::vector<size_t> missing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < p.kernels.size(); ++i) {
      auto it = kernels_.find(p.kernel_hashes[i]);
      if (it != kernels_.end()) {
        out[i] = &it->second;
        ++exe.cache_hits_memory;
      } else {
        missing.push_back(i);
      }
    }
  }
  if (missing.empty()) return out;
  std::vector<CompiledKernel> fresh(missing.size());
  std::vector<const codegen::opencl::RenderedKernel*> to_build;
  for (size_t m = 0; m < missing.size(); ++m) {
    const size_t i = missing[m];
    fresh[m].rendered =
        codegen::opencl::render_kernel(p.kernels[i], target_, "kiln_" + hex(p.kernel_hashes[i]));
    // A kernel with nothing to launch (empty outputs) needs no program.
    if (!fresh[m].rendered.launches.empty()) to_build.push_back(&fresh[m].rendered);
  }
  cl_program program = nullptr;
  if (!to_build.empty()) {
    std::string source = codegen::opencl::combine_sources(to_build);
    std::string what = to_build.size() == 1 ? "kernel " + to_build[0]->name
                                            : std::to_string(to_build.size()) + " kernels (" +
                                                  to_build[0]->name + ", ...)";
    if (const char* dump = std::getenv("KILN_OPENCL_DUMP"); dump && *dump) {
      // The program as a file, for reading what the renderer made.
      std::ofstream file(std::string(dump) + "/" + to_build[0]->name + ".cl");
      file << source;
    }
    program = this->program(source, what, &exe, static_cast<int64_t>(to_build.size()));
    if (log_enabled(LogLevel::Debug))
      for (const auto* r : to_build)
        log_debug("opencl: kernel " + r->name + " (" +
                  std::string(codegen::opencl::render_shape_name(r->shape)) + ", " +
                  std::to_string(r->launches.size()) + " launches)");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t m = 0; m < missing.size(); ++m) {
    fresh[m].program = program;
    out[missing[m]] =
        &kernels_.emplace(p.kernel_hashes[missing[m]], std::move(fresh[m])).first->second;
  }
  return out;
}

std::unique_ptr<OpenCLExecutable> OpenCLDevice::prepare(const ir::Graph& graph,
                                                        const std::vector<BufferPtr>& inputs) {
  check_inputs(graph, inputs);
  drop_stale_resident();  // before this graph's buffers are allocated
  if (has_custom_kernels(graph))
    throw UnsupportedError(
        "opencl device: prepare() takes graphs without custom kernels; run() runs the others");
  std::shared_ptr<const CompiledGraph> plan = plans_.get(graph, [&](ir::Graph& g) {
    passes::optimize_graph(g);
    return codegen::build_program(g, lower_options());
  });
  const codegen::Program& p = plan->program;

  std::unique_ptr<OpenCLExecutable> exe(new OpenCLExecutable(*this));
  exe->values_ = p.values;
  exe->results_ = p.results;
  for (int id : p.results)
    exe->result_types_.push_back(p.values[static_cast<size_t>(id)].node->type);
  for (auto& v : exe->values_) v.node = nullptr;  // the executable does not keep the plan
  exe->kernels_ = static_cast<int64_t>(p.kernels.size());

  std::vector<const CompiledKernel*> kernels = compile_all(p, *exe);
  for (const CompiledKernel* c : kernels) exe->rendered.push_back(c->rendered);

  // Which values the launches touch: only those get device memory.
  std::vector<bool> used(p.values.size(), false);
  for (const codegen::Launch& l : p.launches)
    for (int id : l.buffers) used[static_cast<size_t>(id)] = true;
  for (int id : p.results) used[static_cast<size_t>(id)] = true;

  MemHandle dummy = allocate(64, CL_MEM_READ_WRITE, "an empty buffer");
  exe->value_mem_.assign(p.values.size(), dummy.get());
  exe->hosts_.assign(p.values.size(), nullptr);
  exe->owned_.push_back(std::move(dummy));
  std::vector<cl_mem> slots;
  for (int64_t bytes : p.memory.slot_bytes) {
    exe->owned_.push_back(allocate(bytes, CL_MEM_READ_WRITE, "an intermediate buffer"));
    exe->bytes_allocated += bytes;
    slots.push_back(exe->owned_.back().get());
  }
  for (size_t i = 0; i < p.values.size(); ++i) {
    const ProgramValue& v = p.values[i];
    BufferPtr host;
    if (v.kind == ProgramValue::Kind::Parameter) host = inputs.at(static_cast<size_t>(v.param));
    if (v.kind == ProgramValue::Kind::Constant) host = v.node->buffer;
    exe->hosts_[i] = host;
    if (!used[i] || v.numel == 0) continue;
    switch (v.kind) {
      case ProgramValue::Kind::Parameter:
      case ProgramValue::Kind::Constant: {
        bool uploaded = false;
        exe->inputs_.push_back(resident_copy(host, &uploaded));
        exe->value_mem_[i] = exe->inputs_.back()->get();
        if (uploaded) exe->bytes_allocated += v.nbytes();
        break;
      }
      case ProgramValue::Kind::Result:
        exe->owned_.push_back(
            allocate(v.nbytes(), CL_MEM_READ_WRITE, "a result of " + v.node->type.str()));
        exe->value_mem_[i] = exe->owned_.back().get();
        exe->bytes_allocated += v.nbytes();
        break;
      case ProgramValue::Kind::Intermediate:
      case ProgramValue::Kind::Temp:
        if (v.slot >= 0) exe->value_mem_[i] = slots[static_cast<size_t>(v.slot)];
        break;
    }
  }
  int64_t scratch_bytes = 0;
  for (const CompiledKernel* c : kernels)
    scratch_bytes = std::max(scratch_bytes, c->rendered.scratch_bytes);
  cl_mem scratch = nullptr;
  if (scratch_bytes > 0) {
    exe->owned_.push_back(allocate(scratch_bytes, CL_MEM_READ_WRITE, "reduction scratch"));
    scratch = exe->owned_.back().get();
  }

  // Kernels with their arguments, one cl_kernel per launch so that arguments stay set.
  for (const codegen::Launch& l : p.launches) {
    const CompiledKernel& c = *kernels[static_cast<size_t>(l.kernel)];
    for (const codegen::opencl::ClLaunch& cl : c.rendered.launches) {
      cl_int status = CL_SUCCESS;
      OpenCLExecutable::Step step;
      step.kernel = KernelHandle(clCreateKernel(c.program, cl.entry.c_str(), &status));
      check(status, "creating kernel " + cl.entry);
      step.what = "kernel " + cl.entry;
      cl_uint arg = 0;
      for (int id : l.buffers) {
        cl_mem mem = exe->value_mem_[static_cast<size_t>(id)];
        check(clSetKernelArg(step.kernel.get(), arg++, sizeof(cl_mem), &mem),
              "setting a buffer of " + cl.entry);
      }
      for (const codegen::ScalarSource& s : l.scalars) {
        cl_ulong bits = codegen::scalar_slot(s);
        check(clSetKernelArg(step.kernel.get(), arg++, sizeof bits, &bits),
              "setting a scalar of " + cl.entry);
      }
      if (c.rendered.scratch_bytes > 0)
        check(clSetKernelArg(step.kernel.get(), arg++, sizeof(cl_mem), &scratch),
              "setting the scratch of " + cl.entry);
      step.global = static_cast<size_t>(cl.global);
      step.local = static_cast<size_t>(cl.local);
      exe->steps_.push_back(std::move(step));
    }
  }
  return exe;
}

std::vector<BufferPtr> OpenCLDevice::run(const ir::Graph& graph,
                                         const std::vector<BufferPtr>& inputs) {
  if (!has_custom_kernels(graph)) return run_fused(graph, inputs);
  return run_with_custom_kernels(
      graph, inputs,
      [this](const ir::Graph& g, const std::vector<BufferPtr>& in) { return run_fused(g, in); },
      [this](const ir::Node& n, const std::vector<BufferPtr>& ops) { return run_custom(n, ops); });
}

std::vector<BufferPtr> OpenCLDevice::run_custom(const ir::Node& node,
                                                const std::vector<BufferPtr>& operands) {
  const auto start = std::chrono::steady_clock::now();
  codegen::opencl::CustomKernelSpec spec = codegen::opencl::custom_kernel_spec(node);
  const std::string what = "custom kernel " + spec.name;
  if (operands.size() != spec.input_types.size())
    throw Error(what + ": " + std::to_string(spec.input_types.size()) + " inputs, got " +
                std::to_string(operands.size()));
  OpenCLExecutable stats_of(*this);
  const std::string source = codegen::opencl::custom_kernel_source(spec, target_);
  cl_program prog = nullptr;
  try {
    prog = program(source, what, &stats_of);
  } catch (const CompileError& e) {
    // Not every compiler honours the #line before the body (NVIDIA's does not): say where
    // the body starts in the numbered source.
    size_t body = source.find("\n#line 1");
    int line = 3;  // the #line directive is on the line after `body`, the body after that
    for (size_t i = 0; i < body; ++i) line += source[i] == '\n';
    throw CompileError(std::string(e.what()) + "(line 1 of the body of " + spec.name + " is line " +
                       std::to_string(line) + " of this source)");
  }
  cl_int status = CL_SUCCESS;
  KernelHandle kernel(clCreateKernel(prog, spec.name.c_str(), &status));
  check(status, "creating " + what);
  std::vector<MemHandle> mems;
  cl_uint arg = 0;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i] || operands[i]->type() != spec.input_types[i])
      throw Error(what + ": input " + spec.input_names[i] + " must be " +
                  spec.input_types[i].str());
    const int64_t bytes = static_cast<int64_t>(operands[i]->nbytes());
    mems.push_back(allocate(bytes, CL_MEM_READ_ONLY, what + " input " + spec.input_names[i]));
    if (bytes > 0)
      check(clEnqueueWriteBuffer(queue_.get(), mems.back().get(), CL_FALSE, 0,
                                 static_cast<size_t>(bytes), operands[i]->data(), 0, nullptr,
                                 nullptr),
            "uploading an input of " + what);
  }
  std::vector<BufferPtr> outputs;
  for (size_t i = 0; i < spec.output_types.size(); ++i) {
    outputs.push_back(std::make_shared<Buffer>(spec.output_types[i]));
    mems.push_back(allocate(static_cast<int64_t>(outputs.back()->nbytes()), CL_MEM_READ_WRITE,
                            what + " output " + spec.output_names[i]));
  }
  for (const MemHandle& m : mems) {
    cl_mem mem = m.get();
    check(clSetKernelArg(kernel.get(), arg++, sizeof mem, &mem), "setting an argument of " + what);
  }
  std::vector<size_t> global(spec.grid.begin(), spec.grid.end()),
      local(spec.local.begin(), spec.local.end());
  bool empty = false;
  for (size_t g : global) empty = empty || g == 0;
  if (!empty) {
    status = clEnqueueNDRangeKernel(queue_.get(), kernel.get(), static_cast<cl_uint>(global.size()),
                                    nullptr, global.data(), local.empty() ? nullptr : local.data(),
                                    0, nullptr, nullptr);
    if (status == CL_INVALID_WORK_GROUP_SIZE || status == CL_INVALID_WORK_ITEM_SIZE)
      throw Error(what + ": the work-group size is not valid for a grid of this size on " +
                  info_.name + " (" + cl_status_name(status) +
                  "); make every grid dimension a multiple of the work-group's, within " +
                  std::to_string(info_.max_work_group_size) + " work-items");
    check(status, "launching " + what);
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i]->nbytes() > 0)
      check(clEnqueueReadBuffer(queue_.get(), mems[operands.size() + i].get(), CL_FALSE, 0,
                                outputs[i]->nbytes(), outputs[i]->data(), 0, nullptr, nullptr),
            "reading an output of " + what);
  check(clFinish(queue_.get()), "running " + what);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  add_stats([&](Stats& st) {
    st.launches += empty ? 0 : 1;
    st.kernels_compiled += stats_of.kernels_compiled;
    st.cache_hits_memory += stats_of.cache_hits_memory;
    st.cache_hits_disk += stats_of.cache_hits_disk;
    st.compile_seconds += stats_of.compile_seconds;
    st.run_seconds += seconds;
  });
  return outputs;
}

std::vector<BufferPtr> OpenCLDevice::run_fused(const ir::Graph& graph,
                                               const std::vector<BufferPtr>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<OpenCLExecutable> exe = prepare(graph, inputs);
  exe->enqueue();
  std::vector<BufferPtr> results = exe->read_results();
  // The results' device buffers stay as the copies of the host buffers just read back, for
  // the evals that take them as inputs (this executable is not replayed).
  for (size_t r = 0; r < results.size(); ++r)
    if (std::shared_ptr<MemHandle> mem = exe->release_result(r)) keep_resident(results[r], mem);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  add_stats([&](Stats& st) {
    ++st.graphs_run;
    st.launches += exe->launches_per_run();
    st.kernels_compiled += exe->kernels_compiled;
    st.cache_hits_memory += exe->cache_hits_memory;
    st.cache_hits_disk += exe->cache_hits_disk;
    st.compile_seconds += exe->compile_seconds;
    st.bytes_allocated += exe->bytes_allocated;
    st.run_seconds += seconds;
  });
  return results;
}

std::shared_ptr<OpenCLDevice> device_for(const DeviceInfo& info) {
  static std::mutex mutex;
  // Never destroyed: at exit, the OpenCL driver's own state may already be gone, and
  // releasing a context then can crash inside it.
  static auto* devices = new std::map<int, std::shared_ptr<OpenCLDevice>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& d = (*devices)[info.index];
  if (!d) d = std::make_shared<OpenCLDevice>(info);
  return d;
}

}  // namespace kiln::runtime::opencl

namespace kiln::runtime {

void register_opencl_device() {
  register_device_factory("opencl", [](std::string_view spec) -> std::shared_ptr<Device> {
    std::optional<opencl::DeviceInfo> info = opencl::select_device(spec);
    if (!info) return nullptr;
    return opencl::device_for(*info);
  });
  // Custom kernels of graphs run elsewhere (the reference evaluator, the CPU device) go to
  // a CPU OpenCL device (PoCL) when there is one, else to the first OpenCL device.
  set_custom_kernel_runner([](const ir::Node& node, const std::vector<BufferPtr>& operands) {
    std::shared_ptr<opencl::OpenCLDevice> device;
    try {
      std::vector<opencl::DeviceInfo> all = opencl::list_devices();
      const opencl::DeviceInfo* pick = &all.front();
      for (const auto& d : all)
        if (!d.is_gpu) {
          pick = &d;
          break;
        }
      device = opencl::device_for(*pick);
    } catch (const DeviceError& e) {
      throw UnsupportedError("custom kernel '" + node.attr_str("name") +
                             "' needs an OpenCL device: " + e.what());
    }
    return device->run_custom(node, operands);
  });
}

}  // namespace kiln::runtime
