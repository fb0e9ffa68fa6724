// ONNX import rules: signal processing (DFT, STFT, the window functions, MelWeightMatrix),
// linear quantization (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear; the
// quantized products are ops_nn.cpp's), the training optimizers of ai.onnx.preview.training
// (Adagrad, Momentum, Adam) and GridSample. Tests: the conformance cases
// (tests/onnx_conformance) and tests/onnx/misc_test.cpp.
#include <array>
#include <cmath>
#include <limits>
#include <numbers>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

// ---------------------------------------------------------------------------------------
// Signal processing.

// Values computed on the host at import (windows, filter banks, frame indices) are capped,
// so that a model cannot ask the importer for gigabytes.
void check_host_elements(NodeContext& ctx, int64_t count, const std::string& what) {
  constexpr int64_t kMax = int64_t{1} << 26;
  if (count > kMax)
    ctx.unsupported(what + " of " + std::to_string(count) + " values is too large to compute " +
                    "at import (at most " + std::to_string(kMax) + ")");
}

// A complex tensor from ONNX's real layout: [..., 1] real or [..., 2] (real, imaginary).
Tensor complex_of(NodeContext& ctx, const Tensor& x) {
  if (x.ndim() < 2 || (x.shape(-1) != 1 && x.shape(-1) != 2))
    ctx.invalid("the signal must end in a dimension of 1 (real) or 2 (complex), not " +
                shape_str(x.shape()));
  Tensor f = x.dtype() == DType::F32 ? x : cast(x, DType::F32);
  Tensor re = squeeze(slice(f, -1, 0, 1), {-1});
  if (x.shape(-1) == 1) return complex(re, zeros_like(re));
  return complex(re, squeeze(slice(f, -1, 1, 2), {-1}));
}

// ONNX's real layout of a complex tensor: [..., 2], in `dtype`.
Tensor split_complex(const Tensor& c, DType dtype) {
  Tensor out = stack({real(c), imag(c)}, -1);
  return out.dtype() == dtype ? out : cast(out, dtype);
}

// Keeps the first n / 2 + 1 entries of `axis` (the unique bins of a real signal's transform).
Tensor onesided(const Tensor& c, int axis) { return slice(c, axis, 0, c.shape(axis) / 2 + 1); }

std::vector<Tensor> dft(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int rank = x.ndim();
  int axis = ctx.normalize_axis(ctx.attr_int("axis", 1), rank);
  if (axis == rank - 1) ctx.invalid("axis must not be the last (the real / imaginary) axis");
  const bool inverse = ctx.attr_int("inverse", 0) != 0;
  const bool one = ctx.attr_int("onesided", 0) != 0;
  if (inverse && one) ctx.unsupported("an inverse onesided DFT is not supported");
  int64_t n = ctx.has_input(1) ? ctx.constant_ints(1).at(0) : -1;
  if (ctx.has_input(1) && n <= 0) ctx.invalid("dft_length must be positive");
  Tensor c = complex_of(ctx, x);
  c = inverse ? ifft(c, n, axis) : fft(c, n, axis);
  if (one) c = onesided(c, axis);
  return {split_complex(c, x.dtype())};
}

std::vector<Tensor> stft(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);  // [batch, length, 1 or 2]
  if (x.ndim() != 3) ctx.invalid("the signal must be [batch, length, 1 or 2]");
  const int64_t step = ctx.constant_ints(1).at(0);
  std::optional<Tensor> window = ctx.optional_input(2);
  int64_t frame = ctx.has_input(3) ? ctx.constant_ints(3).at(0)
                  : window         ? window->shape(0)
                                   : x.shape(1);
  if (window && (window->ndim() != 1 || window->shape(0) != frame))
    ctx.invalid("the window must be 1-D of frame_length " + std::to_string(frame));
  if (step <= 0 || frame <= 0 || frame > x.shape(1))
    ctx.invalid("frame_step and frame_length must be positive, and the frame at most the signal");
  const bool one = ctx.attr_int("onesided", 1) != 0;
  // Frames as a gather: index f * step + t, [frames, frame].
  const int64_t frames = 1 + (x.shape(1) - frame) / step;
  int64_t cells = 0;
  if (__builtin_mul_overflow(frames, frame, &cells)) cells = std::numeric_limits<int64_t>::max();
  check_host_elements(ctx, cells, "a frame index table");
  std::vector<int64_t> idx;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t t = 0; t < frame; ++t) idx.push_back(f * step + t);
  Tensor c = take(complex_of(ctx, x), from_data(idx, Shape{frames, frame}), 1);
  if (window) c = c * cast(*window, DType::C64);
  c = fft(c, -1, 2);
  if (one) c = onesided(c, 2);
  return {split_complex(c, x.dtype())};
}

