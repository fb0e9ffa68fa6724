// KernelProfile (kernel_profile.h): OpenCL event timestamps, summed per kernel.
#include "runtime/opencl/kernel_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace kiln::runtime::opencl {

namespace {

// The live profiles, printed at exit when their devices outlive main (the process's devices
// are kept for its whole life).
std::mutex& live_mutex() {
  static std::mutex m;
  return m;
}
std::set<KernelProfile*>& live() {
  static auto* s = new std::set<KernelProfile*>;  // never destroyed: read at exit
  return *s;
}

void print_live_profiles() {
  std::set<KernelProfile*> profiles;
  {
    std::lock_guard lock(live_mutex());
    profiles = live();
  }
  for (KernelProfile* p : profiles) p->print();
}

}  // namespace

bool KernelProfile::requested() {
  const char* v = std::getenv("KILN_OPENCL_PROFILE");
  return v && *v && std::string(v) != "0";
}

KernelProfile::KernelProfile(cl_command_queue queue) : queue_(queue) {
  static const bool registered = std::atexit(print_live_profiles) == 0;
  (void)registered;
  std::lock_guard lock(live_mutex());
  live().insert(this);
}

KernelProfile::~KernelProfile() {
  std::lock_guard lock(live_mutex());
  live().erase(this);
}

void KernelProfile::print() {
  if (printed_) return;
  printed_ = true;
  clFinish(queue_);
  collect();
  std::fputs(report().c_str(), stderr);
}

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
        end >= start) {
      Entry& e = totals_[what];
      e.launches += 1;
      e.ns += static_cast<double>(end - start);
    }
    clReleaseEvent(event);
  }
  pending_.clear();
}

std::string KernelProfile::report() const {
  std::lock_guard lock(mutex_);
  if (totals_.empty()) return "";
  std::vector<std::pair<std::string, Entry>> rows(totals_.begin(), totals_.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  double all = 0;
  for (const auto& r : rows) all += r.second.ns;
  std::string out =
      "kiln OpenCL kernel profile (KILN_OPENCL_PROFILE): " + std::to_string(rows.size()) +
      " kernels\n";
  char line[512];
  std::snprintf(line, sizeof line, "%10s %10s %10s %6s  %s\n", "launches", "total ms", "mean us",
                "share", "kernel");
  out += line;
  for (const auto& [what, e] : rows) {
    std::snprintf(line, sizeof line, "%10lld %10.3f %10.2f %5.1f%%  %s\n",
                  static_cast<long long>(e.launches), e.ns / 1e6,
                  e.ns / 1e3 / static_cast<double>(e.launches), 100 * e.ns / all, what.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "%10s %10.3f\n", "all", all / 1e6);
  return out + line;
}

}  // namespace kiln::runtime::opencl
