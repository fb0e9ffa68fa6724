// KernelProfile (kernel_profile.h): OpenCL event timestamps, summed per kernel.
#include "runtime/opencl/kernel_profile.h"

namespace kiln::runtime::opencl {

KernelProfile::KernelProfile(cl_command_queue queue)
    : queue_(queue), times_("kiln OpenCL kernel profile (KILN_OPENCL_PROFILE)", [this] {
        clFinish(queue_);
        collect();
      }) {}

void KernelProfile::add(const std::string& what, cl_event event) {
  std::lock_guard lock(mutex_);
  pending_.emplace_back(what, event);
}

void KernelProfile::collect() {
  std::lock_guard lock(mutex_);
  for (auto& [what, event] : pending_) {
    cl_ulong start = 0, end = 0;
    if (clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr) ==
            CL_SUCCESS &&
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr) ==
            CL_SUCCESS &&
        end >= start)
      times_.add(what, static_cast<double>(end - start));
    clReleaseEvent(event);
  }
  pending_.clear();
}

}  // namespace kiln::runtime::opencl
