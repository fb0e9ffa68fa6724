// ONNX import rules: neural-network ops. Contractions (MatMul, Gemm), convolutions (Conv,
// ConvTranspose) over kiln's conv1d / conv2d, pooling composed from strided slices, the
// normalizations, the two class losses, Det, and the quantized forms of MatMul and Conv.
// The recurrent layers are in ops_recurrent.cpp. Tests: tests/onnx/nn_test.cpp and the
// conformance cases of these ops.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

using Pads = std::vector<std::pair<int64_t, int64_t>>;  // (begin, end) per spatial axis

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The axes of a rank-`rank` tensor from `first` on.
std::vector<int> axes_from(int first, int rank) {
  std::vector<int> axes;
  for (int i = first; i < rank; ++i) axes.push_back(i);
  return axes;
}

// A per-channel parameter [C] shaped to broadcast against x [N, C, ...].
Tensor per_channel(const Tensor& p, int rank) {
  Shape s(static_cast<size_t>(rank - 1), 1);
  s[0] = p.size();
  return reshape(p, s);
}

// Pads (positive) or crops (negative) one axis at each end.
Tensor pad_or_crop(const Tensor& x, int axis, int64_t low, int64_t high) {
  Tensor y = x;
  if (low < 0 || high < 0)
    y = slice(y, axis, std::max<int64_t>(-low, 0), y.shape(axis) - std::max<int64_t>(-high, 0));
  if (low > 0 || high > 0) {
    Pads p(static_cast<size_t>(y.ndim()), {0, 0});
    p[static_cast<size_t>(axis)] = {std::max<int64_t>(low, 0), std::max<int64_t>(high, 0)};
    y = pad(y, p);
  }
  return y;
}

// The window attributes shared by convolutions and pooling, read with ONNX's defaults.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  Pads pads;
};

// Reads kernel_shape (default: `kernel`, empty when the op requires it), strides,
// dilations (when the op has them) and the padding from pads or auto_pad. SAME_* pad so
// that the output length is ceil(in / stride), the odd element at the end (UPPER) or the
// beginning (LOWER).
Window read_window(NodeContext& ctx, const Shape& spatial, std::vector<int64_t> kernel,
                   bool has_dilations) {
  const size_t n = spatial.size();
  Window w;
  w.kernel = kernel.empty() ? ctx.attr_ints("kernel_shape") : ctx.attr_ints("kernel_shape", kernel);
  w.strides = ctx.attr_ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = has_dilations ? ctx.attr_ints("dilations", std::vector<int64_t>(n, 1))
                              : std::vector<int64_t>(n, 1);
  if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n)
    ctx.invalid("kernel_shape, strides and dilations must have one value per spatial axis (" +
                std::to_string(n) + ")");
  // Bounds that keep the window arithmetic below in range (a kernel or stride of 2^20 is
  // already far past any model's).
  constexpr int64_t kLimit = int64_t{1} << 20;
  for (size_t i = 0; i < n; ++i)
    if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] > kLimit ||
        w.strides[i] > kLimit || w.dilations[i] > kLimit)
      ctx.invalid("kernel_shape, strides and dilations must be between 1 and 2^20");
  std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (pads.size() != 2 * n) ctx.invalid("pads must have two values per spatial axis");
  for (int64_t p : pads)
    if (p < 0 || p > kLimit) ctx.invalid("pads must be between 0 and 2^20");
  for (size_t i = 0; i < n; ++i) {
    if (auto_pad == "NOTSET") {
      w.pads.emplace_back(pads[i], pads[i + n]);
    } else if (auto_pad == "VALID") {
      w.pads.emplace_back(0, 0);
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (spatial[i] + w.strides[i] - 1) / w.strides[i];
      int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - spatial[i]);
      int64_t small = total / 2;
      w.pads.emplace_back(auto_pad == "SAME_UPPER" ? small : total - small,
                          auto_pad == "SAME_UPPER" ? total - small : small);
    } else {
      ctx.unsupported("auto_pad '" + auto_pad + "' is not supported");
    }
  }
  return w;
}

// The spatial dimensions of an [N, C, D1, ...] tensor.
Shape spatial_shape(NodeContext& ctx, const Tensor& x) {
  if (x.ndim() < 3)
    ctx.invalid("expects an [N, C, D1, ...] tensor (rank 3 or more), not " + shape_str(x.shape()));
  return Shape(x.shape().begin() + 2, x.shape().end());
}

