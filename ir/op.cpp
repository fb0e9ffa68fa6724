// The op table: one row per line of ir/ops.def, with its attribute specs parsed once.
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
    };
    static constexpr Raw raw[] = {
#define KILN_OP(kind, text, arity, category, attrs) \
  {OpKind::kind, text, arity, OpCategory::category, attrs},
#include "ir/ops.def"
#undef KILN_OP
    };
    specs.reserve(std::size(raw));
    for (const Raw& r : raw) specs.push_back(parse_specs(r.attrs));
    for (size_t i = 0; i < std::size(raw); ++i)
      rows.push_back({raw[i].kind, raw[i].text, raw[i].arity, raw[i].category, specs[i]});
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const OpInfo& op_info(OpKind kind) { return table().rows[static_cast<size_t>(kind)]; }

std::span<const OpInfo> all_ops() { return table().rows; }

std::optional<OpKind> op_from_text(std::string_view text) {
  for (const OpInfo& info : table().rows)
    if (info.text == text) return info.kind;
  return std::nullopt;
}

}  // namespace kiln::ir
