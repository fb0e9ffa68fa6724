// kiln::custom_kernel: checks the declaration and builds one `custom` node per output.
#include <kiln/custom_kernel.h>

#include <cctype>
#include <set>

#include "frontend/builder.h"

namespace kiln {

namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// The attributes' list form (codegen/opencl/custom_kernel.h reads it back).
std::string join_list(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ";" : "") + items[i];
  return s;
}

}  // namespace

std::vector<Tensor> custom_kernel(const CustomKernel& k, Loc loc) {
  const std::string what = "custom_kernel '" + k.name + "'";
  if (!is_identifier(k.name))
    throw Error("custom_kernel: the name '" + k.name + "' is not a C identifier");
  if (k.name.rfind("kiln_", 0) == 0)
    throw Error(what + ": names starting kiln_ are kiln's own kernels'");
  if (k.inputs.empty()) throw Error(what + ": needs at least one input");
  if (k.outputs.empty()) throw Error(what + ": needs at least one output");
  std::set<std::string> names;
  auto check_name = [&](const std::string& n, const char* kind) {
    if (!is_identifier(n))
      throw Error(what + ": " + kind + " name '" + n + "' is not a C identifier");
    if (!names.insert(n).second) throw Error(what + ": the name '" + n + "' is used twice");
  };
  std::vector<std::string> input_names, output_names, types, params;
  std::vector<Tensor> operands;
  for (const auto& [n, t] : k.inputs) {
    check_name(n, "input");
    input_names.push_back(n);
    operands.push_back(t);
  }
  for (const KernelOutput& o : k.outputs) {
    check_name(o.name, "output");
    for (int64_t d : o.shape)
      if (d < 0)
        throw ShapeError(what + ": output " + o.name + " has a negative dimension in " +
                         shape_str(o.shape));
    if (static_cast<int>(o.shape.size()) > kMaxRank)
      throw ShapeError(what + ": output " + o.name + " has more than " + std::to_string(kMaxRank) +
                       " dimensions");
    output_names.push_back(o.name);
    types.push_back(Type{o.dtype, o.shape}.str());
  }
  for (const auto& [n, v] : k.params) {
    check_name(n, "parameter");
    if (v.find(';') != std::string::npos || v.find('\n') != std::string::npos)
      throw Error(what + ": the value of parameter " + n + " may not hold ';' or a newline");
    params.push_back(n + "=" + v);
  }
  if (k.grid.empty() || k.grid.size() > 3)
    throw ShapeError(what + ": the grid has " + std::to_string(k.grid.size()) +
                     " dimensions; give 1 to 3");
  for (int64_t g : k.grid)
    if (g < 0) throw ShapeError(what + ": a grid dimension is negative");
  if (!k.local.empty()) {
    if (k.local.size() != k.grid.size())
      throw ShapeError(what + ": the work-group size needs one entry per grid dimension");
    for (size_t d = 0; d < k.grid.size(); ++d)
      if (k.local[d] <= 0 || k.grid[d] % k.local[d] != 0)
        throw ShapeError(what + ": grid dimension " + std::to_string(d) + " (" +
                         std::to_string(k.grid[d]) + ") is not a multiple of the work-group's (" +
                         std::to_string(k.local[d]) + ")");
  }
  std::vector<Tensor> out;
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    std::vector<ir::AttrValue> attrs = {
        k.name,
        k.source,
        join_list(input_names),
        join_list(output_names),
        static_cast<int64_t>(i),
        join_list(types),
        k.grid,
        k.local,
        join_list(params),
    };
    out.push_back(frontend::make(ir::OpKind::Custom, operands, std::move(attrs),
                                 Type{k.outputs[i].dtype, k.outputs[i].shape}, loc));
  }
  return out;
}

}  // namespace kiln
