// The autodiff rule table (frontend/autodiff_rules.h): one row per IR op. Rules are written
// with kiln's own ops, so the gradient graph is an ordinary lazy graph that can itself be
// differentiated (grad of grad) and fuses like any other. Operands of an IR node already
// have explicit shapes and dtypes, so every op used here builds exactly one IR node of the
// operand's type (no promotion, no implicit broadcast). Ties and the other documented
// choices are in docs/autodiff.md. Tests: tests/autodiff/.
#include "frontend/autodiff_rules.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <numeric>

#include "frontend/builder.h"

// A new row in ir/ops.def must get a row here: the switch below has no default.
#pragma GCC diagnostic error "-Wswitch"

namespace kiln::frontend {

namespace {

using ir::OpKind;

// g reshaped so that the reduced `axes` of x are kept as size 1 (keepdims form), then
// broadcast back to x's shape.
Tensor unreduce(const Tensor& g, const ir::Node& n, const Shape& x_shape) {
  Shape kept = x_shape;
  for (int64_t a : n.attr_i64s("axes")) kept[a] = 1;
  return broadcast_to(reshape_to(g, kept, n.loc), x_shape, n.loc);
}

// A node's list of axes as the frontend's Axes, or nullopt for an empty list (which Axes
// would read as every axis).
std::optional<Axes> node_axes(const ir::Node& n, std::string_view name) {
  const auto& axes = n.attr_i64s(name);
  if (axes.empty()) return std::nullopt;
  return Axes(std::vector<int>(axes.begin(), axes.end()));
}

// The reverse inclusive running sum along `axis`: out[i] = sum over j >= i of g[j].
Tensor reverse_cumsum(const Tensor& g, int axis) { return flip(cumsum(flip(g, axis), axis), axis); }

// v moved k places along `axis` (toward higher indices for k > 0, lower for k < 0), the
// places it leaves filled with `fill`: out[i] = v[i - k] where that is inside v.
Tensor shifted(const Tensor& v, int axis, int64_t k, double fill) {
  int64_t n = v.shape()[axis];
  int64_t m = std::min<int64_t>(k < 0 ? -k : k, n);
  std::vector<std::pair<int64_t, int64_t>> pads(v.ndim(), {0, 0});
  pads[axis] = k < 0 ? std::pair<int64_t, int64_t>{0, m} : std::pair<int64_t, int64_t>{m, 0};
  return pad(k < 0 ? slice(v, axis, m, n) : slice(v, axis, 0, n - m), pads, fill);
}

// A slice node with explicit start/step (the frontend's slice takes Python ranges).
Tensor slice_node(const Tensor& x, std::vector<int64_t> start, std::vector<int64_t> step,
                  const Shape& shape) {
  return make(OpKind::Slice, {x}, {std::move(start), std::move(step)}, Type{x.dtype(), shape},
              Loc::current());
}

// Spreads g along `axis` so that element i lands at i * step (zeros between): the
// transpose of a strided read. The result has length (n - 1) * step + 1.
Tensor dilate(const Tensor& g, int axis, int64_t step) {
  int64_t n = g.shape()[axis];
  if (step == 1 || n == 0) return g;
  std::vector<std::pair<int64_t, int64_t>> pads(g.ndim() + 1, {0, 0});
  pads[axis + 1] = {0, step - 1};
  Tensor spread = pad(expand_dims(g, axis + 1), pads);
  Shape merged = g.shape();
  merged[axis] = n * step;
  Shape kept = merged;
  kept[axis] = (n - 1) * step + 1;
  std::vector<int64_t> start(g.ndim(), 0), one(g.ndim(), 1);
  return slice_node(reshape(spread, merged), start, one, kept);
}

// ---- Elementwise -------------------------------------------------------------------------

Cotangents vjp_neg(const VjpArgs& a) { return {neg(a.g)}; }
Cotangents vjp_abs(const VjpArgs& a) { return {a.g * sign(a.in[0])}; }
Cotangents vjp_exp(const VjpArgs& a) { return {a.g * a.out}; }
Cotangents vjp_exp2(const VjpArgs& a) { return {a.g * a.out * std::numbers::ln2}; }
Cotangents vjp_log(const VjpArgs& a) { return {a.g / a.in[0]}; }
Cotangents vjp_log2(const VjpArgs& a) { return {a.g / (a.in[0] * std::numbers::ln2)}; }
Cotangents vjp_log1p(const VjpArgs& a) { return {a.g / (a.in[0] + 1.0)}; }
Cotangents vjp_expm1(const VjpArgs& a) { return {a.g * (a.out + 1.0)}; }
Cotangents vjp_sqrt(const VjpArgs& a) { return {a.g * 0.5 / a.out}; }
Cotangents vjp_rsqrt(const VjpArgs& a) { return {a.g * -0.5 * a.out / a.in[0]}; }
Cotangents vjp_reciprocal(const VjpArgs& a) { return {neg(a.g * a.out * a.out)}; }
Cotangents vjp_sin(const VjpArgs& a) { return {a.g * cos(a.in[0])}; }
Cotangents vjp_cos(const VjpArgs& a) { return {neg(a.g * sin(a.in[0]))}; }
Cotangents vjp_tan(const VjpArgs& a) { return {a.g * (a.out * a.out + 1.0)}; }
Cotangents vjp_tanh(const VjpArgs& a) { return {a.g * (1.0 - a.out * a.out)}; }
Cotangents vjp_sigmoid(const VjpArgs& a) { return {a.g * a.out * (1.0 - a.out)}; }
Cotangents vjp_erf(const VjpArgs& a) {
  const Tensor& x = a.in[0];
  return {a.g * (2.0 / std::sqrt(std::numbers::pi)) * exp(neg(x * x))};
}

Cotangents vjp_add(const VjpArgs& a) { return {a.g, a.g}; }
Cotangents vjp_sub(const VjpArgs& a) { return {a.g, neg(a.g)}; }
// Complex values: the cotangent of z = a + ib is dL/da + i dL/db (PyTorch's convention), so
// a product's cotangent takes the other factor's conjugate, and a linear map's vjp is its
// conjugate transpose (docs/autodiff.md).
Cotangents vjp_mul(const VjpArgs& a) { return {a.g * conj(a.in[1]), a.g * conj(a.in[0])}; }
Cotangents vjp_real(const VjpArgs& a) {
  if (!is_complex(a.in[0].dtype())) return {a.g};
  return {complex(a.g, zeros_like(a.g))};
}
Cotangents vjp_imag(const VjpArgs& a) {
  if (!is_complex(a.in[0].dtype())) return {zeros_like(a.g)};
  return {complex(zeros_like(a.g), a.g)};
}
Cotangents vjp_conj(const VjpArgs& a) { return {conj(a.g)}; }
Cotangents vjp_complex(const VjpArgs& a) { return {real(a.g), imag(a.g)}; }
Cotangents vjp_div(const VjpArgs& a) { return {a.g / a.in[1], neg(a.g * a.out / a.in[1])}; }
// d/db a^b = a^b log a exists for a > 0 only; it is 0 elsewhere. The log reads a positive
// stand-in where a <= 0, so a second derivative does not meet log(0) either.
Cotangents vjp_pow(const VjpArgs& a) {
  const Tensor &x = a.in[0], &y = a.in[1];
  Tensor positive = x > 0.0;
  Tensor log_x = log(where(positive, x, 1.0));
  return {a.g * y * pow(x, y - 1.0), where(positive, a.g * a.out * log_x, 0.0)};
}
// Ties (a == b) split the gradient in half between the operands.
Cotangents vjp_max_min(const VjpArgs& a, bool is_max) {
  const Tensor &x = a.in[0], &y = a.in[1];
  Tensor x_wins = is_max ? x > y : x < y;
  Tensor y_wins = is_max ? y > x : y < x;
  Tensor half = where(x == y, a.g * 0.5, 0.0);
  return {where(x_wins, a.g, half), where(y_wins, a.g, half)};
}
Cotangents vjp_max(const VjpArgs& a) { return vjp_max_min(a, true); }
Cotangents vjp_min(const VjpArgs& a) { return vjp_max_min(a, false); }
// Floored modulo: a - b * floor(a / b).
Cotangents vjp_mod(const VjpArgs& a) { return {a.g, neg(a.g * floor(a.in[0] / a.in[1]))}; }
Cotangents vjp_atan2(const VjpArgs& a) {
  const Tensor &y = a.in[0], &x = a.in[1];
  Tensor r2 = x * x + y * y;
  return {a.g * x / r2, neg(a.g * y / r2)};
}
Cotangents vjp_select(const VjpArgs& a) {
  const Tensor& cond = a.in[0];
  return {std::nullopt, where(cond, a.g, 0.0), where(cond, 0.0, a.g)};
}
// Only float-to-float casts carry a gradient (the transform drops integer operands).
Cotangents vjp_cast(const VjpArgs& a) { return {cast_to(a.g, a.in[0].dtype(), a.node.loc)}; }

// ---- Reductions and scans -----------------------------------------------------------------

Cotangents vjp_reduce_sum(const VjpArgs& a) { return {unreduce(a.g, a.node, a.in[0].shape())}; }
// The product of every other element of each reduced set, without dividing by x (so zeros
// are exact, to every order): the reduced axes are moved last and flattened, and each
// element's exclusive prefix product meets its exclusive suffix product. The prefix
// products are built by doubling from mul, slice and pad (log2 n steps).
Cotangents vjp_reduce_prod(const VjpArgs& a) {
  const Tensor& x = a.in[0];
  const auto& axes = a.node.attr_i64s("axes");
  std::vector<int> perm;
  Shape rows;
  for (int d = 0; d < x.ndim(); ++d)
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) {
      perm.push_back(d);
      rows.push_back(x.shape()[d]);
    }
  int64_t n = 1;
  for (int64_t d : axes) {
    perm.push_back(static_cast<int>(d));
    n *= x.shape()[d];
  }
  if (n <= 1 || x.size() == 0) return {unreduce(a.g, a.node, x.shape())};
  Tensor moved = permute(x, perm);
  Shape flat = rows;
  flat.push_back(n);
  Tensor t = reshape(moved, flat);
  int last = static_cast<int>(rows.size());
  auto exclusive = [&](Tensor v) {
    for (int64_t k = 1; k < n; k *= 2) v = v * shifted(v, last, k, 1.0);
    return shifted(v, last, 1, 1.0);
  };
  Tensor others = exclusive(t) * flip(exclusive(flip(t, last)), last);
  Shape column = rows;
  column.push_back(1);
  Tensor g = broadcast_to(reshape(a.g, column), flat) * others;
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int>(i);
  return {permute(reshape(g, moved.shape()), inverse)};
}
// Ties: every element equal to the extremum gets an equal share of the gradient.
Cotangents vjp_reduce_extremum(const VjpArgs& a) {
  const Tensor& x = a.in[0];
  auto axes = node_axes(a.node, "axes");
  if (!axes) return {reshape(a.g, x.shape())};  // nothing reduced
  Tensor hit = x == unreduce(a.out, a.node, x.shape());
  Tensor count = sum(cast(hit, x.dtype()), *axes, true);
  Tensor share = broadcast_to(reshape(a.g, count.shape()) / count, x.shape());
  return {where(hit, share, 0.0)};
}
Cotangents vjp_cumsum(const VjpArgs& a) {
  return {reverse_cumsum(a.g, static_cast<int>(a.node.attr_i64("axis")))};
}
// out_j = prod_{k <= j} x_k, so for i <= j, d out_j / d x_i = P_i Q_ij with the exclusive
// prefix product P_i = out_{i-1} (1 for i = 0) and Q_ij = prod_{i < k <= j} x_k. x_i's
// cotangent is P_i S_i with S_i = sum_{j >= i} g_j Q_ij, the reverse scan of the recurrence
// S_i = g_i + x_{i+1} S_{i+1}. Nothing divides by x, so zeros are exact, to every order
// (reverse_cumsum(g * out) / x would give NaN or inf there). S is built by doubling: after
// the step of stride k, s_i sums the terms j in [i, i + 2k) and reach_i = Q_{i, i + 2k}
// (x read as 0 past the end). log2 n steps of a few elementwise ops and shifted reads: a
// graph of O(log n) nodes and O(n log n) work, for any axis length.
Cotangents vjp_cumprod(const VjpArgs& a) {
  const Tensor& x = a.in[0];
  int axis = static_cast<int>(a.node.attr_i64("axis"));
  int64_t n = x.shape()[axis];
  if (n <= 1 || x.size() == 0) return {a.g};
  Tensor reach = shifted(x, axis, -1, 0.0);
  Tensor s = a.g;
  for (int64_t k = 1; k < n; k *= 2) {
    s = s + reach * shifted(s, axis, -k, 0.0);
    if (2 * k < n) reach = reach * shifted(reach, axis, -k, 0.0);
  }
  return {shifted(a.out, axis, 1, 1.0) * s};
}

// ---- Movement -----------------------------------------------------------------------------

Cotangents vjp_reshape(const VjpArgs& a) { return {reshape(a.g, a.in[0].shape())}; }
Cotangents vjp_permute(const VjpArgs& a) {
  const auto& perm = a.node.attr_i64s("perm");
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int>(i);
  return {permute(a.g, inverse)};
}
// Sums over the repeated (size-1 in x) dimensions.
Cotangents vjp_broadcast(const VjpArgs& a) {
  const Shape& s = a.in[0].shape();
  std::vector<int> repeated;
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] == 1 && a.g.shape()[d] != 1) repeated.push_back(static_cast<int>(d));
  return {repeated.empty() ? a.g : sum(a.g, Axes(repeated), true)};
}
// The transpose of a strided read: each axis is un-reversed, spread by its step and padded
// back to x's length.
Cotangents vjp_slice(const VjpArgs& a) {
  const Tensor& x = a.in[0];
  if (a.g.size() == 0) return {zeros_like(x)};
  auto start = a.node.attr_i64s("start"), step = a.node.attr_i64s("step");
  Tensor g = a.g;
  std::vector<std::pair<int64_t, int64_t>> pads;
  for (int d = 0; d < x.ndim(); ++d) {
    int64_t n = g.shape()[d], first = start[d], s = step[d];
    if (s < 0) {
      g = flip(g, d);
      first += (n - 1) * s;
      s = -s;
    }
    g = dilate(g, d, s);
    pads.emplace_back(first, x.shape()[d] - first - g.shape()[d]);
  }
  return {pad(g, pads)};
}
Cotangents vjp_pad(const VjpArgs& a) {
  return {slice_node(a.g, a.node.attr_i64s("low"), std::vector<int64_t>(a.g.ndim(), 1),
                     a.in[0].shape())};
}
Cotangents vjp_flip(const VjpArgs& a) {
  auto axes = node_axes(a.node, "axes");
  return {axes ? flip(a.g, *axes) : a.g};
}
// The identity for its value; the operands that only order it get nothing.
Cotangents vjp_optimization_barrier(const VjpArgs& a) {
  Cotangents out(a.in.size());
  out[0] = a.g;
  return out;
}
Cotangents vjp_concat(const VjpArgs& a) {
  int axis = static_cast<int>(a.node.attr_i64("axis"));
  Cotangents out;
  int64_t offset = 0;
  for (const Tensor& x : a.in) {
    std::vector<int64_t> start(x.ndim(), 0), one(x.ndim(), 1);
    start[axis] = offset;
    out.push_back(slice_node(a.g, start, one, x.shape()));
    offset += x.shape()[axis];
  }
  return out;
}

