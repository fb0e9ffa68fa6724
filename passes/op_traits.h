// Algebraic facts about ops that several passes rely on: which binary ops may swap their
// operands exactly, and the comparison that reads the same with its operands swapped.
#pragma once

#include <optional>

#include "ir/dtype.h"
#include "ir/op.h"

namespace kiln::passes {

// Whether op(a, b) equals op(b, a) bit for bit (up to a NaN's payload) for operands of
// dtype `t`. max and min only count for integers and bool: for floats the result of
// max(+0, -0) depends on the operand order in common implementations.
inline bool is_commutative(ir::OpKind op, DType t) {
  using ir::OpKind;
  switch (op) {
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::And:
    case OpKind::Or:
    case OpKind::Xor: return true;
    case OpKind::Max:
    case OpKind::Min: return is_integer(t) || is_bool(t);
    default: return false;
  }
}

// The comparison c' with c(a, b) == c'(b, a) for every a and b, NaN included (both sides
// are false when either operand is NaN); nullopt when `op` is not an ordered comparison.
inline std::optional<ir::OpKind> swapped_comparison(ir::OpKind op) {
  using ir::OpKind;
  switch (op) {
    case OpKind::Lt: return OpKind::Gt;
    case OpKind::Gt: return OpKind::Lt;
    case OpKind::Le: return OpKind::Ge;
    case OpKind::Ge: return OpKind::Le;
    default: return std::nullopt;
  }
}

}  // namespace kiln::passes
