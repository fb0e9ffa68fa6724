// Fourier transforms with NumPy's semantics (numpy.fft): the input is cropped or
// zero-padded along the axis to the transform's length, transformed by one IR op (fft,
// rfft, irfft: unnormalized), and scaled as `norm` says. fft2 / ifft2 are two fft's.
#include <cmath>

#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

namespace {

// x with its axis cropped or zero-padded to `len`.
Tensor resize_axis(const Tensor& x, int axis, int64_t len, Loc loc) {
  const int64_t have = x.shape()[static_cast<size_t>(axis)];
  if (len < have) return slice(x, axis, 0, len, 1, loc);
  if (len == have) return x;
  std::vector<std::pair<int64_t, int64_t>> pads(x.shape().size(), {0, 0});
  pads[static_cast<size_t>(axis)] = {0, len - have};
  return pad(x, pads, 0, loc);
}

void check_n(std::string_view op, int64_t n, const Tensor& x, const char* which) {
  if (n < 1)
    throw ShapeError(std::string(op) + ": " + which + " = " + std::to_string(n) + " for " +
                     type_str(x) + ": a transform needs at least one point (n >= 1)");
}

// The scale of a transform of length n: 1/n or 1/sqrt(n) when `norm` scales this direction.
Tensor scaled(const Tensor& y, int64_t n, FftNorm norm, bool inverse, Loc loc) {
  double s = 1;
  if (norm == FftNorm::Ortho) s = 1 / std::sqrt(static_cast<double>(n));
  if (norm == (inverse ? FftNorm::Backward : FftNorm::Forward)) s = 1 / static_cast<double>(n);
  return s == 1 ? y : multiply(y, s, loc);
}

Tensor complex_transform(std::string_view op, const Tensor& x, int64_t n, int axis, FftNorm norm,
                         bool inverse, Loc loc) {
  const int a = frontend::normalize_axis(op, axis, static_cast<int>(x.ndim()), x.type());
  const int64_t len = n == -1 ? x.shape()[static_cast<size_t>(a)] : n;
  check_n(op, len, x, n == -1 ? "the axis length" : "n");
  Tensor c = resize_axis(frontend::cast_to(x, DType::C64, loc), a, len, loc);
  Tensor y = make(ir::OpKind::Fft, {c}, {int64_t{a}, inverse}, Type{DType::C64, c.shape()}, loc);
  return scaled(y, len, norm, inverse, loc);
}

}  // namespace

Tensor fft(const Tensor& x, int64_t n, int axis, FftNorm norm, Loc loc) {
  return complex_transform("fft", x, n, axis, norm, false, loc);
}

Tensor ifft(const Tensor& x, int64_t n, int axis, FftNorm norm, Loc loc) {
  return complex_transform("ifft", x, n, axis, norm, true, loc);
}

Tensor rfft(const Tensor& x, int64_t n, int axis, FftNorm norm, Loc loc) {
  if (is_complex(x.dtype()))
    throw DTypeError("rfft: " + type_str(x) +
                     " is complex; rfft transforms real signals (use fft, or take real(x) first)");
  const int a = frontend::normalize_axis("rfft", axis, static_cast<int>(x.ndim()), x.type());
  const int64_t len = n == -1 ? x.shape()[static_cast<size_t>(a)] : n;
  check_n("rfft", len, x, n == -1 ? "the axis length" : "n");
  Tensor r = resize_axis(frontend::cast_to(x, DType::F32, loc), a, len, loc);
  Shape out = r.shape();
  out[static_cast<size_t>(a)] = len / 2 + 1;
  Tensor y = make(ir::OpKind::Rfft, {r}, {int64_t{a}}, Type{DType::C64, out}, loc);
  return scaled(y, len, norm, false, loc);
}

Tensor irfft(const Tensor& x, int64_t n, int axis, FftNorm norm, Loc loc) {
  const int a = frontend::normalize_axis("irfft", axis, static_cast<int>(x.ndim()), x.type());
  const int64_t len = n == -1 ? 2 * (x.shape()[static_cast<size_t>(a)] - 1) : n;
  check_n("irfft", len, x, n == -1 ? "n = 2 * (the axis length - 1)" : "n");
  Tensor c = resize_axis(frontend::cast_to(x, DType::C64, loc), a, len / 2 + 1, loc);
  Shape out = c.shape();
  out[static_cast<size_t>(a)] = len;
  Tensor y = make(ir::OpKind::Irfft, {c}, {int64_t{a}, len, len}, Type{DType::F32, out}, loc);
  return scaled(y, len, norm, true, loc);
}

namespace {

// The first `length` values of irfft(x, n) along the last axis, unnormalized: the crop
// fused into the transform (ir/ops.def).
Tensor irfft_head(const Tensor& x, int64_t n, int64_t length, Loc loc) {
  Shape out = x.shape();
  out.back() = length;
  return make(ir::OpKind::Irfft, {x}, {int64_t{x.ndim() - 1}, n, length}, Type{DType::F32, out},
              loc);
}

}  // namespace

