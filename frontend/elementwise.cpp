// Elementwise ops: unary math, binary arithmetic, comparisons, logical and bitwise ops,
// where, clip and cast. The dtype rules (which inputs are cast to f32, which dtypes an op
// refuses) are listed in docs/semantics.md.
#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

namespace {

Tensor unary(ir::OpKind op, const Tensor& x, DType out, Loc loc) {
  return make(op, {x}, {}, Type{out, x.shape()}, loc);
}

// Refuses what the IR's rule for `op` refuses, in its words (frontend::check_dtype).
void check_unary(std::string_view name, ir::OpKind op, const Tensor& x,
                 std::string_view advice = {}) {
  frontend::check_dtype(
      name, op, x.dtype(), [&] { return type_str(x); }, advice);
}

// A math function: bool and integer inputs are cast to f32 first (docs/semantics.md).
Tensor math(ir::OpKind op, const Tensor& x, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  check_unary(ir::op_name(op), op, y);
  return unary(op, y, ir::op_result_dtype(op, y.dtype()), loc);
}

// How a binary op promotes the common dtype of its operands before the IR's rule for the
// op decides whether it takes it (docs/semantics.md).
enum class Promote {
  None,
  BoolToInt,  // bool becomes i32 (arithmetic)
  ToInexact,  // bool and integers become f32
};

DType promote(Promote p, DType d) {
  switch (p) {
    case Promote::None: return d;
    case Promote::BoolToInt: return is_bool(d) ? DType::I32 : d;
    case Promote::ToInexact: return is_inexact(d) ? d : DType::F32;
  }
  return d;
}

std::string operands_str(const TensorLike& a, const TensorLike& b) {
  return "operands " + frontend::operand_type(a).str() + " and " + frontend::operand_type(b).str();
}

// A binary op: promotion, the op's dtype rule, explicit broadcasting, then the node.
Tensor binary(ir::OpKind op, std::string_view name, Promote p, const TensorLike& a,
              const TensorLike& b, Loc loc, std::optional<DType> dtype = std::nullopt) {
  DType d = dtype ? *dtype : promote(p, frontend::common_dtype({a, b}));
  frontend::check_dtype(name, op, d, [&] { return operands_str(a, b); });
  auto xs = frontend::unify(name, {a, b}, d, loc);
  return make(op, {xs[0], xs[1]}, {}, Type{ir::op_result_dtype(op, d), xs[0].shape()}, loc);
}

// The truth value of an operand, as a bool tensor or a bool scalar.
TensorLike truth_of(const TensorLike& x, Loc loc) {
  if (x.is_tensor()) return frontend::truth(x.tensor(), loc);
  const Scalar& s = x.scalar();
  return Scalar(s.as_double() != 0 || s.as_complex().imag() != 0);
}

Tensor logical(ir::OpKind op, std::string_view name, const TensorLike& a, const TensorLike& b,
               Loc loc) {
  return binary(op, name, Promote::None, truth_of(a, loc), truth_of(b, loc), loc);
}

}  // namespace

Tensor neg(const Tensor& x, Loc loc) {
  check_unary("neg", ir::OpKind::Neg, x, " (or use logical_not(x))");
  return unary(ir::OpKind::Neg, x, x.dtype(), loc);
}

Tensor abs(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return x;
  return unary(ir::OpKind::Abs, x, real_dtype(x.dtype()), loc);
}

Tensor sign(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return x;
  check_unary("sign", ir::OpKind::Sign, x);
  return unary(ir::OpKind::Sign, x, x.dtype(), loc);
}

