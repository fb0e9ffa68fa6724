// The op table: one row per line of ir/ops.def, with its attribute specs parsed once, and
// the dtype rules its Accepts and Result columns name.
#include "ir/op.h"

#include <array>
#include <string>
#include <vector>

namespace kiln::ir {

namespace {

AttrKind attr_kind_from(std::string_view s) {
  if (s == "i64") return AttrKind::I64;
  if (s == "f64") return AttrKind::F64;
  if (s == "bool") return AttrKind::Bool;
  if (s == "i64s") return AttrKind::I64s;
  return AttrKind::Str;
}

std::vector<AttrSpec> parse_specs(std::string_view spec) {
  std::vector<AttrSpec> out;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    size_t colon = item.find(':');
    out.push_back({item.substr(0, colon), attr_kind_from(item.substr(colon + 1))});
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
  }
  return out;
}

struct Table {
  std::vector<std::vector<AttrSpec>> specs;
  std::vector<OpInfo> rows;

  Table() {
    struct Raw {
      OpKind kind;
      std::string_view text;
      int arity;
      OpCategory category;
      std::string_view attrs;
      Accepts accepts;
      ResultRule result;
      OpCost cost;
      std::string_view math;
    };
    static constexpr Raw raw[] = {
#define KILN_OP(kind, text, arity, category, accepts, result, cost, math, attrs) \
  {OpKind::kind,         text,         arity,                                    \
   OpCategory::category, attrs,        Accepts::accepts,                         \
   ResultRule::result,   OpCost::cost, #math == std::string_view("none") ? "" : #math},
#include "ir/ops.def"
#undef KILN_OP
    };
    specs.reserve(std::size(raw));
    for (const Raw& r : raw) specs.push_back(parse_specs(r.attrs));
    for (size_t i = 0; i < std::size(raw); ++i)
      rows.push_back({raw[i].kind, raw[i].text, raw[i].arity, raw[i].category, specs[i],
                      raw[i].accepts, raw[i].result, raw[i].cost, raw[i].math});
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const OpInfo& op_info(OpKind kind) { return table().rows[static_cast<size_t>(kind)]; }

std::span<const OpInfo> all_ops() { return table().rows; }

bool arity_admits(int arity, size_t n) {
  if (arity == -1) return n > 0;
  if (arity == -2) return n <= 1;
  return n == static_cast<size_t>(arity);
}

std::string arity_text(int arity) {
  if (arity == -1) return "at least one operand";
  if (arity == -2) return "zero or one operand";
  return std::to_string(arity) + " operand(s)";
}

std::optional<OpKind> op_from_text(std::string_view text) {
  for (const OpInfo& info : table().rows)
    if (info.text == text) return info.kind;
  return std::nullopt;
}

bool accepts_dtype(Accepts a, DType t) {
  switch (a) {
    case Accepts::Any: return true;
    case Accepts::Numeric: return !is_bool(t);
    case Accepts::Real: return !is_complex(t);
    case Accepts::IntOrFloat: return is_integer(t) || is_floating(t);
    case Accepts::Floating: return is_floating(t);
    case Accepts::Inexact: return is_inexact(t);
    case Accepts::IntOrBool: return is_integer(t) || is_bool(t);
    case Accepts::F32: return t == DType::F32;
    case Accepts::C64: return t == DType::C64;
  }
  return false;
}

std::string describe(Accepts a) {
  switch (a) {
    case Accepts::Any: return "any dtype";
    case Accepts::Numeric: return "a numeric dtype (not bool)";
    case Accepts::Real: return "a real dtype (not c64)";
    case Accepts::IntOrFloat: return "an integer or floating dtype";
    case Accepts::Floating: return "a floating dtype (f16, bf16, f32, f64)";
    case Accepts::Inexact: return "a floating or complex dtype";
    case Accepts::IntOrBool: return "a bool or integer dtype";
    case Accepts::F32: return "f32";
    case Accepts::C64: return "c64";
  }
  return "?";
}

DType op_result_dtype(OpKind op, DType t) {
  switch (op_info(op).result) {
    case ResultRule::Same:
    case ResultRule::Declared: return t;
    case ResultRule::Bool: return DType::Bool;
    case ResultRule::RealPart: return real_dtype(t);
    case ResultRule::I64: return DType::I64;
    case ResultRule::C64: return DType::C64;
  }
  return t;
}

namespace {

// What to do about a refused dtype.
std::string dtype_hint(Accepts a, DType got) {
  if (is_bool(got) && a != Accepts::IntOrBool) return "; cast the bool operand first";
  if (is_integer(got) && (a == Accepts::Inexact || a == Accepts::Floating))
    return "; cast the integer operand to a floating dtype first";
  if (is_complex(got) && a == Accepts::Real)
    return "; complex values have no order: take real/imag/abs first";
  if (is_complex(got)) return "; take real/imag/abs of the complex value first";
  if (a == Accepts::IntOrBool) return "; compare, or cast to an integer dtype, first";
  return "";
}

}  // namespace

std::string dtype_refusal(OpKind op, DType t) {
  const Accepts a = op_info(op).accepts;
  if (accepts_dtype(a, t)) return "";
  return "must have " + describe(a) + ", got " + std::string(dtype_name(t)) + dtype_hint(a, t);
}

}  // namespace kiln::ir
