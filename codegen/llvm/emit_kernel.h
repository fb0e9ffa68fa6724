// emit_kernel: KernelIR -> one LLVM function
//
//   void name(i8** buffers, const i64* scalars, i64 begin, i64 end)
//
// which runs outer iterations [begin, end) (work_items() of them in all), so a thread pool
// can split the range. The outer loop nest walks its indices like an odometer (one
// division per call, not per iteration). Vectorization follows kernel.vector_mode:
// contiguous accesses become vector loads and stores, others gathers and scatters; inner
// vector loops keep vector accumulators and finish with a tree reduction, then a scalar
// remainder loop. Read-only loads carry !invariant.load so LLVM hoists them freely. Large
// outputs stream past the caches where choose_streaming_stores (run by emit_kernel on a
// copy of the kernel) set Store::stream_alignment; the emitter decides no mapping itself.
// Tests: tests/runtime/cpu/, tests/runtime/differential_test.cpp.
#pragma once

#include <string>

#include "codegen/kernel_ir.h"
#include "codegen/llvm/target.h"

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace kiln::codegen::llvm_backend {

// The vector lanes of a kernel on a target with `lanes` f32 lanes: lanes * vector_unroll
// (1 for scalar kernels).
int kernel_lanes(const Kernel& kernel, int lanes);

// The number of work items a kernel's [begin, end) ranges over: outer iterations, with the
// last outer loop counted in blocks of kernel_lanes() when it is vectorized.
int64_t work_items(const Kernel& kernel, int lanes);

llvm::Function* emit_kernel(const Kernel& kernel, const std::string& name, llvm::Module& module,
                            const TargetInfo& target);

}  // namespace kiln::codegen::llvm_backend
