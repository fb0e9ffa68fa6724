// Reference evaluation of the elementwise ops: unary, binary, select and cast. Each op is
// one line naming its scalar function (ir/eval/scalar.h), compiled for the dtypes the op
// table lets it take.
#include <cstring>
#include <numbers>
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/scalar.h"
#include "ir/eval/types.h"

// A switch over op kinds here either lists every case or has a default that throws, which
// the suites that run every row of ir/ops.def on every dtype reach: the differential suite
// on every device (tests/runtime/differential_test.cpp) and tests/codegen/opencl_ops_test.cpp.
#pragma GCC diagnostic error "-Wswitch"

namespace kiln::evaluator {

namespace {

using ir::OpKind;

// The element type a scalar function's result R is stored as: the operand's own when R is
// its value type (so an f16 result is rounded back to f16), else R's natural dtype
// (bool for predicates, f32 for the parts of a c64).
template <class E, class R>
using OutElem = std::conditional_t<std::is_same_v<R, typename E::Value>, E, NaturalElem<R>>;

template <class O>
void check_result_dtype(const ir::Node& node) {
  check(node.type.dtype == O::dtype, node,
        "the result dtype should be " + std::string(dtype_name(O::dtype)));
}

// out[i] = f(x[i]), f compiled only for the operand dtypes the table lets `op` take
// (check_accepts has refused the others).
template <OpKind op, class F>
BufferPtr map_unary(const ir::Node& node, const Buffer& x, F f) {
  check(x.shape() == node.type.shape, node, "operand shape " + shape_str(x.shape()) + " differs");
  return visit_dtype(x.dtype(), [&]<class E>(E) -> BufferPtr {
    using V = typename E::Value;
    if constexpr (table_accepts<V>(op)) {
      using O = OutElem<E, decltype(f(V{}))>;
      check_result_dtype<O>(node);
      auto out = new_output(node);
      const int64_t n = out->type().numel();
      for (int64_t i = 0; i < n; ++i) store<O>(*out, i, f(load<E>(x, i)));
      return out;
    } else {
      unsupported_dtype(node, x.dtype());
    }
  });
}

// out[i] = f(a[i], b[i]); a and b have one type.
template <OpKind op, class F>
BufferPtr map_binary(const ir::Node& node, const Buffer& a, const Buffer& b, F f) {
  check(a.type() == b.type(), node,
        "operands differ: " + a.type().str() + " and " + b.type().str() +
            " (broadcasts and promotions must be explicit in the IR)");
  check(a.shape() == node.type.shape, node, "operand shape " + shape_str(a.shape()) + " differs");
  return visit_dtype(a.dtype(), [&]<class E>(E) -> BufferPtr {
    using V = typename E::Value;
    if constexpr (table_accepts<V>(op)) {
      using O = OutElem<E, decltype(f(V{}, V{}))>;
      check_result_dtype<O>(node);
      auto out = new_output(node);
      const int64_t n = out->type().numel();
      for (int64_t i = 0; i < n; ++i) store<O>(*out, i, f(load<E>(a, i), load<E>(b, i)));
      return out;
    } else {
      unsupported_dtype(node, a.dtype());
    }
  });
}

constexpr double kLn2 = std::numbers::ln2;

}  // namespace

BufferPtr eval_unary(const ir::Node& node, const Buffer& x) {
  // Each function is called with the value type: bool, an integer, float (also for f16 and
  // bf16), double or std::complex<float>.
  check_accepts(node, x.dtype());
  switch (node.op) {
    case OpKind::Neg: return map_unary<OpKind::Neg>(node, x, [](auto v) { return neg(v); });
    case OpKind::Abs: return map_unary<OpKind::Abs>(node, x, [](auto v) { return absolute(v); });
    case OpKind::Sign: return map_unary<OpKind::Sign>(node, x, [](auto v) { return sign(v); });
    case OpKind::Exp: return map_unary<OpKind::Exp>(node, x, [](auto v) { return std::exp(v); });
    case OpKind::Exp2:
      return map_unary<OpKind::Exp2>(node, x, [](auto v) {
        using V = decltype(v);
        if constexpr (is_complex_v<V>)
          return std::exp(v * V(kLn2));
        else
          return std::exp2(v);
      });
    case OpKind::Log: return map_unary<OpKind::Log>(node, x, [](auto v) { return std::log(v); });
    case OpKind::Log2:
      return map_unary<OpKind::Log2>(node, x, [](auto v) {
        using V = decltype(v);
        if constexpr (is_complex_v<V>)
          return std::log(v) / V(kLn2);
        else
          return std::log2(v);
      });
    case OpKind::Log1p:
      return map_unary<OpKind::Log1p>(node, x, [](auto v) {
        using V = decltype(v);
        if constexpr (is_complex_v<V>)
          return std::log(V(1) + v);
        else
          return std::log1p(v);
      });
    case OpKind::Expm1:
      return map_unary<OpKind::Expm1>(node, x, [](auto v) {
        using V = decltype(v);
        if constexpr (is_complex_v<V>)
          return std::exp(v) - V(1);
        else
          return std::expm1(v);
      });
    case OpKind::Sqrt: return map_unary<OpKind::Sqrt>(node, x, [](auto v) { return std::sqrt(v); });
    case OpKind::Rsqrt:
      return map_unary<OpKind::Rsqrt>(node, x,
                                      [](auto v) { return decltype(v)(1) / std::sqrt(v); });
    case OpKind::Reciprocal:
      return map_unary<OpKind::Reciprocal>(node, x, [](auto v) { return decltype(v)(1) / v; });
    case OpKind::Sin: return map_unary<OpKind::Sin>(node, x, [](auto v) { return std::sin(v); });
    case OpKind::Cos: return map_unary<OpKind::Cos>(node, x, [](auto v) { return std::cos(v); });
    case OpKind::Tan: return map_unary<OpKind::Tan>(node, x, [](auto v) { return std::tan(v); });
    case OpKind::Tanh: return map_unary<OpKind::Tanh>(node, x, [](auto v) { return std::tanh(v); });
    case OpKind::Sigmoid:
      return map_unary<OpKind::Sigmoid>(node, x, [](auto v) {
        using V = decltype(v);
        return V(1) / (V(1) + std::exp(-v));
      });
    case OpKind::Erf: return map_unary<OpKind::Erf>(node, x, [](auto v) { return std::erf(v); });
    case OpKind::Floor:
      return map_unary<OpKind::Floor>(node, x, [](auto v) {
        if constexpr (std::floating_point<decltype(v)>)
          return std::floor(v);
        else
          return v;
      });
    case OpKind::Ceil:
      return map_unary<OpKind::Ceil>(node, x, [](auto v) {
        if constexpr (std::floating_point<decltype(v)>)
          return std::ceil(v);
        else
          return v;
      });
    case OpKind::Round:
      return map_unary<OpKind::Round>(node, x, [](auto v) {
        if constexpr (std::floating_point<decltype(v)>)
          return round_half_even(v);
        else
          return v;
      });
    case OpKind::Not: return map_unary<OpKind::Not>(node, x, [](auto v) -> bool { return v == 0; });
    case OpKind::IsNan: return map_unary<OpKind::IsNan>(node, x, [](auto v) { return has_nan(v); });
    case OpKind::IsInf:
      return map_unary<OpKind::IsInf>(node, x, [](auto v) -> bool {
        if constexpr (is_complex_v<decltype(v)>)
          return std::isinf(v.real()) || std::isinf(v.imag());
        else if constexpr (std::floating_point<decltype(v)>)
          return std::isinf(v);
        else
          return false;
      });
    case OpKind::Real:
      return map_unary<OpKind::Real>(node, x, [](auto v) {
        if constexpr (is_complex_v<decltype(v)>)
          return v.real();
        else
          return v;
      });
    case OpKind::Imag:
      return map_unary<OpKind::Imag>(node, x, [](auto v) {
        if constexpr (is_complex_v<decltype(v)>)
          return v.imag();
        else
          return decltype(v)(0);
      });
    case OpKind::Conj:
      return map_unary<OpKind::Conj>(node, x, [](auto v) {
        if constexpr (is_complex_v<decltype(v)>)
          return std::conj(v);
        else
          return v;
      });
    default: unhandled_op(node);
  }
}

BufferPtr eval_binary(const ir::Node& node, const Buffer& x, const Buffer& y) {
  check_accepts(node, x.dtype());
  switch (node.op) {
    case OpKind::Add:
      return map_binary<OpKind::Add>(node, x, y, [](auto p, auto q) { return add(p, q); });
    case OpKind::Sub:
      return map_binary<OpKind::Sub>(node, x, y, [](auto p, auto q) { return sub(p, q); });
    case OpKind::Mul:
      return map_binary<OpKind::Mul>(node, x, y, [](auto p, auto q) { return mul(p, q); });
    case OpKind::Div:
      return map_binary<OpKind::Div>(node, x, y, [](auto p, auto q) { return divide(p, q); });
    case OpKind::Pow:
      return map_binary<OpKind::Pow>(node, x, y, [](auto p, auto q) { return power(p, q); });
    case OpKind::Max:
      return map_binary<OpKind::Max>(node, x, y, [](auto p, auto q) { return nan_max(p, q); });
    case OpKind::Min:
      return map_binary<OpKind::Min>(node, x, y, [](auto p, auto q) { return nan_min(p, q); });
    case OpKind::Mod:
      return map_binary<OpKind::Mod>(node, x, y, [](auto p, auto q) { return floor_mod(p, q); });
    case OpKind::Atan2:
      return map_binary<OpKind::Atan2>(node, x, y, [](auto p, auto q) { return std::atan2(p, q); });
    case OpKind::Eq:
      return map_binary<OpKind::Eq>(node, x, y, [](auto p, auto q) { return p == q; });
    case OpKind::Ne:
      return map_binary<OpKind::Ne>(node, x, y, [](auto p, auto q) { return p != q; });
    case OpKind::Lt:
      return map_binary<OpKind::Lt>(node, x, y, [](auto p, auto q) { return p < q; });
    case OpKind::Le:
      return map_binary<OpKind::Le>(node, x, y, [](auto p, auto q) { return p <= q; });
    case OpKind::Gt:
      return map_binary<OpKind::Gt>(node, x, y, [](auto p, auto q) { return p > q; });
    case OpKind::Ge:
      return map_binary<OpKind::Ge>(node, x, y, [](auto p, auto q) { return p >= q; });
    case OpKind::And:
      return map_binary<OpKind::And>(node, x, y,
                                     [](auto p, auto q) -> decltype(p) { return p & q; });
    case OpKind::Or:
      return map_binary<OpKind::Or>(node, x, y,
                                    [](auto p, auto q) -> decltype(p) { return p | q; });
    case OpKind::Xor:
      return map_binary<OpKind::Xor>(node, x, y,
                                     [](auto p, auto q) -> decltype(p) { return p ^ q; });
    case OpKind::Complex:
      return map_binary<OpKind::Complex>(node, x, y, [](auto re, auto im) {
        return std::complex<float>(static_cast<float>(re), static_cast<float>(im));
      });
    default: unhandled_op(node);
  }
}

BufferPtr eval_select(const ir::Node& node, const Buffer& cond, const Buffer& a, const Buffer& b) {
  check(cond.dtype() == DType::Bool, node, "the condition is " + cond.type().str() + ", not bool");
  check(a.type() == b.type() && a.type() == node.type, node,
        "the branches " + a.type().str() + " and " + b.type().str() +
            " must both have the node's type");
  check(cond.shape() == node.type.shape, node,
        "the condition's shape " + shape_str(cond.shape()) + " differs");
  // Elements are copied as bytes: select never looks inside them.
  auto out = new_output(node);
  const size_t size = dtype_size(node.type.dtype);
  const int64_t n = out->type().numel();
  const auto* c = cond.as<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out->data() + i * size, (c[i] ? a : b).data() + i * size, size);
  return out;
}

BufferPtr eval_cast(const ir::Node& node, const Buffer& x) {
  check(x.shape() == node.type.shape, node, "operand shape " + shape_str(x.shape()) + " differs");
  auto out = new_output(node);
  const int64_t n = out->type().numel();
  visit_dtype(x.dtype(), [&]<class E>(E) {
    visit_dtype(node.type.dtype, [&]<class O>(O) {
      auto* dst = out->as<typename O::Storage>();
      for (int64_t i = 0; i < n; ++i) dst[i] = convert<O>(load<E>(x, i));
    });
  });
  return out;
}

}  // namespace kiln::evaluator
