// Custom kernels: their spec from a node, and their generated signature around the body.
#include "codegen/opencl/custom_kernel.h"

#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"
#include "ir/parser.h"

namespace kiln::codegen::opencl {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t at = 0;
  for (;;) {
    size_t semi = text.find(';', at);
    out.push_back(text.substr(at, semi - at));
    if (semi == std::string::npos) break;
    at = semi + 1;
  }
  return out;
}

CustomKernelSpec custom_kernel_spec(const ir::Node& node) {
  if (node.op != ir::OpKind::Custom) throw VerifyError("custom_kernel_spec: not a custom node");
  CustomKernelSpec s;
  s.name = node.attr_str("name");
  s.body = node.attr_str("source");
  s.input_names = split_list(node.attr_str("inputs"));
  s.output_names = split_list(node.attr_str("outputs"));
  for (const std::string& t : split_list(node.attr_str("types")))
    s.output_types.push_back(ir::parse_type(t));
  for (const auto& o : node.operands) s.input_types.push_back(o->type);
  s.grid = node.attr_i64s("grid");
  s.local = node.attr_i64s("local");
  for (const std::string& p : split_list(node.attr_str("params"))) {
    size_t eq = p.find('=');
    if (eq == std::string::npos)
      throw VerifyError("custom kernel " + s.name + ": parameter '" + p + "' is not NAME=VALUE");
    s.params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (s.input_names.size() != s.input_types.size())
    throw VerifyError("custom kernel " + s.name + ": " + std::to_string(s.input_names.size()) +
                      " input names for " + std::to_string(s.input_types.size()) + " operands");
  if (s.output_names.size() != s.output_types.size() || s.output_names.empty())
    throw VerifyError("custom kernel " + s.name + ": output names and types do not match");
  const int64_t k = node.attr_i64("output");
  if (k < 0 || k >= static_cast<int64_t>(s.output_types.size()) ||
      s.output_types[static_cast<size_t>(k)] != node.type)
    throw VerifyError("custom kernel " + s.name + ": node type " + node.type.str() +
                      " is not output " + std::to_string(k) + " of the kernel");
  return s;
}

namespace {

std::string shape_decls(const std::string& name, const Type& t) {
  const size_t rank = t.shape.size();
  std::vector<int64_t> strides = contiguous_strides(t.shape);
  std::string shape, stride;
  for (size_t d = 0; d < rank; ++d) {
    shape += (d ? ", " : "") + std::to_string(t.shape[d]) + "L";
    stride += (d ? ", " : "") + std::to_string(strides[d]) + "L";
  }
  if (rank == 0) shape = stride = "1L";
  const std::string n = std::to_string(std::max<size_t>(rank, 1));
  return "  const int " + name + "_rank = " + std::to_string(rank) + ";\n  const long " + name +
         "_shape[" + n + "] = {" + shape + "}, " + name + "_stride[" + n + "] = {" + stride +
         "}, " + name + "_numel = " + std::to_string(t.numel()) + "L;\n";
}

}  // namespace

std::string custom_kernel_source(const CustomKernelSpec& s, const OpenCLTarget& target) {
  bool fp64 = false;
  for (const Type& t : s.input_types) fp64 = fp64 || t.dtype == DType::F64;
  for (const Type& t : s.output_types) fp64 = fp64 || t.dtype == DType::F64;
  if (fp64 && !target.fp64)
    throw UnsupportedError("custom kernel " + s.name + " takes f64 buffers, but OpenCL device '" +
                           target.device_name + "' lacks the extension cl_khr_fp64");
  std::string src = "// kiln custom kernel " + s.name + "\n";
  if (fp64) src += "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n";
  for (const auto& [k, v] : s.params) src += "#define " + k + " " + v + "\n";
  src += "__kernel void " + s.name + "(";
  std::string decls;
  for (size_t i = 0; i < s.input_names.size(); ++i) {
    src += std::string(i ? ", " : "") + "__global const " + storage_type(s.input_types[i].dtype) +
           "* restrict " + s.input_names[i];
    decls += shape_decls(s.input_names[i], s.input_types[i]);
  }
  for (size_t i = 0; i < s.output_names.size(); ++i) {
    src += std::string(i || !s.input_names.empty() ? ", " : "") + "__global " +
           storage_type(s.output_types[i].dtype) + "* restrict " + s.output_names[i];
    decls += shape_decls(s.output_names[i], s.output_types[i]);
  }
  src += ") {\n" + decls + "#line 1 \"" + s.name + "\"\n" + s.body + "\n}\n";
  return src;
}

}  // namespace kiln::codegen::opencl
