// ProgramCache: built OpenCL programs of one device, in memory for the process and on
// disk as program binaries, so that a second process skips the driver's compiler.
//
// The key is a hash of the program source, the build options, and the device's name,
// version and driver version: a new driver never loads an old binary. Disk entries live in
// $KILN_CACHE_DIR/opencl (default $HOME/.cache/kiln/opencl; KILN_CACHE_DIR=off disables),
// one file per program (runtime/disk_cache.h). A truncated, corrupt, stale or unloadable
// entry is rebuilt from source and rewritten, with a warning. A program that fails to
// build throws CompileError with the driver's build log. Tests:
// tests/runtime/opencl/program_cache_test.cpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/disk_cache.h"
#include "runtime/opencl/cl_api.h"
#include "runtime/opencl/platform.h"

namespace kiln::runtime::opencl {

enum class ProgramSource : uint8_t { Memory, Disk, Built };

struct CachedProgram {
  cl_program program = nullptr;  // owned by the cache, alive as long as it is
  ProgramSource source = ProgramSource::Built;
  double seconds = 0;  // building, or loading the binary
};

class ProgramCache {
 public:
  // `dir` empty: memory only.
  ProgramCache(cl_context context, const DeviceInfo& device, std::string dir);

  // The program of `source` built with `options`; `what` names it in errors and logs.
  CachedProgram get(const std::string& source, const std::string& options, const std::string& what);

  uint64_t key_of(const std::string& source, const std::string& options) const;
  std::string path_for(uint64_t key) const;
  const std::string& dir() const { return disk_.dir(); }

  // $KILN_CACHE_DIR/opencl, else $HOME/.cache/kiln/opencl; "" when disabled or unknown.
  static std::string default_dir();
  static constexpr uint32_t kFormatVersion = 1;

 private:
  ProgramHandle build_from_source(const std::string& source, const std::string& options,
                                  const std::string& what) const;
  ProgramHandle load_binary(const std::string& binary, const std::string& options,
                            std::string& why) const;
  void write_entry(uint64_t key, cl_program program) const;

  cl_context context_;
  DeviceInfo device_;
  DiskCache disk_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, ProgramHandle> memory_;
};

}  // namespace kiln::runtime::opencl
