// How kiln-ir and kiln-aot read the file they are given: an IR file (.kir, kiln::load_ir),
// or an ONNX model (.onnx, kiln::onnx::load) whose graph inputs become the function's
// parameters, in the model's order. `--input-shape NAME=D0,D1,...` options give the shapes
// of ONNX inputs with dynamic dimensions (onnx::LoadOptions::input_shapes). A build without
// ONNX import (no KILN_HAS_ONNX) refuses .onnx files with an error that says so. Tests:
// tests/tools/onnx_tools_test.cpp.
#pragma once

#include <kiln/kiln.h>
#ifdef KILN_HAS_ONNX
#include <kiln/onnx.h>
#endif

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::tools {

// Whether `file` names an ONNX model: its extension is .onnx, in any case.
inline bool is_onnx_file(const std::string& file) {
  std::string ext = std::filesystem::path(file).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".onnx";
}

// The --input-shape options, by input name. "x=1,3,224,224" gives x that shape; "x=" a
// scalar. The name is everything before the last '=' (ONNX names may hold '='). A
// malformed option, or a name given twice, throws std::invalid_argument with the message
// the tool prints.
inline std::map<std::string, Shape> parse_input_shapes(const std::vector<std::string>& options) {
  std::map<std::string, Shape> shapes;
  for (const std::string& option : options) {
    auto bad = [&](const std::string& why) {
      return std::invalid_argument("--input-shape '" + option + "': " + why +
                                   " (expected NAME=D0,D1,..., e.g. input=1,3,224,224)");
    };
    size_t eq = option.rfind('=');
    if (eq == std::string::npos || eq == 0) throw bad("no input name");
    Shape shape;
    std::string dims = option.substr(eq + 1);
    size_t pos = 0;
    while (pos < dims.size()) {
      size_t end = std::min(dims.find(',', pos), dims.size());
      std::string dim = dims.substr(pos, end - pos);
      if (dim.empty() || dim.size() > 18 ||
          !std::all_of(dim.begin(), dim.end(), [](unsigned char c) { return std::isdigit(c); }))
        throw bad("'" + dim + "' is not a dimension");
      shape.push_back(std::stoll(dim));
      pos = end + 1;
      if (end + 1 == dims.size()) throw bad("a trailing ','");
    }
    if (!shapes.emplace(option.substr(0, eq), shape).second)
      throw bad("input '" + option.substr(0, eq) + "' is given twice");
  }
  return shapes;
}

// Reads `file` as its extension says. IR files take no input shapes (their types are
// static); the caller checks that before.
inline IrFunction load_model_file(const std::string& file,
                                  const std::map<std::string, Shape>& input_shapes) {
  if (!is_onnx_file(file)) return load_ir(file);
#ifdef KILN_HAS_ONNX
  onnx::LoadOptions options;
  options.input_shapes = input_shapes;
  return onnx::load(file, options).function();
#else
  (void)input_shapes;
  throw UnsupportedError(file +
                         ": this kiln was built without ONNX import (it needs libonnx-dev and "
                         "libprotobuf-dev when kiln is configured)");
#endif
}

}  // namespace kiln::tools
