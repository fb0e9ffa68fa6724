// The IR printer. Every choice here is made so that the parser reads the text back to the
// same graph and prints it again identically: floats print as their shortest round-trip
// decimal, odd NaNs as bit patterns, names are made unique.
#include "ir/printer.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

namespace kiln::ir {

namespace {

// A float's text gets ".0" when it would otherwise read as an integer, so that a reader
// can tell `dense<[1.0]>` from `dense<[1]>`.
void mark_as_float(std::string& s) {
  if (s.find_first_not_of("-0123456789") == std::string::npos) s += ".0";
}

std::string hex_bits(uint64_t bits, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int i = digits - 1; i >= 0; --i) s += kDigits[(bits >> (4 * i)) & 0xf];
  return s;
}

template <class F>
std::string shortest(F value) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  std::string s(buf, r.ptr);
  mark_as_float(s);
  return s;
}

// NaN, infinities and finite values of a format with `bits` storage bits; `quiet` is the
// default quiet NaN's pattern without the sign bit.
std::string special_or_empty(uint64_t bits, int width, uint64_t exp_mask, uint64_t quiet) {
  uint64_t sign = uint64_t{1} << (width - 1);
  uint64_t mag = bits & ~sign;
  uint64_t mant_mask = (sign - 1) & ~exp_mask;
  if ((mag & exp_mask) != exp_mask) return {};
  if ((mag & mant_mask) == 0) return (bits & sign) ? "-inf" : "inf";
  if (mag == quiet) return (bits & sign) ? "-nan" : "nan";
  return hex_bits(bits, width / 4);
}

// The shortest decimal that reads back (through float, as the parser reads 16-bit floats)
// to the same 16-bit pattern.
std::string shortest_16(uint16_t bits, float (*to_float)(uint16_t), uint16_t (*from_float)(float)) {
  float value = to_float(bits);
  char buf[64];
  for (int precision = 1; precision <= 9; ++precision) {
    auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, precision);
    float back = 0;
    std::from_chars(buf, r.ptr, back);
    if (from_float(back) == bits) {
      std::string s(buf, r.ptr);
      mark_as_float(s);
      return s;
    }
  }
  return shortest(value);  // unreachable: 9 digits always round-trip a float
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f)
          out += "\\x" + hex_bits(c, 2).substr(2);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

// Makes `name` a parameter identifier: [A-Za-z_][A-Za-z0-9_.]*. A parameter may not start
// with a digit, which keeps it apart from the numbered body values.
std::string sanitize(const std::string& name) {
  std::string s;
  for (char c : name) s += is_ident_char(c) ? c : '_';
  if (!s.empty() && !is_ident_start(s[0])) s.insert(s.begin(), '_');
  return s;
}

std::string print_element(const Buffer& buffer, int64_t i) {
  const std::byte* p = buffer.data() + i * static_cast<int64_t>(dtype_size(buffer.dtype()));
  auto load = [p]<class T>(T) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (buffer.dtype()) {
    case DType::Bool: return load(uint8_t{}) ? "true" : "false";
    case DType::I8: return std::to_string(load(int8_t{}));
    case DType::U8: return std::to_string(load(uint8_t{}));
    case DType::I32: return std::to_string(load(int32_t{}));
    case DType::I64: return std::to_string(load(int64_t{}));
    case DType::F16: return print_f16_bits(load(uint16_t{}));
    case DType::BF16: return print_bf16_bits(load(uint16_t{}));
    case DType::F32: return print_f32(load(float{}));
    case DType::F64: return print_f64(load(double{}));
    case DType::C64: {
      auto c = load(complex64{});
      std::string s = "(";  // built by appending: GCC 12 misreports "(" + f() (-Wrestrict)
      s += print_f32(c.real());
      s += ", ";
      s += print_f32(c.imag());
      return s + ")";
    }
  }
  return "?";
}

void print_nested(const Buffer& buffer, size_t level, int64_t& index, std::string& out) {
  const Shape& shape = buffer.shape();
  if (level == shape.size()) {
    out += print_element(buffer, index++);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < shape[level]; ++i) {
    if (i) out += ", ";
    print_nested(buffer, level + 1, index, out);
  }
  out += ']';
}

bool all_elements_equal(const Buffer& buffer) {
  size_t size = dtype_size(buffer.dtype());
  const std::byte* p = buffer.data();
  for (size_t off = size; off < buffer.nbytes(); off += size)
    if (std::memcmp(p, p + off, size) != 0) return false;
  return true;
}

}  // namespace

