// OpenCLDevice: compile, allocate, copy, bind and launch on one OpenCL device (see
// opencl_device.h).
#include "runtime/opencl/opencl_device.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "codegen/contraction.h"
#include "codegen/opencl/custom_kernel.h"
#include "ir/error.h"
#include "kernels/opencl/gemm_tuner.h"
#include "runtime/custom_kernel.h"
#include "runtime/opencl/register.h"
#include "runtime/stats.h"
#include "support/log.h"

namespace kiln::runtime::opencl {

namespace {

using codegen::ProgramValue;
// The exact size, for the error to name what was asked for, and a readable one.
std::string bytes_str(int64_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld bytes (%.1f MiB)", static_cast<long long>(b),
                static_cast<double>(b) / (1 << 20));
  return buf;
}

// The kernels of one program: each as compiled, and the scratch its split reductions share.
struct ClKernels : DeviceKernels {
  std::vector<const OpenCLDevice::CompiledKernel*> kernels;  // per program kernel
  MemHandle scratch;
};

// A program launch: the cl_kernels of its rendered launches, arguments set.
struct ClLaunch : BoundLaunch {
  std::vector<ClStep> steps;
};

cl_mem mem_of(const DeviceBuffer& b) { return static_cast<const ClBuffer&>(b).mem.get(); }

}  // namespace

// ---- ClContents ----

ClContents::ClContents(std::shared_ptr<ClBuffer> mem, cl_command_queue queue)
    : mem_(std::move(mem)) {
  check(clRetainCommandQueue(queue), "keeping a result on the device");
  queue_ = QueueHandle(queue);
}

void ClContents::read(std::byte* dst, size_t bytes) const {
  check(clEnqueueReadBuffer(queue_.get(), mem_->mem.get(), CL_TRUE, 0, bytes, dst, 0, nullptr,
                            nullptr),
        "reading a result back");
  add_stats([&](Stats& s) { s.bytes_device_to_host += static_cast<int64_t>(bytes); });
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
  const bool profile = KernelProfile::requested();
  queue_ = QueueHandle(clCreateCommandQueue(context_.get(), info_.device,
                                            profile ? CL_QUEUE_PROFILING_ENABLE : 0, &status));
  check(status, "creating a command queue on " + info.name);
  if (profile) profile_ = std::make_unique<KernelProfile>(queue_.get());
  programs_ = std::make_unique<ProgramCache>(context_.get(), info_, ProgramCache::default_dir());
  const char* tune = std::getenv("KILN_TUNE");
  tune_ = tune && *tune && std::string(tune) != "0";
  const char* candidates = std::getenv("KILN_TUNE_CANDIDATES");
  tuner_ = std::make_unique<kernels::opencl::GemmTuner>(
      *this, kernels::opencl::GemmTuner::default_dir(),
      candidates && *candidates ? std::atoi(candidates) : 0);
  if (info_.correctly_rounded_divide_sqrt) options_ = "-cl-fp32-correctly-rounded-divide-sqrt";
  if (const char* extra = std::getenv("KILN_OPENCL_OPTIONS"); extra && *extra)
    options_ += std::string(" ") + extra;
  empty_ = allocate(64, CL_MEM_READ_WRITE, "an empty buffer");
}

OpenCLDevice::~OpenCLDevice() {
  if (queue_) clFinish(queue_.get());
  if (profile_) profile_->print();
}

std::string OpenCLDevice::name() const {
  return "opencl:" + std::to_string(info_.index) + " (" + info_.name + ")";
}

codegen::LowerOptions OpenCLDevice::lower_options() const {
  codegen::LowerOptions o;
  o.vector_lanes = target_.vector_width;
  o.threads = 1;
  // The GEMM copies its tiles asynchronously only from plain loads (kernels/opencl/gemm.cpp):
  // an operand computed on the way (a gate's product) is stored first, which also computes
  // it once rather than once per tile of the other factor.
  if (target_.mma != codegen::opencl::MmaMode::Off) o.max_operand_prologue_ops = 0;
  return o;
}

MemHandle OpenCLDevice::allocate(int64_t bytes, cl_mem_flags flags, const std::string& what) {
  bytes = std::max<int64_t>(bytes, 64);
  if (info_.max_alloc_bytes > 0 && bytes > info_.max_alloc_bytes)
    throw DeviceError(
        "opencl: " + what + " needs " + bytes_str(bytes) + " in one buffer, but " + info_.name +
        " allows at most " + bytes_str(info_.max_alloc_bytes) +
        " per buffer; evaluate a smaller batch (smaller pieces) or use another device");
  cl_int status = CL_SUCCESS;
  MemHandle mem(
      clCreateBuffer(context_.get(), flags, static_cast<size_t>(bytes), nullptr, &status));
  check(status, "allocating " + bytes_str(bytes) + " for " + what);
  return mem;
}