// ---------------------------------------------------------------------------------------
// Contractions

std::vector<Tensor> matmul_rule(NodeContext& ctx) { return {matmul(ctx.input(0), ctx.input(1))}; }

// A quantization parameter (zero point or scale) shaped to broadcast against a rank-`rank`
// operand: a scalar or 1-element one as it is, a 1-D one along `axis` (per row of A: -2,
// per column of B: -1, per output channel of W or Y: 0 or 1).
Tensor per_axis(const Tensor& q, int rank, int axis) {
  if (q.ndim() != 1 || q.size() == 1) return q.ndim() == 1 ? reshape(q, {}) : q;
  Shape s(static_cast<size_t>(rank), 1);
  s[static_cast<size_t>(axis < 0 ? rank + axis : axis)] = q.size();
  return reshape(q, s);
}

// An integer operand less its zero point (when given), in i32 (MatMulInteger, ConvInteger,
// the QLinear ops).
Tensor less_zero_point(NodeContext& ctx, size_t value, size_t zero_point, int axis) {
  Tensor v = cast(ctx.input(value), DType::I32);
  std::optional<Tensor> zp = ctx.optional_input(zero_point);
  return zp ? v - per_axis(cast(*zp, DType::I32), v.ndim(), axis) : v;
}

// An i32 accumulator back to the quantized type of `zero_point`: round(acc * scale) + zero
// point (rounding half to even), saturated.
Tensor requantize(const Tensor& acc, const Tensor& scale, const Tensor& zero_point) {
  const bool is_unsigned = zero_point.dtype() == DType::U8;
  Tensor q = round(cast(acc, DType::F32) * scale) + cast(zero_point, DType::F32);
  return cast(clip(q, is_unsigned ? 0 : -128, is_unsigned ? 255 : 127), zero_point.dtype());
}

std::vector<Tensor> matmul_integer(NodeContext& ctx) {
  return {matmul(less_zero_point(ctx, 0, 2, -2), less_zero_point(ctx, 1, 3, -1))};
}

// QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
std::vector<Tensor> qlinear_matmul(NodeContext& ctx) {
  Tensor acc = matmul(less_zero_point(ctx, 0, 2, -2), less_zero_point(ctx, 3, 5, -1));
  const int r = acc.ndim();
  Tensor scale = per_axis(ctx.input(1), r, -2) * per_axis(ctx.input(4), r, -1) / ctx.input(6);
  return {requantize(acc, scale, ctx.input(7))};
}

std::vector<Tensor> gemm(NodeContext& ctx) {
  Tensor a = ctx.attr_int("transA", 0) ? transpose(ctx.input(0)) : ctx.input(0);
  Tensor b = ctx.attr_int("transB", 0) ? transpose(ctx.input(1)) : ctx.input(1);
  // Before opset 7 C broadcasts only with broadcast = 1; kiln's broadcasting covers both.
  if (ctx.opset() < 7) ctx.attr_int("broadcast", 0);
  double alpha = ctx.attr_float("alpha", 1.0);
  double beta = ctx.attr_float("beta", 1.0);
  Tensor y = matmul(a, b);
  if (alpha != 1.0) y = y * alpha;
  if (std::optional<Tensor> c = ctx.optional_input(2)) y = y + (beta == 1.0 ? *c : *c * beta);
  return {y};
}

// ---------------------------------------------------------------------------------------
// Convolutions

