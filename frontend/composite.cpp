// Neural-network helpers composed from primitive ops, so that fusion sees through them:
// relu, gelu, silu, softmax, log_softmax, layer_norm, rms_norm.
#include <cmath>
#include <numbers>

#include "frontend/builder.h"

namespace kiln {

Tensor relu(const Tensor& x, Loc loc) { return maximum(x, 0, loc); }

Tensor gelu(const Tensor& x, bool approximate, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  // x/2 * (1 + erf(x / sqrt 2)), or with tanh(sqrt(2/pi) * (x + 0.044715 x^3)) for erf.
  Tensor t =
      approximate
          ? tanh(multiply(add(y, multiply(multiply(y, square(y, loc), loc), 0.044715, loc), loc),
                          std::sqrt(2.0 / std::numbers::pi), loc),
                 loc)
          : erf(multiply(y, 1.0 / std::numbers::sqrt2, loc), loc);
  return multiply(multiply(y, 0.5, loc), add(t, 1, loc), loc);
}

Tensor silu(const Tensor& x, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  return multiply(y, sigmoid(y, loc), loc);
}

Tensor softmax(const Tensor& x, const Axes& axes, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  Tensor e = exp(subtract(y, kiln::max(y, axes, true, loc), loc), loc);
  return divide(e, sum(e, axes, true, loc), loc);
}

Tensor log_softmax(const Tensor& x, const Axes& axes, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  // (x - m) - log(sum(exp(x - m))): subtracting the shift first keeps the small result
  // exact where x - logsumexp(x) would round at the magnitude of x.
  Tensor m = kiln::max(y, axes, true, loc);
  Tensor shifted = subtract(y, where(isfinite(m, loc), m, 0, loc), loc);
  return subtract(shifted, log(sum(exp(shifted, loc), axes, true, loc), loc), loc);
}

Tensor layer_norm(const Tensor& x, const Axes& axes, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps, Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  Tensor m = mean(y, axes, true, loc);
  Tensor v = var(y, axes, 0, true, loc);
  Tensor r = multiply(subtract(y, m, loc), rsqrt(add(v, eps, loc), loc), loc);
  if (weight) r = multiply(r, *weight, loc);
  if (bias) r = add(r, *bias, loc);
  return r;
}

Tensor rms_norm(const Tensor& x, const Axes& axes, const std::optional<Tensor>& weight, double eps,
                Loc loc) {
  Tensor y = frontend::to_inexact(x, loc);
  Tensor ms = mean(square(y, loc), axes, true, loc);
  Tensor r = multiply(y, rsqrt(add(ms, eps, loc), loc), loc);
  if (weight) r = multiply(r, *weight, loc);
  return r;
}

}  // namespace kiln
