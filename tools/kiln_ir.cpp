// kiln-ir: an opt-style driver over IR files. Reads a .kir file (kiln::load_ir), or an
// ONNX model (.onnx, kiln::onnx::load; --input-shape gives dynamic dimensions), runs the
// default pipeline or --passes, and prints the optimized IR, or what the compiler makes
// of it: the kernels (--schedule), their code (--emit), a Graphviz picture (--dot), or a
// measured run (--run). With --split-input-file (as mlir-opt has it) each case of a file
// of cases separated by `// -----` lines (the IR golden files of tests/ir/) runs on its
// own, and the outputs are printed separated by the same line; an error in one case names
// the case and does not stop the others. The work is the library's (kiln/io.h,
// kiln/inspect.h, codegen/aot/emit_source.h); this file only reads the command line.
// Exit status: 0 on success, 1 for an error in the input (in any case), 2 for a bad
// command line. Tests: tests/tools/kiln_ir_test.cpp, tests/tools/onnx_tools_test.cpp.
#include <kiln/inspect.h>
#include <kiln/kiln.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "codegen/aot/emit_source.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "tools/model_file.h"

namespace {

struct Options {
  std::string file;
  std::string passes;
  bool print_after_all = false, print_after_change = false, verify_each = false;
  bool time_passes = false;
  bool schedule = false, dot = false, run = false;
  std::string emit;
  std::string device;
  std::vector<std::string> inputs;
  std::vector<std::string> input_shapes;
  std::string save_outputs;
  uint64_t seed = 0;
  int repeat = 0;
  bool split_input_file = false;
};

void run(const Options& o, const kiln::IrFunction& fn) {
  kiln::ir::Graph graph = fn.graph();

  kiln::passes::PassOptions popt = kiln::passes::PassOptions::from_env();
  popt.ir_stream = &std::cout;
  if (o.verify_each) popt.verify_each = true;
  if (o.print_after_all) popt.print_ir_after.mode = kiln::passes::PrintIrAfter::Mode::All;
  if (o.print_after_change) popt.print_ir_after.mode = kiln::passes::PrintIrAfter::Mode::Change;
  kiln::passes::PassReport passes =
      o.passes.empty()
          ? kiln::passes::optimize_graph(graph, popt)
          : kiln::passes::pipeline_of(kiln::passes::parse_pass_list(o.passes), popt).run(graph);
  if (o.time_passes) std::cout << passes.str();

  bool action = o.schedule || o.dot || o.run || !o.emit.empty();
  if (!action) std::cout << kiln::ir::print_graph(graph);
  // The device the kernels are described for (they are lowered as it lowers them), and run on.
  std::shared_ptr<kiln::runtime::Device> device;
  if (o.schedule || o.dot || o.run)
    device =
        o.device.empty() ? kiln::runtime::default_device() : kiln::runtime::make_device(o.device);
  if (o.schedule) std::cout << kiln::inspect::schedule_report(graph, *device);
  if (o.dot) std::cout << kiln::inspect::dot_graph(graph, *device);
  if (o.emit == "opencl") std::cout << kiln::codegen::aot::opencl_source(graph);
  if (o.emit == "llvm") std::cout << kiln::codegen::aot::llvm_ir(graph);
  if (o.run) {
    std::vector<kiln::BufferPtr> given;
    for (const std::string& path : o.inputs) given.push_back(kiln::read_npy(path));
    auto inputs = kiln::inspect::run_inputs(graph, fn.bound(), given, o.seed);
    kiln::inspect::RunResult r = kiln::inspect::run_graph(graph, inputs, device, o.repeat);
    std::cout << kiln::inspect::run_report(graph, r);
    if (!o.save_outputs.empty()) {
      std::filesystem::create_directories(o.save_outputs);
      for (size_t i = 0; i < r.outputs.size(); ++i) {
        std::string path = o.save_outputs + "/out" + std::to_string(i) + ".npy";
        kiln::write_npy(path, *r.outputs[i]);
        std::cout << "saved output " << i << " to " << path << "\n";
      }
    }
  }
}

// What the tool prints for an error, after "kiln-ir: " unless it already names the file.
std::string error_text(const std::exception& e, const std::string& file) {
  return (dynamic_cast<const kiln::ParseError*>(&e) ? "" : "kiln-ir: ") +
         kiln::describe_error(e, file);
}

constexpr std::string_view kSeparator = "// -----";

// Runs each `// -----` separated case of o.file on its own. A case's text keeps its lines'
// places in the file (the lines before it become empty), so that errors point at the
// file's lines. Returns the exit status: 1 when any case failed.
int run_split(const Options& o) {
  std::ifstream in(o.file);
  if (!in) {
    std::cerr << "kiln-ir: error: cannot read " << o.file << "\n";
    return 1;
  }
  std::vector<std::string> cases(1);
  std::string line;
  size_t lines_read = 0;
  while (std::getline(in, line)) {
    ++lines_read;
    if (line == kSeparator)
      cases.emplace_back(lines_read, '\n');  // the next case starts on the next line
    else
      cases.back() += line + "\n";
  }
  const std::string dir = std::filesystem::path(o.file).parent_path().string();
  int failed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (i > 0) std::cout << kSeparator << "\n";
    try {
      run(o, kiln::load_ir_text(cases[i], dir.empty() ? "." : dir));
    } catch (const std::exception& e) {
      std::cout << std::flush;
      std::cerr << "kiln-ir: case " << i + 1 << " of " << cases.size() << ": "
                << error_text(e, o.file) << "\n";
      ++failed;
    }
  }
  std::cout << std::flush;
  if (failed) std::cerr << "kiln-ir: " << failed << " of " << cases.size() << " cases failed\n";
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kiln-ir: optimize an IR file and show what kiln makes of it"};
  app.add_option("file", o.file, "IR file (.kir) or ONNX model (.onnx)")->required();
  app.add_option("--passes", o.passes,
                 "comma-separated graph passes to run instead of the default pipeline");
  app.add_flag("--print-ir-after-all", o.print_after_all, "print the IR after every pass");
  app.add_flag("--print-ir-after-change", o.print_after_change,
               "print the IR after every pass that changed it");
  app.add_flag("--verify-each", o.verify_each, "verify the graph after every pass");
  app.add_flag("--time-passes", o.time_passes, "print each pass's time and statistics");
  app.add_flag("--schedule", o.schedule,
               "print the kernels: the ops each computes and why each stored value is stored");
  app.add_option("--emit", o.emit, "print the generated code")
      ->check(CLI::IsMember({"opencl", "llvm"}));
  app.add_flag("--dot", o.dot, "print a Graphviz graph with one cluster per kernel");
  app.add_flag("--run", o.run, "run the graph and report outputs, timings and statistics");
  app.add_option("--device", o.device,
                 "device that --run runs on and --schedule and --dot describe (cpu, opencl, "
                 "opencl:1, reference; default: KILN_DEVICE, else the best built)");
  app.add_option("--inputs", o.inputs, ".npy file for each input parameter, in order")
      ->check(CLI::ExistingFile);
  app.add_option("--input-shape", o.input_shapes,
                 "NAME=D0,D1,...: the shape of an ONNX model's input with dynamic dimensions "
                 "(repeatable)");
  app.add_option("--save-outputs", o.save_outputs, "write each output to DIR/out<i>.npy");
  app.add_option("--seed", o.seed, "seed of the random inputs (default 0)");
  app.add_option("--repeat", o.repeat, "warm runs after the first (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--split-input-file", o.split_input_file,
               "run each '// -----' separated case of the file on its own, printing the "
               "outputs separated by '// -----'");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a success
  }
  if (o.print_after_all && o.print_after_change) {
    std::cerr << "kiln-ir: error: --print-ir-after-all and --print-ir-after-change exclude each "
                 "other\n";
    return 2;
  }
  bool run_only = !o.inputs.empty() || !o.save_outputs.empty();
  if (run_only && !o.run) {
    std::cerr << "kiln-ir: error: --inputs and --save-outputs need --run\n";
    return 2;
  }
  if (!o.device.empty() && !(o.run || o.schedule || o.dot)) {
    std::cerr << "kiln-ir: error: --device needs --run, --schedule or --dot\n";
    return 2;
  }
  std::map<std::string, kiln::Shape> input_shapes;
  try {
    input_shapes = kiln::tools::parse_input_shapes(o.input_shapes);
  } catch (const std::invalid_argument& e) {
    std::cerr << "kiln-ir: error: " << e.what() << "\n";
    return 2;
  }
  bool onnx = kiln::tools::is_onnx_file(o.file);
  if (!input_shapes.empty() && !onnx) {
    std::cerr << "kiln-ir: error: --input-shape needs an ONNX model (.onnx)\n";
    return 2;
  }
  if (o.split_input_file && onnx) {
    std::cerr << "kiln-ir: error: --split-input-file reads IR files, not ONNX models\n";
    return 2;
  }
  if (o.split_input_file) return run_split(o);
  try {
    run(o, kiln::tools::load_model_file(o.file, input_shapes));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << error_text(e, o.file) << "\n";
    return 1;
  }
}
