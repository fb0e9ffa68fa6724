// kiln-aot: compiles an IR file, or an ONNX model (.onnx; --input-shape gives dynamic
// dimensions, see tools/model_file.h), ahead of time. `--target cpu` writes an object file and a
// C header (codegen/aot/compile_cpu.h); `--target opencl` a C source bundle with the
// kernels embedded and its header (codegen/aot/opencl_bundle.h). The graph's data (its
// side file) is embedded as constants. The work is the library's; this file only reads
// the command line. Exit status: 0 on success, 1 for an error in the input, 2 for a bad
// command line. Tests: tests/tools/aot_test.cpp, tests/tools/onnx_tools_test.cpp.
#include <kiln/kiln.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "codegen/aot/compile_cpu.h"
#include "codegen/aot/opencl_bundle.h"
#include "passes/pipeline.h"
#include "tools/model_file.h"

namespace {

struct Options {
  std::string file, target, out_dir, cpu = "native", name, passes;
  bool opencl_no_fp64 = false;
  std::map<std::string, kiln::Shape> input_shapes;
};

int compile(const Options& o) {
  kiln::ir::Graph graph =
      kiln::tools::load_model_file(o.file, o.input_shapes).graph_with_constants();
  if (o.passes.empty())
    kiln::passes::optimize_graph(graph);
  else
    kiln::passes::pipeline_of(kiln::passes::parse_pass_list(o.passes)).run(graph);
  std::string name =
      o.name.empty()
          ? kiln::codegen::aot::c_identifier_from(std::filesystem::path(o.file).stem().string())
          : o.name;
  std::vector<kiln::codegen::aot::OutputFile> files;
  if (o.target == "cpu") {
    files = kiln::codegen::aot::compile_cpu(graph, {.name = name, .cpu = o.cpu});
  } else {
    kiln::codegen::aot::OpenCLAotOptions options;
    options.name = name;
    // Kernels that compute in f64 render unless told the device lacks cl_khr_fp64; a
    // device without it then refuses the program when the bundle builds it.
    options.target.fp64 = !o.opencl_no_fp64;
    files = kiln::codegen::aot::compile_opencl(graph, options);
  }
  for (const std::string& path : kiln::codegen::aot::write_files(o.out_dir, files))
    std::cout << "wrote " << path << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kiln-aot: compile an IR file ahead of time (object file or OpenCL C bundle)"};
  app.add_option("file", o.file, "IR file (.kir) or ONNX model (.onnx)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--target", o.target, "cpu: object file + header; opencl: C bundle + header")
      ->required()
      ->check(CLI::IsMember({"cpu", "opencl"}));
  app.add_option("-o,--output", o.out_dir, "output directory (created if missing)")->required();
  app.add_option("--cpu", o.cpu,
                 "cpu target: native, or an LLVM CPU name (x86-64-v3, skylake-avx512...)");
  app.add_option("--name", o.name,
                 "prefix of the generated symbols and files (default: the "
                 "IR file's name)");
  app.add_option("--passes", o.passes, "graph passes instead of the default pipeline");
  std::vector<std::string> input_shapes;
  app.add_option("--input-shape", input_shapes,
                 "NAME=D0,D1,...: the shape of an ONNX model's input with dynamic dimensions "
                 "(repeatable)");
  app.add_flag("--opencl-no-fp64", o.opencl_no_fp64,
               "opencl target: the devices lack cl_khr_fp64; refuse kernels that need it now");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    o.input_shapes = kiln::tools::parse_input_shapes(input_shapes);
  } catch (const std::invalid_argument& e) {
    std::cerr << "kiln-aot: error: " << e.what() << "\n";
    return 2;
  }
  if (!o.input_shapes.empty() && !kiln::tools::is_onnx_file(o.file)) {
    std::cerr << "kiln-aot: error: --input-shape needs an ONNX model (.onnx)\n";
    return 2;
  }
  try {
    return compile(o);
  } catch (const std::exception& e) {
    std::cerr << (dynamic_cast<const kiln::ParseError*>(&e) ? "" : "kiln-aot: ")
              << kiln::describe_error(e, o.file) << "\n";
    return 1;
  }
}