std::shared_ptr<ClBuffer> OpenCLDevice::resident_copy(const BufferPtr& host, bool* uploaded) {
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
  auto mem = std::make_shared<ClBuffer>(
      allocate(bytes, CL_MEM_READ_ONLY, "an input of " + host->type().str()));
  check(clEnqueueWriteBuffer(queue_.get(), mem->mem.get(), CL_FALSE, 0, static_cast<size_t>(bytes),
                             host->data(), 0, nullptr, nullptr),
        "uploading an input");
  *uploaded = true;
  keep_resident(host, mem);
  return mem;
}

void OpenCLDevice::keep_resident(const BufferPtr& host, std::shared_ptr<ClBuffer> mem) {
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
                                 DeviceCounts* counts, int64_t kernels) {
  CachedProgram p = programs_->get(source, options_, what);
  if (counts) {
    counts->compile_seconds += p.seconds;
    switch (p.source) {
      case ProgramSource::Memory: counts->cache_hits_memory += kernels; break;
      case ProgramSource::Disk: counts->cache_hits_disk += kernels; break;
      case ProgramSource::Built: counts->kernels_compiled += kernels; break;
    }
  }
  return p.program;
}

std::shared_ptr<const DeviceKernels> OpenCLDevice::compile(const codegen::Program& p,
                                                           DeviceCounts& counts) {
  drop_stale_resident();  // before this run's buffers are allocated
  auto out = std::make_shared<ClKernels>();
  out->kernels.assign(p.kernels.size(), nullptr);
  std::vector<size_t> missing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < p.kernels.size(); ++i) {
      auto it = kernels_.find(p.kernel_hashes[i]);
      if (it != kernels_.end()) {
        out->kernels[i] = &it->second;
        ++counts.cache_hits_memory;
      } else {
        missing.push_back(i);
      }
    }
  }
  if (!missing.empty()) {
    std::vector<CompiledKernel> fresh = build(p, missing, counts);
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t m = 0; m < missing.size(); ++m)
      out->kernels[missing[m]] =
          &kernels_.emplace(p.kernel_hashes[missing[m]], std::move(fresh[m])).first->second;
  }
  int64_t scratch_bytes = 0;
  for (const CompiledKernel* c : out->kernels)
    scratch_bytes = std::max(scratch_bytes, c->rendered.scratch_bytes);
  if (scratch_bytes > 0)
    out->scratch = allocate(scratch_bytes, CL_MEM_READ_WRITE, "reduction scratch");
  return out;
}

std::vector<OpenCLDevice::CompiledKernel> OpenCLDevice::build(const codegen::Program& p,
                                                              const std::vector<size_t>& missing,
                                                              DeviceCounts& counts) {
  std::vector<CompiledKernel> fresh(missing.size());
  std::vector<const codegen::opencl::RenderedKernel*> to_build;
  for (size_t m = 0; m < missing.size(); ++m) {
    const size_t i = missing[m];
    // GEMM kernels take the tiles the tuner remembers (or times, or the default).
    codegen::opencl::OpenCLTarget target = target_;
    if (p.kernels[i].contraction && target.gemm && !target.gemm_tile.chosen())
      target.gemm_tile = tuner_->choose(p.kernels[i], tune_);
    fresh[m].rendered =
        codegen::opencl::render_kernel(p.kernels[i], target, kernel_name(p.kernel_hashes[i]));
    // A kernel with nothing to launch (empty outputs) needs no program.
    if (!fresh[m].rendered.launches.empty()) to_build.push_back(&fresh[m].rendered);
  }
  if (to_build.empty()) return fresh;
  std::string source = codegen::opencl::combine_sources(to_build);
  std::string what = to_build.size() == 1 ? "kernel " + to_build[0]->name
                                          : std::to_string(to_build.size()) + " kernels (" +
                                                to_build[0]->name + ", ...)";
  if (const char* dump = std::getenv("KILN_OPENCL_DUMP"); dump && *dump) {
    // The program as a file, for reading what the renderer made.
    std::ofstream file(std::string(dump) + "/" + to_build[0]->name + ".cl");
    file << source;
  }
  cl_program built = program(source, what, &counts, static_cast<int64_t>(to_build.size()));
  if (support::log_enabled(support::LogLevel::Debug))
    for (const auto* r : to_build)
      support::log_debug("opencl: kernel " + r->name + " (" +
                         std::string(codegen::group_shape_name(r->shape)) + ", " +
                         std::to_string(r->launches.size()) + " launches)");
  for (CompiledKernel& c : fresh) c.program = built;
  return fresh;
}

DeviceBufferPtr OpenCLDevice::allocate(int64_t bytes, const std::string& what,
                                       DeviceCounts& counts) {
  auto mem = std::make_shared<ClBuffer>(allocate(bytes, CL_MEM_READ_WRITE, what));
  counts.bytes_allocated += bytes;
  return mem;
}

DeviceBufferPtr OpenCLDevice::allocate_result(const Type& type, DeviceCounts& counts) {
  return allocate(static_cast<int64_t>(type.nbytes()), "a result of " + type.str(), counts);
}