// ---- Indexing -----------------------------------------------------------------------------

// idx with negative indices wrapped once, as gather and scatter_add read them.
Tensor wrapped_index(const Tensor& idx, int64_t n) { return where(idx < 0, idx + n, idx); }

// Gather clamps out-of-range indices, so the gradient goes to the clamped position.
Cotangents vjp_gather(const VjpArgs& a) {
  const Tensor &x = a.in[0], &idx = a.in[1];
  int axis = static_cast<int>(a.node.attr_i64("axis"));
  int64_t n = x.shape()[axis];
  if (n == 0) return {zeros_like(x), std::nullopt};
  Tensor clamped = clip(wrapped_index(idx, n), 0, n - 1);
  return {scatter_add(zeros_like(x), clamped, a.g, axis), std::nullopt};
}
// Scatter_add drops out-of-range updates, which therefore get no gradient.
Cotangents vjp_scatter_add(const VjpArgs& a) {
  const Tensor& idx = a.in[1];
  int axis = static_cast<int>(a.node.attr_i64("axis"));
  int64_t n = a.in[0].shape()[axis];
  if (n == 0) return {a.g, std::nullopt, zeros_like(a.in[2])};
  Tensor w = wrapped_index(idx, n);
  Tensor kept = logical_and(w >= 0, w < n);
  return {a.g, std::nullopt, where(kept, gather(a.g, idx, axis), 0.0)};
}

