// kiln_bench: times one workload's in-process implementations (kiln, Eigen, the copy
// limit, and the read limit of read-only workloads) and prints one JSON object per line.
// bench/compare.py drives it together with the Python peers; it is usable alone too:
//
//   kiln_bench --workload softmax --rows 4096 --cols 4096 [--reps 10] [--warmup 2]
//              [--impl kiln|eigen|limit|read_limit|all]
//
// For each implementation: the median and minimum of the timed repetitions, the first
// (cold) run's time, the checksum of the result, and kiln's statistics for the cold run
// (kernels compiled, disk-cache hits, compile seconds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "workloads.h"

namespace {

struct Options {
  std::string workload = "ew_chain";
  kiln::bench::Problem problem{4096, 4096};
  int reps = 10;
  int warmup = 2;
  std::string impl = "all";
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw kiln::Error("kiln_bench: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--workload")
      o.workload = value();
    else if (a == "--rows")
      o.problem.rows = std::stoll(value());
    else if (a == "--cols")
      o.problem.cols = std::stoll(value());
    else if (a == "--reps")
      o.reps = std::stoi(value());
    else if (a == "--warmup")
      o.warmup = std::stoi(value());
    else if (a == "--impl")
      o.impl = value();
    else
      throw kiln::Error("kiln_bench: unknown argument '" + a + "'");
  }
  if (o.reps < 1) throw kiln::Error("kiln_bench: --reps must be at least 1");
  return o;
}

double seconds_of(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    std::string device = kiln::current_device()->name();
    for (auto& impl : kiln::bench::make_impls(o.workload, o.problem)) {
      if (o.impl != "all" && o.impl != impl.name) continue;
      kiln::reset_stats();
      double cold = seconds_of(impl.run);
      kiln::Stats cold_stats = kiln::stats();
      for (int i = 1; i < o.warmup; ++i) impl.run();
      std::vector<double> times;
      for (int i = 0; i < o.reps; ++i) times.push_back(seconds_of(impl.run));
      std::sort(times.begin(), times.end());
      double median = times[times.size() / 2];
      std::printf(
          "{\"workload\": \"%s\", \"impl\": \"%s\", \"device\": \"%s\", \"seconds\": %.9g, "
          "\"min_seconds\": %.9g, \"cold_seconds\": %.9g, \"bytes\": %.17g, \"flops\": %.17g, "
          "\"checksum\": %.17g, \"threads\": %u, \"kernels_compiled\": %lld, "
          "\"cache_hits_disk\": %lld, \"compile_seconds\": %.9g, \"rows\": %lld, "
          "\"cols\": %lld}\n",
          o.workload.c_str(), impl.name.c_str(), impl.name == "kiln" ? device.c_str() : "cpu",
          median, times.front(), cold, impl.bytes, impl.flops, impl.checksum(),
          std::thread::hardware_concurrency(), static_cast<long long>(cold_stats.kernels_compiled),
          static_cast<long long>(cold_stats.cache_hits_disk), cold_stats.compile_seconds,
          static_cast<long long>(o.problem.rows), static_cast<long long>(o.problem.cols));
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
