// Inverse trigonometric and hyperbolic functions, composed from kiln's elementwise ops
// (atan2, sqrt, log1p, expm1, exp), so fusion sees through them and autodiff
// differentiates them with no rules of their own. Each is written in the form that stays
// accurate near its zeros and poles (log1p and expm1 instead of log(1 + t) and e^x - 1,
// (1 - x)(1 + x) instead of 1 - x^2). Bool and integer inputs become f32; f16 and bf16 are
// computed in f32 and rounded once at the end; f64 stays f64. Outside the domain the result
// is NaN, at the poles +-inf, as the C library's functions. Tests:
// tests/frontend/math_test.cpp.
#pragma once

#include <kiln/kiln.h>

namespace kiln {

// Inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1].
Tensor asin(const Tensor& x, Loc loc = Loc::current());
// Inverse cosine, in [0, pi]; NaN outside [-1, 1].
Tensor acos(const Tensor& x, Loc loc = Loc::current());
// Inverse tangent, in (-pi/2, pi/2).
Tensor atan(const Tensor& x, Loc loc = Loc::current());
// Hyperbolic sine (e^x - e^-x) / 2.
Tensor sinh(const Tensor& x, Loc loc = Loc::current());
// Hyperbolic cosine (e^x + e^-x) / 2.
Tensor cosh(const Tensor& x, Loc loc = Loc::current());
// Inverse hyperbolic sine log(x + sqrt(x^2 + 1)).
Tensor asinh(const Tensor& x, Loc loc = Loc::current());
// Inverse hyperbolic cosine log(x + sqrt(x^2 - 1)); NaN below 1.
Tensor acosh(const Tensor& x, Loc loc = Loc::current());
// Inverse hyperbolic tangent log((1 + x) / (1 - x)) / 2; +-inf at +-1, NaN beyond.
Tensor atanh(const Tensor& x, Loc loc = Loc::current());

}  // namespace kiln