// ---- Contractions -------------------------------------------------------------------------

Cotangents vjp_matmul(const VjpArgs& a) {
  const Tensor &x = a.in[0], &y = a.in[1];
  return {matmul(a.g, swapaxes(y, -1, -2)), matmul(swapaxes(x, -1, -2), a.g)};
}

// Transforms (unnormalized, ir/ops.def). fft's conjugate transpose is the transform with
// the other sign. rfft keeps the first n/2 + 1 rows of the DFT: its vjp Re(R^H g) is
// irfft(g * d), where d (1 at frequencies 0 and n/2, 1/2 elsewhere) undoes irfft's doubling
// of the frequencies that stand for a pair; irfft's vjp is likewise rfft(g) * w, w = 2 / d.
Cotangents vjp_fft(const VjpArgs& a) {
  return {make(OpKind::Fft, {a.g}, {a.node.attr_i64("axis"), !a.node.attr_bool("inverse")},
               a.in[0].type(), a.node.loc)};
}

// Per frequency k < n/2 + 1 along `axis` of `like`: `once` at k = 0 (and k = n/2 for even
// n), `pair` elsewhere, shaped to broadcast against it.
Tensor frequency_weights(const Tensor& like, int64_t axis, int64_t n, double once, double pair) {
  const int64_t m = n / 2 + 1;
  std::vector<float> w(static_cast<size_t>(m), static_cast<float>(pair));
  w[0] = static_cast<float>(once);
  if (n % 2 == 0) w[static_cast<size_t>(m - 1)] = static_cast<float>(once);
  Shape s(like.shape().size(), 1);
  s[static_cast<size_t>(axis)] = m;
  return broadcast_to(from_data(w, s), like.shape());
}

