// The inverse trigonometric and hyperbolic functions of kiln/math.h, as compositions of
// kiln's elementwise ops. Tests: tests/frontend/math_test.cpp.
#include <kiln/math.h>

#include <numbers>

#include "frontend/builder.h"

namespace kiln {

namespace {

// Past this magnitude x^2 + 1 rounds to x^2 even in f64, so asinh and acosh are
// log(2|x|), and squaring x could overflow.
constexpr double kLarge = 268435456.0;  // 2^28

// f(y) for y = x in the dtype it is computed in: f32 for bool, integers, f16 and bf16 (whose
// intermediate results would otherwise round to 11 or 8 bits), the dtype itself for f32 and
// f64; f16 and bf16 results are rounded back once.
template <class F>
Tensor compute(const char* op, const Tensor& x, Loc loc, F f) {
  DType t = x.dtype();
  if (is_complex(t))
    throw DTypeError(std::string(op) + ": " + x.type().str() +
                     " is complex; it takes real tensors only");
  bool half = t == DType::F16 || t == DType::BF16;
  Tensor y = half ? cast(x, DType::F32, loc) : frontend::to_inexact(x, loc);
  Tensor r = f(y);
  return half ? cast(r, t, loc) : r;
}

// An odd function from its values g(|x|) at |x| (where g keeps small arguments accurate).
// The sign is chosen with where, not multiplied by sign(x), so the derivative at 0 is g'(0)
// rather than 0.
template <class G>
Tensor odd(const Tensor& x, Loc loc, G g) {
  Tensor negative = less(x, 0, loc);
  Tensor r = g(where(negative, neg(x, loc), x, loc));
  return where(negative, neg(r, loc), r, loc);
}

// sqrt(1 - x^2) as sqrt((1 - x)(1 + x)): exact factors near |x| = 1.
Tensor cosine_of_asin(const Tensor& x, Loc loc) {
  return sqrt(multiply(subtract(1, x, loc), add(x, 1, loc), loc), loc);
}

}  // namespace

Tensor asin(const Tensor& x, Loc loc) {
  return compute("asin", x, loc,
                 [&](const Tensor& y) { return atan2(y, cosine_of_asin(y, loc), loc); });
}

Tensor acos(const Tensor& x, Loc loc) {
  return compute("acos", x, loc,
                 [&](const Tensor& y) { return atan2(cosine_of_asin(y, loc), y, loc); });
}

Tensor atan(const Tensor& x, Loc loc) {
  return compute("atan", x, loc, [&](const Tensor& y) { return atan2(y, 1, loc); });
}

Tensor sinh(const Tensor& x, Loc loc) {
  return compute("sinh", x, loc, [&](const Tensor& y) {
    // Below 1, (expm1(x) - expm1(-x)) / 2 has no cancellation; above, e^(x - ln 2) reaches
    // sinh's own overflow threshold instead of e^x's.
    Tensor small = multiply(subtract(expm1(y, loc), expm1(neg(y, loc), loc), loc), 0.5, loc);
    Tensor large = subtract(exp(subtract(y, std::numbers::ln2, loc), loc),
                            exp(subtract(neg(y, loc), std::numbers::ln2, loc), loc), loc);
    return where(less(abs(y, loc), 1, loc), small, large, loc);
  });
}

Tensor cosh(const Tensor& x, Loc loc) {
  return compute("cosh", x, loc, [&](const Tensor& y) {
    return add(exp(subtract(y, std::numbers::ln2, loc), loc),
               exp(subtract(neg(y, loc), std::numbers::ln2, loc), loc), loc);
  });
}

Tensor asinh(const Tensor& x, Loc loc) {
  return compute("asinh", x, loc, [&](const Tensor& y) {
    return odd(y, loc, [&](const Tensor& a) {
      // log(a + sqrt(a^2 + 1)) = log1p(a + a^2 / (1 + sqrt(a^2 + 1))), accurate near 0.
      // The small branch reads a clamped value so that it stays finite where it is unused.
      Tensor m = minimum(a, kLarge, loc);
      Tensor m2 = square(m, loc);
      Tensor small =
          log1p(add(m, divide(m2, add(sqrt(add(m2, 1, loc), loc), 1, loc), loc), loc), loc);
      Tensor large = add(log(a, loc), std::numbers::ln2, loc);
      return where(greater(a, kLarge, loc), large, small, loc);
    });
  });
}

Tensor acosh(const Tensor& x, Loc loc) {
  return compute("acosh", x, loc, [&](const Tensor& y) {
    // log(x + sqrt(x^2 - 1)) = log1p(t + sqrt(t (x + 1))) with t = x - 1, exact near 1.
    Tensor m = minimum(y, kLarge, loc);
    Tensor t = subtract(m, 1, loc);
    Tensor small = log1p(add(t, sqrt(multiply(t, add(m, 1, loc), loc), loc), loc), loc);
    Tensor large = add(log(y, loc), std::numbers::ln2, loc);
    return where(greater(y, kLarge, loc), large, small, loc);
  });
}

Tensor atanh(const Tensor& x, Loc loc) {
  return compute("atanh", x, loc, [&](const Tensor& y) {
    return odd(y, loc, [&](const Tensor& a) {
      // log((1 + a) / (1 - a)) / 2 = log1p(2a / (1 - a)) / 2, accurate near 0.
      return multiply(log1p(divide(multiply(a, 2, loc), subtract(1, a, loc), loc), loc), 0.5, loc);
    });
  });
}

}  // namespace kiln
