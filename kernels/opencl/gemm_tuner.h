// GemmTuner: chooses the tiles of the OpenCL GEMM (kernels/opencl/gemm.h) for a kernel on
// one device, and remembers the choice per (device, dtypes, shape class) on disk beside
// the program cache: $KILN_CACHE_DIR/opencl-tuning (default $HOME/.cache/kiln/...), one
// small file per key (runtime/disk_cache.h), so that a second process reuses it.
//
// choose() returns the remembered tiles, else (when tuning) times the candidates
// (gemm_candidates) on the device on the kernel's own sizes and keeps the fastest, else the
// default for the device class. A file that is corrupt (bad checksum, unreadable payload)
// or stale (tiles the device cannot run, another format) is ignored with a warning, and
// rewritten by the next tuning. The OpenCL device tunes when KILN_TUNE=1 (docs/gpu.md).
// Tests: tests/runtime/opencl/gemm_tuner_test.cpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/opencl/gemm.h"
#include "runtime/disk_cache.h"

namespace kiln::runtime::opencl {
class OpenCLDevice;
}

namespace kiln::kernels::opencl {

class GemmTuner {
 public:
  // `dir` empty: choices are remembered in memory only. `max_candidates` > 0 times only
  // that many candidates (the first, the default among them).
  GemmTuner(runtime::opencl::OpenCLDevice& device, std::string dir, int max_candidates = 0);

  // The tiles for `kernel`, which has a contraction (see above).
  GemmTile choose(const Kernel& kernel, bool tune);
  // Times `candidates` (empty: gemm_candidates) on `kernel`, remembers and returns the best.
  GemmTile tune(const Kernel& kernel, std::vector<GemmTile> candidates = {});

  // The key of `kernel`'s choice: the device (name, version, driver), the dtypes the
  // factors read and accumulate in, and gemm_shape_class.
  uint64_t key_of(const Kernel& kernel) const;
  std::string path_for(const Kernel& kernel) const { return disk_.path_for(key_of(kernel)); }
  int64_t timed_candidates() const { return timed_; }  // since construction

  // $KILN_CACHE_DIR/opencl-tuning, or "" when the cache is off.
  static std::string default_dir();
  static constexpr uint32_t kFormatVersion = 1;

 private:
  double seconds_of(const Kernel& kernel, const GemmTile& tile);

  runtime::opencl::OpenCLDevice& device_;
  runtime::DiskCache disk_;
  int max_candidates_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, GemmTile> memory_;
  int64_t timed_ = 0;
};

}  // namespace kiln::kernels::opencl