Cotangents vjp_rfft(const VjpArgs& a) {
  const int64_t axis = a.node.attr_i64("axis");
  const int64_t n = a.in[0].shape()[static_cast<size_t>(axis)];
  Tensor g = a.g * cast_to(frequency_weights(a.g, axis, n, 1, 0.5), DType::C64, a.node.loc);
  return {make(OpKind::Irfft, {g}, {axis, n, n}, a.in[0].type(), a.node.loc)};
}

Cotangents vjp_irfft(const VjpArgs& a) {
  const int64_t axis = a.node.attr_i64("axis");
  const int64_t n = a.node.attr_i64("n");
  // The outputs past `length` were not kept: their cotangent is 0.
  std::vector<std::pair<int64_t, int64_t>> pads(a.g.shape().size(), {0, 0});
  pads[static_cast<size_t>(axis)].second = n - a.node.attr_i64("length");
  Tensor g = pads[static_cast<size_t>(axis)].second > 0 ? pad(a.g, pads) : a.g;
  Tensor spectrum = make(OpKind::Rfft, {g}, {axis}, a.in[0].type(), a.node.loc);
  return {spectrum * cast_to(frequency_weights(spectrum, axis, n, 1, 2), DType::C64, a.node.loc)};
}

struct ConvAttrs {
  std::vector<int64_t> stride, dilation, pad_low, pad_high;
  int64_t groups;
};

