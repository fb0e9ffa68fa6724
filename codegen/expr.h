// Expressions of KernelIR: the scalar values a kernel computes per iteration, and the
// integer index arithmetic that addresses its buffers. Expressions are immutable DAGs;
// every node carries a structural hash, the loop variables it depends on, and (for
// integers) a conservative value range, all computed when it is built.
//
// Index arithmetic is built through the i* constructors below, which keep it in a
// canonical affine form (constant + sum of coefficient * atom, atoms sorted by hash) and
// simplify floor division and modulo by positive constants using the value ranges. That is
// what turns a chain of reshapes, permutes and broadcasts over contiguous buffers back into
// plain strided addressing. Tests: tests/codegen/expr_test.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/dtype.h"
#include "ir/op.h"

namespace kiln::codegen {

enum class ExprKind : uint8_t {
  Const,       // a literal of `dtype`: ival for bool and integers, re/im for floats, complex
  Arg,         // scalar kernel argument number `slot`, passed at launch (never recompiled)
  Var,         // loop variable number `slot`, ranging over [0, ival)
  Load,        // element args[0] (an i64 element index) of kernel buffer `slot`
  StageValue,  // the result of stage `slot` for the current outer iteration
  Unary,       // IR elementwise op `op` on args[0]; dtype is the IR result dtype
  Binary,      // IR elementwise op `op` on args[0], args[1]
  Select,      // args[0] (bool) ? args[1] : args[2]
  Cast,        // args[0] converted to `dtype` with the IR cast rules
  IndexDiv,    // floor(args[0] / ival), ival > 0 (index arithmetic only)
  IndexMod,    // args[0] - ival * floor(args[0] / ival), ival > 0
  Random,      // uniform [0,1) in `dtype` (ir/random.h): counter args[0], key args[1] (i64)
  RandomKey,   // i64 ir::derive_key(args[0], ival): a key derived from the key args[0]
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind = ExprKind::Const;
  ir::OpKind op = ir::OpKind::Add;
  DType dtype = DType::I64;
  int32_t slot = 0;
  int64_t ival = 0;
  double re = 0, im = 0;
  std::vector<ExprPtr> args;

  // Derived when built.
  uint64_t hash = 0;
  uint64_t var_mask = 0;    // bit v set when the value depends on loop variable v (v >= 63: bit 63)
  uint64_t stage_mask = 0;  // bit s set when it depends on StageValue s (likewise capped)
  int64_t lo = 0, hi = 0;   // value range for bool and integer dtypes (inclusive)

  bool depends_on_var(int v) const { return (var_mask >> (v < 63 ? v : 63)) & 1; }
  bool is_const() const { return kind == ExprKind::Const; }
  bool is_int_const(int64_t v) const { return kind == ExprKind::Const && ival == v; }
};

// Structural equality (same tree, same leaves).
bool expr_equal(const ExprPtr& a, const ExprPtr& b);

// ---- leaves ----
ExprPtr const_int(DType dtype, int64_t value);   // bool and integer dtypes
ExprPtr const_float(DType dtype, double value);  // floating dtypes
ExprPtr const_complex(double re, double im);     // c64
ExprPtr const_bool(bool value);
ExprPtr index_const(int64_t value);  // an i64 index constant
// A constant of any dtype from a double (the pad value attribute): integers truncate.
ExprPtr const_of(DType dtype, double value);
ExprPtr arg(DType dtype, int slot);
ExprPtr var(int id, int64_t extent);
ExprPtr load(DType dtype, int buffer, ExprPtr index);
ExprPtr stage_value(DType dtype, int stage);

// ---- values (IR semantics, no simplification beyond constant conditions) ----
ExprPtr unary(ir::OpKind op, DType result, ExprPtr a);
ExprPtr binary(ir::OpKind op, DType result, ExprPtr a, ExprPtr b);
ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b);
ExprPtr cast(DType to, ExprPtr a);
ExprPtr random_uniform(DType dtype, ExprPtr counter, ExprPtr key);
ExprPtr random_key(ExprPtr key, uint64_t counter);

// ---- index arithmetic (i64, canonical affine form) ----
ExprPtr iadd(ExprPtr a, ExprPtr b);
ExprPtr iadd(ExprPtr a, int64_t b);
ExprPtr isub(ExprPtr a, ExprPtr b);
ExprPtr imul(ExprPtr a, int64_t k);
ExprPtr idiv(ExprPtr a, int64_t k);  // floor division, k > 0
ExprPtr imod(ExprPtr a, int64_t k);  // floored modulo, k > 0
ExprPtr imin(ExprPtr a, ExprPtr b);
ExprPtr imax(ExprPtr a, ExprPtr b);
ExprPtr iclamp(ExprPtr a, int64_t lo, int64_t hi);
// Comparisons fold to constants when the ranges decide them.
ExprPtr ilt(ExprPtr a, ExprPtr b);
ExprPtr ige(ExprPtr a, ExprPtr b);
ExprPtr land(ExprPtr a, ExprPtr b);  // bool and; null operands count as true
// Row-major linear index of a multi-index over `shape`.
ExprPtr linear_index(const std::vector<ExprPtr>& idx, const std::vector<int64_t>& shape);
// The multi-index of a row-major linear index over `shape`.
std::vector<ExprPtr> delinearize(ExprPtr flat, const std::vector<int64_t>& shape);

// The affine form of an index expression: constant + sum coefficient * atom.
struct Linear {
  int64_t constant = 0;
  std::vector<std::pair<ExprPtr, int64_t>> terms;
};
Linear linearize(const ExprPtr& e);
ExprPtr from_linear(Linear l);

// How an index changes along loop variable v: index = base + stride * v with base
// independent of v (affine), or anything else.
struct Stride {
  bool affine = false;
  int64_t stride = 0;
};
Stride stride_along(const ExprPtr& index, int v);

// Number of IndexDiv / IndexMod nodes in the expression (shared nodes counted once).
int count_div_mod(const ExprPtr& e);

// Rebuilds `e` with loop variables replaced: subst[v] (when non-null) stands for Var v.
// Index arithmetic is re-simplified on the way up.
ExprPtr substitute(const ExprPtr& e, const std::vector<ExprPtr>& subst);

// Rebuilds `e` with every subexpression structurally equal to `from` replaced by `to`.
ExprPtr replace_subexpr(const ExprPtr& e, const ExprPtr& from, const ExprPtr& to);

// A node like `x` with new operands (index arithmetic re-simplified).
ExprPtr with_args(const ExprPtr& x, std::vector<ExprPtr> args);

// A one-line rendering, used by the KernelIR printer and in messages.
std::string expr_str(const ExprPtr& e);

}  // namespace kiln::codegen
