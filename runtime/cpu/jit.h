// The CPU device's loader of compiled kernels: object files (fresh from
// codegen/llvm/compiler.h or read from the disk cache) are linked into the process by
// LLVM's ORC JIT, against libm and kiln's builtins (codegen/llvm/builtins.h), and their
// kernel functions returned. Each object gets its own JIT library, so a bad object cannot
// poison the names of later ones. Thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace kiln::runtime::cpu {

// The ABI of every generated kernel (codegen/llvm/emit_kernel.h).
using KernelFn = void (*)(uint8_t** buffers, const uint64_t* scalars, int64_t begin, int64_t end);

class ObjectLoader {
 public:
  ObjectLoader();
  ~ObjectLoader();
  // Links `object` and returns the address of each of `names`; throws CompileError if the
  // object does not load or lacks a name.
  std::vector<KernelFn> load(const std::string& object, const std::vector<std::string>& names);

 private:
  std::mutex mutex_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  int64_t next_library_ = 0;
};

}  // namespace kiln::runtime::cpu