// A convolution of x [N, C, spatial...] with w [M, C / groups, k...], padded by `pads`
// (non-negative). kiln has conv1d and conv2d; a 3-D one sums conv2d over the depth taps,
// each output depth position moved into the batch.
Tensor conv_nd(NodeContext& ctx, const Tensor& x, const Tensor& w, const Window& win,
               int64_t groups, const std::optional<Tensor>& bias) {
  const int nsp = x.ndim() - 2;
  ConvOptions o;
  o.stride = win.strides;
  o.dilation = win.dilations;
  o.padding = ConvPadding(win.pads);
  o.groups = groups;
  o.bias = bias;
  if (nsp == 1) return conv1d(x, w, o);
  if (nsp == 2) return conv2d(x, w, o);
  if (nsp != 3)
    ctx.unsupported(std::to_string(nsp) + "-D convolution is not supported (1-D to 3-D are)");
  Tensor p = pad_or_crop(x, 2, win.pads[0].first, win.pads[0].second);
  const int64_t kd = w.shape(2), sd = win.strides[0], dd = win.dilations[0];
  const int64_t out_d = (p.shape(2) - (kd - 1) * dd - 1) / sd + 1;
  const int64_t n = x.shape(0);
  ConvOptions o2 = o;
  o2.stride = {win.strides[1], win.strides[2]};
  o2.dilation = {win.dilations[1], win.dilations[2]};
  o2.padding = ConvPadding(Pads{win.pads[1], win.pads[2]});
  o2.bias = std::nullopt;
  std::optional<Tensor> y;
  for (int64_t k = 0; k < kd; ++k) {
    // Input depths k * dd + j * sd for output depth j, as a batch of 2-D images.
    Tensor taps = slice(p, 2, k * dd, k * dd + (out_d - 1) * sd + 1, sd);
    taps = flatten(permute(taps, {0, 2, 1, 3, 4}), 0, 1);
    Tensor part = conv2d(taps, squeeze(slice(w, 2, k, k + 1), 2), o2);
    y = y ? *y + part : part;
  }
  Shape s = {n, out_d, y->shape(1), y->shape(2), y->shape(3)};
  Tensor out = permute(reshape(*y, s), {0, 2, 1, 3, 4});
  if (bias) out = out + per_channel(*bias, 5);
  return out;
}

std::vector<Tensor> conv(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  Window win = read_window(ctx, spatial_shape(ctx, x), spatial_shape(ctx, w), true);
  return {conv_nd(ctx, x, w, win, ctx.attr_int("group", 1), ctx.optional_input(2))};
}

std::vector<Tensor> conv_integer(NodeContext& ctx) {
  const Tensor& w = ctx.input(1);
  Window win = read_window(ctx, spatial_shape(ctx, ctx.input(0)), spatial_shape(ctx, w), true);
  // The padding is the input's zero point, which the subtraction turns into 0.
  return {conv_nd(ctx, less_zero_point(ctx, 0, 2, 0), less_zero_point(ctx, 1, 3, 0), win,
                  ctx.attr_int("group", 1), std::nullopt)};
}

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point
// and an optional i32 bias.
std::vector<Tensor> qlinear_conv(NodeContext& ctx) {
  const Tensor& w = ctx.input(3);
  Window win = read_window(ctx, spatial_shape(ctx, ctx.input(0)), spatial_shape(ctx, w), true);
  Tensor acc = conv_nd(ctx, less_zero_point(ctx, 0, 2, 0), less_zero_point(ctx, 3, 5, 0), win,
                       ctx.attr_int("group", 1), ctx.optional_input(8));
  Tensor scale = ctx.input(1) * per_axis(ctx.input(4), acc.ndim(), 1) / ctx.input(6);
  return {requantize(acc, scale, ctx.input(7))};
}

