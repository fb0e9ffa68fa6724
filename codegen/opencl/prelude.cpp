// The OpenCL C helper functions of generated kernels (see prelude.h). Their formulas
// follow the reference evaluator (ir/eval/scalar.h, ir/eval/types.h, ir/random.cpp).
#include "codegen/opencl/prelude.h"

namespace kiln::codegen::opencl {

namespace {

// Integers, narrow floats, random numbers: every program gets these (unused functions
// cost nothing once compiled).
constexpr const char* kBase = R"CL(
// Floor division and floored modulo; x / 0 = x % 0 = 0, MIN / -1 wraps.
#define KILN_SIGNED_DIVMOD(T, UT, N)                                   \
  T kiln_div_##N(T a, T b) {                                           \
    if (b == 0) return 0;                                              \
    if (b == -1) return (T)((UT)0 - (UT)a);                            \
    T q = (T)(a / b);                                                  \
    if ((a % b) != 0 && ((a < 0) != (b < 0))) q = (T)(q - 1);          \
    return q;                                                          \
  }                                                                    \
  T kiln_mod_##N(T a, T b) {                                           \
    if (b == 0 || b == -1) return 0;                                   \
    T r = (T)(a % b);                                                  \
    if (r != 0 && ((r < 0) != (b < 0))) r = (T)(r + b);                \
    return r;                                                          \
  }
KILN_SIGNED_DIVMOD(char, uchar, i8)
KILN_SIGNED_DIVMOD(int, uint, i32)
KILN_SIGNED_DIVMOD(long, ulong, i64)
uchar kiln_div_u8(uchar a, uchar b) { return b == 0 ? (uchar)0 : (uchar)(a / b); }
uchar kiln_mod_u8(uchar a, uchar b) { return b == 0 ? (uchar)0 : (uchar)(a % b); }

// Integer power by squaring modulo 2^64; a negative exponent gives 0 except for 1 and -1.
long kiln_ipow(long base, long e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (base == -1) return (e % 2 == 0) ? 1 : -1;
    return 0;
  }
  ulong r = 1, b = (ulong)base, u = (ulong)e;
  while (u != 0) {
    if (u & 1) r *= b;
    b *= b;
    u >>= 1;
  }
  return (long)r;
}

// fmod with the divisor's sign (floored modulo); a zero result takes the divisor's sign.
float kiln_fmod_f32(float a, float b) {
  float r = fmod(a, b);
  if (r == 0.0f) return copysign(0.0f, b);
  if ((r < 0.0f) != (b < 0.0f)) r = r + b;
  return r;
}

// f16 values are computed in float and rounded to nearest even after every op. Core
// OpenCL converts through half storage without cl_khr_fp16.
float kiln_round_f16(float x) {
  ushort h;
  vstore_half_rte(x, 0, (__private half*)&h);
  return vload_half(0, (__private const half*)&h);
}
float kiln_round_bf16(float x) {
  uint b = as_uint(x);
  if (isnan(x)) return as_float((b | 0x00400000u) & 0xffff0000u);
  return as_float((b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u);
}
ushort kiln_f32_to_bf16(float x) { return (ushort)(as_uint(kiln_round_bf16(x)) >> 16); }
float kiln_bf16_to_f32(ushort s) { return as_float((uint)s << 16); }

// An integer rounded to float with round-to-odd: a following rounding to f16 or bf16 then
// equals the single rounding of the exact value.
float kiln_i64_to_f32_odd(long x) {
  float f = convert_float_rtz(x);
  if (convert_long_sat_rtz(f) != x) return as_float(as_uint(f) | 1u);
  return f;
}

// Philox4x32-10, word 0, counter (lo, hi, 0, 0) and key (lo, hi): ir/random.h.
uint kiln_philox_word0(ulong counter, ulong key) {
  uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0u, c3 = 0u;
  uint k0 = (uint)key, k1 = (uint)(key >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    ulong p0 = (ulong)c0 * 0xD2511F53ul;
    ulong p1 = (ulong)c2 * 0xCD9E8D57ul;
    uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
    uint n1 = (uint)p1;
    uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
    uint n3 = (uint)p0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  return c0;
}
float kiln_random(ulong counter, ulong key, uint shift, float scale) {
  return (float)(kiln_philox_word0(counter, key) >> shift) * scale;
}
// ir::derive_key: words 0 at counters c and c | 1, low half first.
long kiln_random_key(ulong key, ulong c) {
  return (long)((ulong)kiln_philox_word0(c, key) | ((ulong)kiln_philox_word0(c | 1ul, key) << 32));
}
)CL";

constexpr const char* kFp64 = R"CL(
double kiln_fmod_f64(double a, double b) {
  double r = fmod(a, b);
  if (r == 0.0) return copysign(0.0, b);
  if ((r < 0.0) != (b < 0.0)) r = r + b;
  return r;
}
float kiln_f64_to_f32_odd(double d) {
  float f = convert_float_rtz(d);
  if (isfinite(d) && (double)f != d) return as_float(as_uint(f) | 1u);
  return f;
}
)CL";

