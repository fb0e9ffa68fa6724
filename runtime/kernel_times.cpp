// KernelTimes (kernel_times.h): launch times summed per kernel, printed as a table.
#include "runtime/kernel_times.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "codegen/contraction.h"

namespace kiln::runtime {

namespace {

// The live tables, printed at exit when their devices outlive main (the process's devices
// are kept for its whole life).
std::mutex& live_mutex() {
  static std::mutex m;
  return m;
}
std::set<KernelTimes*>& live() {
  static auto* s = new std::set<KernelTimes*>;  // never destroyed: read at exit
  return *s;
}

void print_live_tables() {
  std::set<KernelTimes*> tables;
  {
    std::lock_guard lock(live_mutex());
    tables = live();
  }
  for (KernelTimes* t : tables) t->print();
}

}  // namespace

std::string kernel_name(uint64_t hash) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "kiln_%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

std::string kernel_label(const std::string& name, const codegen::Kernel& k) {
  if (k.contraction) {
    const codegen::Contraction& c = *k.contraction;
    return name + " (gemm " + std::to_string(c.batch.size()) + " x " + std::to_string(c.m.size()) +
           " x " + std::to_string(c.n.size()) + " x " + std::to_string(c.k.size()) + ")";
  }
  if (k.spectral) return name + " (fft)";
  return name + " (" + std::to_string(k.outer_count()) + " outer iterations)";
}

bool KernelTimes::requested(const char* var) {
  const char* v = std::getenv(var);
  return v && *v && std::string(v) != "0";
}

KernelTimes::KernelTimes(std::string title, std::function<void()> before_print)
    : title_(std::move(title)), before_print_(std::move(before_print)) {
  static const bool registered = std::atexit(print_live_tables) == 0;
  (void)registered;
  std::lock_guard lock(live_mutex());
  live().insert(this);
}

KernelTimes::~KernelTimes() {
  std::lock_guard lock(live_mutex());
  live().erase(this);
}

void KernelTimes::add(const std::string& label, double ns) {
  std::lock_guard lock(mutex_);
  Entry& e = totals_[label];
  e.launches += 1;
  e.ns += ns;
}

void KernelTimes::print() {
  if (printed_) return;
  printed_ = true;
  if (before_print_) before_print_();
  std::fputs(report().c_str(), stderr);
}

std::string KernelTimes::report() const {
  std::lock_guard lock(mutex_);
  if (totals_.empty()) return "";
  std::vector<std::pair<std::string, Entry>> rows(totals_.begin(), totals_.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  double all = 0;
  for (const auto& r : rows) all += r.second.ns;
  std::string out = title_ + ": " + std::to_string(rows.size()) + " kernels\n";
  char line[512];
  std::snprintf(line, sizeof line, "%10s %10s %10s %6s  %s\n", "launches", "total ms", "mean us",
                "share", "kernel");
  out += line;
  for (const auto& [what, e] : rows) {
    std::snprintf(line, sizeof line, "%10lld %10.3f %10.2f %5.1f%%  %s\n",
                  static_cast<long long>(e.launches), e.ns / 1e6,
                  e.ns / 1e3 / static_cast<double>(e.launches), all > 0 ? 100 * e.ns / all : 0.0,
                  what.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "%10s %10.3f\n", "all", all / 1e6);
  return out + line;
}

}  // namespace kiln::runtime