// ConvTranspose as a convolution: stride - 1 zeros between the input's elements, each
// spatial axis padded by dilation * (k - 1) less the op's pads (plus output_padding at the
// end), then a stride-1 convolution with the kernel flipped and its channel axes swapped
// per group. Output length: stride * (in - 1) + output_padding + dilation * (k - 1) + 1
// - pad_begin - pad_end.
std::vector<Tensor> conv_transpose(NodeContext& ctx) {
  Tensor x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const int nsp = x.ndim() - 2;
  const size_t n = static_cast<size_t>(nsp);
  const int64_t groups = ctx.attr_int("group", 1);
  std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape", spatial_shape(ctx, w));
  std::vector<int64_t> strides = ctx.attr_ints("strides", std::vector<int64_t>(n, 1));
  std::vector<int64_t> dilations = ctx.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> out_pad = ctx.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  std::vector<int64_t> out_shape = ctx.attr_ints("output_shape", std::vector<int64_t>{});
  std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    ctx.unsupported("auto_pad '" + auto_pad + "' is not supported");
  if (out_shape.size() > n) out_shape.erase(out_shape.begin(), out_shape.end() - nsp);
  if (kernel.size() != n || strides.size() != n || dilations.size() != n || out_pad.size() != n ||
      pads.size() != 2 * n || (!out_shape.empty() && out_shape.size() != n))
    ctx.invalid("the window attributes must have one value per spatial axis (pads two)");
  if (auto_pad == "VALID") pads.assign(2 * n, 0);
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (same && out_shape.empty())
    for (size_t i = 0; i < n; ++i)
      out_shape.push_back(x.shape(static_cast<int>(i) + 2) * strides[i]);

  Window win{kernel, std::vector<int64_t>(n, 1), dilations, {}};
  for (size_t i = 0; i < n; ++i) {
    const int axis = static_cast<int>(i) + 2;
    const int64_t in = x.shape(axis), s = strides[i];
    const int64_t extent = dilations[i] * (kernel[i] - 1);
    int64_t begin = pads[i], end = pads[i + n];
    if (!out_shape.empty()) {
      // The padding that gives output_shape: the beginning's share of the total as SAME_*
      // splits it (pads' own otherwise); the end's fills the output to its length.
      int64_t total = s * (in - 1) + out_pad[i] + extent + 1 - out_shape[i];
      if (auto_pad == "SAME_UPPER")
        begin = floor_div(total, 2);
      else if (auto_pad == "SAME_LOWER")
        begin = total - floor_div(total, 2);
      end = total - out_pad[i] - begin;
    } else {
      end -= out_pad[i];
    }
    if (s > 1) {  // s - 1 zeros after each element, the trailing ones dropped
      Tensor t = pad_or_crop(expand_dims(x, axis + 1), axis + 1, 0, s - 1);
      Shape merged = x.shape();
      merged[static_cast<size_t>(axis)] = in * s;
      x = slice(reshape(t, merged), axis, 0, (in - 1) * s + 1);
    }
    x = pad_or_crop(x, axis, extent - begin, extent - end);
  }
  // w [C, M / g, k...] -> [M, C / g, k...], flipped.
  const int64_t c = w.shape(0), m_g = w.shape(1);
  Shape grouped = {groups, c / groups, m_g};
  Shape k_shape = spatial_shape(ctx, w);
  grouped.insert(grouped.end(), k_shape.begin(), k_shape.end());
  Tensor wt = swapaxes(reshape(w, grouped), 1, 2);
  Shape flat = {groups * m_g, c / groups};
  flat.insert(flat.end(), k_shape.begin(), k_shape.end());
  wt = flip(reshape(wt, flat), Axes(axes_from(2, nsp + 2)));
  win.pads.assign(n, {0, 0});
  return {conv_nd(ctx, x, wt, win, groups, ctx.optional_input(2))};
}

// ---------------------------------------------------------------------------------------
// Pooling: one strided view of the padded input per kernel offset, stacked on a new last
// axis and reduced.

enum class PoolKind : uint8_t { Max, Average, Lp };

// The lowest value of a dtype: MaxPool's padding.
Scalar lowest(DType t) {
  switch (t) {
    case DType::U8:
    case DType::Bool: return Scalar(0);
    case DType::I8: return Scalar(-128);
    case DType::I32: return Scalar(std::numeric_limits<int32_t>::min());
    case DType::I64: return Scalar(std::numeric_limits<int64_t>::min());
    default: return Scalar(-std::numeric_limits<double>::infinity());
  }
}

struct PoolGeometry {
  Window win;
  std::vector<int64_t> out;  // output length per spatial axis
  Pads tail;                 // extra padding at the end that ceil_mode's last window reads
};

PoolGeometry pool_geometry(const Shape& spatial, Window win, bool ceil_mode) {
  PoolGeometry g{std::move(win), {}, {}};
  for (size_t i = 0; i < spatial.size(); ++i) {
    const int64_t s = g.win.strides[i];
    const int64_t padded = spatial[i] + g.win.pads[i].first + g.win.pads[i].second;
    const int64_t extent = (g.win.kernel[i] - 1) * g.win.dilations[i] + 1;
    int64_t out = ceil_mode ? (padded - extent + s - 1) / s + 1 : (padded - extent) / s + 1;
    // A window must start inside the input or its leading padding.
    if (ceil_mode && (out - 1) * s >= spatial[i] + g.win.pads[i].first) --out;
    g.out.push_back(out);
    g.tail.emplace_back(0, std::max<int64_t>(0, (out - 1) * s + extent - padded));
  }
  return g;
}

// The elements at offset k of every window along spatial axis i of x (already padded).
Tensor window_tap(const Tensor& x, const PoolGeometry& g, size_t i, int64_t k) {
  const int axis = static_cast<int>(i) + 2;
  const int64_t start = k * g.win.dilations[i], stride = g.win.strides[i];
  return slice(x, axis, start, start + (g.out[i] - 1) * stride + 1, stride);
}