// A window of `size` points from its cosine terms: w[n] = sum_k a_k cos(2 pi k n / N), with
// N = size (periodic) or size - 1 (symmetric). Computed at import: it is a constant.
std::vector<Tensor> cosine_window(NodeContext& ctx, std::initializer_list<double> terms) {
  const int64_t size = ctx.constant_ints(0).at(0);
  if (size < 0) ctx.invalid("the window size must not be negative");
  check_host_elements(ctx, size, "a window");
  const bool periodic = ctx.attr_int("periodic", 1) != 0;
  const int type = static_cast<int>(ctx.attr_int("output_datatype", 1));
  std::optional<DType> dtype = dtype_from_onnx(type);
  if (!dtype) ctx.unsupported("output_datatype " + onnx_type_name(type) + " has no kiln dtype");
  const double N = static_cast<double>(periodic ? size : size - 1);
  std::vector<double> w(static_cast<size_t>(size));
  for (int64_t n = 0; n < size; ++n) {
    int k = 0;
    for (double a : terms) {
      w[static_cast<size_t>(n)] += a * std::cos(2 * std::numbers::pi * k * n / N);
      ++k;
    }
  }
  return {from_data(w, Shape{size}, *dtype)};
}

// The triangular filters of a mel filter bank, [dft_length / 2 + 1, num_mel_bins]: a
// constant, computed at import from its (constant) inputs as ONNX defines it.
std::vector<Tensor> mel_weight_matrix(NodeContext& ctx) {
  const int64_t bins = ctx.constant_ints(0).at(0), dft_length = ctx.constant_ints(1).at(0);
  const int64_t rate = ctx.constant_ints(2).at(0);
  const double lo = ctx.constant_doubles(3).at(0), hi = ctx.constant_doubles(4).at(0);
  const int type = static_cast<int>(ctx.attr_int("output_datatype", 1));
  std::optional<DType> dtype = dtype_from_onnx(type);
  if (!dtype) ctx.unsupported("output_datatype " + onnx_type_name(type) + " has no kiln dtype");
  if (bins <= 0 || dft_length <= 0 || rate <= 0)
    ctx.invalid("num_mel_bins, dft_length and sample_rate must be positive");
  auto mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  const int64_t spectrum = dft_length / 2 + 1;
  check_host_elements(ctx, spectrum, "a spectrum");
  check_host_elements(ctx, bins, "a filter bank");
  check_host_elements(ctx, spectrum * bins, "a filter bank");
  // The filters' corners: bins + 2 points evenly spaced on the mel scale, as spectrum bins.
  const double step = (mel(hi) - mel(lo)) / static_cast<double>(bins + 2);
  std::vector<int64_t> corner;
  for (int64_t i = 0; i < bins + 2; ++i) {
    double hz = 700 * (std::pow(10.0, (static_cast<double>(i) * step + mel(lo)) / 2595) - 1);
    corner.push_back(static_cast<int64_t>(
        std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(rate))));
  }
  std::vector<double> w(static_cast<size_t>(spectrum * bins));
  auto at = [&](int64_t j, int64_t i) -> double& {
    if (j < 0 || j >= spectrum) ctx.invalid("the filters reach outside the spectrum");
    return w[static_cast<size_t>(j * bins + i)];
  };
  for (int64_t i = 0; i < bins; ++i) {
    const int64_t left = corner[i], center = corner[i + 1], right = corner[i + 2];
    if (center == left)
      at(center, i) = 1;
    else
      for (int64_t j = left; j <= center; ++j)
        at(j, i) = static_cast<double>(j - left) / static_cast<double>(center - left);
    for (int64_t j = center; j < right; ++j)
      at(j, i) = static_cast<double>(right - j) / static_cast<double>(right - center);
  }
  return {from_data(w, Shape{spectrum, bins}, *dtype)};
}

