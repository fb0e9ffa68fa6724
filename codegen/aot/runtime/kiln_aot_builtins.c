/* The kernels' out-of-line math for ahead-of-time objects: a C port of the JIT's builtins
 * (codegen/llvm/builtins.cpp), formula for formula. libstdc++'s std::complex<float>
 * functions are GCC's C99 complex built-ins (cexpf, clogf, csqrtf, cpowf...) and its
 * complex * and / are the C operators, so the port gives the same bits as the JIT.
 * A change there must be made here too; the AOT example compares the two. */
#include <complex.h>
#include <math.h>

#include "kiln_aot_runtime.h"

/* The op numbers of ir/ops.def. */
enum {
#define KILN_OP(kind, text, arity, category, attrs) KILN_OP_##kind,
#include "ir/ops.def"
#undef KILN_OP
};

static const double kLn2 = 0.693147180559945309417232121458176568;

float kiln_f32_unary(int32_t op, float x) {
  switch (op) {
    case KILN_OP_Exp: return expf(x);
    case KILN_OP_Exp2: return exp2f(x);
    case KILN_OP_Log: return logf(x);
    case KILN_OP_Log2: return log2f(x);
    case KILN_OP_Log1p: return log1pf(x);
    case KILN_OP_Expm1: return expm1f(x);
    case KILN_OP_Sin: return sinf(x);
    case KILN_OP_Cos: return cosf(x);
    case KILN_OP_Tan: return tanf(x);
    case KILN_OP_Tanh: return tanhf(x);
    case KILN_OP_Sigmoid: return 1.0f / (1.0f + expf(-x));
    case KILN_OP_Erf: return erff(x);
    default: return NAN;
  }
}

double kiln_f64_unary(int32_t op, double x) {
  switch (op) {
    case KILN_OP_Exp: return exp(x);
    case KILN_OP_Exp2: return exp2(x);
    case KILN_OP_Log: return log(x);
    case KILN_OP_Log2: return log2(x);
    case KILN_OP_Log1p: return log1p(x);
    case KILN_OP_Expm1: return expm1(x);
    case KILN_OP_Sin: return sin(x);
    case KILN_OP_Cos: return cos(x);
    case KILN_OP_Tan: return tan(x);
    case KILN_OP_Tanh: return tanh(x);
    case KILN_OP_Sigmoid: return 1.0 / (1.0 + exp(-x));
    case KILN_OP_Erf: return erf(x);
    default: return NAN;
  }
}

float kiln_f32_binary(int32_t op, float a, float b) {
  switch (op) {
    case KILN_OP_Pow: return powf(a, b);
    case KILN_OP_Atan2: return atan2f(a, b);
    case KILN_OP_Mod: return fmodf(a, b);
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

static float complex c(float re, float im) { return CMPLXF(re, im); }

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
    case KILN_OP_Sign: return v == 0 ? c(0.0f, 0.0f) : v / cabsf(v);
    case KILN_OP_Abs: return c(cabsf(v), 0.0f);
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
