// OpKind and the op table generated from ir/ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace kiln::ir {

enum class OpKind : uint8_t {
#define KILN_OP(kind, text, arity, category, attrs) kind,
#include "ir/ops.def"
#undef KILN_OP
};

enum class OpCategory : uint8_t {
  Source,
  Unary,
  Binary,
  Ternary,
  Cast,
  Reduce,
  Scan,
  Movement,
  Index,
  Contraction,
  Custom,  // a user's OpenCL kernel: runs as its own launch, never fused into
};

enum class AttrKind : uint8_t { I64, F64, Bool, I64s, Str };

struct AttrSpec {
  std::string_view name;
  AttrKind kind;
};

struct OpInfo {
  OpKind kind;
  std::string_view text;  // the IR spelling
  int arity;              // -1: variadic, at least one operand
  OpCategory category;
  std::span<const AttrSpec> attrs;  // required attributes, in printing order
};

// The row of the op table for `kind`.
const OpInfo& op_info(OpKind kind);
// Every row, in table order.
std::span<const OpInfo> all_ops();
// Lookup by IR spelling; nullopt when unknown.
std::optional<OpKind> op_from_text(std::string_view text);

inline std::string_view op_name(OpKind kind) { return op_info(kind).text; }
inline OpCategory op_category(OpKind kind) { return op_info(kind).category; }
inline bool is_elementwise(OpKind kind) {
  auto c = op_category(kind);
  return c == OpCategory::Unary || c == OpCategory::Binary || c == OpCategory::Ternary ||
         c == OpCategory::Cast;
}

}  // namespace kiln::ir