std::string print_f64(double value) {
  uint64_t bits = std::bit_cast<uint64_t>(value);
  std::string s = special_or_empty(bits, 64, 0x7ff0000000000000ull, 0x7ff8000000000000ull);
  return s.empty() ? shortest(value) : s;
}

std::string print_f32(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  std::string s = special_or_empty(bits, 32, 0x7f800000u, 0x7fc00000u);
  return s.empty() ? shortest(value) : s;
}

std::string print_f16_bits(uint16_t bits) {
  std::string s = special_or_empty(bits, 16, 0x7c00u, 0x7e00u);
  return s.empty() ? shortest_16(bits, f16_to_float, float_to_f16) : s;
}

std::string print_bf16_bits(uint16_t bits) {
  std::string s = special_or_empty(bits, 16, 0x7f80u, 0x7fc0u);
  return s.empty() ? shortest_16(bits, bf16_to_float, float_to_bf16) : s;
}

std::string print_type(const Type& type) { return type.str(); }

std::string print_attr(const AttrValue& value) {
  struct Visitor {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return print_f64(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::vector<int64_t>& v) const {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    }
    std::string operator()(const std::string& v) const { return quote(v); }
  };
  return std::visit(Visitor{}, value);
}

std::string print_dense(const Buffer& buffer) {
  std::string out = "dense<";
  int64_t n = buffer.type().numel();
  int64_t index = 0;
  if (n == 0)
    out += "[]";  // any zero-size shape: nothing to nest
  else if (n > 1 && all_elements_equal(buffer))
    out += print_element(buffer, 0);
  else
    print_nested(buffer, 0, index, out);
  return out + ">";
}

ValueNames value_names(const Graph& graph) {
  ValueNames names;
  std::unordered_set<std::string> used;
  for (size_t i = 0; i < graph.params.size(); ++i) {
    const Node* p = graph.params[i].get();
    if (!p || names.contains(p)) continue;
    std::string base = sanitize(p->name);
    if (base.empty()) base = "arg" + std::to_string(i);
    std::string name = base;
    for (int k = 1; used.contains(name); ++k) name = base + "_" + std::to_string(k);
    used.insert(name);
    names[p] = "%" + name;
  }
  int64_t next = 0;
  for (const NodePtr& n : graph.nodes)
    if (n && !names.contains(n.get()))
      names[n.get()] = std::string("%").append(std::to_string(next++));
  return names;
}

namespace {
std::string name_of(const Node* node, const ValueNames& names) {
  auto it = names.find(node);
  return it == names.end() ? "%?" : it->second;
}
}  // namespace

std::string print_node(const Node& node, const ValueNames& names) {
  std::string s = name_of(&node, names) + " = " + std::string(node.info().text);
  for (size_t i = 0; i < node.operands.size(); ++i)
    s += (i ? ", " : " ") + name_of(node.operands[i].get(), names);
  if (!node.attrs.empty()) {
    const auto& specs = node.info().attrs;
    s += " {";
    for (size_t i = 0; i < node.attrs.size(); ++i) {
      std::string name = i < specs.size() ? std::string(specs[i].name) : "attr" + std::to_string(i);
      s += (i ? ", " : "") + name + " = " + print_attr(node.attrs[i]);
    }
    s += "}";
  }
  if (node.op == OpKind::Constant) {
    s += ' ';
    s += node.buffer ? print_dense(*node.buffer) : "dense<?>";
  }
  return s + " : " + print_type(node.type);
}

std::string print_graph(const Graph& graph) {
  ValueNames names = value_names(graph);
  std::string fname = sanitize(graph.name);
  std::string s = "func @" + (fname.empty() ? std::string("main") : fname) + "(";
  for (size_t i = 0; i < graph.params.size(); ++i) {
    const Node* p = graph.params[i].get();
    s += (i ? ", " : "") + name_of(p, names) + ": " + (p ? print_type(p->type) : "?");
  }
  s += ") -> (";
  for (size_t i = 0; i < graph.results.size(); ++i) {
    const Node* r = graph.results[i].get();
    s += (i ? ", " : "") + (r ? print_type(r->type) : std::string("?"));
  }
  s += ") {\n";
  for (const NodePtr& n : graph.nodes)
    if (n) s += "  " + print_node(*n, names) + "\n";
  s += "  return";
  for (size_t i = 0; i < graph.results.size(); ++i)
    s += (i ? ", " : " ") + name_of(graph.results[i].get(), names);
  return s + "\n}\n";
}

}  // namespace kiln::ir
