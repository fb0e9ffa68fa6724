// Movement ops: reshape, axis reordering, broadcasting, slicing, padding, flipping and
// joining. All are views in the IR (index arithmetic in the consuming kernel).
#include <algorithm>
#include <cmath>

#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

Tensor reshape(const Tensor& x, const Shape& shape, Loc loc) {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0)
        throw ShapeError("reshape: " + shape_str(shape) + " has more than one -1 (dimensions " +
                         std::to_string(infer) + " and " + std::to_string(i) +
                         "); at most one dimension can be inferred");
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw ShapeError("reshape: " + shape_str(shape) + " has a negative dimension " +
                       std::to_string(shape[i]) + "; use sizes >= 0, or -1 to infer one");
    } else if (__builtin_mul_overflow(known, shape[i], &known)) {
      throw ShapeError("reshape: " + shape_str(shape) + " has more elements than int64 counts; " +
                       type_str(x) + " has " + std::to_string(x.size()));
    }
  }
  if (static_cast<int>(shape.size()) > kMaxRank)
    throw ShapeError("reshape: " + shape_str(shape) + " has rank " + std::to_string(shape.size()) +
                     "; kiln supports at most rank " + std::to_string(kMaxRank));
  Shape out = shape;
  if (infer >= 0) {
    if (known == 0 || x.size() % known != 0)
      throw ShapeError("reshape: cannot reshape " + type_str(x) + " (" + std::to_string(x.size()) +
                       " elements) into " + shape_str(shape) + ": the other dimensions (product " +
                       std::to_string(known) +
                       ") do not divide it; choose sizes whose product is " +
                       std::to_string(x.size()));
    out[infer] = x.size() / known;
  } else if (known != x.size()) {
    throw ShapeError("reshape: cannot reshape " + type_str(x) + " (" + std::to_string(x.size()) +
                     " elements) into " + shape_str(shape) + " (" + std::to_string(known) +
                     " elements); the element counts must match");
  }
  return frontend::reshape_to(x, out, loc);
}

Tensor permute(const Tensor& x, const std::vector<int>& perm, Loc loc) {
  int rank = x.ndim();
  if (static_cast<int>(perm.size()) != rank)
    throw AxisError("permute: " + frontend::list_str(perm) + " has " + std::to_string(perm.size()) +
                    " axes but " + type_str(x) + " has rank " + std::to_string(rank) +
                    "; list every axis once");
  std::vector<int64_t> p;
  for (int a : perm) {
    int64_t n = frontend::normalize_axis("permute", a, rank, x.type());
    if (std::find(p.begin(), p.end(), n) != p.end())
      throw AxisError("permute: axis " + std::to_string(n) + " appears twice in " +
                      frontend::list_str(perm) + " for " + type_str(x) + "; list every axis once");
    p.push_back(n);
  }
  bool identity = true;
  Shape shape;
  for (int i = 0; i < rank; ++i) {
    identity = identity && p[i] == i;
    shape.push_back(x.shape()[p[i]]);
  }
  if (identity) return x;
  return make(ir::OpKind::Permute, {x}, {p}, Type{x.dtype(), shape}, loc);
}

Tensor transpose(const Tensor& x, Loc loc) {
  std::vector<int> perm;
  for (int i = x.ndim() - 1; i >= 0; --i) perm.push_back(i);
  return permute(x, perm, loc);
}

Tensor transpose(const Tensor& x, const std::vector<int>& perm, Loc loc) {
  return permute(x, perm, loc);
}

Tensor swapaxes(const Tensor& x, int axis1, int axis2, Loc loc) {
  int a = frontend::normalize_axis("swapaxes", axis1, x.ndim(), x.type());
  int b = frontend::normalize_axis("swapaxes", axis2, x.ndim(), x.type());
  std::vector<int> perm;
  for (int i = 0; i < x.ndim(); ++i) perm.push_back(i);
  std::swap(perm[a], perm[b]);
  return permute(x, perm, loc);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape, Loc loc) {
  size_t rank = x.shape().size();
  bool ok = shape.size() >= rank && static_cast<int>(shape.size()) <= kMaxRank;
  for (size_t i = 0; ok && i < rank; ++i) {
    int64_t have = x.shape()[i], want = shape[shape.size() - rank + i];
    ok = have == want || have == 1;
  }
  for (int64_t d : shape) ok = ok && d >= 0;
  if (!ok)
    throw ShapeError("broadcast_to: cannot broadcast " + type_str(x) + " to " + shape_str(shape) +
                     "; each dimension of the tensor (aligned to the right) must equal the "
                     "target's or be 1");
  frontend::check_shape("broadcast_to", shape, x.dtype());
  return frontend::expand_to(x, shape, loc);
}

