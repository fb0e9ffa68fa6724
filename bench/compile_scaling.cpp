// kiln_compile_scaling: how compile time grows with graph size. Builds elementwise chains
// of N ops (1k, 10k, 100k, 1M by default) and times each stage from the lazy tensors to a
// compiled, run program, then prints a Markdown table with the time per 1,000 ops:
//
//   kiln_compile_scaling [--device cpu|opencl|reference] [--sizes 1000,10000,...]
//                        [--mix periodic|random]
//
// The chain's ops come from a fixed cycle of 40 steps (mul, add, sub, maximum, tanh with
// varying constants; `periodic`, the default: fused kernels repeat, as in a model's layers,
// and are compiled once each) or from a seeded random draw (`random`: nearly every kernel
// is new, so the device compiler's time per op shows). Set KILN_CACHE_DIR to an empty
// directory for cold compiles. Compile time per op should stay flat across the sizes.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "codegen/program.h"
#include "frontend/evaluate.h"
#include "passes/pipeline.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/stats.h"

namespace {

struct Options {
  std::string device = "cpu";
  std::vector<int64_t> sizes = {1000, 10000, 100000, 1000000};
  bool random = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw kiln::Error("kiln_compile_scaling: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--device") {
      o.device = value();
    } else if (a == "--sizes") {
      o.sizes.clear();
      std::string list = value();
      for (size_t pos = 0; pos < list.size();) {
        size_t comma = list.find(',', pos);
        o.sizes.push_back(std::stoll(list.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (a == "--mix") {
      std::string m = value();
      if (m != "periodic" && m != "random")
        throw kiln::Error("kiln_compile_scaling: --mix is periodic or random, not " + m);
      o.random = m == "random";
    } else {
      throw kiln::Error("kiln_compile_scaling: unknown argument '" + a + "'");
    }
  }
  return o;
}

// Step `kind` of the chain with constant c: the ops a model's elementwise code is made of.
kiln::Tensor step(const kiln::Tensor& x, int kind, float c) {
  switch (kind) {
    case 0: return x * 0.75f + c;
    case 1: return x - c * 0.5f;
    case 2: return kiln::maximum(x, -c);
    case 3: return kiln::tanh(x) * 2.0f;
    default: return x + 0.125f;
  }
}

kiln::Tensor chain(int64_t ops, bool random) {
  std::vector<float> start(64);
  for (size_t i = 0; i < start.size(); ++i) start[i] = -2.0f + 0.0625f * static_cast<float>(i);
  kiln::Tensor x = kiln::from_data(start, {64});
  uint64_t state = 0x2545f4914f6cdd1dull;
  for (int64_t k = 0; k < ops; ++k) {
    int kind = 0;
    float c = 0;
    if (random) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      kind = static_cast<int>((state >> 33) % 5);
      c = 0.25f + 0.125f * static_cast<float>((state >> 40) % 5);
    } else {
      kind = k % 8 == 3 ? 3 : static_cast<int>(k % 4 == 3 ? 4 : k % 4);
      c = 0.25f + 0.125f * static_cast<float>(k % 5);
    }
    x = step(x, kind, c);
  }
  return x;
}

double seconds_of(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Row {
  int64_t ops = 0, nodes = 0, kernels = 0, launches = 0;
  double build = 0, extract = 0, passes = 0, lower = 0, device = 0, run = 0;
  double compile() const { return extract + passes + lower + device; }
};

Row measure(kiln::runtime::Device& device, int64_t ops, bool random) {
  Row r;
  r.ops = ops;
  std::optional<kiln::Tensor> x;
  r.build = seconds_of([&] { x = chain(ops, random); });
  kiln::frontend::Extraction ex;
  r.extract = seconds_of([&] { ex = kiln::frontend::extract_graph({x->node()}, true); });
  r.nodes = static_cast<int64_t>(ex.graph.nodes.size());
  r.passes = seconds_of([&] { kiln::passes::optimize_graph(ex.graph); });
  kiln::codegen::Program program;
  if (!device.interprets()) {
    r.lower = seconds_of(
        [&] { program = kiln::codegen::build_program(ex.graph, device.lower_options()); });
    r.kernels = static_cast<int64_t>(program.kernels.size());
    r.launches = static_cast<int64_t>(program.launches.size());
    kiln::runtime::DeviceCounts counts;
    r.device = seconds_of([&] { device.compile(program, counts); });
    r.run = seconds_of([&] { kiln::runtime::run_program(device, program, ex.inputs); });
  } else {
    kiln::runtime::DeviceCounts counts;
    r.run = seconds_of([&] { device.interpret(ex.graph, ex.inputs, counts); });
  }
  return r;
}

void print(const Row& r) {
  const double k = static_cast<double>(r.ops) / 1000.0;
  std::printf(
      "| %8lld | %8lld | %5lld / %5lld | %8.3f | %8.3f | %8.3f | %8.3f | %8.3f | %8.3f | %9.2f |\n",
      static_cast<long long>(r.ops), static_cast<long long>(r.nodes),
      static_cast<long long>(r.kernels), static_cast<long long>(r.launches), r.build * 1e3 / k,
      r.extract * 1e3 / k, r.passes * 1e3 / k, r.lower * 1e3 / k, r.device * 1e3 / k,
      r.compile() * 1e3 / k, r.run * 1e3 / k);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    auto device = kiln::runtime::make_device(o.device);
    std::printf("device %s, %s mix; ms per 1,000 ops\n\n", device->name().c_str(),
                o.random ? "random" : "periodic");
    std::printf(
        "| ops | nodes | kernels / launches | build | extract | passes | schedule+lower "
        "| device compile | compile total | run |\n");
    std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int64_t n : o.sizes) print(measure(*device, n, o.random));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_compile_scaling: %s\n", e.what());
    return 1;
  }
}
