// save_ir / load_ir: lazy graphs to IR text files and back. A saved file is the printer's
// text of a graph whose parameters are the named inputs, then one parameter per large
// constant; those constants' values go to a safetensors side file named by a `// data:`
// comment line, which the parser skips like any comment:
//
//   // kiln IR (kiln::save_ir); large constants in the data file below.
//   // data: model.kir.data
//   func @main(%x: f32[4,256], %data0: f32[256,256]) -> (f32[4,256]) { ... }
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "frontend/evaluate.h"
#include "frontend/files.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "kiln/io.h"

namespace kiln {

namespace {

constexpr std::string_view kDataDirective = "// data: ";

bool is_identifier(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Builds the saved graph from live nodes: inputs become parameters, values (constants and
// evaluated nodes) stay inline when small and become data parameters otherwise, ops are
// copied (frontend::copy_history).
class SaveExtractor {
 public:
  SaveExtractor(const SaveIrOptions& options) : options_(options) {
    for (const auto& [name, t] : options.inputs) {
      if (!is_identifier(name))
        throw Error("save_ir: input name '" + name +
                    "' is not an identifier (a letter, then letters, digits or '_')");
      if (!used_names_.insert(name).second)
        throw Error("save_ir: two inputs are named '" + name + "'");
      if (copies_.count(t.node().get()))
        throw Error("save_ir: input '" + name + "' is the same tensor as an earlier input");
      auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, t.type());
      p->name = name;
      graph.params.push_back(p);
      copies_[t.node().get()] = p;
    }
  }

  ir::Graph graph;
  std::vector<std::pair<std::string, BufferPtr>> data;  // data parameters' values

  ir::NodePtr copy_of(ir::Node* root) {
    return frontend::copy_history(
        root, copies_, [this](const ir::Node& n) { return copy_value(n); },
        [this](const ir::Node& n, std::vector<ir::NodePtr> operands) {
          if (n.op == ir::OpKind::Parameter)
            throw Error("save_ir: the graph reads a parameter that is not one of the inputs");
          auto c = ir::make_node(n.op, std::move(operands), n.attrs, n.type);
          graph.nodes.push_back(c);
          return c;
        });
  }

 private:
  ir::NodePtr copy_value(const ir::Node& n) {
    if (n.type.numel() <= options_.inline_limit) {
      auto c = ir::make_constant(n.buffer);
      graph.nodes.push_back(c);
      return c;
    }
    std::string name;
    do name = "data" + std::to_string(next_data_++);
    while (used_names_.count(name));
    used_names_.insert(name);
    auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, n.type);
    p->name = name;
    graph.params.push_back(p);
    data.emplace_back(name, n.buffer);
    return p;
  }

  const SaveIrOptions& options_;
  frontend::NodeCopies copies_;
  std::unordered_set<std::string> used_names_;
  int next_data_ = 0;
};

// The file name a `// data:` line names, or "" when the text has none. Only the comment
// lines before `func` are looked at.
std::string data_file_of(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos) {
      line.remove_prefix(first);
      if (line.substr(0, 2) != "//") break;
      if (line.substr(0, kDataDirective.size()) == kDataDirective)
        return std::string(line.substr(kDataDirective.size()));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return "";
}

}  // namespace

namespace {

// The checked graph computing `outputs` from `options.inputs` (`what` names the caller in
// errors).
SaveExtractor extract_function(const std::vector<Tensor>& outputs, const SaveIrOptions& options,
                               const char* what) {
  if (outputs.empty()) throw Error(std::string(what) + ": no outputs; pass the tensors to compute");
  if (!is_identifier(options.function_name))
    throw Error(std::string(what) + ": function name '" + options.function_name +
                "' is not an identifier");
  SaveExtractor ex(options);
  ex.graph.name = options.function_name;
  {
    frontend::HistoryReadLock live;  // other threads may evaluate these tensors meanwhile
    for (const Tensor& t : outputs) ex.graph.results.push_back(ex.copy_of(t.node().get()));
  }
  ir::verify(ex.graph);
  return ex;
}

}  // namespace

IrFunction make_function(const std::vector<Tensor>& outputs, const SaveIrOptions& options) {
  SaveExtractor ex = extract_function(outputs, options, "make_function");
  std::unordered_map<std::string, BufferPtr> data(ex.data.begin(), ex.data.end());
  std::vector<BufferPtr> bound;
  for (const ir::NodePtr& p : ex.graph.params) {
    auto it = data.find(p->name);
    bound.push_back(it == data.end() ? nullptr : it->second);
  }
  return IrFunction(std::move(ex.graph), std::move(bound));
}

void save_ir(const std::string& path, const std::vector<Tensor>& outputs,
             const SaveIrOptions& options) {
  SaveExtractor ex = extract_function(outputs, options, "save_ir");

  std::string text = "// kiln IR (kiln::save_ir)";
  if (!ex.data.empty()) {
    std::string data_name = std::filesystem::path(path).filename().string() + ".data";
    text += "; constants above " + std::to_string(options.inline_limit) +
            " elements are in the data file below.\n";
    text += std::string(kDataDirective) + data_name + "\n";
    // The data first: a .kir file never names a data file that is not complete.
    write_safetensors(path + ".data", ex.data, {{"format", "kiln-ir-data"}});
  } else {
    text += ".\n";
  }
  text += ir::print_graph(ex.graph);
  frontend::write_file_atomic(path, text);
}

IrFunction::IrFunction(ir::Graph graph, std::vector<BufferPtr> bound)
    : graph_(std::move(graph)), bound_(std::move(bound)) {
  bound_.resize(graph_.params.size());
  for (size_t i = 0; i < graph_.params.size(); ++i)
    if (!bound_[i]) inputs_.push_back(graph_.params[i]);
}

ir::Graph IrFunction::graph_with_constants() const {
  std::unordered_map<const ir::Node*, ir::NodePtr> map;
  ir::Graph out;
  out.name = graph_.name;
  for (size_t i = 0; i < graph_.params.size(); ++i) {
    const ir::NodePtr& p = graph_.params[i];
    if (bound_[i]) {
      auto c = ir::make_constant(bound_[i]);
      out.nodes.push_back(c);
      map[p.get()] = c;
    } else {
      auto q = ir::make_node(ir::OpKind::Parameter, {}, {}, p->type);
      q->name = p->name;
      out.params.push_back(q);
      map[p.get()] = q;
    }
  }
  for (const ir::NodePtr& n : graph_.nodes) {
    std::vector<ir::NodePtr> operands;
    for (const auto& o : n->operands) operands.push_back(map.at(o.get()));
    auto c = ir::make_node(n->op, std::move(operands), n->attrs, n->type);
    c->buffer = n->buffer;
    out.nodes.push_back(c);
    map[n.get()] = c;
  }
  for (const auto& r : graph_.results) out.results.push_back(map.at(r.get()));
  return out;
}

std::vector<Tensor> IrFunction::operator()(const std::vector<Tensor>& args, Loc loc) const {
  auto signature = [&]() {
    std::string s = "@" + graph_.name + "(";
    for (size_t i = 0; i < inputs_.size(); ++i)
      s += (i ? ", %" : "%") + inputs_[i]->name + ": " + inputs_[i]->type.str();
    return s + ")";
  };
  if (args.size() != inputs_.size())
    throw ShapeError("IrFunction " + signature() + ": called with " + std::to_string(args.size()) +
                     " arguments, expects " + std::to_string(inputs_.size()));
  std::unordered_map<const ir::Node*, ir::NodePtr> map;
  size_t next_arg = 0;
  for (size_t i = 0; i < graph_.params.size(); ++i) {
    const ir::NodePtr& p = graph_.params[i];
    if (bound_[i]) {
      map[p.get()] = ir::make_constant(bound_[i], loc);
      continue;
    }
    const Tensor& a = args[next_arg++];
    std::string what = "IrFunction " + signature() + ": argument " + std::to_string(next_arg - 1) +
                       " (%" + p->name + ") is " + a.type().str() + ", expected " + p->type.str();
    if (a.dtype() != p->type.dtype) throw DTypeError(what + "; cast it first");
    if (a.shape() != p->type.shape) throw ShapeError(what);
    map[p.get()] = a.node();
  }
  for (const ir::NodePtr& n : graph_.nodes) {
    if (n->op == ir::OpKind::Constant) {
      map[n.get()] = ir::make_constant(n->buffer, loc);
      continue;
    }
    std::vector<ir::NodePtr> operands;
    for (const auto& o : n->operands) operands.push_back(map.at(o.get()));
    map[n.get()] = ir::make_node(n->op, std::move(operands), n->attrs, n->type, loc);
  }
  std::vector<Tensor> out;
  for (const auto& r : graph_.results) out.emplace_back(map.at(r.get()));
  return out;
}

IrFunction load_ir_text(std::string_view text, const std::string& dir) {
  ir::Graph graph = ir::parse_graph(text);
  std::vector<BufferPtr> bound(graph.params.size());
  std::string data_name = data_file_of(text);
  if (data_name.empty()) return IrFunction(std::move(graph), std::move(bound));

  // save_ir puts the data file next to the IR file; a name with a directory in it would let
  // an IR file make its reader open any file the process can.
  if (data_name.find('/') != std::string::npos)
    throw IOError("IR data file '" + data_name +
                  "' is not a plain file name: a `// data:` line names a file in the IR "
                  "file's own directory, as save_ir writes it");
  std::string data_path = (std::filesystem::path(dir) / data_name).string();
  SafetensorsFile data = SafetensorsFile::open(data_path);
  std::unordered_set<std::string> used;
  for (size_t i = 0; i < graph.params.size(); ++i) {
    const ir::Node& p = *graph.params[i];
    const SafetensorsFile::Entry* e = data.find(p.name);
    if (!e) continue;
    BufferPtr b = data.buffer(p.name);
    if (b->type() != p.type)
      throw IOError(data_path + ": tensor '" + p.name + "' is " + b->type().str() +
                    ", but parameter %" + p.name + " of the IR is " + p.type.str());
    bound[i] = std::move(b);
    used.insert(p.name);
  }
  for (const auto& e : data.entries())
    if (!used.count(e.name))
      throw IOError(data_path + ": tensor '" + e.name +
                    "' matches no parameter of the IR; the data file belongs to another graph");
  return IrFunction(std::move(graph), std::move(bound));
}

namespace {

std::string in_file_suffix(const std::string& path) { return " (in " + path + ")"; }

}  // namespace

std::string describe_error(const std::exception& e, const std::string& path) {
  auto* pe = dynamic_cast<const ParseError*>(&e);
  if (!pe) return std::string("error: ") + e.what();
  std::string what = pe->what();
  std::string position = std::to_string(pe->line()) + ":" + std::to_string(pe->column()) + ": ";
  if (what.rfind(position, 0) == 0) what = what.substr(position.size());
  if (what.ends_with(in_file_suffix(path))) what.resize(what.size() - in_file_suffix(path).size());
  return path + ":" + position + "error: " + what;
}

IrFunction load_ir(const std::string& path) {
  std::string text = frontend::read_file(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  try {
    return load_ir_text(text, dir.empty() ? "." : dir);
  } catch (const ParseError& e) {
    // Keep the position, and say which file it is in.
    std::string what = e.what();
    std::string prefix = std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    throw ParseError(e.line(), e.column(), what + in_file_suffix(path));
  }
}

}  // namespace kiln
