/* The kernels' out-of-line scalar math, the one implementation: compiled into libkiln,
 * whose JIT resolves generated code's calls to these functions
 * (codegen/llvm/builtins.cpp), and into libkiln_aot_runtime.a for ahead-of-time objects,
 * so both give the same bits. A unary op whose ops.def row names a C99 function (the
 * math column) needs no line here: f32_math and f64_math call it through <tgmath.h>.
 * The complex functions are C99's, which are what libstdc++'s std::complex<float> calls,
 * so they agree with the reference evaluator's std::complex formulas.
 * Tests: tests/codegen/scalar_builtins_test.cpp (every transcendental op against the
 * reference evaluator) and the CPU differential suite (tests/cpu/). */
#include <complex.h>
#include <tgmath.h>

#include "kiln_aot_runtime.h"

/* The op numbers of ir/ops.def. */
enum {
#define KILN_OP(kind, text, arity, category, accepts, result, cost, math, attrs) KILN_OP_##kind,
#include "ir/ops.def"
#undef KILN_OP
};

/* The math column's placeholder for ops without a C function: no value. */
#define none(x) NAN

/* The math column's function of x, by <tgmath.h> in x's type; NaN for other ops. */
#define KILN_OP(kind, text, arity, category, accepts, result, cost, math, attrs) \
  case KILN_OP_##kind: return math(x);
static float f32_math(int32_t op, float x) {
  switch (op) {
#include "ir/ops.def"
  }
  return NAN;
}
static double f64_math(int32_t op, double x) {
  switch (op) {
#include "ir/ops.def"
  }
  return NAN;
}
#undef KILN_OP

static const double kLn2 = 0.693147180559945309417232121458176568;

float kiln_f32_unary(int32_t op, float x) {
  if (op == KILN_OP_Sigmoid) return 1.0f / (1.0f + exp(-x));
  return f32_math(op, x);
}

double kiln_f64_unary(int32_t op, double x) {
  if (op == KILN_OP_Sigmoid) return 1.0 / (1.0 + exp(-x));
  return f64_math(op, x);
}

float kiln_f32_binary(int32_t op, float a, float b) {
  switch (op) {
    case KILN_OP_Pow: return pow(a, b);
    case KILN_OP_Atan2: return atan2(a, b);
    case KILN_OP_Mod: return fmod(a, b);
    default: return NAN;
  }
}

double kiln_f64_binary(int32_t op, double a, double b) {
  switch (op) {
    case KILN_OP_Pow: return pow(a, b);
    case KILN_OP_Atan2: return atan2(a, b);
    case KILN_OP_Mod: return fmod(a, b);
    default: return NAN;
  }
}

/* The reference's int_pow: by squaring modulo 2^64; a negative exponent gives 0 except for
 * the bases 1 and -1. Narrow dtypes pass sign- (or zero-) extended values and keep the low
 * bits of the result. */
int64_t kiln_i64_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2 == 0) ? 1 : -1;
    return 0;
  }
  uint64_t result = 1, b = (uint64_t)base, e = (uint64_t)exponent;
  while (e != 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)result;
}

/* glibc defines CMPLXF for GCC only; clang has the same builtin. */
#ifndef CMPLXF
#define CMPLXF(x, y) __builtin_complex((float)(x), (float)(y))
#endif
static float complex c(float re, float im) { return CMPLXF(re, im); }

/* The c64 ops the emitters do not write inline. */
static float complex complex_unary(int32_t op, float complex v) {
  const float complex one = c(1.0f, 0.0f), ln2 = c((float)kLn2, 0.0f);
  switch (op) {
    case KILN_OP_Exp: return cexpf(v);
    case KILN_OP_Exp2: return cexpf(v * ln2);
    case KILN_OP_Log: return clogf(v);
    case KILN_OP_Log2: return clogf(v) / ln2;
    case KILN_OP_Log1p: return clogf(one + v);
    case KILN_OP_Expm1: return cexpf(v) - one;
    case KILN_OP_Sqrt: return csqrtf(v);
    case KILN_OP_Rsqrt: return one / csqrtf(v);
    case KILN_OP_Reciprocal: return one / v;
    case KILN_OP_Sin: return csinf(v);
    case KILN_OP_Cos: return ccosf(v);
    case KILN_OP_Tan: return ctanf(v);
    case KILN_OP_Tanh: return ctanhf(v);
    case KILN_OP_Sigmoid: return one / (one + cexpf(-v));
    default: return c(NAN, 0.0f);
  }
}

static float complex complex_binary(int32_t op, float complex a, float complex b) {
  switch (op) {
    case KILN_OP_Mul: return a * b;
    case KILN_OP_Div: return a / b;
    case KILN_OP_Pow: return cpowf(a, b);
    default: return c(NAN, 0.0f);
  }
}

void kiln_c64_unary(int32_t op, float re, float im, float* out) {
  float complex r = complex_unary(op, c(re, im));
  out[0] = crealf(r);
  out[1] = cimagf(r);
}

void kiln_c64_binary(int32_t op, float ar, float ai, float br, float bi, float* out) {
  float complex r = complex_binary(op, c(ar, ai), c(br, bi));
  out[0] = crealf(r);
  out[1] = cimagf(r);
}