// A conv node; the result's spatial sizes follow docs/ir.md.
Tensor conv_node(const Tensor& x, const Tensor& w, const ConvAttrs& c) {
  Shape shape = {x.shape()[0], w.shape()[0]};
  for (size_t d = 0; d < c.stride.size(); ++d) {
    int64_t s = x.shape()[d + 2], k = w.shape()[d + 2];
    shape.push_back((s + c.pad_low[d] + c.pad_high[d] - c.dilation[d] * (k - 1) - 1) / c.stride[d] +
                    1);
  }
  return make(OpKind::Conv, {x, w}, {c.stride, c.dilation, c.pad_low, c.pad_high, c.groups},
              Type{x.dtype(), shape}, Loc::current());
}

// t [a, b, rest...] with one of its two leading axes split into (groups, size / groups),
// the three leading axes then permuted by `order`, and two adjacent ones of them merged
// (the first two, or the last two): the channel shuffles of a grouped conv's vjp.
Tensor regroup(const Tensor& t, int64_t groups, bool split_first, std::array<int, 3> order,
               bool merge_first) {
  Shape split = split_first ? Shape{groups, t.shape()[0] / groups, t.shape()[1]}
                            : Shape{t.shape()[0], groups, t.shape()[1] / groups};
  std::vector<int> perm(order.begin(), order.end());
  for (int d = 2; d < t.ndim(); ++d) {
    split.push_back(t.shape()[d]);
    perm.push_back(d + 1);
  }
  Tensor p = permute(reshape(t, split), perm);
  const Shape& ps = p.shape();
  Shape merged = merge_first ? Shape{ps[0] * ps[1], ps[2]} : Shape{ps[0], ps[1] * ps[2]};
  merged.insert(merged.end(), ps.begin() + 3, ps.end());
  return reshape(p, merged);
}