// ---------------------------------------------------------------------------------------
// Linear quantization.

// `v` (a scale or zero point: a scalar, or 1-D along `axis` of x) shaped to broadcast
// against x.
Tensor per_axis(NodeContext& ctx, const Tensor& v, const Tensor& x, int64_t axis_attr) {
  if (v.ndim() == 0 || v.size() == 1) return reshape(v, {});
  if (v.ndim() != 1) ctx.invalid("scales and zero points must be scalars or 1-D");
  const int axis = ctx.normalize_axis(axis_attr, x.ndim());
  if (v.shape(0) != x.shape(axis))
    ctx.invalid("a 1-D scale or zero point must have axis " + std::to_string(axis) + "'s length " +
                std::to_string(x.shape(axis)));
  Shape s(static_cast<size_t>(x.ndim()), 1);
  s[static_cast<size_t>(axis)] = v.shape(0);
  return reshape(v, s);
}

// The range of a quantized dtype.
std::pair<double, double> quantized_range(NodeContext& ctx, DType t) {
  if (t == DType::U8) return {0, 255};
  if (t == DType::I8) return {-128, 127};
  if (t == DType::I32) return {-2147483648.0, 2147483647.0};
  ctx.unsupported(std::string("quantized dtype ") + std::string(dtype_name(t)) +
                  " is not supported (uint8, int8, int32)");
}

// round(x) (halves to even) + zero point, saturated to `t`'s range, as `t`.
Tensor saturate(NodeContext& ctx, const Tensor& scaled, const std::optional<Tensor>& zero,
                DType t) {
  auto [lo, hi] = quantized_range(ctx, t);
  Tensor y = round(scaled);
  if (zero) y = y + cast(*zero, y.dtype());
  return cast(clip(y, lo, hi), t);
}

std::vector<Tensor> quantize_linear(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t axis = ctx.attr_int("axis", 1);
  Tensor scale = per_axis(ctx, ctx.input(1), x, axis);
  std::optional<Tensor> zero = ctx.optional_input(2);
  if (zero) zero = per_axis(ctx, *zero, x, axis);
  const DType t = zero ? zero->dtype() : DType::U8;
  return {saturate(ctx, cast(x, DType::F32) / cast(scale, DType::F32), zero, t)};
}

std::vector<Tensor> dequantize_linear(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t axis = ctx.attr_int("axis", 1);
  const Tensor& scale = ctx.input(1);
  Tensor v = cast(x, DType::F32);
  if (ctx.has_input(2)) v = v - cast(per_axis(ctx, ctx.input(2), x, axis), DType::F32);
  return {v * per_axis(ctx, scale, x, axis)};
}

std::vector<Tensor> dynamic_quantize_linear(NodeContext& ctx) {
  Tensor x = cast(ctx.input(0), DType::F32);
  // The range always holds 0, so that 0 is exact.
  Tensor lo = minimum(min(x), 0.0f), hi = maximum(max(x), 0.0f);
  Tensor scale = (hi - lo) / 255.0f;
  Tensor zero = cast(clip(round(-lo / scale), 0, 255), DType::U8);
  return {saturate(ctx, x / scale, zero, DType::U8), scale, zero};
}

// ---------------------------------------------------------------------------------------
// Training optimizers (ai.onnx.preview.training): inputs R (learning rate), T (the step
// count), then n tensors of each kind; outputs n tensors of each updated kind.

struct OptimizerInputs {
  Tensor rate, step;
  size_t n;
};

