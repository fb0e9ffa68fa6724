// The process-wide counters behind kiln::stats(), and strict-mode host-sync checking.
#include "runtime/stats.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "ir/error.h"

namespace kiln {

namespace {

std::mutex& stats_mutex() {
  static std::mutex m;
  return m;
}

Stats& counters() {
  static Stats s;
  return s;
}

// The sync mode of this thread, as set by the innermost live guard. Without a guard the
// environment decides, read at each sync so that tests and tools can change it.
enum SyncMode : int { kFromEnvironment = 0, kStrict = 1, kAllow = 2 };
thread_local int sync_mode = kFromEnvironment;

bool strict_from_environment() {
  const char* v = std::getenv("KILN_STRICT");
  if (!v) return false;
  std::string s(v);
  return !(s.empty() || s == "0" || s == "false" || s == "off" || s == "no");
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string site_str(const std::string& file, int line, const std::string& function) {
  std::string s = file + ":" + std::to_string(line);
  if (!function.empty()) s += " in " + function;
  return s;
}

}  // namespace

std::string Stats::str() const {
  auto n = [](int64_t v) { return std::to_string(v); };
  char seconds[96];
  std::snprintf(seconds, sizeof seconds, "compile %.6f s, run %.6f s", compile_seconds,
                run_seconds);
  std::string s = "kiln stats:\n";
  s += "  graphs run: " + n(graphs_run) + " (plans reused: " + n(plans_reused) +
       "), nodes evaluated: " + n(nodes_evaluated) + "\n";
  s += "  kernels compiled: " + n(kernels_compiled) + ", cache hits: " + n(cache_hits_memory) +
       " memory, " + n(cache_hits_disk) + " disk, launches: " + n(launches) + "\n";
  s += "  bytes allocated: " + format_bytes(bytes_allocated) +
       ", copied host->device: " + format_bytes(bytes_host_to_device) +
       ", device->host: " + format_bytes(bytes_device_to_host) + "\n";
  s += "  time: " + std::string(seconds) + "\n";
  s += "  host syncs: " + n(host_syncs) + "\n";
  for (const SyncSite& site : sync_sites)
    s += "    " + site_str(site.file, site.line, site.function) + ": " + site.what + " x" +
         n(site.count) + "\n";
  return s;
}

Stats stats() {
  std::lock_guard lock(stats_mutex());
  return counters();
}

void reset_stats() {
  std::lock_guard lock(stats_mutex());
  counters() = Stats{};
}

StrictSyncGuard::StrictSyncGuard() : previous_(sync_mode) { sync_mode = kStrict; }
StrictSyncGuard::~StrictSyncGuard() { sync_mode = previous_; }
AllowSyncGuard::AllowSyncGuard() : previous_(sync_mode) { sync_mode = kAllow; }
AllowSyncGuard::~AllowSyncGuard() { sync_mode = previous_; }

bool strict_syncs_enabled() {
  if (sync_mode == kStrict) return true;
  if (sync_mode == kAllow) return false;
  return strict_from_environment();
}

namespace runtime {

void record_host_sync(std::source_location loc, std::string_view what) {
  std::string file = loc.file_name() ? loc.file_name() : "";
  std::string function = loc.function_name() ? loc.function_name() : "";
  int line = static_cast<int>(loc.line());
  if (strict_syncs_enabled())
    throw SyncError("host sync in strict mode: " + std::string(what) + " at " +
                    site_str(file, line, function) +
                    ". Keep the value in the graph, or allow this sync with a "
                    "kiln::AllowSyncGuard (strict mode comes from KILN_STRICT=1 or a "
                    "kiln::StrictSyncGuard)");
  std::lock_guard lock(stats_mutex());
  Stats& s = counters();
  ++s.host_syncs;
  for (SyncSite& site : s.sync_sites) {
    if (site.line == line && site.file == file && site.function == function && site.what == what) {
      ++site.count;
      return;
    }
  }
  s.sync_sites.push_back({file, line, function, std::string(what), 1});
}

void add_stats(const std::function<void(Stats&)>& update) {
  std::lock_guard lock(stats_mutex());
  update(counters());
}

}  // namespace runtime
}  // namespace kiln