// Every window's elements, stacked on a new last axis in row-major order of the offsets
// (for MaxPool's indices, which need the position of the first maximum).
Tensor window_taps(const Tensor& x, const PoolGeometry& g) {
  std::vector<Tensor> taps = {x};
  for (size_t i = 0; i < g.out.size(); ++i) {
    std::vector<Tensor> next;
    for (const Tensor& t : taps)
      for (int64_t k = 0; k < g.win.kernel[i]; ++k) next.push_back(window_tap(t, g, i, k));
    taps = std::move(next);
  }
  return stack(taps, -1);
}

// Every window's maximum or sum, as one reduction (one kernel) where that stays cheap:
// windows that tile the input (stride = kernel, no dilation: a 2 x 2 pool) split each
// spatial axis into (window, offset) by a reshape; up to kFewTaps offsets are stacked.
// Larger windows reduce one spatial axis at a time: they are boxes, so the reduction
// separates, and a 60 x 80 window takes 140 strided views instead of 4800.
Tensor window_reduce(const Tensor& x, const PoolGeometry& g, bool is_max) {
  constexpr int64_t kFewTaps = 16;
  const auto reduce = [&](const Tensor& t, const Axes& axes) {
    return is_max ? max(t, axes) : sum(t, axes);
  };
  const size_t n = g.out.size();
  bool tiles = true;
  int64_t taps = 1;
  for (size_t i = 0; i < n; ++i) {
    tiles = tiles && g.win.strides[i] == g.win.kernel[i] && g.win.dilations[i] == 1;
    taps *= g.win.kernel[i];
  }
  if (tiles) {
    Tensor t = x;
    Shape split(x.shape().begin(), x.shape().begin() + 2);
    std::vector<int> offsets;
    for (size_t i = 0; i < n; ++i) {
      const int axis = static_cast<int>(i) + 2;
      t = slice(t, axis, 0, g.out[i] * g.win.kernel[i]);
      split.insert(split.end(), {g.out[i], g.win.kernel[i]});
      offsets.push_back(static_cast<int>(2 * i) + 3);
    }
    return reduce(reshape(t, split), Axes(offsets));
  }
  if (taps <= kFewTaps) return reduce(window_taps(x, g), Axes{-1});
  Tensor t = x;
  for (size_t i = 0; i < n; ++i) {
    std::vector<Tensor> one;
    for (int64_t k = 0; k < g.win.kernel[i]; ++k) one.push_back(window_tap(t, g, i, k));
    t = reduce(stack(one, -1), Axes{-1});
  }
  return t;
}

Tensor pad_spatial(const Tensor& x, const Pads& pads, Scalar value) {
  Pads all(2, {0, 0});
  all.insert(all.end(), pads.begin(), pads.end());
  return pad(x, all, value);
}

std::vector<Tensor> pool(NodeContext& ctx, PoolKind kind) {
  const Tensor& x = ctx.input(0);
  const Shape spatial = spatial_shape(ctx, x);
  const bool has_dilations = kind == PoolKind::Max && ctx.opset() >= 10;
  Window win = read_window(ctx, spatial, {}, has_dilations);
  bool ceil_mode = kind != PoolKind::Lp && ctx.opset() >= 10 && ctx.attr_int("ceil_mode", 0);
  PoolGeometry g = pool_geometry(spatial, win, ceil_mode);
  Pads total = g.win.pads;
  for (size_t i = 0; i < total.size(); ++i) total[i].second += g.tail[i].second;

  if (kind == PoolKind::Lp) {
    double p = static_cast<double>(ctx.attr_int("p", 2));
    return {pow(window_reduce(pad_spatial(pow(abs(x), p), total, 0), g, false), 1.0 / p)};
  }
  if (kind == PoolKind::Average) {
    bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
    Tensor sums = window_reduce(pad_spatial(x, total, 0), g, false);
    // How many elements each window averages: the explicit padding counts when
    // count_include_pad, ceil_mode's overhang never does.
    Shape one(2, 1);
    one.insert(one.end(), spatial.begin(), spatial.end());
    Tensor ones_in = pad_spatial(ones(one, x.dtype()), g.win.pads, include_pad ? 1 : 0);
    Tensor counts = window_reduce(pad_spatial(ones_in, g.tail, 0), g, false);
    return {sums / counts};
  }
  int64_t storage_order = ctx.opset() >= 8 ? ctx.attr_int("storage_order", 0) : 0;
  Tensor padded = pad_spatial(x, total, lowest(x.dtype()));
  if (!ctx.wants_output(1)) return {window_reduce(padded, g, true)};
  Tensor taps = window_taps(padded, g);
  // Indices: the flat position in x of each window's first maximum, row-major, or with
  // the spatial axes column-major for storage_order 1.
  Shape order_shape = x.shape();
  std::vector<int> perm = {0, 1};
  if (storage_order) {
    std::reverse(order_shape.begin() + 2, order_shape.end());
    for (int i = x.ndim() - 1; i >= 2; --i) perm.push_back(i);
  } else {
    for (int i = 2; i < x.ndim(); ++i) perm.push_back(i);
  }
  Tensor position = permute(reshape(arange(x.size(), DType::I64), order_shape), perm);
  Tensor position_taps = window_taps(pad_spatial(position, total, 0), g);
  Tensor first = argmax(taps, -1, true);
  return {max(taps, -1), squeeze(take_along_axis(position_taps, first, -1), -1)};
}

