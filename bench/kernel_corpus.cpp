// kiln_kernel_corpus: writes the code kiln generates for a fixed corpus of graphs, one file
// per graph and target, so that a refactor of lowering, the kernel passes or a renderer can
// prove it changed no generated code (scripts/dump_kernel_corpus.sh dumps and diffs).
//
//   kiln_kernel_corpus OUT_DIR FILE.kir...
//
// The corpus: every `// -----` case of the given IR files, the workloads of bench/compare
// (workloads.h) at a few shapes, and graphs of the public API that reach other code paths. The
// targets: the CPU backend's LLVM IR (before optimization, so any change in emission shows) and
// KernelIR text, with one and with sixteen threads; OpenCL C for a CPU-like (PoCL) and a GPU-like
// device, and for the GPU-like device with each KILN_OPENCL_* setting of docs/gpu.md changed.
#include <kiln/kiln.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "codegen/aot/emit_source.h"
#include "codegen/program.h"
#include "frontend/evaluate.h"
#include "passes/pipeline.h"
#include "workloads.h"
#ifdef KILN_HAS_LLVM
#include "codegen/llvm/compiler.h"
#include "codegen/llvm/target.h"
#endif

namespace {

namespace fs = std::filesystem;
using kiln::codegen::LowerOptions;
using kiln::codegen::ShapeHint;
using kiln::codegen::opencl::OpenCLTarget;

struct Case {
  std::string name;
  std::function<kiln::ir::Graph()> graph;  // already optimized
};

// Cases of an IR file: the text between `// -----` lines, each loaded on its own.
std::vector<Case> ir_cases(const fs::path& file, const fs::path& root) {
  std::ifstream in(file);
  std::vector<std::string> texts(1);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("// -----", 0) == 0) {
      texts.emplace_back();
      continue;
    }
    texts.back() += line + "\n";
  }
  std::string stem = fs::relative(file, root).replace_extension().string();
  for (char& c : stem)
    if (c == '/') c = '.';
  std::vector<Case> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string text = texts[i], dir = file.parent_path().string();
    out.push_back({stem + "." + std::to_string(i), [text, dir] {
                     kiln::ir::Graph g = kiln::load_ir_text(text, dir).graph();
                     kiln::passes::optimize_graph(g);
                     return g;
                   }});
  }
  return out;
}

std::vector<Case> workload_cases() {
  const std::vector<kiln::bench::Problem> shapes = {{4096, 4096}, {8, 64},     {1, 1 << 20},
                                                    {16384, 64},  {64, 16384}, {3, 1000}};
  const std::vector<std::string> names = {"ew_chain", "sum_full",  "sum_rows",
                                          "softmax",  "layernorm", "dispatch"};
  std::vector<Case> out;
  for (const std::string& name : names)
    for (const kiln::bench::Problem& p : shapes) {
      if (name == "dispatch" && p.numel() > (1 << 16)) continue;  // 33 matmuls
      out.push_back(
          {"workload." + name + "." + std::to_string(p.rows) + "x" + std::to_string(p.cols),
           [name, p] {
             const kiln::bench::Workload workload = kiln::bench::workload(name, p);
             kiln::Tensor y = workload.build(kiln::bench::make_operands(workload));
             kiln::ir::Graph g = kiln::frontend::extract_graph({y.node()}, false).graph;
             kiln::passes::optimize_graph(g);
             return g;
           }});
    }
  return out;
}