OptimizerInputs optimizer_inputs(NodeContext& ctx, size_t kinds) {
  const size_t tensors = ctx.num_inputs() - 2;
  if (ctx.num_inputs() < 2 + kinds || tensors % kinds != 0)
    ctx.invalid("expects R, T and " + std::to_string(kinds) + " inputs per optimized tensor");
  return {ctx.input(0), cast(ctx.input(1), DType::F32), tensors / kinds};
}

std::vector<Tensor> adagrad(NodeContext& ctx) {
  const double decay = ctx.attr_float("decay_factor", 0.0);
  const double epsilon = ctx.attr_float("epsilon", 1e-6);
  const double norm = ctx.attr_float("norm_coefficient", 0.0);
  auto [rate, step, n] = optimizer_inputs(ctx, 3);
  Tensor r = rate / (1.0f + step * static_cast<float>(decay));
  std::vector<Tensor> xs, hs;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(2 + i);
    Tensor g = x * static_cast<float>(norm) + ctx.input(2 + n + i);
    Tensor h = ctx.input(2 + 2 * n + i) + g * g;
    xs.push_back(x - r * g / (sqrt(h) + static_cast<float>(epsilon)));
    hs.push_back(h);
  }
  xs.insert(xs.end(), hs.begin(), hs.end());
  return xs;
}

std::vector<Tensor> momentum(NodeContext& ctx) {
  const float alpha = static_cast<float>(ctx.attr_float("alpha"));
  const float beta = static_cast<float>(ctx.attr_float("beta"));
  const float norm = static_cast<float>(ctx.attr_float("norm_coefficient"));
  const std::string mode = ctx.attr_string("mode");
  if (mode != "standard" && mode != "nesterov")
    ctx.unsupported("mode '" + mode + "' is not supported (standard, nesterov)");
  auto [rate, step, n] = optimizer_inputs(ctx, 3);
  // The first step (T = 0) takes the gradient whole.
  Tensor beta_t = where(step > 0.0f, full({}, beta), full({}, 1.0f));
  std::vector<Tensor> xs, vs;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(2 + i);
    Tensor g = x * norm + ctx.input(2 + n + i);
    Tensor v = ctx.input(2 + 2 * n + i) * alpha + beta_t * g;
    xs.push_back(mode == "standard" ? x - rate * v : x - rate * (g + v * alpha));
    vs.push_back(v);
  }
  xs.insert(xs.end(), vs.begin(), vs.end());
  return xs;
}

std::vector<Tensor> adam(NodeContext& ctx) {
  const float alpha = static_cast<float>(ctx.attr_float("alpha", 0.9));
  const float beta = static_cast<float>(ctx.attr_float("beta", 0.999));
  const float epsilon = static_cast<float>(ctx.attr_float("epsilon", 1e-6));
  const float norm = static_cast<float>(ctx.attr_float("norm_coefficient", 0.0));
  const float post = static_cast<float>(ctx.attr_float("norm_coefficient_post", 0.0));
  auto [rate, step, n] = optimizer_inputs(ctx, 4);
  // Bias correction from the second step on.
  Tensor corrected =
      rate * sqrt(1.0f - pow(full({}, beta), step)) / (1.0f - pow(full({}, alpha), step));
  Tensor r = where(step > 0.0f, corrected, rate);
  std::vector<Tensor> xs, vs, hs;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(2 + i);
    Tensor g = x * norm + ctx.input(2 + n + i);
    Tensor v = ctx.input(2 + 2 * n + i) * alpha + g * (1.0f - alpha);
    Tensor h = ctx.input(2 + 3 * n + i) * beta + g * g * (1.0f - beta);
    xs.push_back((x - r * (v / (sqrt(h) + epsilon))) * (1.0f - post));
    vs.push_back(v);
    hs.push_back(h);
  }
  xs.insert(xs.end(), vs.begin(), vs.end());
  xs.insert(xs.end(), hs.begin(), hs.end());
  return xs;
}