// One spatial dimension of one phase of a conv's input gradient. With stride s, the
// padded input positions p = q * s + r of one residue r receive only the taps j with
// j * dilation = r (mod s), which are evenly spaced: so each phase is a stride-1 conv of
// the cotangent with that sub-kernel, and no multiply-add meets a zero spread between
// cotangent values.
struct ConvPhase {
  int64_t first_tap, tap_step, taps;  // the sub-kernel: w taps first_tap + i * tap_step
  int64_t dilation;                   // the sub-kernel's dilation over the cotangent
  int64_t count;                      // positions this phase produces
  int64_t g_first;                    // cotangent index its first output reads first
  int64_t x_first;                    // x index of its first output (then every s)
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

std::optional<ConvPhase> conv_phase(int64_t r, int64_t stride, int64_t dilation, int64_t k,
                                    int64_t pad_low, int64_t length) {
  int64_t j0 = 0;
  while (j0 < k && (j0 * dilation - r) % stride != 0) ++j0;
  if (j0 == k) return std::nullopt;
  int64_t common = std::gcd(stride, dilation);
  int64_t tap_step = stride / common, step = dilation / common;
  int64_t taps = (k - 1 - j0) / tap_step + 1;
  int64_t m0 = (j0 * dilation - r) / stride;  // >= 0: j0 * dilation = r (mod s), r < s
  // The outputs: q with pad_low <= q * s + r < pad_low + length.
  int64_t q_lo = floor_div(pad_low - r + stride - 1, stride);
  int64_t q_hi = floor_div(pad_low + length - 1 - r, stride);
  if (q_hi < q_lo) return std::nullopt;
  // out[q] = sum over i of g[q - m0 - i * step] w[j0 + i * tap_step]: a correlation with
  // the reversed sub-kernel starting at g[q - m0 - (taps - 1) * step].
  return ConvPhase{j0,
                   tap_step,
                   taps,
                   step,
                   q_hi - q_lo + 1,
                   q_lo - m0 - (taps - 1) * step,
                   q_lo * stride + r - pad_low};
}

// The input's cotangent: for every phase (a residue per spatial dimension), a stride-1 conv
// of the cotangent's window with the phase's reversed sub-kernel, channels transposed per
// group; each is spread by the stride into x's positions and the phases are summed.
Tensor conv_input_vjp(const Tensor& g, const Tensor& w, const Tensor& x, const ConvAttrs& c) {
  size_t spatial = c.stride.size();
  // w [c_out, c_in / G, k...] -> [G, c_out / G, c_in / G, ...] -> [c_in, c_out / G, k...].
  Tensor wt = regroup(w, c.groups, true, {0, 2, 1}, true);
  std::vector<int> taps_axes;
  for (size_t d = 0; d < spatial; ++d) taps_axes.push_back(static_cast<int>(d) + 2);
  std::optional<Tensor> dx;
  std::vector<int64_t> residue(spatial, 0);
  for (bool more = true; more;) {
    std::vector<ConvPhase> phases;
    for (size_t d = 0; d < spatial; ++d) {
      auto p = conv_phase(residue[d], c.stride[d], c.dilation[d], w.shape()[d + 2], c.pad_low[d],
                          x.shape()[d + 2]);
      if (!p) break;
      phases.push_back(*p);
    }
    if (phases.size() == spatial) {
      // The cotangent's window, its parts outside g read as zeros (the conv's padding).
      std::vector<int64_t> g_start(g.ndim(), 0), one(g.ndim(), 1), k_start(wt.ndim(), 0),
          k_step(wt.ndim(), 1);
      Shape g_shape = g.shape(), k_shape = wt.shape();
      ConvAttrs cp{std::vector<int64_t>(spatial, 1), {}, {}, {}, c.groups};
      bool empty = false;
      for (size_t d = 0; d < spatial; ++d) {
        const ConvPhase& p = phases[d];
        int ax = static_cast<int>(d) + 2;
        int64_t last = p.g_first + p.count - 1 + (p.taps - 1) * p.dilation;
        int64_t lo = std::max<int64_t>(p.g_first, 0), hi = std::min(last, g.shape()[ax] - 1);
        empty = empty || hi < lo;
        g_start[ax] = lo;
        g_shape[ax] = hi - lo + 1;
        cp.pad_low.push_back(lo - p.g_first);
        cp.pad_high.push_back(last - hi);
        cp.dilation.push_back(p.dilation);
        k_start[ax] = p.first_tap;
        k_step[ax] = p.tap_step;
        k_shape[ax] = p.taps;
      }
      if (!empty) {
        Tensor window = slice_node(g, g_start, one, g_shape);
        Tensor kernel = flip(slice_node(wt, k_start, k_step, k_shape), Axes(taps_axes));
        Tensor part = conv_node(window, kernel, cp);
        std::vector<std::pair<int64_t, int64_t>> place(x.ndim(), {0, 0});
        for (size_t d = 0; d < spatial; ++d) {
          int ax = static_cast<int>(d) + 2;
          part = dilate(part, ax, c.stride[d]);
          place[ax] = {phases[d].x_first, x.shape()[ax] - phases[d].x_first - part.shape()[ax]};
        }
        part = pad(part, place);
        dx = dx ? *dx + part : part;
      }
    }
    // The next residue tuple (an odometer over the spatial dimensions).
    more = false;
    for (size_t d = 0; d < spatial && !more; ++d) {
      more = ++residue[d] < c.stride[d];
      if (!more) residue[d] = 0;
    }
  }
  return dx ? *dx : zeros_like(x);
}

// The weight's cotangent is a conv of the input (channels as the batch) with the output's
// cotangent as the kernel, stride and dilation exchanged.
Cotangents vjp_conv(const VjpArgs& a) {
  const Tensor &x = a.in[0], &w = a.in[1];
  const ir::Node& n = a.node;
  ConvAttrs c{n.attr_i64s("stride"), n.attr_i64s("dilation"), n.attr_i64s("pad_low"),
              n.attr_i64s("pad_high"), n.attr_i64("groups")};
  if (a.g.size() == 0) return {zeros_like(x), zeros_like(w)};
  size_t spatial = c.stride.size();
  int64_t groups = c.groups;
  Tensor dx = conv_input_vjp(a.g, w, x, c);

  // d/dw: x [n, c_in, ...] -> [c_in / G, G * n, ...]; g [n, c_out, ...] -> [c_out, n, ...].
  Tensor xt = regroup(x, groups, false, {2, 1, 0}, false);
  Tensor gt = regroup(a.g, groups, false, {1, 2, 0}, true);
  Tensor dw = conv_node(xt, gt, ConvAttrs{c.dilation, c.stride, c.pad_low, c.pad_high, groups});
  Shape taps_shape = dw.shape();
  for (size_t d = 0; d < spatial; ++d) taps_shape[d + 2] = w.shape()[d + 2];
  std::vector<int64_t> zero(dw.ndim(), 0), ones(dw.ndim(), 1);
  if (taps_shape != dw.shape()) dw = slice_node(dw, zero, ones, taps_shape);
  std::vector<int> swap01 = {1, 0};
  for (int d = 2; d < dw.ndim(); ++d) swap01.push_back(d);
  return {dx, permute(dw, swap01)};
}

}  // namespace

