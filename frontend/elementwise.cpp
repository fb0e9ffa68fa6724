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

void reject_complex(std::string_view op, const Tensor& x) {
  if (is_complex(x.dtype()))
    throw DTypeError(std::string(op) + ": " + type_str(x) +
                     " is complex, which this op does not support; apply it to real(x) and "
                     "imag(x) or abs(x)");
}

// A math function: bool and integer inputs are cast to f32 first.
Tensor math(ir::OpKind op, std::string_view name, const Tensor& x, bool complex_ok, Loc loc) {
  if (!complex_ok) reject_complex(name, x);
  Tensor y = frontend::to_inexact(x, loc);
  return unary(op, y, y.dtype(), loc);
}

// What a binary op does with the common dtype of its operands.
enum class Rule {
  Any,          // every dtype
  Arithmetic,   // bool becomes i32
  Ordered,      // complex refused (no order)
  Real,         // bool becomes i32; complex refused (modulo, floor division)
  Inexact,      // bool and integers become f32
  RealInexact,  // bool and integers become f32; complex refused
  Bitwise,      // bool or integer only
};

DType apply_rule(std::string_view op, Rule rule, DType d, const TensorLike& a,
                 const TensorLike& b) {
  auto describe = [&] {
    return frontend::operand_type(a).str() + " and " + frontend::operand_type(b).str();
  };
  bool refuse_complex = rule == Rule::Ordered || rule == Rule::Real || rule == Rule::RealInexact;
  if (refuse_complex && is_complex(d))
    throw DTypeError(std::string(op) + ": operands " + describe() +
                     " are complex, which this op does not support; use real(x), imag(x) or "
                     "abs(x)");
  switch (rule) {
    case Rule::Any:
    case Rule::Ordered: return d;
    case Rule::Arithmetic:
    case Rule::Real: return is_bool(d) ? DType::I32 : d;
    case Rule::Inexact:
    case Rule::RealInexact: return is_inexact(d) ? d : DType::F32;
    case Rule::Bitwise:
      if (!is_bool(d) && !is_integer(d))
        throw DTypeError(std::string(op) + ": operands " + describe() + " give " +
                         std::string(dtype_name(d)) +
                         "; bitwise ops take bool or integer tensors (compare, or cast to an "
                         "integer dtype, first)");
      return d;
  }
  return d;
}

// A binary op: promotion, the op's dtype rule, explicit broadcasting, then the node.
Tensor binary(ir::OpKind op, std::string_view name, Rule rule, const TensorLike& a,
              const TensorLike& b, bool gives_bool, Loc loc) {
  DType d = apply_rule(name, rule, frontend::common_dtype({a, b}), a, b);
  auto xs = frontend::unify(name, {a, b}, d, loc);
  return make(op, {xs[0], xs[1]}, {}, Type{gives_bool ? DType::Bool : d, xs[0].shape()}, loc);
}

// The truth value of an operand, as a bool tensor or a bool scalar.
TensorLike truth_of(const TensorLike& x, Loc loc) {
  if (x.is_tensor()) return frontend::truth(x.tensor(), loc);
  const Scalar& s = x.scalar();
  return Scalar(s.as_double() != 0 || s.as_complex().imag() != 0);
}

Tensor logical(ir::OpKind op, std::string_view name, const TensorLike& a, const TensorLike& b,
               Loc loc) {
  return binary(op, name, Rule::Any, truth_of(a, loc), truth_of(b, loc), false, loc);
}

}  // namespace

Tensor neg(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype()))
    throw DTypeError("neg: " + type_str(x) +
                     " is bool, which has no negation; use logical_not(x) or cast it first");
  return unary(ir::OpKind::Neg, x, x.dtype(), loc);
}

Tensor abs(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return x;
  return unary(ir::OpKind::Abs, x, real_dtype(x.dtype()), loc);
}

Tensor sign(const Tensor& x, Loc loc) {
  reject_complex("sign", x);
  if (is_bool(x.dtype())) return x;
  return unary(ir::OpKind::Sign, x, x.dtype(), loc);
}

