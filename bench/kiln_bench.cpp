// kiln_bench: times one workload's in-process implementations (kiln, a prepared kiln
// executable for GEMMs and convolutions, Eigen, OpenBLAS, and the limit: the copy, the read
// stream of read-only workloads, the FMA peak of compute-bound ones) and prints one JSON
// object per line. bench/compare.py drives it together with the Python peers; it is usable
// alone too:
//
//   kiln_bench --workload softmax --rows 4096 --cols 4096 [--reps 10] [--warmup 2]
//              [--max-seconds 20]   (an implementation slower than that gets 3 timed runs)
//              [--impl kiln|kiln_exec|eigen|openblas|limit|read_limit|all]
//   kiln_bench --workload sgemm --dims 2048,2048,2048      (dims: see workloads.cpp)
//   kiln_bench --workload peak                             (the FMA peak alone)
//   kiln_bench --workload onnx_cnn --model build/bench/onnx_models/onnx_cnn.onnx
//
// For each implementation: the median and minimum of the timed repetitions, the first
// (cold) run's time, the checksums of the result (workloads.h), what the implementation
// is ("note": the FMA loop that won, the BLAS core, how a convolution is expressed), and
// kiln's statistics for the cold run (kernels compiled, disk-cache hits, compile seconds).
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
  double max_seconds = 20;  // per implementation: slow ones stop after 3 timed runs past it
  std::string impl = "all";
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

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
    else if (a == "--dims")
      o.problem.dims = kiln::bench::parse_dims(value());
    else if (a == "--model")
      o.problem.model = value();
    else if (a == "--reps")
      o.reps = std::stoi(value());
    else if (a == "--max-seconds")
      o.max_seconds = std::stod(value());
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
      double spent = 0;
      for (int i = 0; i < o.reps && (i < 3 || spent < o.max_seconds); ++i) {
        times.push_back(seconds_of(impl.run));
        spent += times.back();
      }
      std::sort(times.begin(), times.end());
      double median = times[times.size() / 2];
      const kiln::bench::Checksum sum = impl.checksum();
      std::string dims;
      for (int64_t d : o.problem.dims) dims += (dims.empty() ? "" : ",") + std::to_string(d);
      std::printf(
          "{\"workload\": \"%s\", \"impl\": \"%s\", \"device\": \"%s\", \"seconds\": %.9g, "
          "\"min_seconds\": %.9g, \"cold_seconds\": %.9g, \"bytes\": %.17g, \"flops\": %.17g, "
          "\"checksum\": %.17g, \"weighted_checksum\": %.17g, \"magnitude\": %.17g, "
          "\"note\": \"%s\", \"dims\": [%s], \"reps\": %zu, \"threads\": %u, \"kernels_compiled\": "
          "%lld, "
          "\"cache_hits_disk\": %lld, \"compile_seconds\": %.9g, \"rows\": %lld, "
          "\"cols\": %lld}\n",
          o.workload.c_str(), impl.name.c_str(),
          impl.name.rfind("kiln", 0) == 0 ? device.c_str() : "cpu", median, times.front(), cold,
          impl.bytes, impl.flops, sum.sum, sum.weighted, sum.magnitude,
          json_escape(impl.note).c_str(), dims.c_str(), times.size(),
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