Tensor expand_dims(const Tensor& x, const Axes& axes, Loc loc) {
  if (axes.all())
    throw AxisError("expand_dims: no axes given for " + type_str(x) +
                    "; name the positions of the new dimensions");
  int out_rank = x.ndim() + static_cast<int>(axes.list().size());
  Type out_type{x.dtype(), Shape(out_rank, 1)};
  auto ax = frontend::normalize_axes("expand_dims", axes, out_type);
  Shape shape;
  size_t src = 0;
  for (int d = 0; d < out_rank; ++d) {
    if (std::find(ax.begin(), ax.end(), d) != ax.end())
      shape.push_back(1);
    else
      shape.push_back(x.shape()[src++]);
  }
  if (out_rank > kMaxRank)
    throw ShapeError("expand_dims: the result would have rank " + std::to_string(out_rank) +
                     "; kiln supports at most rank " + std::to_string(kMaxRank));
  return frontend::reshape_to(x, shape, loc);
}

Tensor squeeze(const Tensor& x, const Axes& axes, Loc loc) {
  Shape shape;
  if (axes.all()) {
    for (int64_t d : x.shape())
      if (d != 1) shape.push_back(d);
  } else {
    auto ax = frontend::normalize_axes("squeeze", axes, x.type());
    for (int64_t a : ax)
      if (x.shape()[a] != 1)
        throw ShapeError("squeeze: axis " + std::to_string(a) + " of " + type_str(x) +
                         " has length " + std::to_string(x.shape()[a]) +
                         "; only size-1 axes can be removed");
    for (int d = 0; d < x.ndim(); ++d)
      if (std::find(ax.begin(), ax.end(), d) == ax.end()) shape.push_back(x.shape()[d]);
  }
  return frontend::reshape_to(x, shape, loc);
}

Tensor flatten(const Tensor& x, int start_axis, int end_axis, Loc loc) {
  if (x.ndim() == 0) return frontend::reshape_to(x, {1}, loc);
  int a = frontend::normalize_axis("flatten", start_axis, x.ndim(), x.type());
  int b = frontend::normalize_axis("flatten", end_axis, x.ndim(), x.type());
  if (a > b)
    throw AxisError("flatten: start axis " + std::to_string(start_axis) + " comes after end axis " +
                    std::to_string(end_axis) + " for " + type_str(x) + "; pass start <= end");
  Shape shape(x.shape().begin(), x.shape().begin() + a);
  int64_t merged = 1;
  for (int d = a; d <= b; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + b + 1, x.shape().end());
  return frontend::reshape_to(x, shape, loc);
}

namespace {

// One axis of a slice resolved with Python's rules: first index, step and length.
struct Resolved {
  int64_t start, step, length;
};

Resolved resolve(const Slice& s, int64_t n, int axis, const Tensor& x) {
  if (s.step == 0)
    throw ShapeError("slice: step 0 on axis " + std::to_string(axis) + " of " + type_str(x) +
                     "; a step must be nonzero (negative steps walk backwards)");
  int64_t step = s.step;
  auto clamp_index = [&](int64_t i, int64_t lo, int64_t hi) {
    if (i < 0) i += n;
    return std::clamp(i, lo, hi);
  };
  int64_t start, stop, length;
  if (step > 0) {
    start = s.start ? clamp_index(*s.start, 0, n) : 0;
    stop = s.stop ? clamp_index(*s.stop, 0, n) : n;
    length = stop > start ? (stop - start - 1) / step + 1 : 0;
  } else {
    start = s.start ? clamp_index(*s.start, -1, n - 1) : n - 1;
    stop = s.stop ? clamp_index(*s.stop, -1, n - 1) : -1;
    // |step| as unsigned: -INT64_MIN does not fit int64.
    uint64_t back = uint64_t{0} - static_cast<uint64_t>(step);
    length =
        start > stop ? static_cast<int64_t>(static_cast<uint64_t>(start - stop - 1) / back) + 1 : 0;
  }
  if (length == 0) start = 0;
  return {start, step, length};
}

}  // namespace

Tensor slice(const Tensor& x, const std::vector<Slice>& slices, Loc loc) {
  if (static_cast<int>(slices.size()) > x.ndim())
    throw AxisError("slice: " + std::to_string(slices.size()) + " slices for " + type_str(x) +
                    " (rank " + std::to_string(x.ndim()) + "); pass at most one per axis");
  std::vector<int64_t> start, step;
  Shape shape;
  bool identity = true;
  for (int d = 0; d < x.ndim(); ++d) {
    int64_t n = x.shape()[d];
    Resolved r =
        d < static_cast<int>(slices.size()) ? resolve(slices[d], n, d, x) : Resolved{0, 1, n};
    identity = identity && r.start == 0 && r.step == 1 && r.length == n;
    start.push_back(r.start);
    step.push_back(r.step);
    shape.push_back(r.length);
  }
  if (identity) return x;
  return make(ir::OpKind::Slice, {x}, {start, step}, Type{x.dtype(), shape}, loc);
}

