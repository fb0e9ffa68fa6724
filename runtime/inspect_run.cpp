// Measured runs for inspection: deterministic random inputs, timed runs on a device, and
// the text report of outputs, timings and kiln's statistics.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "frontend/format.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/random.h"
#include "runtime/inspect.h"

namespace kiln::inspect {

namespace {

// Element i as a double: complex values by their modulus.
double element_value(const Buffer& b, int64_t i) {
  if (b.dtype() == DType::C64)
    return std::hypot(element_as_double(b, i), element_as_double(b, i, /*imag=*/true));
  return element_as_double(b, i);
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

}  // namespace

BufferPtr random_buffer(const Type& type, uint64_t seed) {
  auto b = std::make_shared<Buffer>(type);
  int64_t n = type.numel();
  // Each element draws from its own counter; c64 draws two (real, imaginary).
  auto u = [&](int64_t i) { return ir::random_uniform_f64(seed, static_cast<uint64_t>(i)); };
  for (int64_t i = 0; i < n; ++i) {
    double x = 2 * u(i) - 1;  // [-1, 1)
    double k = std::floor(u(i) * 16);
    switch (type.dtype) {
      case DType::Bool: b->as<uint8_t>()[i] = u(i) < 0.5; break;
      case DType::I8: b->as<int8_t>()[i] = static_cast<int8_t>(k - 8); break;
      case DType::U8: b->as<uint8_t>()[i] = static_cast<uint8_t>(k); break;
      case DType::I32: b->as<int32_t>()[i] = static_cast<int32_t>(k - 8); break;
      case DType::I64: b->as<int64_t>()[i] = static_cast<int64_t>(k - 8); break;
      case DType::F16: b->as<uint16_t>()[i] = float_to_f16(static_cast<float>(x)); break;
      case DType::BF16: b->as<uint16_t>()[i] = float_to_bf16(static_cast<float>(x)); break;
      case DType::F32: b->as<float>()[i] = static_cast<float>(x); break;
      case DType::F64: b->as<double>()[i] = x; break;
      case DType::C64: {
        double y = 2 * ir::random_uniform_f64(seed, static_cast<uint64_t>(n + i)) - 1;
        b->as<complex64>()[i] = {static_cast<float>(x), static_cast<float>(y)};
        break;
      }
    }
  }
  return b;
}

std::vector<BufferPtr> run_inputs(const ir::Graph& graph, const std::vector<BufferPtr>& bound,
                                  const std::vector<BufferPtr>& given, uint64_t seed) {
  ir::ValueNames names = ir::value_names(graph);
  size_t free_params = 0;
  for (size_t i = 0; i < graph.params.size(); ++i)
    if (i >= bound.size() || !bound[i]) ++free_params;
  if (!given.empty() && given.size() != free_params)
    throw Error("run: " + std::to_string(given.size()) + " inputs given, but the graph takes " +
                std::to_string(free_params) +
                "; give one per input parameter, in order, or none "
                "for random inputs");
  std::vector<BufferPtr> out;
  size_t next = 0;
  for (size_t i = 0; i < graph.params.size(); ++i) {
    const ir::Node& p = *graph.params[i];
    if (i < bound.size() && bound[i]) {
      out.push_back(bound[i]);
    } else if (!given.empty()) {
      const BufferPtr& b = given[next++];
      if (!b || b->type() != p.type)
        throw Error("run: input " + std::to_string(next - 1) + " is " +
                    (b ? b->type().str() : std::string("missing")) + ", but parameter " +
                    names.at(&p) + " is " + p.type.str());
      out.push_back(b);
    } else {
      out.push_back(random_buffer(p.type, seed + i));
    }
  }
  return out;
}

RunResult run_graph(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                    const std::shared_ptr<runtime::Device>& device, int warm_runs,
                    std::source_location loc) {
  if (!device) throw DeviceError("run: no device to run on");
  RunResult r;
  r.device = device->name();
  reset_stats();
  for (int run = 0; run <= warm_runs; ++run) {
    runtime::record_host_sync(loc, "run");
    auto start = std::chrono::steady_clock::now();
    r.outputs = device->run(graph, inputs);
    double t =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (run == 0)
      r.first_ms = t;
    else
      r.warm_ms.push_back(t);
  }
  r.stats = stats();
  return r;
}

std::string summarize_buffer(const Buffer& b) {
  std::string out = b.type().str();
  int64_t n = b.type().numel();
  if (n == 0) return out + " (empty)";
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t finite = 0, nans = 0, infs = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = element_value(b, i);
    if (std::isnan(v)) {
      ++nans;
    } else if (std::isinf(v)) {
      ++infs;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      ++finite;
    }
  }
  const char* what = b.dtype() == DType::C64 ? " |z|" : "";
  if (finite > 0)
    out += std::string(what) + " min " + number(lo) + " max " + number(hi) + " mean " +
           number(sum / static_cast<double>(finite));
  if (nans || infs) out += " nan " + std::to_string(nans) + " inf " + std::to_string(infs);
  out += " [";
  int64_t shown = std::min<int64_t>(n, 6);
  for (int64_t i = 0; i < shown; ++i) out += (i ? ", " : "") + frontend::format_element(b, i);
  return out + (shown < n ? ", ...]" : "]");
}

std::string run_report(const ir::Graph& graph, const RunResult& r) {
  ir::ValueNames names = ir::value_names(graph);
  std::string out = "device: " + r.device + "\n";
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    std::string name = i < graph.results.size() && names.count(graph.results[i].get())
                           ? " (" + names.at(graph.results[i].get()) + ")"
                           : "";
    out += "output " + std::to_string(i) + name + ": " + summarize_buffer(*r.outputs[i]) + "\n";
  }
  out += "time: first run " + ms(r.first_ms) + " (compiles included)";
  if (!r.warm_ms.empty()) {
    double best = *std::min_element(r.warm_ms.begin(), r.warm_ms.end());
    double total = 0;
    for (double t : r.warm_ms) total += t;
    out += "; then " + std::to_string(r.warm_ms.size()) + " runs: best " + ms(best) + ", mean " +
           ms(total / static_cast<double>(r.warm_ms.size()));
  }
  out += "\n";
  const Stats& s = r.stats;
  int64_t runs = std::max<int64_t>(s.graphs_run, 1);
  out += "kernels: " + std::to_string(s.launches / runs) + " launches per run, " +
         std::to_string(s.kernels_compiled) + " compiled, cache hits " +
         std::to_string(s.cache_hits_memory) + " memory + " + std::to_string(s.cache_hits_disk) +
         " disk\n";
  out += s.str();
  return out;
}

}  // namespace kiln::inspect
