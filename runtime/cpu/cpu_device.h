// CpuDevice: JIT-compiled kernels on the host. compile fetches each kernel of a program
// from the kernel cache (memory, disk, or a fresh LLVM compile, several at once), memory is
// host memory (inputs are used where they are; working memory comes from the host memory
// pool), and a launch runs a kernel over the thread pool, split into chunks of work items.
// Everything else (passes, lowering, plans, statistics) is the driver's
// (runtime/driver.h). Tests: tests/runtime/cpu/, tests/runtime/differential_test.cpp.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/program.h"
#include "kernels/cpu/fft.h"
#include "kernels/cpu/gemm.h"
#include "runtime/device.h"
#include "runtime/kernel_times.h"

namespace kiln::runtime::cpu {

class CpuDevice : public Device {
 public:
  // KILN_CPU_PROFILE=1 times every launch (runtime/kernel_times.h).
  CpuDevice();
  ~CpuDevice() override;
  std::string name() const override { return "cpu"; }

  // The lowering options for this host (vector lanes, threads).
  codegen::LowerOptions lower_options() const override;
  std::shared_ptr<const DeviceKernels> compile(const codegen::Program& program,
                                               DeviceCounts& counts) override;
  DeviceBufferPtr allocate(int64_t bytes, const std::string& what, DeviceCounts& counts) override;
  DeviceBufferPtr allocate_result(const Type& type, DeviceCounts& counts) override;
  DeviceBufferPtr copy_in(const BufferPtr& host, DeviceCounts& counts) override;
  BufferPtr copy_out(const DeviceBufferPtr& mem, const Type& type, bool keep) override;
  std::unique_ptr<BoundLaunch> bind(const DeviceKernels& kernels, const codegen::Program& program,
                                    size_t index,
                                    const std::vector<DeviceBuffer*>& buffers) override;
  void launch(const BoundLaunch& launch) override;
  // Launches finish before launch() returns.
  void synchronize() override {}
  // The KILN_CPU_PROFILE table so far; "" when not profiling.
  std::string profile_report() const { return profile_ ? profile_->report() : ""; }

 private:
  // The GEMM driver of the kernel with hash `hash` over its loaded functions `fns`, built
  // once per loading (its pack kernels are derived from the kernel: rebuilding them in
  // every eval costs more than a small GEMM).
  std::shared_ptr<const kernels::cpu::CpuGemm> gemm_for(const codegen::Kernel& kernel,
                                                        uint64_t hash,
                                                        const std::vector<KernelFn>& fns);
  // The same for the library FFT of a kernel with a Spectral description (null where the
  // library cannot run it, or kiln is built without FFTW).
  std::shared_ptr<const kernels::cpu::CpuFft> fft_for(const codegen::Kernel& kernel, uint64_t hash,
                                                      const std::vector<KernelFn>& fns);

  // Library drivers by kernel hash, each for the loaded functions it was built over.
  template <class T>
  class Drivers {
   public:
    template <class Make>
    std::shared_ptr<const T> get(uint64_t hash, const std::vector<KernelFn>& fns, Make make) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = entries_.find(hash); it != entries_.end() && it->second.fns == fns)
          return it->second.driver;
      }
      std::shared_ptr<const T> driver = make();
      std::lock_guard<std::mutex> lock(mutex_);
      entries_[hash] = Entry{fns, driver};
      return driver;
    }

   private:
    struct Entry {
      std::vector<KernelFn> fns;
      std::shared_ptr<const T> driver;
    };
    std::mutex mutex_;
    std::unordered_map<uint64_t, Entry> entries_;
  };
  Drivers<kernels::cpu::CpuGemm> gemms_;
  Drivers<kernels::cpu::CpuFft> ffts_;
  std::unique_ptr<KernelTimes> profile_;  // KILN_CPU_PROFILE
};

}  // namespace kiln::runtime::cpu
