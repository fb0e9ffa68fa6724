// KernelTimes: where a device's time goes, kernel by kernel. A device profiling its launches
// (KILN_CPU_PROFILE=1, KILN_OPENCL_PROFILE=1) adds each launch's time under a label (the
// kernel and what it computes, kernel_label); when the device goes away, or at the process's
// exit if it never does, the table goes to stderr: per kernel the launches, the total and mean
// time, and its share of all of it, slowest first. Off by default: timing costs a little per
// launch. Tests: tests/runtime/cpu/device_test.cpp, tests/runtime/opencl/kernel_profile_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "codegen/kernel_ir.h"

namespace kiln::runtime {

// A kernel's name from its hash: "kiln_" and 16 hex digits.
std::string kernel_name(uint64_t hash);
// "NAME (gemm B x M x N x K)", "NAME (fft)", or NAME with the kernel's outer iterations.
std::string kernel_label(const std::string& name, const codegen::Kernel& kernel);

class KernelTimes {
 public:
  // Whether the environment variable `var` asks for profiling ("1" or any value but "0").
  static bool requested(const char* var);

  // A table headed `title`; `before_print` (may be empty) runs first when it is printed,
  // e.g. to collect launches still in flight.
  explicit KernelTimes(std::string title, std::function<void()> before_print = {});
  ~KernelTimes();
  KernelTimes(const KernelTimes&) = delete;
  KernelTimes& operator=(const KernelTimes&) = delete;

  void add(const std::string& label, double ns);
  // The table ("" when nothing was added).
  std::string report() const;
  // Prints the table to stderr, once (the device's destructor, or the process's exit).
  void print();

 private:
  struct Entry {
    int64_t launches = 0;
    double ns = 0;
  };
  std::string title_;
  std::function<void()> before_print_;
  bool printed_ = false;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> totals_;
};

}  // namespace kiln::runtime