// MaxUnpool: the values of x put at the flat positions `indices` names in a zero output
// of output_shape (a constant input), or of the shape the pooling came from.
std::vector<Tensor> max_unpool(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Shape spatial = spatial_shape(ctx, x);
  Window win = read_window(ctx, spatial, {}, false);
  // The indices count positions in the output the pooling inverts; a larger output_shape
  // keeps those positions (row and column) and pads after them.
  Shape inferred = {x.shape(0), x.shape(1)};
  for (size_t i = 0; i < spatial.size(); ++i)
    inferred.push_back((spatial[i] - 1) * win.strides[i] + win.kernel[i] - win.pads[i].first -
                       win.pads[i].second);
  int64_t count = 1;
  for (int64_t d : inferred) count *= d;
  Tensor flat = scatter_add(zeros({count}, x.dtype()), flatten(cast(ctx.input(1), DType::I64)),
                            flatten(x), 0);
  Tensor out = reshape(flat, inferred);
  if (!ctx.has_input(2)) return {out};
  Shape given = ctx.constant_ints(2);
  if (given.size() != inferred.size())
    ctx.invalid("output_shape " + shape_str(given) + " must have rank " +
                std::to_string(inferred.size()));
  std::vector<std::pair<int64_t, int64_t>> pads;
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i] < inferred[i])
      ctx.unsupported("output_shape " + shape_str(given) + " smaller than the pooled input's " +
                      shape_str(inferred) + " is not supported");
    pads.emplace_back(0, given[i] - inferred[i]);
  }
  return {pad(out, pads)};
}

std::vector<Tensor> global_pool(NodeContext& ctx, PoolKind kind) {
  const Tensor& x = ctx.input(0);
  Axes axes(axes_from(2, x.ndim()));
  if (kind == PoolKind::Max) return {max(x, axes, true)};
  if (kind == PoolKind::Average) return {mean(x, axes, true)};
  double p = static_cast<double>(ctx.attr_int("p", 2));
  return {pow(sum(pow(abs(x), p), axes, true), 1.0 / p)};
}

// ---------------------------------------------------------------------------------------
// Normalizations

// (x - mean) / sqrt(var + eps) * scale + bias, the statistics and parameters broadcast.
Tensor normalize(const Tensor& x, const Tensor& mu, const Tensor& var, double eps,
                 const Tensor& scale, const Tensor& bias) {
  return (x - mu) * rsqrt(var + eps) * scale + bias;
}