// c64 as float2 (x real, y imaginary), with std::complex's formulas.
constexpr const char* kComplex = R"CL(
float2 kiln_cmul(float2 a, float2 b) {
  return (float2)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
// Smith's division: scaled so that |b|^2 is never formed.
float2 kiln_cdiv(float2 a, float2 b) {
  if (fabs(b.x) >= fabs(b.y)) {
    float r = b.y / b.x, d = b.x + b.y * r;
    return (float2)((a.x + a.y * r) / d, (a.y - a.x * r) / d);
  }
  float r = b.x / b.y, d = b.x * r + b.y;
  return (float2)((a.x * r + a.y) / d, (a.y * r - a.x) / d);
}
float kiln_cabs(float2 z) { return hypot(z.x, z.y); }
bool kiln_cnan(float2 z) { return isnan(z.x) || isnan(z.y); }
float2 kiln_cexp(float2 z) {
  float e = exp(z.x);
  if (z.y == 0.0f) return (float2)(e, z.y);
  return (float2)(e * cos(z.y), e * sin(z.y));
}
float2 kiln_clog(float2 z) { return (float2)(log(hypot(z.x, z.y)), atan2(z.y, z.x)); }
float2 kiln_csqrt(float2 z) {
  if (z.x == 0.0f && z.y == 0.0f) return (float2)(0.0f, z.y);
  float t = sqrt((fabs(z.x) + hypot(z.x, z.y)) * 0.5f);
  if (z.x >= 0.0f) return (float2)(t, z.y / (2.0f * t));
  return (float2)(fabs(z.y) / (2.0f * t), copysign(t, z.y));
}
float2 kiln_csin(float2 z) { return (float2)(sin(z.x) * cosh(z.y), cos(z.x) * sinh(z.y)); }
float2 kiln_ccos(float2 z) { return (float2)(cos(z.x) * cosh(z.y), -sin(z.x) * sinh(z.y)); }
// tanh(x + iy) = (sinh x cosh x + i sin y cos y) / (sinh^2 x + cos^2 y): no cancellation
// near the poles, unlike the double-angle form.
float2 kiln_ctanh(float2 z) {
  if (fabs(z.x) > 20.0f) return (float2)(copysign(1.0f, z.x), copysign(0.0f, sin(2.0f * z.y)));
  float sh = sinh(z.x), ch = cosh(z.x), s = sin(z.y), c = cos(z.y);
  float d = sh * sh + c * c;
  return (float2)(sh * ch / d, s * c / d);
}
// tan z = -i tanh(i z).
float2 kiln_ctan(float2 z) {
  float2 t = kiln_ctanh((float2)(-z.y, z.x));
  return (float2)(t.y, -t.x);
}
float2 kiln_cpow(float2 a, float2 b) {
  if (a.x == 0.0f && a.y == 0.0f) return (float2)(0.0f, 0.0f);
  return kiln_cexp(kiln_cmul(b, kiln_clog(a)));
}
)CL";

}  // namespace

std::string prelude(const PreludeNeeds& needs) {
  std::string s;
  if (needs.fp64) s += "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n";
  s += kBase;
  if (needs.fp64) s += kFp64;
  if (needs.complex) s += kComplex;
  return s;
}

}  // namespace kiln::codegen::opencl
