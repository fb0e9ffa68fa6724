// plan_model and the C spelling of a model's arguments.
#include "codegen/aot/aot_model.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "ir/error.h"
#include "ir/printer.h"

namespace kiln::codegen::aot {

namespace {

bool is_c_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Words an argument may not be called in C or C++.
const std::set<std::string>& reserved_words() {
  static const std::set<std::string> words = {
      "auto",     "bool",     "break",     "case",      "catch",  "char",     "class",    "const",
      "continue", "default",  "delete",    "do",        "double", "else",     "enum",     "extern",
      "false",    "float",    "for",       "goto",      "if",     "inline",   "int",      "long",
      "new",      "operator", "private",   "protected", "public", "register", "restrict", "return",
      "short",    "signed",   "sizeof",    "static",    "struct", "switch",   "template", "this",
      "throw",    "true",     "try",       "typedef",   "union",  "unsigned", "virtual",  "void",
      "volatile", "while",    "workspace", "context"};
  return words;
}

}  // namespace

std::string c_identifier_from(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty()) return "model";
  if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

std::string upper(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view c_element_type(DType t) {
  switch (t) {
    case DType::Bool: return "uint8_t";
    case DType::I8: return "int8_t";
    case DType::U8: return "uint8_t";
    case DType::I32: return "int32_t";
    case DType::I64: return "int64_t";
    case DType::F16: return "uint16_t";
    case DType::BF16: return "uint16_t";
    case DType::F32: return "float";
    case DType::F64: return "double";
    case DType::C64: return "float";
  }
  return "void";
}

int64_t c_element_count(const Type& type) {
  return type.numel() * (type.dtype == DType::C64 ? 2 : 1);
}

AotModel plan_model(ir::Graph graph, const std::string& name, const LowerOptions& lower) {
  if (!is_c_identifier(name))
    throw Error("aot: the name '" + name +
                "' is not a C identifier (letters, digits and '_', not starting with a digit)");
  AotModel m;
  m.name = name;
  m.graph = std::move(graph);
  m.program = build_program(m.graph, lower);

  ir::ValueNames names = ir::value_names(m.graph);
  std::set<std::string> used;
  auto unique = [&](std::string base) {
    if (!is_c_identifier(base) || reserved_words().count(base)) base = "arg_" + base;
    std::string s = base;
    for (int k = 1; used.count(s); ++k) s = base + "_" + std::to_string(k);
    used.insert(s);
    return s;
  };
  for (const auto& p : m.graph.params) {
    std::string ir_name = names.at(p.get());
    m.inputs.push_back({unique(ir_name.substr(1)), ir_name, p->type});
  }
  for (size_t i = 0; i < m.graph.results.size(); ++i) {
    const ir::Node* r = m.graph.results[i].get();
    m.outputs.push_back({unique("out" + std::to_string(i)), names.at(r), r->type});
  }
  for (int64_t bytes : m.program.memory.slot_bytes) {
    m.slot_offsets.push_back(m.workspace_bytes);
    m.workspace_bytes += (bytes + 63) / 64 * 64;
  }
  return m;
}

std::string c_parameters(const AotModel& m) {
  std::string out;
  for (const AotArg& a : m.inputs)
    out += (out.empty() ? "" : ", ") + std::string("const ") +
           std::string(c_element_type(a.type.dtype)) + "* " + a.c_name;
  for (const AotArg& a : m.outputs)
    out += (out.empty() ? "" : ", ") + std::string(c_element_type(a.type.dtype)) + "* " + a.c_name;
  return out.empty() ? "void" : out;
}

std::string c_argument_docs(const AotModel& m) {
  auto doc = [&](const AotArg& a, const char* role) {
    std::string line = " *   " + a.c_name + " (" + role + ", " + a.ir_name + "): " + a.type.str() +
                       ", row-major, " + std::to_string(c_element_count(a.type)) + " " +
                       std::string(c_element_type(a.type.dtype));
    if (a.type.dtype == DType::C64) line += " (real, imaginary pairs)";
    if (a.type.dtype == DType::F16) line += " (IEEE half bits)";
    if (a.type.dtype == DType::BF16) line += " (bfloat16 bits)";
    if (a.type.dtype == DType::Bool) line += " (0 or 1)";
    return line + "\n";
  };
  std::string out = "/* Arguments, in order:\n";
  for (const AotArg& a : m.inputs) out += doc(a, "input");
  for (const AotArg& a : m.outputs) out += doc(a, "output");
  out += " */\n";
  for (const AotArg& a : m.inputs)
    out += "#define " + upper(m.name) + "_" + upper(a.c_name) + "_COUNT " +
           std::to_string(c_element_count(a.type)) + "\n";
  for (const AotArg& a : m.outputs)
    out += "#define " + upper(m.name) + "_" + upper(a.c_name) + "_COUNT " +
           std::to_string(c_element_count(a.type)) + "\n";
  return out;
}

std::vector<std::string> write_files(const std::string& dir, const std::vector<OutputFile>& files) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IOError("aot: cannot create the output directory '" + dir + "': " + ec.message());
  std::vector<std::string> written;
  for (const OutputFile& f : files) {
    std::string path = (std::filesystem::path(dir) / f.name).string();
    std::string temp = path + ".tmp";
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(f.bytes.data(), static_cast<std::streamsize>(f.bytes.size()));
      out.close();
      if (!out) {
        std::remove(temp.c_str());
        throw IOError("aot: cannot write '" + path + "'");
      }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
      std::remove(temp.c_str());
      throw IOError("aot: cannot write '" + path + "' (rename failed)");
    }
    written.push_back(path);
  }
  return written;
}

}  // namespace kiln::codegen::aot