Tensor exp(const Tensor& x, Loc loc) { return math(ir::OpKind::Exp, x, loc); }
Tensor exp2(const Tensor& x, Loc loc) { return math(ir::OpKind::Exp2, x, loc); }
Tensor log(const Tensor& x, Loc loc) { return math(ir::OpKind::Log, x, loc); }
Tensor log2(const Tensor& x, Loc loc) { return math(ir::OpKind::Log2, x, loc); }
Tensor log1p(const Tensor& x, Loc loc) { return math(ir::OpKind::Log1p, x, loc); }
Tensor expm1(const Tensor& x, Loc loc) { return math(ir::OpKind::Expm1, x, loc); }
Tensor sqrt(const Tensor& x, Loc loc) { return math(ir::OpKind::Sqrt, x, loc); }
Tensor rsqrt(const Tensor& x, Loc loc) { return math(ir::OpKind::Rsqrt, x, loc); }
Tensor reciprocal(const Tensor& x, Loc loc) { return math(ir::OpKind::Reciprocal, x, loc); }
Tensor sin(const Tensor& x, Loc loc) { return math(ir::OpKind::Sin, x, loc); }
Tensor cos(const Tensor& x, Loc loc) { return math(ir::OpKind::Cos, x, loc); }
Tensor tan(const Tensor& x, Loc loc) { return math(ir::OpKind::Tan, x, loc); }
Tensor tanh(const Tensor& x, Loc loc) { return math(ir::OpKind::Tanh, x, loc); }
Tensor sigmoid(const Tensor& x, Loc loc) { return math(ir::OpKind::Sigmoid, x, loc); }
Tensor erf(const Tensor& x, Loc loc) { return math(ir::OpKind::Erf, x, loc); }

Tensor square(const Tensor& x, Loc loc) { return multiply(x, x, loc); }

namespace {
// Rounding leaves bool and integers as they are.
Tensor rounding(ir::OpKind op, const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return x;
  check_unary(ir::op_name(op), op, x);
  return is_floating(x.dtype()) ? unary(op, x, x.dtype(), loc) : x;
}
}  // namespace

Tensor floor(const Tensor& x, Loc loc) { return rounding(ir::OpKind::Floor, x, loc); }
Tensor ceil(const Tensor& x, Loc loc) { return rounding(ir::OpKind::Ceil, x, loc); }
Tensor round(const Tensor& x, Loc loc) { return rounding(ir::OpKind::Round, x, loc); }

// Integers are never NaN or infinite.
Tensor isnan(const Tensor& x, Loc loc) {
  if (!is_inexact(x.dtype())) return full(x.shape(), false, DType::Bool, loc);
  return unary(ir::OpKind::IsNan, x, DType::Bool, loc);
}
Tensor isinf(const Tensor& x, Loc loc) {
  if (!is_inexact(x.dtype())) return full(x.shape(), false, DType::Bool, loc);
  return unary(ir::OpKind::IsInf, x, DType::Bool, loc);
}
Tensor isfinite(const Tensor& x, Loc loc) {
  if (!is_inexact(x.dtype())) return full(x.shape(), true, DType::Bool, loc);
  return logical_not(logical_or(isnan(x, loc), isinf(x, loc), loc), loc);
}

Tensor real(const Tensor& x, Loc loc) {
  if (!is_complex(x.dtype())) return x;
  return unary(ir::OpKind::Real, x, real_dtype(x.dtype()), loc);
}
Tensor imag(const Tensor& x, Loc loc) {
  if (!is_complex(x.dtype())) return zeros_like(x, std::nullopt, loc);
  return unary(ir::OpKind::Imag, x, real_dtype(x.dtype()), loc);
}
Tensor conj(const Tensor& x, Loc loc) {
  if (!is_complex(x.dtype())) return x;
  return unary(ir::OpKind::Conj, x, x.dtype(), loc);
}

Tensor cast(const Tensor& x, DType dtype, Loc loc) { return frontend::cast_to(x, dtype, loc); }