Tensor exp(const Tensor& x, Loc loc) { return math(ir::OpKind::Exp, "exp", x, true, loc); }
Tensor exp2(const Tensor& x, Loc loc) { return math(ir::OpKind::Exp2, "exp2", x, true, loc); }
Tensor log(const Tensor& x, Loc loc) { return math(ir::OpKind::Log, "log", x, true, loc); }
Tensor log2(const Tensor& x, Loc loc) { return math(ir::OpKind::Log2, "log2", x, true, loc); }
Tensor log1p(const Tensor& x, Loc loc) { return math(ir::OpKind::Log1p, "log1p", x, true, loc); }
Tensor expm1(const Tensor& x, Loc loc) { return math(ir::OpKind::Expm1, "expm1", x, true, loc); }
Tensor sqrt(const Tensor& x, Loc loc) { return math(ir::OpKind::Sqrt, "sqrt", x, true, loc); }
Tensor rsqrt(const Tensor& x, Loc loc) { return math(ir::OpKind::Rsqrt, "rsqrt", x, true, loc); }
Tensor reciprocal(const Tensor& x, Loc loc) {
  return math(ir::OpKind::Reciprocal, "reciprocal", x, true, loc);
}
Tensor sin(const Tensor& x, Loc loc) { return math(ir::OpKind::Sin, "sin", x, true, loc); }
Tensor cos(const Tensor& x, Loc loc) { return math(ir::OpKind::Cos, "cos", x, true, loc); }
Tensor tan(const Tensor& x, Loc loc) { return math(ir::OpKind::Tan, "tan", x, true, loc); }
Tensor tanh(const Tensor& x, Loc loc) { return math(ir::OpKind::Tanh, "tanh", x, true, loc); }
Tensor sigmoid(const Tensor& x, Loc loc) {
  return math(ir::OpKind::Sigmoid, "sigmoid", x, true, loc);
}
Tensor erf(const Tensor& x, Loc loc) { return math(ir::OpKind::Erf, "erf", x, false, loc); }

Tensor square(const Tensor& x, Loc loc) { return multiply(x, x, loc); }

// Rounding leaves integers as they are.
Tensor floor(const Tensor& x, Loc loc) {
  reject_complex("floor", x);
  return is_floating(x.dtype()) ? unary(ir::OpKind::Floor, x, x.dtype(), loc) : x;
}
Tensor ceil(const Tensor& x, Loc loc) {
  reject_complex("ceil", x);
  return is_floating(x.dtype()) ? unary(ir::OpKind::Ceil, x, x.dtype(), loc) : x;
}
Tensor round(const Tensor& x, Loc loc) {
  reject_complex("round", x);
  return is_floating(x.dtype()) ? unary(ir::OpKind::Round, x, x.dtype(), loc) : x;
}

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
  return binary(ir::OpKind::Add, "add", Rule::Arithmetic, a, b, false, loc);
}
Tensor subtract(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Sub, "subtract", Rule::Arithmetic, a, b, false, loc);
}
Tensor multiply(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Mul, "multiply", Rule::Arithmetic, a, b, false, loc);
}
Tensor divide(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Div, "divide", Rule::Inexact, a, b, false, loc);
}
Tensor floor_divide(const TensorLike& a, const TensorLike& b, Loc loc) {
  Tensor q = binary(ir::OpKind::Div, "floor_divide", Rule::Real, a, b, false, loc);
  return floor(q, loc);  // the IR's integer div already floors; floats need floor
}
Tensor mod(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Mod, "mod", Rule::Real, a, b, false, loc);
}
Tensor pow(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Pow, "pow", Rule::Arithmetic, a, b, false, loc);
}
Tensor maximum(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Max, "maximum", Rule::Ordered, a, b, false, loc);
}
Tensor minimum(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Min, "minimum", Rule::Ordered, a, b, false, loc);
}
Tensor atan2(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Atan2, "atan2", Rule::RealInexact, a, b, false, loc);
}

Tensor equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Eq, "equal", Rule::Any, a, b, true, loc);
}
Tensor not_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Ne, "not_equal", Rule::Any, a, b, true, loc);
}
Tensor less(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Lt, "less", Rule::Ordered, a, b, true, loc);
}
Tensor less_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Le, "less_equal", Rule::Ordered, a, b, true, loc);
}
Tensor greater(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Gt, "greater", Rule::Ordered, a, b, true, loc);
}
Tensor greater_equal(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Ge, "greater_equal", Rule::Ordered, a, b, true, loc);
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
  return binary(ir::OpKind::And, "bitwise_and", Rule::Bitwise, a, b, false, loc);
}
Tensor bitwise_or(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Or, "bitwise_or", Rule::Bitwise, a, b, false, loc);
}
Tensor bitwise_xor(const TensorLike& a, const TensorLike& b, Loc loc) {
  return binary(ir::OpKind::Xor, "bitwise_xor", Rule::Bitwise, a, b, false, loc);
}
Tensor bitwise_not(const Tensor& x, Loc loc) {
  if (is_bool(x.dtype())) return unary(ir::OpKind::Not, x, DType::Bool, loc);
  if (!is_integer(x.dtype()))
    throw DTypeError("bitwise_not: " + type_str(x) +
                     " is not bool or integer; bitwise ops take bool or integer tensors (compare, "
                     "or cast to an integer dtype, first)");
  // x ^ all-ones: -1 in a signed dtype, 255 in u8.
  Scalar ones = x.dtype() == DType::U8 ? Scalar(255) : Scalar(-1);
  return bitwise_xor(x, ones, loc);
}

Tensor clip(const TensorLike& x, const TensorLike& lo, const TensorLike& hi, Loc loc) {
  Tensor low = binary(ir::OpKind::Max, "clip", Rule::Ordered, x, lo, false, loc);
  return binary(ir::OpKind::Min, "clip", Rule::Ordered, low, hi, false, loc);
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