Tensor slice(const Tensor& x, int axis, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step, Loc loc) {
  int a = frontend::normalize_axis("slice", axis, x.ndim(), x.type());
  std::vector<Slice> slices(a + 1);
  slices[a] = Slice{start, stop, step};
  return slice(x, slices, loc);
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value,
           Loc loc) {
  int rank = x.ndim();
  if (pads.size() != static_cast<size_t>(rank) && pads.size() != 1)
    throw ShapeError("pad: " + std::to_string(pads.size()) + " (before, after) pairs for " +
                     type_str(x) + "; pass one per axis (" + std::to_string(rank) +
                     ") or one for all axes");
  if (value.kind() == Scalar::Kind::Complex)
    throw DTypeError("pad: the value " + value.str() + " is complex; pad values must be real");
  frontend::check_scalar_fits("pad", value, x.dtype());
  if (value.kind() == Scalar::Kind::Float && !is_inexact(x.dtype()) && !is_bool(x.dtype())) {
    double v = value.as_double();
    Scalar as_int = static_cast<int64_t>(v);
    if (!std::isfinite(v) || std::trunc(v) != v || std::abs(v) > 9.2e18)
      throw DTypeError("pad: the value " + value.str() + " is not an integer, so " + type_str(x) +
                       " cannot hold it; pass an integer value or cast the tensor first");
    frontend::check_scalar_fits("pad", as_int, x.dtype());
  }
  std::vector<int64_t> low, high;
  Shape shape;
  bool any = false;
  for (int d = 0; d < rank; ++d) {
    auto [lo, hi] = pads.size() == 1 ? pads[0] : pads[d];
    if (lo < 0 || hi < 0)
      throw ShapeError("pad: negative padding (" + std::to_string(lo) + ", " + std::to_string(hi) +
                       ") on axis " + std::to_string(d) + " of " + type_str(x) +
                       "; pads must be >= 0 (use slice to remove elements)");
    any = any || lo > 0 || hi > 0;
    low.push_back(lo);
    high.push_back(hi);
    int64_t n;
    if (__builtin_add_overflow(x.shape()[d], lo, &n) || __builtin_add_overflow(n, hi, &n))
      throw ShapeError("pad: padding (" + std::to_string(lo) + ", " + std::to_string(hi) +
                       ") on axis " + std::to_string(d) + " of " + type_str(x) +
                       " overflows int64; use smaller pads");
    shape.push_back(n);
  }
  if (!any) return x;
  frontend::check_shape("pad", shape, x.dtype());
  double v = value.as_double();
  if (is_bool(x.dtype())) v = v != 0 ? 1.0 : 0.0;
  return make(ir::OpKind::Pad, {x}, {low, high, v}, Type{x.dtype(), shape}, loc);
}

Tensor flip(const Tensor& x, const Axes& axes, Loc loc) {
  auto ax = frontend::normalize_axes("flip", axes, x.type());
  if (ax.empty()) return x;
  return make(ir::OpKind::Flip, {x}, {ax}, x.type(), loc);
}

Tensor concatenate(const std::vector<Tensor>& xs, int axis, Loc loc) {
  if (xs.empty()) throw ShapeError("concatenate: no tensors given; pass at least one");
  const Tensor& first = xs[0];
  if (first.ndim() == 0)
    throw ShapeError("concatenate: tensor 0 is rank 0 (" + type_str(first) +
                     "); rank-0 tensors have no axis to join along (use stack)");
  int a = frontend::normalize_axis("concatenate", axis, first.ndim(), first.type());
  DType d = first.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    bool same = x.ndim() == first.ndim();
    for (int k = 0; same && k < x.ndim(); ++k) same = k == a || x.shape()[k] == first.shape()[k];
    if (!same)
      throw ShapeError("concatenate: tensor " + std::to_string(i) + " is " + type_str(x) +
                       " but tensor 0 is " + type_str(first) + "; all dimensions except axis " +
                       std::to_string(a) + " must match");
    d = promote_types(d, x.dtype());
    if (__builtin_add_overflow(total, x.shape()[a], &total))
      throw ShapeError("concatenate: the lengths along axis " + std::to_string(a) +
                       " add up past int64; join fewer or smaller tensors");
  }
  // Pieces of length 0 along the axis add nothing; keep them out of the IR.
  std::vector<Tensor> parts;
  for (const Tensor& x : xs)
    if (x.shape()[a] > 0) parts.push_back(frontend::cast_to(x, d, loc));
  if (parts.empty()) parts.push_back(frontend::cast_to(first, d, loc));
  if (parts.size() == 1) return parts[0];
  Shape shape = first.shape();
  shape[a] = total;
  frontend::check_shape("concatenate", shape, d);
  return make(ir::OpKind::Concat, parts, {int64_t{a}}, Type{d, shape}, loc);
}