std::vector<Tensor> batch_norm(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int r = x.ndim();
  double eps = ctx.attr_float("epsilon", 1e-5);
  double momentum = ctx.attr_float("momentum", 0.9);
  // Before opset 9, spatial = 0 gives each element of a sample its own statistics: the
  // parameters have x's shape without the batch axis and broadcast as they are.
  bool spatial = ctx.opset() >= 9 || ctx.attr_int("spatial", 1) != 0;
  auto param = [&](size_t i) { return spatial ? per_channel(ctx.input(i), r) : ctx.input(i); };
  // Training (batch statistics) is training_mode = 1 from opset 14, is_test = 0 before 7.
  bool training = ctx.opset() >= 14 ? ctx.attr_int("training_mode", 0) != 0
                  : ctx.opset() < 7 ? ctx.attr_int("is_test", 0) == 0
                                    : false;
  if (!training) {
    if (ctx.wants_output(1) || ctx.wants_output(2) || ctx.wants_output(3) || ctx.wants_output(4))
      ctx.unsupported("the training outputs (mean, var, saved_mean, saved_var) are not supported");
    return {normalize(x, param(3), param(4), eps, param(1), param(2))};
  }
  std::vector<int> axes = {0};
  for (int i = 2; i < r; ++i) axes.push_back(i);
  Tensor mu = mean(x, Axes(axes));
  Tensor var = mean(square(x - per_channel(mu, r)), Axes(axes));
  Tensor y = normalize(x, per_channel(mu, r), per_channel(var, r), eps, param(1), param(2));
  return {y, ctx.input(3) * momentum + mu * (1 - momentum),
          ctx.input(4) * momentum + var * (1 - momentum)};
}

std::vector<Tensor> instance_norm(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Axes axes(axes_from(2, x.ndim()));
  Tensor mu = mean(x, axes, true);
  Tensor var = mean(square(x - mu), axes, true);
  return {normalize(x, mu, var, ctx.attr_float("epsilon", 1e-5),
                    per_channel(ctx.input(1), x.ndim()), per_channel(ctx.input(2), x.ndim()))};
}

// LayerNormalization over the axes from `axis` on, in f32 unless stash_type says the
// input's type; Mean and InvStdDev keep the normalized axes as size 1.
std::vector<Tensor> layer_norm_rule(NodeContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  const int axis = ctx.normalize_axis(ctx.attr_int("axis", -1), x0.ndim());
  const double eps = ctx.attr_float("epsilon", 1e-5);
  const int64_t stash = ctx.attr_int("stash_type", 1);
  std::optional<DType> stash_dtype = dtype_from_onnx(static_cast<int>(stash));
  if (!stash_dtype || !is_floating(*stash_dtype))
    ctx.unsupported("stash_type " + std::to_string(stash) + " is not a floating type");
  Tensor x = cast(x0, *stash_dtype);
  Axes axes(axes_from(axis, x.ndim()));
  Tensor mu = mean(x, axes, true);
  Tensor inv_std = rsqrt(mean(square(x - mu), axes, true) + eps);
  Tensor y = cast((x - mu) * inv_std, x0.dtype()) * ctx.input(1);
  if (std::optional<Tensor> b = ctx.optional_input(2)) y = y + *b;
  return {y, mu, inv_std};
}

// LRN: x / (bias + alpha / size * sum of x^2 over the `size` channels around)^beta.
std::vector<Tensor> lrn(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t size = ctx.attr_int("size");
  const double alpha = ctx.attr_float("alpha", 1e-4), beta = ctx.attr_float("beta", 0.75);
  const double bias = ctx.attr_float("bias", 1.0);
  const int64_t c = x.shape(1);
  Tensor sq = pad_or_crop(square(x), 1, (size - 1) / 2, size / 2);
  std::optional<Tensor> total;
  for (int64_t k = 0; k < size; ++k) {
    Tensor part = slice(sq, 1, k, k + c);
    total = total ? *total + part : part;
  }
  return {x / pow(*total * (alpha / static_cast<double>(size)) + bias, beta)};
}

// MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes`, as ONNX's function body.
std::vector<Tensor> mvn(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int> axes;
  for (int64_t a : ctx.attr_ints("axes", std::vector<int64_t>{0, 2, 3}))
    axes.push_back(ctx.normalize_axis(a, x.ndim()));
  Tensor mu = mean(x, Axes(axes), true);
  // E[x^2] - E[x]^2 as the function body computes it, kept from rounding below 0.
  Tensor var = maximum(mean(square(x), Axes(axes), true) - square(mu), 0);
  return {(x - mu) / (sqrt(var) + 1e-9)};
}

