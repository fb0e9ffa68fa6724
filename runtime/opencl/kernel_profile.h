// KernelProfile: where an OpenCL device's time goes, kernel by kernel. With
// KILN_OPENCL_PROFILE=1 the device's queue records OpenCL's profiling timestamps for every
// launch; the device reads them when it synchronizes and, when it goes away, prints a table
// to stderr: per kernel (its entry point and what it computes), the launches, the total and
// mean device time, and its share of all of it, slowest first. Off by default: events cost
// a little per launch. Tests: tests/runtime/opencl/kernel_profile_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/opencl/cl_api.h"

namespace kiln::runtime::opencl {

class KernelProfile {
 public:
  // Whether KILN_OPENCL_PROFILE asks for profiling ("1" or any value but "0").
  static bool requested();

  // The profile of the launches on `queue`. It prints its table when printed() is called
  // (the device's destructor), or at the process's exit if the device is never destroyed.
  explicit KernelProfile(cl_command_queue queue);
  ~KernelProfile();
  KernelProfile(const KernelProfile&) = delete;
  KernelProfile& operator=(const KernelProfile&) = delete;
  // Waits for the queue, collects and prints the table to stderr (once).
  void print();

  // Takes a launch's event (its ownership too), labelled `what`.
  void add(const std::string& what, cl_event event);
  // Reads the timestamps of the launches added so far; call once they finished.
  void collect();
  // The table (empty when nothing was launched).
  std::string report() const;

  struct Entry {
    int64_t launches = 0;
    double ns = 0;
  };
  const std::map<std::string, Entry>& entries() const { return totals_; }

 private:
  cl_command_queue queue_;
  bool printed_ = false;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, cl_event>> pending_;
  std::map<std::string, Entry> totals_;
};

}  // namespace kiln::runtime::opencl
