// OpKind and the op table generated from ir/ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ir/dtype.h"

namespace kiln::ir {

enum class OpKind : uint8_t {
#define KILN_OP(kind, text, arity, category, accepts, result, cost, math, attrs) kind,
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

// The dtypes an op accepts (the Accepts column of ops.def).
enum class Accepts : uint8_t {
  Any,
  Numeric,
  Real,
  IntOrFloat,
  Floating,
  Inexact,
  IntOrBool,
  F32,
  C64
};

// How an op's result dtype follows from its checked operand's (the Result column).
enum class ResultRule : uint8_t {
  Same,      // the operand's dtype
  Bool,      // bool (comparisons, predicates)
  RealPart,  // the real dtype of a complex operand (c64 -> f32), others unchanged
  I64,       // i64 (positions)
  C64,       // c64 (complex from parts)
  Declared,  // the node's declared dtype (sources, cast, custom); Accepts checks it
};

enum class OpCost : uint8_t { Cheap, Transcendental };

enum class AttrKind : uint8_t { I64, F64, Bool, I64s, Str };

struct AttrSpec {
  std::string_view name;
  AttrKind kind;
};

struct OpInfo {
  OpKind kind;
  std::string_view text;  // the IR spelling
  int arity;              // -1: variadic, at least one operand; -2: zero or one
  OpCategory category;
  std::span<const AttrSpec> attrs;  // required attributes, in printing order
  Accepts accepts;
  ResultRule result;
  OpCost cost;
  std::string_view math;  // C99 / OpenCL C function of a unary op on reals, or empty
};

// The row of the op table for `kind`.
const OpInfo& op_info(OpKind kind);
// Every row, in table order.
std::span<const OpInfo> all_ops();
// Lookup by IR spelling; nullopt when unknown.
std::optional<OpKind> op_from_text(std::string_view text);

inline std::string_view op_name(OpKind kind) { return op_info(kind).text; }

// Whether `n` operands fit an arity of the table, and its wording in messages ("2
// operand(s)", "at least one operand", "zero or one operand").
bool arity_admits(int arity, size_t n);
std::string arity_text(int arity);
inline OpCategory op_category(OpKind kind) { return op_info(kind).category; }
inline bool is_transcendental(OpKind kind) { return op_info(kind).cost == OpCost::Transcendental; }

// Whether `accepts` admits dtype `t`, and its wording in messages ("a floating dtype (f16,
// bf16, f32, f64)").
bool accepts_dtype(Accepts accepts, DType t);
std::string describe(Accepts accepts);
// Whether `op` accepts `t` on its checked operand (see ops.def).
inline bool op_accepts(OpKind op, DType t) { return accepts_dtype(op_info(op).accepts, t); }
// The result dtype of `op` on a checked operand of dtype `t` (for Declared ops, `t`).
DType op_result_dtype(OpKind op, DType t);
// Why `op` refuses dtype `t`: "must have a floating dtype (f16, bf16, f32, f64), got c64;
// take real/imag/abs first", or empty when it accepts it. The verifier and the frontend
// both word their dtype errors with it.
std::string dtype_refusal(OpKind op, DType t);

inline bool is_elementwise(OpKind kind) {
  auto c = op_category(kind);
  return c == OpCategory::Unary || c == OpCategory::Binary || c == OpCategory::Ternary ||
         c == OpCategory::Cast;
}

}  // namespace kiln::ir