// ---------------------------------------------------------------------------------------
// GridSample (opset 16): X [N, C, H, W] sampled at grid [N, Ho, Wo, 2] of normalized (x, y)
// in [-1, 1], as gathers of the flattened image with interpolation weights.

class GridSampler {
 public:
  GridSampler(const Tensor& x, std::string padding, bool align)
      : padding_(std::move(padding)), align_(align) {
    n_ = x.shape(0), c_ = x.shape(1), h_ = x.shape(2), w_ = x.shape(3);
    image_ = reshape(x, {n_, c_, h_ * w_});
    // The borders reflection reflects at, and past which a point is out of bounds.
    lo_x_ = align ? 0.0 : -0.5, hi_x_ = align ? static_cast<double>(w_ - 1) : w_ - 0.5;
    lo_y_ = align ? 0.0 : -0.5, hi_y_ = align ? static_cast<double>(h_ - 1) : h_ - 0.5;
  }

  // The pixel coordinate of normalized `g` along an axis of `length`.
  Tensor denormalize(const Tensor& g, int64_t length) const {
    const double l = static_cast<double>(length);
    return align_ ? (g + 1.0) / 2.0 * (l - 1) : ((g + 1.0) * l - 1) / 2.0;
  }

  // Moves points outside the bounds (either coordinate) as the padding mode says.
  void fold_out_of_bounds(Tensor& x, Tensor& y) const {
    Tensor out = (x < lo_x_) || (x > hi_x_) || (y < lo_y_) || (y > hi_y_);
    if (padding_ == "border") {
      x = where(out, clip(x, 0, static_cast<double>(w_ - 1)), x);
      y = where(out, clip(y, 0, static_cast<double>(h_ - 1)), y);
    } else if (padding_ == "reflection") {
      x = where(out, reflect(x, lo_x_, hi_x_), x);
      y = where(out, reflect(y, lo_y_, hi_y_), y);
    }
  }

  // The image at integer rows r and columns c ([N, Ho, Wo], as floats), per the padding
  // mode; [N, C, Ho, Wo].
  Tensor pixel(Tensor r, Tensor c) const {
    std::optional<Tensor> inside;
    if (padding_ == "zeros") {
      inside = (c >= 0.0) && (c < static_cast<double>(w_)) && (r >= 0.0) &&
               (r < static_cast<double>(h_));
    } else if (padding_ == "reflection") {
      c = trunc(reflect(c, lo_x_, hi_x_));
      r = trunc(reflect(r, lo_y_, hi_y_));
    }
    c = clip(c, 0, static_cast<double>(w_ - 1));
    r = clip(r, 0, static_cast<double>(h_ - 1));
    const Shape grid = r.shape();
    Tensor flat = cast(r * static_cast<double>(w_) + c, DType::I64);
    Tensor idx = reshape(flat, {n_, 1, grid[1] * grid[2]});
    Tensor v = take_along_axis(image_, broadcast_to(idx, {n_, c_, grid[1] * grid[2]}), 2);
    v = reshape(v, {n_, c_, grid[1], grid[2]});
    if (inside) v = where(expand_dims(*inside, 1), v, zeros({}, v.dtype()));
    return v;
  }

 private:
  // x reflected at lo and hi until it lies between them.
  static Tensor reflect(const Tensor& x, double lo, double hi) {
    const double range = hi - lo;
    auto fold = [&](const Tensor& d, double near, double far, double sign) {
      Tensor n = trunc(d / range), r = d - n * range;
      Tensor even = equal(mod(n, 2.0), 0.0);
      return where(even, near + sign * r, far - sign * r);
    };
    Tensor below = fold(lo - x, lo, hi, 1.0), above = fold(x - hi, hi, lo, -1.0);
    return where(x < lo, below, where(x > hi, above, x));
  }
  static Tensor trunc(const Tensor& x) { return where(x < 0.0, ceil(x), floor(x)); }

  std::string padding_;
  bool align_;
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0;
  Tensor image_ = zeros({});
  double lo_x_, hi_x_, lo_y_, hi_y_;
};