DeviceBufferPtr OpenCLDevice::copy_in(const BufferPtr& host, DeviceCounts& counts) {
  if (const auto* own = dynamic_cast<const ClContents*>(host->device_contents().get());
      own && own->queue() == queue_.get())
    return own->mem();  // a result of this device, still here
  bool uploaded = false;
  std::shared_ptr<ClBuffer> mem = resident_copy(host, &uploaded);
  if (uploaded) {
    counts.bytes_allocated += static_cast<int64_t>(host->nbytes());
    counts.bytes_host_to_device += static_cast<int64_t>(host->nbytes());
  }
  return mem;
}

BufferPtr OpenCLDevice::copy_out(const DeviceBufferPtr& mem, const Type& type, bool keep) {
  if (keep)
    return std::make_shared<Buffer>(
        type, std::make_shared<ClContents>(std::static_pointer_cast<ClBuffer>(mem), queue_.get()));
  auto host = std::make_shared<Buffer>(type, Buffer::Init::Uninitialized);
  check(clEnqueueReadBuffer(queue_.get(), mem_of(*mem), CL_FALSE, 0, host->nbytes(), host->data(),
                            0, nullptr, nullptr),
        "reading a result back");
  add_stats([&](Stats& s) { s.bytes_device_to_host += static_cast<int64_t>(host->nbytes()); });
  return host;
}

std::unique_ptr<BoundLaunch> OpenCLDevice::bind(const DeviceKernels& kernels,
                                                const codegen::Program& p, size_t index,
                                                const std::vector<DeviceBuffer*>& buffers) {
  const auto& k = static_cast<const ClKernels&>(kernels);
  const codegen::Launch& l = p.launches[index];
  const CompiledKernel& c = *k.kernels[static_cast<size_t>(l.kernel)];
  cl_mem scratch = k.scratch.get();
  auto bound = std::make_unique<ClLaunch>();
  // One cl_kernel per rendered launch, so that arguments stay set.
  for (const codegen::opencl::ClLaunch& cl : c.rendered.launches) {
    cl_int status = CL_SUCCESS;
    ClStep step;
    step.kernel = KernelHandle(clCreateKernel(c.program, cl.entry.c_str(), &status));
    check(status, "creating kernel " + cl.entry);
    step.what = "kernel " + kernel_label(cl.entry, p.kernels[static_cast<size_t>(l.kernel)]);
    cl_uint arg = 0;
    for (DeviceBuffer* b : buffers) {
      cl_mem mem = b ? mem_of(*b) : empty_.get();
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
    bound->steps.push_back(std::move(step));
  }
  bound->launches = static_cast<int64_t>(bound->steps.size());
  return bound;
}

void OpenCLDevice::launch(const BoundLaunch& bound) {
  for (const ClStep& s : static_cast<const ClLaunch&>(bound).steps) {
    cl_event event = nullptr;
    check(clEnqueueNDRangeKernel(queue_.get(), s.kernel.get(), 1, nullptr, &s.global, &s.local, 0,
                                 nullptr, profile_ ? &event : nullptr),
          "launching " + s.what);
    if (profile_) profile_->add(s.what, event);
  }
}

std::string OpenCLDevice::profile_report() {
  if (!profile_) return "";
  synchronize();
  return profile_->report();
}

void OpenCLDevice::synchronize() {
  check(clFinish(queue_.get()), "waiting for the device");
  if (profile_) profile_->collect();
}

std::vector<codegen::opencl::RenderedKernel> OpenCLDevice::rendered(const Executable& exe) {
  std::vector<codegen::opencl::RenderedKernel> out;
  for (const CompiledKernel* c : static_cast<const ClKernels&>(exe.device_kernels()).kernels)
    out.push_back(c->rendered);
  return out;
}

std::vector<const ClStep*> OpenCLDevice::steps(const Executable& exe) {
  std::vector<const ClStep*> out;
  for (const auto& b : exe.bound())
    for (const ClStep& s : static_cast<const ClLaunch&>(*b).steps) out.push_back(&s);
  return out;
}

std::vector<BufferPtr> OpenCLDevice::run_custom(const ir::Node& node,
                                                const std::vector<BufferPtr>& operands,
                                                DeviceCounts& counts) {
  codegen::opencl::CustomKernelSpec spec = codegen::opencl::custom_kernel_spec(node);
  const std::string what = "custom kernel " + spec.name;
  if (operands.size() != spec.input_types.size())
    throw Error(what + ": " + std::to_string(spec.input_types.size()) + " inputs, got " +
                std::to_string(operands.size()));
  const std::string source = codegen::opencl::custom_kernel_source(spec, target_);
  cl_program prog = nullptr;
  try {
    prog = program(source, what, &counts);
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
    counts.bytes_host_to_device += bytes;
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
  for (const BufferPtr& o : outputs)
    counts.bytes_device_to_host += static_cast<int64_t>(o->nbytes());
  check(clFinish(queue_.get()), "running " + what);
  counts.launches += empty ? 0 : 1;
  return outputs;
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
    return run_custom(*device, node, operands);
  });
}

}  // namespace kiln::runtime
