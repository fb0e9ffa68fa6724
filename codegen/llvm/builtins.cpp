// The out-of-line builtins of generated kernels (see builtins.h). Their formulas are the
// reference evaluator's (runtime/eval_elementwise.cpp), so results agree exactly.
#include "codegen/llvm/builtins.h"

#include <cmath>
#include <complex>
#include <numbers>

#include "ir/op.h"

namespace {

using kiln::ir::OpKind;
using C = std::complex<float>;

template <class V>
V real_unary(OpKind op, V x) {
  switch (op) {
    case OpKind::Exp: return std::exp(x);
    case OpKind::Exp2: return std::exp2(x);
    case OpKind::Log: return std::log(x);
    case OpKind::Log2: return std::log2(x);
    case OpKind::Log1p: return std::log1p(x);
    case OpKind::Expm1: return std::expm1(x);
    case OpKind::Sin: return std::sin(x);
    case OpKind::Cos: return std::cos(x);
    case OpKind::Tan: return std::tan(x);
    case OpKind::Tanh: return std::tanh(x);
    case OpKind::Sigmoid: return V(1) / (V(1) + std::exp(-x));
    case OpKind::Erf: return std::erf(x);
    default: return std::numeric_limits<V>::quiet_NaN();
  }
}

template <class V>
V real_binary(OpKind op, V a, V b) {
  switch (op) {
    case OpKind::Pow: return std::pow(a, b);
    case OpKind::Atan2: return std::atan2(a, b);
    case OpKind::Mod: return std::fmod(a, b);
    default: return std::numeric_limits<V>::quiet_NaN();
  }
}

constexpr double kLn2 = std::numbers::ln2;

C complex_unary(OpKind op, C v) {
  switch (op) {
    case OpKind::Exp: return std::exp(v);
    case OpKind::Exp2: return std::exp(v * C(kLn2));
    case OpKind::Log: return std::log(v);
    case OpKind::Log2: return std::log(v) / C(kLn2);
    case OpKind::Log1p: return std::log(C(1) + v);
    case OpKind::Expm1: return std::exp(v) - C(1);
    case OpKind::Sqrt: return std::sqrt(v);
    case OpKind::Rsqrt: return C(1) / std::sqrt(v);
    case OpKind::Reciprocal: return C(1) / v;
    case OpKind::Sin: return std::sin(v);
    case OpKind::Cos: return std::cos(v);
    case OpKind::Tan: return std::tan(v);
    case OpKind::Tanh: return std::tanh(v);
    case OpKind::Sigmoid: return C(1) / (C(1) + std::exp(-v));
    case OpKind::Sign: return v == C(0) ? C(0) : v / std::abs(v);
    case OpKind::Abs: return C(std::abs(v), 0);
    default: return C(std::numeric_limits<float>::quiet_NaN(), 0);
  }
}

C complex_binary(OpKind op, C a, C b) {
  switch (op) {
    case OpKind::Mul: return a * b;
    case OpKind::Div: return a / b;
    case OpKind::Pow: return std::pow(a, b);
    default: return C(std::numeric_limits<float>::quiet_NaN(), 0);
  }
}

}  // namespace

extern "C" {

float kiln_f32_unary(int32_t op, float x) { return real_unary(static_cast<OpKind>(op), x); }
float kiln_f32_binary(int32_t op, float a, float b) {
  return real_binary(static_cast<OpKind>(op), a, b);
}
double kiln_f64_unary(int32_t op, double x) { return real_unary(static_cast<OpKind>(op), x); }
double kiln_f64_binary(int32_t op, double a, double b) {
  return real_binary(static_cast<OpKind>(op), a, b);
}

// The reference's int_pow: by squaring modulo 2^64; a negative exponent gives 0 except
// for the bases 1 and -1. Narrow dtypes pass sign- (or zero-) extended values and keep the
// low bits of the result.
int64_t kiln_i64_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2 == 0) ? 1 : -1;
    return 0;
  }
  uint64_t result = 1, b = static_cast<uint64_t>(base), e = static_cast<uint64_t>(exponent);
  while (e != 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<int64_t>(result);
}

void kiln_c64_unary(int32_t op, float re, float im, float* out) {
  C r = complex_unary(static_cast<OpKind>(op), C(re, im));
  out[0] = r.real();
  out[1] = r.imag();
}

void kiln_c64_binary(int32_t op, float ar, float ai, float br, float bi, float* out) {
  C r = complex_binary(static_cast<OpKind>(op), C(ar, ai), C(br, bi));
  out[0] = r.real();
  out[1] = r.imag();
}

}  // extern "C"

namespace kiln::codegen::llvm_backend {

std::vector<std::pair<std::string, void*>> builtin_symbols() {
  return {
      {"kiln_f32_unary", reinterpret_cast<void*>(&kiln_f32_unary)},
      {"kiln_f32_binary", reinterpret_cast<void*>(&kiln_f32_binary)},
      {"kiln_f64_unary", reinterpret_cast<void*>(&kiln_f64_unary)},
      {"kiln_f64_binary", reinterpret_cast<void*>(&kiln_f64_binary)},
      {"kiln_i64_pow", reinterpret_cast<void*>(&kiln_i64_pow)},
      {"kiln_c64_unary", reinterpret_cast<void*>(&kiln_c64_unary)},
      {"kiln_c64_binary", reinterpret_cast<void*>(&kiln_c64_binary)},
  };
}

}  // namespace kiln::codegen::llvm_backend