// Graphs that reach what the workloads do not: gathers and scatters, guarded reads, arg
// reductions, scans, column reductions, and the dtypes with their own code paths.
std::vector<Case> api_cases() {
  using kiln::DType;
  using kiln::Tensor;
  auto in = [](kiln::Shape shape, DType dtype = DType::F32, uint64_t salt = 1) {
    return kiln::from_data(kiln::bench::make_input(kiln::numel(shape), salt), shape, dtype);
  };
  auto index = [](int64_t n, int64_t bound) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>(i * 7 % bound);
    return kiln::from_data(v, {n});
  };
  using kiln::cast;
  // clang-format off
  const std::vector<std::pair<std::string, std::function<Tensor()>>> graphs = {
    {"transpose", [&] { return kiln::transpose(in({300, 200})) * 2.0; }},
    {"column_sum", [&] { return kiln::sum(in({512, 1000}), {0}); }},
    {"column_sum_wide", [&] { return kiln::sum(in({16, 65536}), {0}); }},
    {"argmax_rows", [&] { return kiln::argmax(in({64, 1000}), {1}); }},
    {"argmax_columns", [&] { return kiln::argmax(in({1000, 64}), {0}); }},
    {"argmax_full", [&] { return kiln::argmax(in({1 << 20})); }},
    {"cumsum_rows", [&] { return kiln::cumsum(in({64, 1000}), 1); }},
    {"cumsum_columns", [&] { return kiln::cumsum(in({1000, 64}), 0); }},
    {"pad", [&] { return kiln::pad(in({100, 100}), {{1, 2}, {3, 4}}, 0.5) + 1.0; }},
    {"concat", [&] { return kiln::concatenate({in({64, 100}), in({64, 28}, DType::F32, 2)}, 1); }},
    {"take_along_axis", [&] {
       return kiln::take_along_axis(in({64, 100}), kiln::reshape(index(640, 100), {64, 10}), 1); }},
    {"scatter_add", [&] {
       return kiln::scatter_add(kiln::zeros({1000}), index(5000, 1000), in({5000}), 0); }},
    {"f16", [&] { return kiln::exp(in({4096}, DType::F16)) * 2.0; }},
    {"bf16_sum", [&] { return kiln::sum(in({64, 1024}, DType::BF16), {1}); }},
    {"f64_sum", [&] { return kiln::sum(in({1 << 18}, DType::F64)); }},
    {"c64", [&] {
       return cast(in({4096}), DType::C64) * kiln::conj(cast(in({4096}, DType::F32, 2), DType::C64)); }},
    {"i8", [&] { return kiln::maximum(in({4096}, DType::I8), in({4096}, DType::I8, 2)); }},
    {"bool", [&] { return kiln::greater(in({64, 100}), in({64, 100}, DType::F32, 2)); }},
    {"var_rows", [&] { return kiln::var(in({256, 768}), {1}); }},
    {"log_softmax", [&] { return kiln::log_softmax(in({128, 4096})); }},
    {"logsumexp_columns", [&] { return kiln::logsumexp(in({4096, 128}), {0}); }},
    {"small_sum", [&] { return kiln::sum(in({3, 5})); }},
    {"max_i32", [&] { return kiln::max(in({100000}, DType::I32)); }},
    {"matmul", [&] { return kiln::matmul(in({64, 128}), in({128, 32}, DType::F32, 2)); }},
    {"flip_tile", [&] { return kiln::tile(kiln::flip(in({33, 17}), {1}), {2, 3}); }},
    {"broadcast_outer", [&] { return in({64, 1}) + in({1, 1000}, DType::F32, 2); }},
  };
  // clang-format on
  std::vector<Case> out;
  for (const auto& [name, build] : graphs)
    out.push_back({"api." + name, [build] {
                     Tensor y = build();
                     kiln::ir::Graph g = kiln::frontend::extract_graph({y.node()}, false).graph;
                     kiln::passes::optimize_graph(g);
                     return g;
                   }});
  return out;
}

struct ClTarget {
  std::string name;
  OpenCLTarget target;
};

