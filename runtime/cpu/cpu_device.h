// CpuDevice: JIT-compiled kernels on the host. compile fetches each kernel of a program
// from the kernel cache (memory, disk, or a fresh LLVM compile, several at once), memory is
// host memory (inputs are used where they are; working memory comes from the host memory
// pool), and a launch runs a kernel over the thread pool, split into chunks of work items.
// Everything else (passes, lowering, plans, statistics) is the driver's
// (runtime/driver.h). Tests: tests/runtime/cpu/, tests/runtime/differential_test.cpp.
#pragma once

#include <string>
#include <vector>

#include "codegen/program.h"
#include "runtime/device.h"

namespace kiln::runtime::cpu {

class CpuDevice : public Device {
 public:
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
};

}  // namespace kiln::runtime::cpu