// ---------------------------------------------------------------------------------------
// Losses: NegativeLogLikelihoodLoss, and SoftmaxCrossEntropyLoss (the same after a
// log_softmax over the class axis 1). Targets equal to ignore_index weigh 0; "mean"
// divides by the total weight of the targets kept.
std::vector<Tensor> class_loss(NodeContext& ctx, bool from_scores) {
  const Tensor& input = ctx.input(0);
  const Tensor& target = ctx.input(1);
  std::string reduction = ctx.attr_string("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    ctx.unsupported("reduction '" + reduction + "' is not supported");
  std::optional<int64_t> ignore;
  if (ctx.has_attr("ignore_index")) ignore = ctx.attr_int("ignore_index");
  Tensor log_prob = from_scores ? log_softmax(input, 1) : input;
  Tensor kept = ignore ? not_equal(target, *ignore) : full_like(target, true, DType::Bool);
  Tensor index = cast(where(kept, target, 0), DType::I64);
  Tensor picked = squeeze(take_along_axis(log_prob, expand_dims(index, 1), 1), 1);
  Tensor weight = cast(kept, input.dtype());
  if (std::optional<Tensor> w = ctx.optional_input(2)) weight = weight * take(*w, index);
  Tensor loss = -picked * weight;
  if (reduction == "sum") loss = sum(loss);
  if (reduction == "mean") loss = sum(loss) / sum(weight);
  if (from_scores) return {loss, log_prob};
  return {loss};
}

// ---------------------------------------------------------------------------------------
// Det: Laplace expansion along the first row, n! products, so only for small matrices
// (kiln has no LU factorization to pivot with).

constexpr int64_t kMaxDetSize = 4;

Tensor laplace_det(const Tensor& a) {
  const int64_t n = a.shape(-1);
  if (n == 1) return squeeze(a, {-2, -1});
  Tensor rest = slice(a, -2, 1, n);
  std::optional<Tensor> det;
  for (int64_t j = 0; j < n; ++j) {
    std::vector<Tensor> cols;
    if (j > 0) cols.push_back(slice(rest, -1, 0, j));
    if (j + 1 < n) cols.push_back(slice(rest, -1, j + 1, n));
    Tensor term = squeeze(slice(slice(a, -2, 0, 1), -1, j, j + 1), {-2, -1}) *
                  laplace_det(concatenate(cols, -1));
    det = !det ? term : j % 2 ? *det - term : *det + term;
  }
  return *det;
}

std::vector<Tensor> det_rule(NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  if (a.ndim() < 2 || a.shape(-1) != a.shape(-2)) ctx.invalid("the input must be [..., n, n]");
  if (a.shape(-1) > kMaxDetSize)
    ctx.unsupported("the determinant of " + std::to_string(a.shape(-1)) + " x " +
                    std::to_string(a.shape(-1)) + " matrices is not supported (up to " +
                    std::to_string(kMaxDetSize) + " x " + std::to_string(kMaxDetSize) + ")");
  return {laplace_det(a)};
}

}  // namespace

// RNN, GRU and LSTM (ops_recurrent.cpp).
void add_recurrent_ops(OpTable& table);

void add_nn_ops(OpTable& table) {
  table["MatMul"] = matmul_rule;
  table["MatMulInteger"] = matmul_integer;
  table["QLinearMatMul"] = qlinear_matmul;
  table["Gemm"] = gemm;
  table["Conv"] = conv;
  table["ConvInteger"] = conv_integer;
  table["QLinearConv"] = qlinear_conv;
  table["ConvTranspose"] = conv_transpose;
  table["MaxPool"] = [](NodeContext& ctx) { return pool(ctx, PoolKind::Max); };
  table["AveragePool"] = [](NodeContext& ctx) { return pool(ctx, PoolKind::Average); };
  table["LpPool"] = [](NodeContext& ctx) { return pool(ctx, PoolKind::Lp); };
  table["MaxUnpool"] = max_unpool;
  table["GlobalMaxPool"] = [](NodeContext& ctx) { return global_pool(ctx, PoolKind::Max); };
  table["GlobalAveragePool"] = [](NodeContext& ctx) { return global_pool(ctx, PoolKind::Average); };
  table["GlobalLpPool"] = [](NodeContext& ctx) { return global_pool(ctx, PoolKind::Lp); };
  table["BatchNormalization"] = batch_norm;
  table["InstanceNormalization"] = instance_norm;
  table["LayerNormalization"] = layer_norm_rule;
  table["LRN"] = lrn;
  table["MeanVarianceNormalization"] = mvn;
  table["NegativeLogLikelihoodLoss"] = [](NodeContext& ctx) { return class_loss(ctx, false); };
  table["SoftmaxCrossEntropyLoss"] = [](NodeContext& ctx) { return class_loss(ctx, true); };
  table["Det"] = det_rule;
  add_recurrent_ops(table);
}

}  // namespace kiln::onnx::detail
