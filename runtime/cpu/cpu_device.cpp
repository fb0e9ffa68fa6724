// CpuDevice: kernels from the kernel cache, host memory, launches over the thread pool
// (see cpu_device.h).
#include "runtime/cpu/cpu_device.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "codegen/llvm/compiler.h"
#include "codegen/llvm/emit_kernel.h"
#include "ir/error.h"
#include "ir/host_memory.h"
#include "kernels/cpu/gemm.h"
#include "runtime/cpu/kernel_cache.h"
#include "runtime/cpu/register.h"
#include "runtime/cpu/thread_pool.h"

namespace kiln::runtime::cpu {

namespace {

// Where kernels read and write empty buffers: never dereferenced, but a valid address.
alignas(64) uint8_t g_empty[64];

// Host memory: a buffer of the API (inputs, constants, results) or a pooled block.
struct HostMemory : DeviceBuffer {
  BufferPtr buffer;
  std::shared_ptr<uint8_t> block;
  uint8_t* data() const {
    return buffer ? reinterpret_cast<uint8_t*>(buffer->data()) : block.get();
  }
};

struct CpuKernels : DeviceKernels {
  std::vector<KernelFn> fns;  // per program kernel
  // Per program kernel: the GEMM that runs it (kernels with a contraction), or null.
  std::vector<std::shared_ptr<const kernels::cpu::CpuGemm>> gemms;
  // Per program kernel: the library FFT that runs it (kernels with a Spectral), or null.
  std::vector<std::shared_ptr<const kernels::cpu::CpuFft>> ffts;
};

struct CpuLaunch : BoundLaunch {
  KernelFn fn = nullptr;
  const kernels::cpu::CpuGemm* gemm = nullptr;
  const kernels::cpu::CpuFft* fft = nullptr;
  std::vector<uint8_t*> buffers;
  std::vector<uint64_t> scalars;
  int64_t work_items = 0, grain = 1;
  std::string label;  // for KILN_CPU_PROFILE
};

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

codegen::LowerOptions CpuDevice::lower_options() const {
  codegen::LowerOptions o;
  o.vector_lanes = codegen::llvm_backend::host_target().info.lanes;
  o.threads = ThreadPool::global().size();
  o.row_cache_bytes = 64 << 10;  // on the stack of each kernel instance
  o.walk_gathered_lines = true;
  o.split_divided_loops = true;
  return o;
}

std::shared_ptr<const DeviceKernels> CpuDevice::compile(const codegen::Program& p,
                                                        DeviceCounts& counts) {
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
  auto kernels = std::make_shared<CpuKernels>();
  for (size_t i = 0; i < got.size(); ++i) {
    const CacheResult& r = got[i];
    kernels->fns.push_back(r.fn);
    // A kernel whose object holds several functions is a library kernel's.
    const bool library = r.fns.size() > 1;
    const bool spectral = p.kernels[i].spectral != nullptr;
    kernels->gemms.push_back(
        library && !spectral ? gemm_for(p.kernels[i], p.kernel_hashes[i], r.fns) : nullptr);
    kernels->ffts.push_back(library && spectral ? fft_for(p.kernels[i], p.kernel_hashes[i], r.fns)
                                                : nullptr);
    counts.compile_seconds += r.compile_seconds;
    switch (r.source) {
      case CacheSource::Memory: ++counts.cache_hits_memory; break;
      case CacheSource::Disk: ++counts.cache_hits_disk; break;
      case CacheSource::Compiled: ++counts.kernels_compiled; break;
    }
  }
  return kernels;
}

std::shared_ptr<const kernels::cpu::CpuGemm> CpuDevice::gemm_for(const codegen::Kernel& kernel,
                                                                 uint64_t hash,
                                                                 const std::vector<KernelFn>& fns) {
  return gemms_.get(hash, fns, [&]() -> std::shared_ptr<const kernels::cpu::CpuGemm> {
    if (auto g = kernels::cpu::host_gemm_kernels(kernel))
      return std::make_shared<kernels::cpu::CpuGemm>(kernel, std::move(*g), fns);
    return nullptr;
  });
}

std::shared_ptr<const kernels::cpu::CpuFft> CpuDevice::fft_for(const codegen::Kernel& kernel,
                                                               uint64_t hash,
                                                               const std::vector<KernelFn>& fns) {
#if KILN_HAS_FFTW
  return ffts_.get(hash, fns, [&]() -> std::shared_ptr<const kernels::cpu::CpuFft> {
    if (auto f = kernels::cpu::host_fft_kernels(kernel))
      return std::make_shared<kernels::cpu::CpuFft>(kernel, std::move(*f), fns,
                                                    kernels::cpu::FftPlans::global());
    return nullptr;
  });
#else
  (void)kernel, (void)hash, (void)fns;
  return nullptr;
#endif
}

DeviceBufferPtr CpuDevice::allocate(int64_t bytes, const std::string&, DeviceCounts& counts) {
  auto mem = std::make_shared<HostMemory>();
  bool fresh = false;
  mem->block = kiln::HostMemoryPool::global().take(static_cast<size_t>(bytes), &fresh);
  if (fresh) counts.bytes_allocated += bytes;
  return mem;
}

DeviceBufferPtr CpuDevice::allocate_result(const Type& type, DeviceCounts& counts) {
  auto mem = std::make_shared<HostMemory>();
  mem->buffer = std::make_shared<Buffer>(type, Buffer::Init::Uninitialized);
  counts.bytes_allocated += static_cast<int64_t>(type.nbytes());
  return mem;
}

DeviceBufferPtr CpuDevice::copy_in(const BufferPtr& host, DeviceCounts&) {
  auto mem = std::make_shared<HostMemory>();
  mem->buffer = host;  // kernels read it where it is
  return mem;
}

BufferPtr CpuDevice::copy_out(const DeviceBufferPtr& mem, const Type&, bool) {
  return static_cast<const HostMemory&>(*mem).buffer;  // a result is a host buffer already
}

std::unique_ptr<BoundLaunch> CpuDevice::bind(const DeviceKernels& kernels,
                                             const codegen::Program& p, size_t index,
                                             const std::vector<DeviceBuffer*>& buffers) {
  const codegen::Launch& l = p.launches[index];
  const codegen::Kernel& k = p.kernels[static_cast<size_t>(l.kernel)];
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  auto b = std::make_unique<CpuLaunch>();
  const auto& compiled = static_cast<const CpuKernels&>(kernels);
  b->fn = compiled.fns[static_cast<size_t>(l.kernel)];
  b->gemm = compiled.gemms[static_cast<size_t>(l.kernel)].get();
  b->fft = compiled.ffts[static_cast<size_t>(l.kernel)].get();
  // One allocation each: a small eval binds dozens of launches.
  b->buffers.reserve(buffers.size());
  b->scalars.reserve(l.scalars.size());
  for (DeviceBuffer* mem : buffers)
    b->buffers.push_back(mem ? static_cast<HostMemory*>(mem)->data() : g_empty);
  for (const codegen::ScalarSource& s : l.scalars) b->scalars.push_back(codegen::scalar_slot(s));
  b->work_items = codegen::llvm_backend::work_items(k, lanes);
  b->grain = grain_for(k, lanes);
  b->launches = b->work_items == 0 ? 0 : 1;
  if (profile_)
    b->label =
        "kernel " + kernel_label(kernel_name(p.kernel_hashes[static_cast<size_t>(l.kernel)]), k);
  return b;
}

namespace {

// Runs a bound launch over the thread pool.
void run_launch(const CpuLaunch& b) {
  KernelFn fn = b.fn;
  // The kernel ABI takes mutable pointers; a launch never changes the bound arrays.
  uint8_t** bufs = const_cast<uint8_t**>(b.buffers.data());
  const uint64_t* s = b.scalars.data();
  if (b.gemm) {
    b.gemm->run(bufs, s, ThreadPool::global());
    return;
  }
#if KILN_HAS_FFTW
  if (b.fft) {
    b.fft->run(bufs, s, ThreadPool::global());
    return;
  }
#endif
  ThreadPool::global().parallel_for(b.work_items, b.grain,
                                    [&](int64_t begin, int64_t end) { fn(bufs, s, begin, end); });
}

}  // namespace

CpuDevice::CpuDevice() {
  if (KernelTimes::requested("KILN_CPU_PROFILE"))
    profile_ = std::make_unique<KernelTimes>("kiln CPU kernel profile (KILN_CPU_PROFILE)");
}

CpuDevice::~CpuDevice() {
  if (profile_) profile_->print();
}

void CpuDevice::launch(const BoundLaunch& bound) {
  const auto& b = static_cast<const CpuLaunch&>(bound);
  if (b.work_items == 0) return;
  if (!profile_) return run_launch(b);
  const auto start = std::chrono::steady_clock::now();
  run_launch(b);
  profile_->add(
      b.label,
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
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