namespace {

Tensor transform2(std::string_view op, const Tensor& x, const std::vector<int64_t>& s,
                  const std::vector<int>& axes, FftNorm norm, bool inverse, Loc loc) {
  if (axes.size() != 2 || (!s.empty() && s.size() != 2))
    throw AxisError(std::string(op) + ": takes two axes and zero or two sizes, got " +
                    std::to_string(axes.size()) + " axes and " + std::to_string(s.size()) +
                    " sizes");
  const int a0 = frontend::normalize_axis(op, axes[0], static_cast<int>(x.ndim()), x.type());
  const int a1 = frontend::normalize_axis(op, axes[1], static_cast<int>(x.ndim()), x.type());
  if (a0 == a1)
    throw AxisError(std::string(op) + ": the two axes are the same (" + std::to_string(a0) + ")");
  Tensor y = complex_transform(op, x, s.empty() ? -1 : s[1], a1, norm, inverse, loc);
  return complex_transform(op, y, s.empty() ? -1 : s[0], a0, norm, inverse, loc);
}

}  // namespace

Tensor fft2(const Tensor& x, const std::vector<int64_t>& s, std::vector<int> axes, FftNorm norm,
            Loc loc) {
  return transform2("fft2", x, s, axes, norm, false, loc);
}

Tensor ifft2(const Tensor& x, const std::vector<int64_t>& s, std::vector<int> axes, FftNorm norm,
             Loc loc) {
  return transform2("ifft2", x, s, axes, norm, true, loc);
}

}  // namespace kiln

namespace kiln {

namespace {

// The kernel's spectrum for an FFT of `size` points: rfft of k [h, l_k] cropped to l taps
// (later taps reach no output of a causal convolution of length l), scaled by 1/size so
// that the product's inverse needs no scale; a reversed kernel adds its conjugate spectrum
// (the transform of k_rev read backwards from position 0, wrapping around).
Tensor kernel_spectrum(std::string_view op, const Tensor& k, int64_t h, int64_t l, int64_t size,
                       Loc loc) {
  if (k.ndim() != 2 || k.shape()[0] != h || k.shape()[1] < 1)
    throw ShapeError(std::string(op) + ": the kernel " + type_str(k) +
                     " must be [h, l_k] with h = " + std::to_string(h) +
                     " channels and l_k >= 1 taps");
  if (is_complex(k.dtype()))
    throw DTypeError(std::string(op) + ": the kernel " + type_str(k) +
                     " is complex; it must be real");
  Tensor taps = k.shape()[1] > l ? slice(k, 1, 0, l, 1, loc) : k;
  return multiply(rfft(taps, size, -1, FftNorm::Backward, loc), 1.0 / static_cast<double>(size),
                  loc);
}

// fftconv, with the skip term when D is given; `op` names the user's function in errors.
Tensor long_conv(std::string_view op, const Tensor& u, const Tensor& k, const Tensor* D,
                 const FftConvOptions& options, Loc loc) {
  if (u.ndim() != 3)
    throw ShapeError(std::string(op) + ": u " + type_str(u) +
                     (options.layout == ConvLayout::ChannelsFirst ? " must be [b, h, l]"
                                                                  : " must be [b, l, h]"));
  if (is_complex(u.dtype()))
    throw DTypeError(std::string(op) + ": u " + type_str(u) + " is complex; it must be real");
  // Channels first from here on: a channels-last u is read through a permuted view.
  const bool last = options.layout == ConvLayout::ChannelsLast;
  Tensor x = last ? swapaxes(u, 1, 2, loc) : u;
  const int64_t h = x.shape()[1], l = x.shape()[2];
  if (l < 1) throw ShapeError(std::string(op) + ": u " + type_str(u) + " has no positions (l = 0)");
  if (D && (D->ndim() != 1 || D->shape()[0] != h))
    throw ShapeError(std::string(op) + ": D " + type_str(*D) +
                     " must be [h] with h = " + std::to_string(h));
  const int64_t size = 2 * l;
  Tensor kf = kernel_spectrum(op, k, h, l, size, loc);
  if (options.k_rev) {
    Tensor kr = kernel_spectrum(op, *options.k_rev, h, l, size, loc);
    kf = add(kf, conj(kr, loc), loc);
  }
  Tensor xf = frontend::cast_to(x, DType::F32, loc);
  Tensor y =
      irfft_head(multiply(rfft(xf, size, -1, FftNorm::Backward, loc), kf, loc), size, l, loc);
  if (D)
    y = add(y, multiply(xf, reshape(frontend::cast_to(*D, DType::F32, loc), {h, 1}, loc), loc),
            loc);
  if (options.gelu) y = gelu(y, false, loc);
  if (last) y = swapaxes(y, 1, 2, loc);
  if (options.gate) y = multiply(y, *options.gate, loc);
  return y;
}

}  // namespace

Tensor fftconv(const Tensor& u, const Tensor& k, const Tensor& D, const FftConvOptions& options,
               Loc loc) {
  return long_conv("fftconv", u, k, &D, options, loc);
}

Tensor conv1d_fft(const Tensor& x, const Tensor& k, ConvLayout layout, Loc loc) {
  return long_conv("conv1d_fft", x, k, nullptr, {.layout = layout}, loc);
}

Tensor conv1d_fft_with_bias(const Tensor& x, const Tensor& k, const Tensor& bias, ConvLayout layout,
                            Loc loc) {
  return long_conv("conv1d_fft_with_bias", x, k, &bias, {.layout = layout}, loc);
}

}  // namespace kiln
