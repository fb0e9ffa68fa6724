// Scalar semantics of the elementwise ops where C++ disagrees with kiln's IR or has
// undefined behaviour: wrapping integer arithmetic, floor division and floored modulo
// (x / 0 = x % 0 = 0 for integers), integer powers, NaN-propagating max/min, round half to
// even and sign. Each is instantiated only for the dtypes the op table lets its op take
// (ir/eval/types.h, accepted_kinds): complex values have no order, bool no arithmetic.
// Internal to eval/*.cpp.
#pragma once

#include <cmath>
#include <complex>
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "ir/eval/types.h"

namespace kiln::evaluator {

// Integer + - * computed modulo 2^64, so that overflow wraps instead of being undefined;
// converting back to V keeps the low bits (two's complement).
template <std::integral V>
V wrap_add(V a, V b) {
  return static_cast<V>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
template <std::integral V>
V wrap_sub(V a, V b) {
  return static_cast<V>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
template <std::integral V>
V wrap_mul(V a, V b) {
  return static_cast<V>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

template <class V>
V add(V a, V b) {
  if constexpr (std::integral<V>)
    return wrap_add(a, b);
  else
    return a + b;
}
template <class V>
V sub(V a, V b) {
  if constexpr (std::integral<V>)
    return wrap_sub(a, b);
  else
    return a - b;
}
template <class V>
V mul(V a, V b) {
  if constexpr (std::integral<V>)
    return wrap_mul(a, b);
  else
    return a * b;
}
template <class V>
V neg(V a) {
  if constexpr (std::integral<V>)
    return wrap_sub(V(0), a);
  else
    return -a;  // not 0 - a, which would turn -0 into +0
}

// Integer division rounding toward -inf; x / 0 = 0; MIN / -1 wraps to MIN.
template <std::integral V>
V floor_div(V a, V b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<V>) {
    if (b == -1) return neg(a);
    V q = static_cast<V>(a / b);
    if (a % b != 0 && ((a < 0) != (b < 0))) --q;
    return q;
  } else {
    return static_cast<V>(a / b);
  }
}

template <class V>
V divide(V a, V b) {
  if constexpr (std::integral<V>)
    return floor_div(a, b);
  else
    return a / b;
}

// Floored modulo: the result has the divisor's sign (Python, NumPy); x % 0 = 0 for
// integers; for floats it is built on fmod, so x % 0 is NaN.
template <class V>
V floor_mod(V a, V b) {
  if constexpr (std::integral<V>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<V>) {
      if (b == -1) return 0;  // MIN % -1 would overflow
      V r = static_cast<V>(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<V>(r + b);
      return r;
    } else {
      return static_cast<V>(a % b);
    }
  } else {
    V r = std::fmod(a, b);
    if (r == 0) return std::copysign(V(0), b);
    if ((r < 0) != (b < 0)) r += b;
    return r;
  }
}

// Integer power by squaring, wrapping on overflow. A negative exponent gives 0, except
// for the bases 1 and -1 (whose powers stay integers).
template <std::integral V>
V int_pow(V base, V exponent) {
  if constexpr (std::is_signed_v<V>) {
    if (exponent < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exponent % 2 == 0) ? V(1) : V(-1);
      return 0;
    }
  }
  uint64_t result = 1, b = static_cast<uint64_t>(base), e = static_cast<uint64_t>(exponent);
  while (e != 0) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<V>(result);
}

template <class V>
V power(V a, V b) {
  if constexpr (std::integral<V>)
    return int_pow(a, b);
  else
    return std::pow(a, b);
}

template <class V>
bool has_nan(V v) {
  if constexpr (std::floating_point<V>)
    return std::isnan(v);
  else if constexpr (is_complex_v<V>)
    return std::isnan(v.real()) || std::isnan(v.imag());
  else
    return false;
}

// max and min of real values return NaN when either operand is NaN.
template <class V>
V nan_max(V a, V b) {
  if (has_nan(a)) return a;
  if (has_nan(b)) return b;
  return a < b ? b : a;
}
template <class V>
V nan_min(V a, V b) {
  if (has_nan(a)) return a;
  if (has_nan(b)) return b;
  return b < a ? b : a;
}

// Round half to even (NumPy's round), independent of the FPU rounding mode; keeps the
// sign of zero (round(-0.4) = -0).
template <std::floating_point V>
V round_half_even(V x) {
  V f = std::floor(x);
  V diff = x - f;  // exact: x and floor(x) are close
  V r = diff < V(0.5) ? f : diff > V(0.5) ? f + 1 : (std::fmod(f, V(2)) == 0 ? f : f + 1);
  return std::copysign(r, x);
}

// -1, 0 or 1 (NaN stays NaN).
template <class V>
V sign(V x) {
  if constexpr (std::floating_point<V>) {
    if (std::isnan(x)) return x;
    return x > 0 ? V(1) : x < 0 ? V(-1) : V(0);
  } else if constexpr (std::is_signed_v<V>) {
    return x > 0 ? V(1) : x < 0 ? V(-1) : V(0);
  } else {
    return x != 0;  // u8
  }
}

// |x|; |MIN| wraps to MIN for integers; complex gives its magnitude (a float).
template <class V>
auto absolute(V x) {
  if constexpr (std::is_unsigned_v<V>)
    return x;
  else if constexpr (std::integral<V>)
    return x < 0 ? neg(x) : x;
  else
    return std::abs(x);
}

}  // namespace kiln::evaluator