std::vector<ClTarget> opencl_targets() {
  auto device = [](const std::string& name, bool is_gpu, int64_t max_wg, int64_t local_mem,
                   int units) {
    OpenCLTarget t;
    t.device_name = name;
    t.fp64 = t.fp16 = true;
    t.is_gpu = is_gpu;
    t.max_work_group_size = max_wg;
    t.local_mem_bytes = local_mem;
    t.compute_units = units;
    return t;
  };
  const OpenCLTarget cpu = device("cpu-like", false, 4096, 256 << 10, 16);  // PoCL, 16 cores
  const OpenCLTarget gpu = device("gpu-like", true, 1024, 48 << 10, 132);   // NVIDIA-like
  std::vector<ClTarget> out = {{"cl-cpu", cpu}, {"cl-gpu", gpu}};
  auto variant = [&](const std::string& name, const std::function<void(OpenCLTarget&)>& f) {
    OpenCLTarget t = gpu;
    f(t);
    out.push_back({"cl-gpu-" + name, t});
  };
  variant("shape-map", [](OpenCLTarget& t) { t.shape_hint = ShapeHint::Map; });
  variant("shape-row", [](OpenCLTarget& t) { t.shape_hint = ShapeHint::Row; });
  variant("shape-split", [](OpenCLTarget& t) { t.shape_hint = ShapeHint::Split; });
  variant("vector1", [](OpenCLTarget& t) { t.vector_width = 1; });
  variant("vector2", [](OpenCLTarget& t) { t.vector_width = 2; });
  variant("wg", [](OpenCLTarget& t) { t.map_group_size = 128, t.row_group_size = 96; });
  variant("register-row1", [](OpenCLTarget& t) { t.max_register_row = 1; });
  variant("register-row64", [](OpenCLTarget& t) { t.max_register_row = 64; });
  variant("cast-stores", [](OpenCLTarget& t) { t.cast_vector_stores = true; });
  variant("small", [](OpenCLTarget& t) { t.max_work_group_size = 64, t.compute_units = 4; });
  return out;
}

void write(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
}

// Each target's text for one graph; an error is the text (some cases fail on purpose).
void dump(const fs::path& out, const Case& c) {
  auto guarded = [&](const fs::path& dir, const std::string& file,
                     const std::function<std::string()>& f) {
    std::string text;
    try {
      text = f();
    } catch (const std::exception& e) {
      text = std::string("error: ") + e.what() + "\n";
    }
    write(dir, file, text);
  };
  std::optional<kiln::ir::Graph> graph;
  try {
    graph = c.graph();
  } catch (const std::exception& e) {
    write(out / "error", c.name, std::string("error: ") + e.what() + "\n");
    return;
  }
  for (int threads : {1, 16}) {
    LowerOptions lower;
#ifdef KILN_HAS_LLVM
    lower.vector_lanes = kiln::codegen::llvm_backend::host_target().info.lanes;
#endif
    lower.threads = threads;
    lower.row_cache_bytes = 64 << 10;  // as the CPU device lowers
    const std::string suffix = "-t" + std::to_string(threads);
    guarded(out / ("kernelir" + suffix), c.name + ".txt", [&] {
      kiln::codegen::Program p = kiln::codegen::build_program(*graph, lower);
      std::string s;
      for (const auto& k : p.kernels) s += kiln::codegen::print_kernel(k) + "\n";
      return s;
    });
#ifdef KILN_HAS_LLVM
    guarded(out / ("llvm" + suffix), c.name + ".ll", [&] {
      kiln::codegen::Program p = kiln::codegen::build_program(*graph, lower);
      std::string s;
      for (const auto& k : p.kernels)
        s += kiln::codegen::llvm_backend::kernel_llvm_ir(k, /*optimized=*/false) + "\n";
      return s;
    });
#endif
  }
  for (const ClTarget& t : opencl_targets())
    guarded(out / t.name, c.name + ".cl",
            [&] { return kiln::codegen::aot::opencl_source(*graph, t.target); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kiln_kernel_corpus OUT_DIR FILE.kir...\n";
    return 2;
  }
  const fs::path out = argv[1];
  std::vector<Case> cases = workload_cases();
  for (Case& c : api_cases()) cases.push_back(std::move(c));
  fs::path root = fs::current_path();
  for (int i = 2; i < argc; ++i)
    for (Case& c : ir_cases(argv[i], root)) cases.push_back(std::move(c));
  for (const Case& c : cases) dump(out, c);
  std::cout << "kiln_kernel_corpus: " << cases.size() << " graphs written to " << out.string()
            << "\n";
  return 0;
}
