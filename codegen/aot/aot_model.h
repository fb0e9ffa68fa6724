// AotModel: a graph compiled for ahead-of-time use, with everything the emitters of every
// target share: the program (codegen/program.h), the C names and types of the function's
// arguments, where each intermediate lives in one caller-visible workspace, and the C
// header text that documents the buffers. The CPU emitter (cpu/compile_cpu.h) and the
// OpenCL bundle writer (opencl_bundle.h) turn it into files. Tests: tests/tools/ and the
// examples/aot/ programs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/program.h"
#include "ir/graph.h"

namespace kiln::codegen::aot {

// One argument of the generated function: a graph parameter (input) or result (output).
struct AotArg {
  std::string c_name;   // a C identifier, unique among the arguments
  std::string ir_name;  // as the IR prints it ("%x"), for the documentation
  Type type;
};

struct AotModel {
  std::string name;  // the C prefix of every symbol: <name>_run...
  ir::Graph graph;   // owns the nodes the program points at
  Program program;
  std::vector<AotArg> inputs;   // one per graph parameter, in order
  std::vector<AotArg> outputs;  // one per graph result, in order
  // Memory-plan slots inside one workspace, each 64-byte aligned.
  std::vector<int64_t> slot_offsets;
  int64_t workspace_bytes = 0;
};

// Schedules and lowers `graph` (already optimized; its bound data already made constants)
// with `lower`. Throws kiln::Error when `name` is not a C identifier.
AotModel plan_model(ir::Graph graph, const std::string& name, const LowerOptions& lower);

// The C type of one element as the generated code passes it: uint8_t for bool, the fixed
// width integers, uint16_t (the bits) for f16 and bf16, float, double, and float for c64
// (two per element, real part first).
std::string_view c_element_type(DType t);
// The number of C elements (of c_element_type) of an argument's buffer.
int64_t c_element_count(const Type& type);

// The parameter list "const float* x, float* out0" of the generated function.
std::string c_parameters(const AotModel& model);
// The arguments' documentation, one comment line per buffer with its dtype, shape and
// C element count, plus a #define of each count (<NAME>_<ARG>_COUNT).
std::string c_argument_docs(const AotModel& model);

// A C identifier made from `text` (a file name's stem, say): other characters become '_',
// a leading digit gets a '_' prefix; "model" when nothing is left.
std::string c_identifier_from(const std::string& text);

// "model" -> "MODEL": for macros and include guards.
std::string upper(const std::string& s);

// A file an emitter produced: a name inside the output directory, and its bytes.
struct OutputFile {
  std::string name;
  std::string bytes;
};

// Writes each file into `dir` (created when missing), each through a temporary file and a
// rename, so that no half-written file is left; IOError naming the file otherwise.
// Returns the paths written.
std::vector<std::string> write_files(const std::string& dir, const std::vector<OutputFile>& files);

}  // namespace kiln::codegen::aot