Tensor add(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Add, "add", Promote::BoolToInt, a, b, loc);
}
Tensor subtract(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Sub, "subtract", Promote::BoolToInt, a, b, loc);
}
Tensor multiply(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Mul, "multiply", Promote::BoolToInt, a, b, loc);
}
Tensor divide(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Div, "divide", Promote::ToInexact, a, b, loc);
}
Tensor floor_divide(const TensorLike& a, const TensorLike& b, Loc loc) {
  // Refused where floor is (complex), in floor's words.
  frontend::check_dtype("floor_divide", ir::OpKind::Floor,
                        promote(Promote::BoolToInt, frontend::common_dtype({a, b})),
                        [&] { return operands_str(a, b); });
  Tensor q = binary(ir::OpKind::Div, "floor_divide", Promote::BoolToInt, a, b, loc);
  return floor(q, loc);  // the IR's integer div already floors; floats need floor
}
Tensor mod(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Mod, "mod", Promote::BoolToInt, a, b, loc);
}
Tensor pow(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Pow, "pow", Promote::BoolToInt, a, b, loc);
}
Tensor maximum(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Max, "maximum", Promote::None, a, b, loc);
}
Tensor minimum(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Min, "minimum", Promote::None, a, b, loc);
}
Tensor atan2(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Atan2, "atan2", Promote::ToInexact, a, b, loc);
}

Tensor complex(const TensorLike& re, const TensorLike& im, Loc loc) {
  // Real parts of any real dtype are taken as f32 (c64 holds two f32s).
  DType d = frontend::common_dtype({re, im});
  return binary(ir::OpKind::Complex, "complex", Promote::None, re, im, loc,
                is_complex(d) ? d : DType::F32);
}

Tensor equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Eq, "equal", Promote::None, a, b, loc);
}
Tensor not_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Ne, "not_equal", Promote::None, a, b, loc);
}
Tensor less(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Lt, "less", Promote::None, a, b, loc);
}
Tensor less_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Le, "less_equal", Promote::None, a, b, loc);
}
Tensor greater(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Gt, "greater", Promote::None, a, b, loc);
}
Tensor greater_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Ge, "greater_equal", Promote::None, a, b, loc);
}

Tensor logical_and(const TensorLike& a, const TensorLike& b, Loc loc) {
  return logical(ir::OpKind::And, "logical_and", a, b, loc);
}
Tensor logical_or(const TensorLike& a, const TensorLike& b, Loc loc) {
  return logical(ir::OpKind::Or, "logical_or", a, b, loc);
}
Tensor logical_xor(const TensorLike& a, const TensorLike& b, Loc loc) {
  return logical(ir::OpKind::Xor, "logical_xor", a, b, loc);
}
Tensor logical_not(const Tensor& x, Loc loc) {
  return unary(ir::OpKind::Not, frontend::truth(x, loc), DType::Bool, loc);
}

Tensor bitwise_and(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::And, "bitwise_and", Promote::None, a, b, loc);
}
Tensor bitwise_or(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Or, "bitwise_or", Promote::None, a, b, loc);
}
Tensor bitwise_xor(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Xor, "bitwise_xor", Promote::None, a, b, loc);
}
Tensor bitwise_not(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return unary(ir::OpKind::Not, x, DType::Bool, loc);
  check_unary("bitwise_not", ir::OpKind::Xor, x);
  // x ^ all-ones: -1 in a signed dtype, 255 in u8.
  Scalar ones = x.dtype() == DType::U8 ? Scalar(255) : Scalar(-1);
  return bitwise_xor(x, ones, loc);
}

Tensor clip(const TensorLike& x, const TensorLike& lo, const TensorLike& hi, Loc loc) {
  Tensor low = binary(ir::OpKind::Max, "clip", Promote::None, x, lo, loc);
  return binary(ir::OpKind::Min, "clip", Promote::None, low, hi, loc);
}

Tensor where(const TensorLike& cond, const TensorLike& a, const TensorLike& b, Loc loc) {
  DType d = frontend::common_dtype({a, b});
  TensorLike c = truth_of(cond, loc);
  using frontend::operand_type;
  Shape shape =
      frontend::broadcast_shapes("where", {operand_type(c), operand_type(a), operand_type(b)});
  return make(ir::OpKind::Select,
              {frontend::to_tensor("where", c, DType::Bool, shape, loc),
               frontend::to_tensor("where", a, d, shape, loc),
               frontend::to_tensor("where", b, d, shape, loc)},
              {}, Type{d, shape}, loc);
}

}  // namespace kiln