// Keys' cubic convolution weights (a = -0.75) of the four taps around a point at fraction t.
std::array<Tensor, 4> cubic_weights(const Tensor& t) {
  const double a = -0.75;
  auto near = [&](const Tensor& d) { return ((d * (a + 2) - (a + 3)) * d * d) + 1.0; };
  auto far = [&](const Tensor& d) { return ((d * a - 5 * a) * d + 8 * a) * d - 4 * a; };
  return {far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)};
}

std::vector<Tensor> grid_sample(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  const std::string mode = ctx.attr_string("mode", "bilinear");
  const std::string padding = ctx.attr_string("padding_mode", "zeros");
  const bool align = ctx.attr_int("align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
    ctx.unsupported("mode '" + mode + "' is not supported (bilinear, nearest, bicubic)");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    ctx.unsupported("padding_mode '" + padding + "' is not supported (zeros, border, reflection)");
  if (x.ndim() != 4 || grid.ndim() != 4 || grid.shape(3) != 2 || grid.shape(0) != x.shape(0))
    ctx.unsupported("only 2-D sampling is supported: X [N, C, H, W] and grid [N, Ho, Wo, 2], not " +
                    shape_str(x.shape()) + " and " + shape_str(grid.shape()));
  const DType dtype = x.dtype();
  Tensor image = cast(x, DType::F64), g = cast(grid, DType::F64);
  GridSampler s(image, padding, align);
  Tensor px = s.denormalize(squeeze(slice(g, 3, 0, 1), {3}), x.shape(3));
  Tensor py = s.denormalize(squeeze(slice(g, 3, 1, 2), {3}), x.shape(2));
  if (mode == "nearest") px = round(px), py = round(py);
  s.fold_out_of_bounds(px, py);
  if (mode == "nearest") return {cast(s.pixel(py, px), dtype)};
  Tensor x0 = floor(px), y0 = floor(py);
  Tensor fx = expand_dims(px - x0, 1), fy = expand_dims(py - y0, 1);
  if (mode == "bilinear") {
    Tensor top = s.pixel(y0, x0) * (1.0 - fx) + s.pixel(y0, x0 + 1.0) * fx;
    Tensor bottom = s.pixel(y0 + 1.0, x0) * (1.0 - fx) + s.pixel(y0 + 1.0, x0 + 1.0) * fx;
    return {cast(top * (1.0 - fy) + bottom * fy, dtype)};
  }
  std::array<Tensor, 4> wx = cubic_weights(fx), wy = cubic_weights(fy);
  std::optional<Tensor> sum;
  for (int i = 0; i < 4; ++i) {
    std::optional<Tensor> row;
    for (int j = 0; j < 4; ++j) {
      Tensor p = s.pixel(y0 + static_cast<double>(i - 1), x0 + static_cast<double>(j - 1)) * wx[j];
      row = row ? *row + p : p;
    }
    Tensor term = *row * wy[i];
    sum = sum ? *sum + term : term;
  }
  return {cast(*sum, dtype)};
}

}  // namespace

void add_misc_ops(OpTable& table) {
  table["DFT"] = dft;
  table["STFT"] = stft;
  table["HannWindow"] = [](NodeContext& ctx) { return cosine_window(ctx, {0.5, -0.5}); };
  table["HammingWindow"] = [](NodeContext& ctx) {
    return cosine_window(ctx, {25.0 / 46.0, -21.0 / 46.0});
  };
  table["BlackmanWindow"] = [](NodeContext& ctx) { return cosine_window(ctx, {0.42, -0.5, 0.08}); };
  table["MelWeightMatrix"] = mel_weight_matrix;
  table["QuantizeLinear"] = quantize_linear;
  table["DequantizeLinear"] = dequantize_linear;
  table["DynamicQuantizeLinear"] = dynamic_quantize_linear;
  table["Adagrad"] = adagrad;
  table["Momentum"] = momentum;
  table["Adam"] = adam;
  table["GridSample"] = grid_sample;
}

}  // namespace kiln::onnx::detail