GradRule grad_rule(OpKind op) {
  using enum GradKind;
  switch (op) {
    case OpKind::Parameter:
    case OpKind::Constant:
    case OpKind::Iota:
    case OpKind::RandomUniform: return {Source};

    case OpKind::Neg: return {Rule, vjp_neg};
    case OpKind::Abs: return {Rule, vjp_abs};
    case OpKind::Exp: return {Rule, vjp_exp};
    case OpKind::Exp2: return {Rule, vjp_exp2};
    case OpKind::Log: return {Rule, vjp_log};
    case OpKind::Log2: return {Rule, vjp_log2};
    case OpKind::Log1p: return {Rule, vjp_log1p};
    case OpKind::Expm1: return {Rule, vjp_expm1};
    case OpKind::Sqrt: return {Rule, vjp_sqrt};
    case OpKind::Rsqrt: return {Rule, vjp_rsqrt};
    case OpKind::Reciprocal: return {Rule, vjp_reciprocal};
    case OpKind::Sin: return {Rule, vjp_sin};
    case OpKind::Cos: return {Rule, vjp_cos};
    case OpKind::Tan: return {Rule, vjp_tan};
    case OpKind::Tanh: return {Rule, vjp_tanh};
    case OpKind::Sigmoid: return {Rule, vjp_sigmoid};
    case OpKind::Erf: return {Rule, vjp_erf};
    // Piecewise constant: the derivative is 0 wherever it exists.
    case OpKind::Sign:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round: return {Zero};
    // Bool results.
    case OpKind::Not:
    case OpKind::IsNan:
    case OpKind::IsInf: return {Zero};
    case OpKind::Real: return {Rule, vjp_real};
    case OpKind::Imag: return {Rule, vjp_imag};
    case OpKind::Conj: return {Rule, vjp_conj};
    case OpKind::Complex: return {Rule, vjp_complex};

    case OpKind::Add: return {Rule, vjp_add};
    case OpKind::Sub: return {Rule, vjp_sub};
    case OpKind::Mul: return {Rule, vjp_mul};
    case OpKind::Div: return {Rule, vjp_div};
    case OpKind::Pow: return {Rule, vjp_pow};
    case OpKind::Max: return {Rule, vjp_max};
    case OpKind::Min: return {Rule, vjp_min};
    case OpKind::Mod: return {Rule, vjp_mod};
    case OpKind::Atan2: return {Rule, vjp_atan2};
    // Comparisons and logic: bool or integer results.
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::And:
    case OpKind::Or:
    case OpKind::Xor: return {Zero};

    case OpKind::Select: return {Rule, vjp_select};
    case OpKind::Cast: return {Rule, vjp_cast};

    case OpKind::ReduceSum: return {Rule, vjp_reduce_sum};
    case OpKind::ReduceProd: return {Rule, vjp_reduce_prod};
    case OpKind::ReduceMax: return {Rule, vjp_reduce_extremum};
    case OpKind::ReduceMin: return {Rule, vjp_reduce_extremum};
    case OpKind::ArgMax:
    case OpKind::ArgMin: return {Zero};
    case OpKind::CumSum: return {Rule, vjp_cumsum};
    case OpKind::CumProd: return {Rule, vjp_cumprod};

    case OpKind::Reshape: return {Rule, vjp_reshape};
    case OpKind::Permute: return {Rule, vjp_permute};
    case OpKind::Broadcast: return {Rule, vjp_broadcast};
    case OpKind::Slice: return {Rule, vjp_slice};
    case OpKind::Pad: return {Rule, vjp_pad};
    case OpKind::Flip: return {Rule, vjp_flip};
    case OpKind::Concat: return {Rule, vjp_concat};
    case OpKind::OptimizationBarrier: return {Rule, vjp_optimization_barrier};

    case OpKind::Gather: return {Rule, vjp_gather};
    case OpKind::ScatterAdd: return {Rule, vjp_scatter_add};

    case OpKind::MatMul: return {Rule, vjp_matmul};
    case OpKind::Conv: return {Rule, vjp_conv};
    case OpKind::Fft: return {Rule, vjp_fft};
    case OpKind::Rfft: return {Rule, vjp_rfft};
    case OpKind::Irfft: return {Rule, vjp_irfft};

    case OpKind::Custom: return {CustomKernel};
  }
  return {Unsupported};
}

bool complex_rule(OpKind op) {
  switch (op) {
    case OpKind::Neg:
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Select:
    case OpKind::Real:
    case OpKind::Imag:
    case OpKind::Conj:
    case OpKind::ReduceSum:
    case OpKind::Reshape:
    case OpKind::Permute:
    case OpKind::Broadcast:
    case OpKind::Slice:
    case OpKind::Pad:
    case OpKind::Flip:
    case OpKind::Concat:
    case OpKind::OptimizationBarrier:
    case OpKind::Fft:
    case OpKind::Irfft: return true;
    default: return false;
  }
}

}  // namespace kiln::frontend
