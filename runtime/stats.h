// Run statistics and the host-sync discipline: every sync is counted with the call site
// that caused it, and strict mode turns an unintended sync into a SyncError naming it.
// Tests: tests/runtime/stats_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// One place in user code that synced, with how many times it did.
struct SyncSite {
  std::string file;
  int line = 0;
  std::string function;
  std::string what;  // what synced, e.g. "item" or "to_vector"
  int64_t count = 0;
};

// Counters since the start of the process or the last reset_stats().
struct Stats {
  int64_t host_syncs = 0;
  std::vector<SyncSite> sync_sites;  // in order of first occurrence
  int64_t graphs_run = 0;
  int64_t plans_reused = 0;  // graphs run with the plan of an earlier, identical one
  int64_t nodes_evaluated = 0;
  int64_t kernels_compiled = 0, cache_hits_memory = 0, cache_hits_disk = 0, launches = 0;
  int64_t bytes_allocated = 0;
  // Bytes copied between host memory and a device's own memory (devices that compute in
  // host memory, cpu and reference, copy nothing): inputs uploaded, results read back.
  int64_t bytes_host_to_device = 0, bytes_device_to_host = 0;
  double compile_seconds = 0, run_seconds = 0;

  // A readable multi-line report; sync sites are listed as file:line.
  std::string str() const;
};

// A snapshot of the counters (thread safe).
Stats stats();
// Sets every counter back to zero and forgets the sync sites.
void reset_stats();

// Makes every host sync on this thread throw SyncError while alive, whatever KILN_STRICT
// says, unless an AllowSyncGuard is created inside it. Guards nest; the innermost wins.
class StrictSyncGuard {
 public:
  StrictSyncGuard();
  ~StrictSyncGuard();
  StrictSyncGuard(const StrictSyncGuard&) = delete;
  StrictSyncGuard& operator=(const StrictSyncGuard&) = delete;

 private:
  int previous_;
};

// Permits host syncs on this thread while alive, even in strict mode (KILN_STRICT=1 or an
// enclosing StrictSyncGuard). Guards nest; the innermost wins.
class AllowSyncGuard {
 public:
  AllowSyncGuard();
  ~AllowSyncGuard();
  AllowSyncGuard(const AllowSyncGuard&) = delete;
  AllowSyncGuard& operator=(const AllowSyncGuard&) = delete;

 private:
  int previous_;
};

// Whether a host sync on this thread would throw right now.
bool strict_syncs_enabled();

namespace runtime {

// Counts one host sync at `loc` (the user's call site). In strict mode, without an
// AllowSyncGuard, throws SyncError naming the site instead; a refused sync is not counted.
void record_host_sync(std::source_location loc, std::string_view what);

// Runs `update` on the counters under their lock; devices count their work through it.
void add_stats(const std::function<void(Stats&)>& update);

}  // namespace runtime
}  // namespace kiln