Tensor stack(const std::vector<Tensor>& xs, int axis, Loc loc) {
  if (xs.empty()) throw ShapeError("stack: no tensors given; pass at least one");
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i].shape() != xs[0].shape())
      throw ShapeError("stack: tensor " + std::to_string(i) + " is " + type_str(xs[i]) +
                       " but tensor 0 is " + type_str(xs[0]) + "; all must have the same shape");
  Type out{xs[0].dtype(), Shape(xs[0].ndim() + 1, 1)};
  int a = frontend::normalize_axis("stack", axis, out.rank(), out);
  std::vector<Tensor> parts;
  for (const Tensor& x : xs) parts.push_back(expand_dims(x, a, loc));
  return concatenate(parts, a, loc);
}

std::vector<Tensor> split(const Tensor& x, int64_t sections, int axis, Loc loc) {
  int a = frontend::normalize_axis("split", axis, x.ndim(), x.type());
  int64_t n = x.shape()[a];
  if (sections <= 0 || n % sections != 0)
    throw ShapeError("split: axis " + std::to_string(a) + " of " + type_str(x) + " (length " +
                     std::to_string(n) + ") does not divide into " + std::to_string(sections) +
                     " equal sections; pass a divisor of " + std::to_string(n) +
                     ", or use split_at for uneven parts");
  std::vector<int64_t> cuts;
  for (int64_t i = 1; i < sections; ++i) cuts.push_back(i * (n / sections));
  return split_at(x, cuts, a, loc);
}

std::vector<Tensor> split_at(const Tensor& x, const std::vector<int64_t>& indices, int axis,
                             Loc loc) {
  int a = frontend::normalize_axis("split_at", axis, x.ndim(), x.type());
  std::vector<Tensor> out;
  std::optional<int64_t> prev;
  for (int64_t idx : indices) {
    out.push_back(slice(x, a, prev, idx, 1, loc));
    prev = idx;
  }
  out.push_back(slice(x, a, prev, std::nullopt, 1, loc));
  return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps, Loc loc) {
  for (int64_t r : reps)
    if (r < 0)
      throw ShapeError("tile: repetitions " + frontend::list_str(reps) + " for " + type_str(x) +
                       " include a negative count; use counts >= 0");
  size_t rank = std::max(reps.size(), x.shape().size());
  if (static_cast<int>(rank) > kMaxRank)
    throw ShapeError("tile: the result would have rank " + std::to_string(rank) +
                     "; kiln supports at most rank " + std::to_string(kMaxRank));
  // Align both to the same rank with leading 1s, as NumPy does.
  Shape dims(rank - x.shape().size(), 1);
  dims.insert(dims.end(), x.shape().begin(), x.shape().end());
  std::vector<int64_t> r(rank - reps.size(), 1);
  r.insert(r.end(), reps.begin(), reps.end());
  if (std::all_of(r.begin(), r.end(), [](int64_t n) { return n == 1; }))
    return frontend::reshape_to(x, dims, loc);
  // [d0, d1] -> [1, d0, 1, d1] -> broadcast [r0, d0, r1, d1] -> [r0*d0, r1*d1].
  Shape interleaved, expanded, out;
  for (size_t i = 0; i < rank; ++i) {
    interleaved.insert(interleaved.end(), {1, dims[i]});
    expanded.insert(expanded.end(), {r[i], dims[i]});
    int64_t n;
    if (__builtin_mul_overflow(r[i], dims[i], &n))
      throw ShapeError("tile: repetitions " + frontend::list_str(reps) + " of " + type_str(x) +
                       " give more elements than int64 counts; use fewer repetitions");
    out.push_back(n);
  }
  frontend::check_shape("tile", out, x.dtype());
  if (2 * rank > static_cast<size_t>(kMaxRank)) {
    // Too many axes to interleave at once: tile one axis at a time.
    Tensor y = frontend::reshape_to(x, dims, loc);
    for (size_t i = 0; i < rank; ++i) {
      if (r[i] == 1) continue;
      std::vector<Tensor> copies(static_cast<size_t>(r[i]), y);
      y = r[i] == 0 ? slice(y, static_cast<int>(i), 0, 0, 1, loc)
                    : concatenate(copies, static_cast<int>(i), loc);
    }
    return y;
  }
  Tensor y = frontend::reshape_to(x, interleaved, loc);
  y = frontend::expand_to(y, expanded, loc);
  return frontend::reshape_to(y, out, loc);
}

}  // namespace kiln
