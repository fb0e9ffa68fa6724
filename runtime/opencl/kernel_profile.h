// KernelProfile: where an OpenCL device's time goes, kernel by kernel. With
// KILN_OPENCL_PROFILE=1 the device's queue records OpenCL's profiling timestamps for every
// launch; the device reads them when it synchronizes and, when it goes away, prints the
// table of runtime/kernel_times.h to stderr. Tests: tests/runtime/opencl/kernel_profile_test.cpp.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "runtime/kernel_times.h"
#include "runtime/opencl/cl_api.h"

namespace kiln::runtime::opencl {

class KernelProfile {
 public:
  // Whether KILN_OPENCL_PROFILE asks for profiling.
  static bool requested() { return KernelTimes::requested("KILN_OPENCL_PROFILE"); }

  // The profile of the launches on `queue`, printed by print() (the device's destructor) or at
  // the process's exit.
  explicit KernelProfile(cl_command_queue queue);
  KernelProfile(const KernelProfile&) = delete;
  KernelProfile& operator=(const KernelProfile&) = delete;
  // Waits for the queue, collects and prints the table to stderr (once).
  void print() { times_.print(); }

  // Takes a launch's event (its ownership too), labelled `what`.
  void add(const std::string& what, cl_event event);
  // Reads the timestamps of the launches added so far; call once they finished.
  void collect();
  // The table (empty when nothing was launched).
  std::string report() const { return times_.report(); }

 private:
  cl_command_queue queue_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, cl_event>> pending_;
  KernelTimes times_;
};

}  // namespace kiln::runtime::opencl
