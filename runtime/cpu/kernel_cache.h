// The CPU device's kernel cache: compiled kernels keyed by a structural hash of their
// KernelIR together with the host target and the codegen version, kept in memory for the
// process and on disk (object code) so that a second process starts warm.
//
// Disk entries (runtime/disk_cache.h) live in KILN_CACHE_DIR (default $HOME/.cache/kiln;
// "off" disables), one file per kernel holding its symbol names and object file: one
// function for a loop nest, several for a GEMM (kernels/cpu/gemm.h). An entry
// that is truncated, corrupt, of another version or of another key, or that does not
// load, is never trusted: the kernel is compiled again and the entry rewritten.
// Tests: tests/runtime/cpu/kernel_cache_test.cpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/kernel_ir.h"
#include "runtime/cpu/jit.h"
#include "runtime/disk_cache.h"

namespace kiln::runtime::cpu {

enum class CacheSource : uint8_t { Memory, Disk, Compiled };

struct CacheResult {
  KernelFn fn = nullptr;      // the kernel, or the first of a GEMM's functions
  std::vector<KernelFn> fns;  // every function of the kernel's object, in order
  CacheSource source = CacheSource::Compiled;
  double compile_seconds = 0;  // compiling, or reading and linking a disk entry
};

class KernelCache {
 public:
  // `dir` empty: no disk cache.
  KernelCache(ObjectLoader& loader, std::string dir);

  CacheResult get(const codegen::Kernel& kernel);
  // As above, with the kernel's structural hash already known (codegen::kernel_hash).
  CacheResult get(const codegen::Kernel& kernel, uint64_t kernel_hash);

  // Whether the kernel is loaded in this process already.
  bool in_memory(uint64_t kernel_hash);

  // The full cache key of a kernel for this host, and its disk entry's path.
  uint64_t key_of(const codegen::Kernel& kernel) const;
  uint64_t key_of(uint64_t kernel_hash) const;
  std::string path_for(uint64_t key) const;
  const std::string& dir() const { return disk_.dir(); }

  // Forgets the in-memory entries (the loaded code stays loaded): the next get() of a
  // kernel goes to disk. For tests of the disk cache.
  void forget_memory();

  // KILN_CACHE_DIR, else $HOME/.cache/kiln; "" when disabled ("off") or unknown.
  static std::string default_dir();
  // The process's cache, in default_dir() (read when first used).
  static KernelCache& global();

  // The on-disk format version; bump when the entries' layout or meaning changes (4: a
  // GEMM of a depth a little over KC packs it as one block; 5: a conv's GEMM may carry a
  // window micro-kernel; 6: a GEMM may carry micro-kernels that read A in place; 7: a
  // guarded, clamped read of a pad, a conv border or a concatenation is one masked vector
  // load; 8: a conv's window may copy its planes per column shift, which changes the
  // columns of its last panel's micro-kernel; 9: a strided load reads each lane's whole
  // stride where it lies in the buffer, one load for a stride's phases).
  static constexpr uint32_t kFormatVersion = 9;

 private:
  std::vector<KernelFn> lookup_memory(uint64_t key);  // empty when absent
  std::vector<KernelFn> remember(uint64_t key, std::vector<KernelFn> fns);

  ObjectLoader& loader_;
  DiskCache disk_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::vector<KernelFn>> memory_;
};

}  // namespace kiln::runtime::cpu
