// ONNX import rules: shape, movement and indexing ops (Shape, Reshape, Slice, Pad, Gather,
// ScatterND, TopK, Resize...). Every value a result's shape depends on (Reshape's shape,
// Slice's starts, TopK's k, Pad's pads) is read at import with constant_ints, and Shape and
// Size give constant tensors, so shape-computing subgraphs (Shape -> Gather -> Concat ->
// Reshape) fold while importing. Ops whose output shape depends on the values of a graph
// input (NonZero, Compress, Range on inputs) are unsupported unless those values are
// constant. Attributes that became inputs (Slice's starts at opset 10, Pad's pads at 11,
// Squeeze's axes and Split's split at 13) are read from where the model's opset puts them.
// Tests: tests/onnx/movement_test.cpp and the conformance cases (kiln_onnx_conformance).
#include <kiln/einops.h>
#include <kiln/sorting.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

using Ints = std::vector<int64_t>;

Tensor ints_tensor(const Ints& v) {
  return from_data<int64_t>(v, Shape{static_cast<int64_t>(v.size())});
}

int rank_of(const Tensor& t) { return t.ndim(); }

// Values that are attribute `name` before opset `since` and input `input` from it;
// nullopt when the node leaves them out.
std::optional<Ints> attr_or_input(NodeContext& ctx, const std::string& name, size_t input,
                                  int64_t since) {
  if (ctx.opset() >= since)
    return ctx.has_input(input) ? std::optional<Ints>(ctx.constant_ints(input)) : std::nullopt;
  return ctx.has_attr(name) ? std::optional<Ints>(ctx.attr_ints(name)) : std::nullopt;
}

// The single value of constant input i.
int64_t constant_int(NodeContext& ctx, size_t i, const std::string& what) {
  Ints v = ctx.constant_ints(i);
  if (v.size() != 1)
    ctx.invalid(what + " (input " + std::to_string(i) + ") must hold one value, it holds " +
                std::to_string(v.size()));
  return v[0];
}

// Checks that input i, whose values decide the output's shape, is constant (NonZero,
// Compress): a graph input there would make the shape known only when the model runs.
void require_shape_deciding(NodeContext& ctx, size_t i, const std::string& what) {
  if (!ctx.is_constant(i))
    ctx.unsupported("the output shape depends on input values: " + what + " (input " +
                    std::to_string(i) + ") depends on a graph input");
}

// An axis in [-rank, rank] (Flatten's range: one past the last axis included).
int axis_inclusive(NodeContext& ctx, int64_t axis, int rank) {
  if (axis < -rank || axis > rank)
    ctx.invalid("axis " + std::to_string(axis) + " is out of range [" + std::to_string(-rank) +
                ", " + std::to_string(rank) + "]");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Shape and Size give constants, so that what consumes them folds.
std::vector<Tensor> shape_rule(NodeContext& ctx) {
  const Shape& s = ctx.input(0).shape();
  int64_t r = static_cast<int64_t>(s.size());
  int64_t start = 0, end = r;
  if (ctx.opset() >= 15) {
    start = ctx.attr_int("start", 0);
    end = ctx.attr_int("end", r);
  }
  auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  start = clamp(start);
  end = std::max(start, clamp(end));
  return {ints_tensor(Ints(s.begin() + start, s.begin() + end))};
}

std::vector<Tensor> size_rule(NodeContext& ctx) {
  return {from_data<int64_t>({ctx.input(0).size()}, Shape{})};
}

std::vector<Tensor> reshape_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Ints target = ctx.constant_ints(1);
  bool allowzero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  Shape out;
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allowzero) {
      if (i >= x.shape().size())
        ctx.invalid("shape " + shape_str(target) + " copies dimension " + std::to_string(i) +
                    " (0), which the input " + shape_str(x.shape()) + " lacks");
      d = x.shape()[i];
    }
    if (d == -1) {
      if (inferred >= 0) ctx.invalid("shape " + shape_str(target) + " has more than one -1");
      inferred = static_cast<int>(i);
    } else if (d < 0) {
      ctx.invalid("shape " + shape_str(target) + " has a negative dimension other than -1");
    } else if (__builtin_mul_overflow(known, d, &known)) {
      ctx.invalid("shape " + shape_str(target) + " holds more elements than int64 counts");
    }
    out.push_back(d);
  }
  if (inferred >= 0) {
    if (known == 0 || x.size() % known != 0)
      ctx.invalid("cannot infer the -1 of shape " + shape_str(target) + " for " +
                  std::to_string(x.size()) + " elements");
    out[static_cast<size_t>(inferred)] = x.size() / known;
  } else if (known != x.size()) {
    ctx.invalid("shape " + shape_str(target) + " holds " + std::to_string(known) +
                " elements, but the input " + shape_str(x.shape()) + " holds " +
                std::to_string(x.size()));
  }
  return {reshape(x, out)};
}

std::vector<Tensor> flatten_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis = axis_inclusive(ctx, ctx.attr_int("axis", 1), rank_of(x));
  const Shape& s = x.shape();
  int64_t outer = std::accumulate(s.begin(), s.begin() + axis, int64_t{1}, std::multiplies<>());
  int64_t inner = std::accumulate(s.begin() + axis, s.end(), int64_t{1}, std::multiplies<>());
  return {reshape(x, {outer, inner})};
}

std::vector<Tensor> squeeze_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::optional<Ints> axes = attr_or_input(ctx, "axes", 1, 13);
  // No axes (or an empty list) removes every axis of length 1.
  if (axes && axes->empty()) axes.reset();
  std::vector<bool> drop(x.shape().size(), !axes);
  if (axes) {
    for (int64_t a : *axes) {
      int d = ctx.normalize_axis(a, rank_of(x));
      if (x.shape()[d] != 1)
        ctx.invalid("axis " + std::to_string(a) + " of " + shape_str(x.shape()) + " has length " +
                    std::to_string(x.shape()[d]) + ", not 1");
      drop[d] = true;
    }
  }
  Shape out;
  for (size_t d = 0; d < drop.size(); ++d)
    if (!drop[d] || x.shape()[d] != 1) out.push_back(x.shape()[d]);
  return {reshape(x, out)};
}

std::vector<Tensor> unsqueeze_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::optional<Ints> axes = attr_or_input(ctx, "axes", 1, 13);
  if (!axes) ctx.invalid("axes are required");
  int rank = rank_of(x) + static_cast<int>(axes->size());
  std::vector<bool> added(static_cast<size_t>(rank), false);
  for (int64_t a : *axes) {
    int d = ctx.normalize_axis(a, rank);
    if (added[d]) ctx.invalid("axis " + std::to_string(a) + " is given twice");
    added[d] = true;
  }
  Shape out;
  size_t next = 0;
  for (int d = 0; d < rank; ++d) out.push_back(added[d] ? 1 : x.shape()[next++]);
  return {reshape(x, out)};
}

std::vector<Tensor> transpose_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int> reversed(static_cast<size_t>(rank_of(x)));
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  Ints perm = ctx.attr_ints("perm", Ints(reversed.begin(), reversed.end()));
  return {permute(x, std::vector<int>(perm.begin(), perm.end()))};
}

std::vector<Tensor> concat_rule(NodeContext& ctx) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) xs.push_back(ctx.input(i));
  return {concatenate(xs, ctx.normalize_axis(ctx.attr_int("axis"), rank_of(xs.at(0))))};
}

std::vector<Tensor> split_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis = ctx.normalize_axis(ctx.attr_int("axis", 0), rank_of(x));
  int64_t length = x.shape(axis), parts = static_cast<int64_t>(ctx.num_outputs());
  std::optional<Ints> sizes = attr_or_input(ctx, "split", 1, 13);
  if (!sizes) {
    if (parts == 0 || length % parts != 0)
      ctx.invalid("axis " + std::to_string(axis) + " of length " + std::to_string(length) +
                  " does not split into " + std::to_string(parts) + " equal parts");
    sizes = Ints(static_cast<size_t>(parts), length / parts);
  }
  if (static_cast<int64_t>(sizes->size()) != parts ||
      std::accumulate(sizes->begin(), sizes->end(), int64_t{0}) != length)
    ctx.invalid("split " + shape_str(*sizes) + " does not cut axis " + std::to_string(axis) +
                " of length " + std::to_string(length) + " into the node's " +
                std::to_string(parts) + " outputs");
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t n : *sizes) {
    out.push_back(slice(x, axis, start, start + n));
    start += n;
  }
  return out;
}

std::vector<Tensor> slice_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Ints starts, ends;
  std::optional<Ints> axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    if (ctx.has_attr("axes")) axes = ctx.attr_ints("axes");
  } else {
    starts = ctx.constant_ints(1);
    ends = ctx.constant_ints(2);
    if (ctx.has_input(3)) axes = ctx.constant_ints(3);
    if (ctx.has_input(4)) steps = ctx.constant_ints(4);
  }
  if (ends.size() != starts.size() || (axes && axes->size() != starts.size()) ||
      (steps && steps->size() != starts.size()))
    ctx.invalid("starts, ends, axes and steps differ in length");
  Tensor y = x;
  for (size_t i = 0; i < starts.size(); ++i) {
    int axis = ctx.normalize_axis(axes ? (*axes)[i] : static_cast<int64_t>(i), rank_of(x));
    int64_t step = steps ? (*steps)[i] : 1, dim = x.shape(axis);
    if (step == 0) ctx.invalid("step " + std::to_string(i) + " is 0");
    if (dim == 0) continue;
    // ONNX clamps starts and ends into the axis (INT_MAX ends mean "to the end"); with a
    // negative step, an end of -1 after clamping means "past the first element".
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      y = slice(y, axis, std::clamp<int64_t>(s, 0, dim), std::clamp<int64_t>(e, 0, dim), step);
    } else {
      e = std::clamp<int64_t>(e, -1, dim - 1);
      y = slice(y, axis, std::clamp<int64_t>(s, 0, dim - 1),
                e < 0 ? std::nullopt : std::optional<int64_t>(e), step);
    }
  }
  return {y};
}

std::vector<Tensor> expand_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Ints target = ctx.constant_ints(1);
  size_t rank = std::max(x.shape().size(), target.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    size_t from_end = rank - i;
    int64_t a = from_end <= x.shape().size() ? x.shape()[x.shape().size() - from_end] : 1;
    int64_t b = from_end <= target.size() ? target[target.size() - from_end] : 1;
    if (a != b && a != 1 && b != 1)
      ctx.invalid("shape " + shape_str(target) + " does not broadcast with the input's " +
                  shape_str(x.shape()));
    out[i] = a == 1 ? b : a;
  }
  return {broadcast_to(x, out)};
}

std::vector<Tensor> tile_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Ints reps = ctx.constant_ints(1);
  if (static_cast<int>(reps.size()) != rank_of(x))
    ctx.invalid("repeats " + shape_str(reps) + " do not match the input's rank " +
                std::to_string(rank_of(x)));
  return {tile(x, reps)};
}

// Pad's edge and reflect modes along one axis.
Tensor pad_axis(NodeContext& ctx, const Tensor& x, int axis, int64_t before, int64_t after,
                bool reflect) {
  int64_t n = x.shape(axis);
  if (before == 0 && after == 0) return x;
  if (n == 0 || (reflect && (before >= n || after >= n)))
    ctx.unsupported("padding axis " + std::to_string(axis) + " of length " + std::to_string(n) +
                    " by (" + std::to_string(before) + ", " + std::to_string(after) + ") in mode " +
                    (reflect ? "reflect" : "edge") + " needs pads shorter than the axis");
  auto edge = [&](int64_t at, int64_t count) {
    Shape s = x.shape();
    s[axis] = count;
    return broadcast_to(slice(x, axis, at, at + 1), s);
  };
  std::vector<Tensor> parts;
  if (before > 0) parts.push_back(reflect ? slice(x, axis, before, 0, -1) : edge(0, before));
  parts.push_back(x);
  if (after > 0) {
    int64_t stop = n - 2 - after;
    parts.push_back(
        reflect ? slice(x, axis, n - 2, stop < 0 ? std::nullopt : std::optional<int64_t>(stop), -1)
                : edge(n - 1, after));
  }
  return concatenate(parts, axis);
}

std::vector<Tensor> pad_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::string mode = ctx.attr_string("mode", "constant");
  Ints pads;
  double value = 0;
  if (ctx.opset() < 11) {
    pads = ctx.attr_ints("pads");
    value = ctx.attr_float("value", 0.0);
  } else {
    pads = ctx.constant_ints(1);
    if (ctx.has_input(2)) {
      std::vector<double> v = ctx.constant_doubles(2);
      if (v.size() != 1) ctx.invalid("constant_value must hold one value");
      value = v[0];
    }
    if (ctx.has_input(3)) ctx.unsupported("the axes input (opset 18) is not supported");
  }
  int rank = rank_of(x);
  if (static_cast<int>(pads.size()) != 2 * rank)
    ctx.invalid("pads " + shape_str(pads) + " must hold 2 values per axis of " +
                shape_str(x.shape()));
  // Negative pads crop.
  Tensor y = x;
  for (int d = 0; d < rank; ++d) {
    int64_t b = pads[d], a = pads[d + rank], n = x.shape(d);
    if (b < 0 || a < 0) y = slice(y, d, std::max<int64_t>(-b, 0), n - std::max<int64_t>(-a, 0));
  }
  if (mode == "constant") {
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (int d = 0; d < rank; ++d)
      pairs.emplace_back(std::max<int64_t>(pads[d], 0), std::max<int64_t>(pads[d + rank], 0));
    bool integral = is_integer(x.dtype()) || is_bool(x.dtype());
    return {pad(y, pairs, integral ? Scalar(static_cast<int64_t>(value)) : Scalar(value))};
  }
  if (mode != "edge" && mode != "reflect")
    ctx.unsupported("mode '" + mode + "' is not supported (constant, reflect and edge are)");
  for (int d = 0; d < rank; ++d)
    y = pad_axis(ctx, y, d, std::max<int64_t>(pads[d], 0), std::max<int64_t>(pads[d + rank], 0),
                 mode == "reflect");
  return {y};
}

std::vector<Tensor> constant_of_shape_rule(NodeContext& ctx) {
  Ints dims = ctx.constant_ints(0);
  Tensor value = ctx.has_attr("value") ? ctx.attr_tensor("value") : from_data<float>({0.f}, {1});
  if (value.size() != 1) ctx.invalid("value must hold one element");
  for (int64_t d : dims)
    if (d < 0) ctx.invalid("shape " + shape_str(dims) + " has a negative dimension");
  return {broadcast_to(reshape(value, Shape{}), Shape(dims.begin(), dims.end()))};
}

std::vector<Tensor> range_rule(NodeContext& ctx) {
  const char* names[] = {"start", "limit", "delta"};
  // Like a shape, start, limit and delta are known when a model is imported (from
  // initializers, or given values): they decide the output's length.
  for (size_t i = 0; i < 3; ++i)
    ctx.require_constant(i, std::string(names[i]) + " decides the output's length");
  DType dtype = ctx.input(0).dtype();
  if (is_floating(dtype)) {
    double start = ctx.constant_doubles(0).at(0), limit = ctx.constant_doubles(1).at(0),
           delta = ctx.constant_doubles(2).at(0);
    int64_t n = std::max<int64_t>(static_cast<int64_t>(std::ceil((limit - start) / delta)), 0);
    // start + i * delta, as ONNX defines it, computed in the input's dtype.
    return {add(multiply(arange(n, dtype), delta), start)};
  }
  int64_t start = constant_int(ctx, 0, "start"), limit = constant_int(ctx, 1, "limit"),
          delta = constant_int(ctx, 2, "delta");
  if (delta == 0) ctx.invalid("delta is 0");
  int64_t span = limit - start;
  int64_t n = std::max<int64_t>((span + delta + (delta > 0 ? -1 : 1)) / delta, 0);
  return {add(multiply(arange(n, dtype), delta), start)};
}

std::vector<Tensor> eye_like_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (rank_of(x) != 2) ctx.invalid("the input must be 2-D, it is " + shape_str(x.shape()));
  DType dtype = x.dtype();
  if (ctx.has_attr("dtype")) {
    int64_t t = ctx.attr_int("dtype");
    std::optional<DType> d = dtype_from_onnx(static_cast<int>(t));
    if (!d) ctx.unsupported("dtype " + onnx_type_name(static_cast<int>(t)) + " has no kiln dtype");
    dtype = *d;
  }
  return {eye(x.shape(0), x.shape(1), ctx.attr_int("k", 0), dtype)};
}

// Indices with negative entries counted from the end of `length`, as i64.
Tensor from_end(const Tensor& idx, const TensorLike& length) {
  Tensor i = cast(idx, DType::I64);
  return where(less(i, 0), add(i, length), i);
}

std::vector<Tensor> one_hot_rule(NodeContext& ctx) {
  std::vector<double> depth_v = ctx.constant_doubles(1);
  if (depth_v.size() != 1) ctx.invalid("depth must hold one value");
  int64_t depth = static_cast<int64_t>(depth_v[0]);
  const Tensor& values = ctx.input(2);
  if (values.size() != 2) ctx.invalid("values must hold 2 elements (off, on)");
  // Negative indices count from the end of the depth; others out of range are all off.
  Tensor idx = from_end(ctx.input(0), depth);
  // The new axis of the result (rank r + 1), negative counting from its end.
  int axis = ctx.normalize_axis(ctx.attr_int("axis", -1), rank_of(idx) + 1);
  Tensor hot = one_hot(idx, depth, DType::Bool);
  if (axis != rank_of(idx)) {
    std::vector<int> perm;
    for (int d = 0; d < rank_of(idx); ++d) perm.push_back(d);
    perm.insert(perm.begin() + axis, rank_of(idx));
    hot = permute(hot, perm);
  }
  Tensor flat = reshape(values, {2});
  return {
      where(hot, reshape(slice(flat, 0, 1, 2), Shape{}), reshape(slice(flat, 0, 0, 1), Shape{}))};
}

std::vector<Tensor> trilu_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool upper = ctx.attr_int("upper", 1) != 0;
  // k may stay a tensor of the graph: it moves the mask, not the shape.
  if (ctx.has_input(1) && !ctx.is_constant(1)) {
    Tensor k = reshape(cast(ctx.input(1), DType::I64), Shape{});
    return {upper ? triu(x, k) : tril(x, k)};
  }
  int64_t k = ctx.has_input(1) ? constant_int(ctx, 1, "k") : 0;
  return {upper ? triu(x, k) : tril(x, k)};
}

std::vector<Tensor> cumsum_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis = ctx.normalize_axis(constant_int(ctx, 1, "axis"), rank_of(x));
  bool exclusive = ctx.attr_int("exclusive", 0) != 0, reverse = ctx.attr_int("reverse", 0) != 0;
  Tensor y = reverse ? flip(x, axis) : x;
  Tensor c = cast(cumsum(y, axis), x.dtype());
  if (exclusive && x.shape(axis) > 0) {
    // Shift by one: 0, c[0], ..., c[n-2].
    Shape first = x.shape();
    first[axis] = 1;
    c = concatenate({zeros(first, x.dtype()), slice(c, axis, 0, x.shape(axis) - 1)}, axis);
  }
  return {reverse ? flip(c, axis) : c};
}

std::vector<Tensor> gather_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {take(x, ctx.input(1), ctx.normalize_axis(ctx.attr_int("axis", 0), rank_of(x)))};
}

std::vector<Tensor> gather_elements_rule(NodeContext& ctx) {
  Tensor x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  int axis = ctx.normalize_axis(ctx.attr_int("axis", 0), rank_of(x));
  if (rank_of(idx) != rank_of(x)) ctx.invalid("indices and data differ in rank");
  // The result has the indices' shape: data beyond it in the other axes is never read.
  for (int d = 0; d < rank_of(x); ++d)
    if (d != axis && idx.shape(d) < x.shape(d)) x = slice(x, d, 0, idx.shape(d));
  return {take_along_axis(x, idx, axis)};
}

// GatherND's and ScatterND's index tuples (the last axis of `idx`, k long) as flat indices
// into data's axes [batch, batch + k).
Tensor flat_index(NodeContext& ctx, const Tensor& data, const Tensor& idx, int batch) {
  int64_t k = idx.shape(-1);
  if (k < 1 || batch + k > rank_of(data))
    ctx.invalid("index tuples of length " + std::to_string(k) + " do not fit data " +
                shape_str(data.shape()) + " after " + std::to_string(batch) + " batch axes");
  Ints strides(static_cast<size_t>(k), 1), dims(static_cast<size_t>(k));
  for (int64_t j = k - 1; j >= 0; --j) {
    dims[j] = data.shape(batch + static_cast<int>(j));
    if (j + 1 < k) strides[j] = strides[j + 1] * dims[j + 1];
  }
  Shape bcast(static_cast<size_t>(rank_of(idx)) - 1, 1);
  bcast.push_back(k);
  Tensor fixed = from_end(idx, reshape(ints_tensor(dims), bcast));
  return sum(multiply(fixed, reshape(ints_tensor(strides), bcast)), -1);
}

std::vector<Tensor> gather_nd_rule(NodeContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  int batch = static_cast<int>(ctx.attr_int("batch_dims", 0));
  if (batch < 0 || batch >= rank_of(idx) || batch >= rank_of(data))
    ctx.invalid("batch_dims " + std::to_string(batch) + " must be below both ranks");
  int64_t k = idx.shape(-1);
  Tensor lin = flat_index(ctx, data, idx, batch);  // [batch..., m...]
  const Shape& ds = data.shape();
  auto product = [](auto b, auto e) {
    return std::accumulate(b, e, int64_t{1}, std::multiplies<>());
  };
  int64_t outer = product(ds.begin(), ds.begin() + batch);
  int64_t indexed = product(ds.begin() + batch, ds.begin() + batch + k);
  int64_t rest = product(ds.begin() + batch + k, ds.end());
  int64_t m = lin.size() / std::max<int64_t>(outer, 1);
  Tensor d3 = reshape(data, {outer, indexed, rest});
  Tensor i3 = broadcast_to(reshape(lin, {outer, m, 1}), {outer, m, rest});
  Shape out(idx.shape().begin(), idx.shape().end() - 1);
  out.insert(out.end(), ds.begin() + batch + k, ds.end());
  return {reshape(take_along_axis(d3, i3, 1), out)};
}

// data with `updates` scattered at `idx` along `axis` (ScatterElements' form: idx and
// updates of data's rank), combined by `reduction`.
Tensor scatter_reduce(NodeContext& ctx, const Tensor& data, const Tensor& idx,
                      const Tensor& updates, int axis, const std::string& reduction) {
  if (rank_of(idx) != rank_of(data) || idx.shape() != updates.shape())
    ctx.invalid("indices " + shape_str(idx.shape()) + " and updates " + shape_str(updates.shape()) +
                " must have one shape, of data's rank");
  if (is_bool(data.dtype()))  // scattered as 0 / 1 (add is then or, mul and)
    return cast(scatter_reduce(ctx, cast(data, DType::I32), idx, updates, axis, reduction),
                DType::Bool);
  Tensor i = from_end(idx, data.shape(axis));
  Tensor u = cast(updates, data.dtype());
  if (reduction == "add") return scatter_add(data, i, u, axis);
  if (reduction == "none") {
    Tensor written = greater(scatter_add(zeros(data.shape(), DType::I32), i, 1, axis), 0);
    return where(written, scatter_add(zeros_like(data), i, u, axis), data);
  }
  if (reduction != "mul")
    ctx.unsupported("reduction '" + reduction + "' is not supported (none, add and mul are)");
  // Each position's factor: the product of the updates aimed at it, compared one-hot
  // along a new axis after `axis` (n positions), then padded with 1 to data's shape.
  int64_t n = data.shape(axis);
  Shape pos_shape(static_cast<size_t>(rank_of(data)) + 1, 1);
  pos_shape[axis + 1] = n;
  Tensor hits = kiln::equal(expand_dims(i, axis + 1), reshape(arange(n, DType::I64), pos_shape));
  Tensor factor = prod(where(hits, expand_dims(u, axis + 1), ones({}, data.dtype())), axis);
  std::vector<std::pair<int64_t, int64_t>> pads;
  for (int d = 0; d < rank_of(data); ++d) pads.emplace_back(0, data.shape(d) - factor.shape(d));
  return multiply(data, cast(pad(factor, pads, 1), data.dtype()));
}

std::string reduction_of(NodeContext& ctx) {
  return ctx.opset() >= 16 ? ctx.attr_string("reduction", "none") : "none";
}

std::vector<Tensor> scatter_elements_rule(NodeContext& ctx) {
  const Tensor& data = ctx.input(0);
  int axis = ctx.normalize_axis(ctx.attr_int("axis", 0), rank_of(data));
  return {scatter_reduce(ctx, data, ctx.input(1), ctx.input(2), axis, reduction_of(ctx))};
}

std::vector<Tensor> scatter_nd_rule(NodeContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  Tensor lin = reshape(flat_index(ctx, data, idx, 0), {-1});
  int64_t k = idx.shape(-1), m = lin.size();
  int64_t indexed = 1;
  for (int64_t j = 0; j < k; ++j) indexed *= data.shape(static_cast<int>(j));
  int64_t rest = data.size() / std::max<int64_t>(indexed, 1);
  Tensor updates = reshape(ctx.input(2), {m, rest});
  Tensor i2 = broadcast_to(reshape(lin, {m, 1}), {m, rest});
  Tensor out =
      scatter_reduce(ctx, reshape(data, {indexed, rest}), i2, updates, 0, reduction_of(ctx));
  return {reshape(out, data.shape())};
}

std::vector<Tensor> depth_to_space_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t b = ctx.attr_int("blocksize");
  std::string mode = ctx.opset() >= 11 ? ctx.attr_string("mode", "DCR") : "DCR";
  if (rank_of(x) != 4 || b < 1 || x.shape(1) % (b * b) != 0)
    ctx.invalid("input " + shape_str(x.shape()) + " is not [N, C, H, W] with C divisible by " +
                "blocksize^2");
  int64_t n = x.shape(0), c = x.shape(1) / (b * b), h = x.shape(2), w = x.shape(3);
  if (mode != "DCR" && mode != "CRD")
    ctx.unsupported("mode '" + mode + "' is not supported (DCR and CRD are)");
  // DCR splits the channels as (block row, block column, channel), CRD as (channel, block
  // row, block column).
  Tensor y = mode == "DCR" ? permute(reshape(x, {n, b, b, c, h, w}), {0, 3, 4, 1, 5, 2})
                           : permute(reshape(x, {n, c, b, b, h, w}), {0, 1, 4, 2, 5, 3});
  return {reshape(y, {n, c, h * b, w * b})};
}

std::vector<Tensor> space_to_depth_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t b = ctx.attr_int("blocksize");
  if (rank_of(x) != 4 || b < 1 || x.shape(2) % b != 0 || x.shape(3) % b != 0)
    ctx.invalid("input " + shape_str(x.shape()) +
                " is not [N, C, H, W] with H and W divisible "
                "by the blocksize");
  int64_t n = x.shape(0), c = x.shape(1), h = x.shape(2) / b, w = x.shape(3) / b;
  Tensor y = permute(reshape(x, {n, c, h, b, w, b}), {0, 3, 5, 1, 2, 4});
  return {reshape(y, {n, c * b * b, h, w})};
}

std::vector<Tensor> reverse_sequence_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int time = ctx.normalize_axis(ctx.attr_int("time_axis", 0), rank_of(x));
  int batch = ctx.normalize_axis(ctx.attr_int("batch_axis", 1), rank_of(x));
  if (time == batch) ctx.invalid("time_axis and batch_axis are the same axis");
  int64_t t_len = x.shape(time), b_len = x.shape(batch);
  // Source time index of each (time, batch) pair: len - 1 - t inside the sequence, else t.
  Shape t_shape(static_cast<size_t>(rank_of(x)), 1), b_shape = t_shape;
  t_shape[time] = t_len;
  b_shape[batch] = b_len;
  Tensor t = reshape(arange(t_len, DType::I64), t_shape);
  Tensor len = reshape(cast(ctx.input(1), DType::I64), b_shape);
  Tensor src = where(less(t, len), subtract(subtract(len, 1), t), t);
  return {take_along_axis(x, broadcast_to(src, x.shape()), time)};
}

std::vector<Tensor> compress_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_shape_deciding(ctx, 1, "condition");
  std::vector<double> cond = ctx.constant_doubles(1);
  Ints picked;
  std::optional<int> axis;
  if (ctx.has_attr("axis")) axis = ctx.normalize_axis(ctx.attr_int("axis"), rank_of(x));
  int64_t limit = axis ? x.shape(*axis) : x.size();
  for (size_t i = 0; i < cond.size() && static_cast<int64_t>(i) < limit; ++i)
    if (cond[i] != 0) picked.push_back(static_cast<int64_t>(i));
  return {take(x, ints_tensor(picked), axis)};
}

std::vector<Tensor> non_zero_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_shape_deciding(ctx, 0, "the input, whose nonzero elements are counted,");
  std::vector<double> v = ctx.constant_doubles(0);
  int rank = std::max(rank_of(x), 1);
  std::vector<Ints> coords(static_cast<size_t>(rank));
  for (size_t flat = 0; flat < v.size(); ++flat) {
    if (v[flat] == 0) continue;
    int64_t rest = static_cast<int64_t>(flat);
    for (int d = rank - 1; d >= 0; --d) {
      int64_t dim = rank_of(x) ? x.shape(d) : 1;
      coords[d].push_back(rest % dim);
      rest /= dim;
    }
  }
  Ints all;
  for (const Ints& c : coords) all.insert(all.end(), c.begin(), c.end());
  return {from_data<int64_t>(all, {rank, static_cast<int64_t>(coords[0].size())})};
}

std::vector<Tensor> top_k_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t k = ctx.opset() >= 10 ? constant_int(ctx, 1, "K") : ctx.attr_int("k");
  int axis = ctx.normalize_axis(ctx.attr_int("axis", -1), rank_of(x));
  bool largest = ctx.opset() >= 11 ? ctx.attr_int("largest", 1) != 0 : true;
  if (ctx.opset() >= 11) ctx.attr_int("sorted", 1);  // unsorted output may be in any order
  if (k < 0 || k > x.shape(axis))
    ctx.invalid("K is " + std::to_string(k) + ", the axis has " + std::to_string(x.shape(axis)) +
                " elements");
  TopK r = topk(x, k, axis, largest);
  return {r.values, r.indices};
}

std::vector<Tensor> einsum_rule(NodeContext& ctx) {
  std::string eq;
  for (char c : ctx.attr_string("equation"))
    if (c != ' ') eq += c;
  std::vector<Tensor> xs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) xs.push_back(ctx.input(i));
  return {einsum(eq, xs)};
}

// Resize and Upsample: nearest, linear and cubic interpolation are separable, so each axis
// is resampled on its own, as a weighted sum of gathers (1, 2 or 4 taps per output
// position) at indices and weights computed at import, as ONNX's reference computes them.
struct Resampling {
  std::string mode;         // nearest, linear or cubic
  std::string coordinates;  // coordinate_transformation_mode
  std::string nearest;      // nearest_mode
  double cubic_a = -0.75;
  bool exclude_outside = false;
  std::vector<double> roi;  // tf_crop_and_resize: starts, then ends, per axis
  double extrapolation = 0;
};

// The input coordinate output position i maps to along axis d (of `in` elements scaled by
// `scale`); nullopt where tf_crop_and_resize extrapolates.
std::optional<double> source_coordinate(NodeContext& ctx, const Resampling& how, int d, int64_t i,
                                        double scale, int64_t in) {
  const std::string& mode = how.coordinates;
  double x = static_cast<double>(i), width = scale * static_cast<double>(in);
  double last = static_cast<double>(in - 1);
  if (mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (mode == "asymmetric") return x / scale;
  if (mode == "pytorch_half_pixel") return width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (mode == "align_corners") return width == 1 ? 0 : x * last / (width - 1);
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (mode == "tf_crop_and_resize") {
    size_t rank = how.roi.size() / 2;
    double lo = how.roi[static_cast<size_t>(d)], hi = how.roi[rank + static_cast<size_t>(d)];
    double c = width == 1 ? (hi - lo) * last / 2 : x * (hi - lo) * last / (width - 1);
    c += lo * last;
    if (c < 0 || c > last) return std::nullopt;
    return c;
  }
  ctx.unsupported("coordinate_transformation_mode '" + mode +
                  "' is not supported (half_pixel, asymmetric, pytorch_half_pixel, "
                  "align_corners, tf_half_pixel_for_nn and tf_crop_and_resize are)");
}

// The taps of coordinate c: (first index, weights of the taps at first, first + 1, ...).
std::pair<int64_t, std::vector<double>> taps(NodeContext& ctx, const Resampling& how, double c) {
  double below = std::floor(c), r = c - below;
  int64_t lo = static_cast<int64_t>(below);
  if (how.mode == "linear") return {lo, {1 - r, r}};
  if (how.mode == "cubic") {
    double a = how.cubic_a, s = r + 1, t = 1 - r, u = 2 - r;
    return {lo - 1,
            {((a * s - 5 * a) * s + 8 * a) * s - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
             ((a + 2) * t - (a + 3)) * t * t + 1, ((a * u - 5 * a) * u + 8 * a) * u - 4 * a}};
  }
  const std::string& m = how.nearest;
  bool up = r != 0 && (m == "ceil" || (m == "round_prefer_floor" && r > 0.5) ||
                       (m == "round_prefer_ceil" && r >= 0.5));
  if (m != "floor" && m != "ceil" && m != "round_prefer_floor" && m != "round_prefer_ceil")
    ctx.unsupported("nearest_mode '" + m + "' is not supported");
  return {up ? lo + 1 : lo, {1}};
}

// x resampled along axis d to `out` positions.
Tensor resample_axis(NodeContext& ctx, const Tensor& x, const Resampling& how, int d, double scale,
                     int64_t out) {
  int64_t in = x.shape(d);
  if (in == 0) ctx.unsupported("resizing an empty axis");
  std::vector<Ints> index;
  std::vector<std::vector<float>> weight;
  std::vector<bool> outside;
  bool identity = out == in, extrapolates = false;
  for (int64_t i = 0; i < out; ++i) {
    std::optional<double> c = source_coordinate(ctx, how, d, i, scale, in);
    outside.push_back(!c);
    extrapolates |= !c;
    identity &= c && *c == static_cast<double>(i);
    auto [first, w] = taps(ctx, how, c.value_or(0));
    index.resize(w.size());
    weight.resize(w.size());
    double total = 0;
    for (size_t t = 0; t < w.size(); ++t) {
      int64_t at = first + static_cast<int64_t>(t);
      if (how.exclude_outside && (at < 0 || at >= in)) w[t] = 0;
      total += w[t];
      index[t].push_back(std::clamp<int64_t>(at, 0, in - 1));  // edge padding
    }
    for (size_t t = 0; t < w.size(); ++t)
      weight[t].push_back(static_cast<float>(how.exclude_outside ? w[t] / total : w[t]));
  }
  if (identity) return x;
  Shape along(static_cast<size_t>(rank_of(x)), 1);
  along[d] = out;
  auto column = [&](const auto& v) { return reshape(from_data(v), along); };
  std::optional<Tensor> y;
  for (size_t t = 0; t < index.size(); ++t) {
    Tensor g = take(x, ints_tensor(index[t]), d);
    if (index.size() > 1) g = multiply(g, cast(column(weight[t]), x.dtype()));
    y = y ? add(*y, g) : g;
  }
  if (extrapolates) y = where(column(outside), how.extrapolation, *y);
  return cast(*y, x.dtype());
}

// The output shape of scales (floor(scale * length)) or sizes; `scales` becomes the scales
// that map the axes.
Ints resized_shape(NodeContext& ctx, const Tensor& x, std::vector<double>& scales,
                   const std::optional<Ints>& sizes) {
  Ints out;
  if (sizes) {
    if (static_cast<int>(sizes->size()) != rank_of(x)) ctx.invalid("sizes must hold one per axis");
    scales.clear();
    for (int d = 0; d < rank_of(x); ++d)
      scales.push_back(static_cast<double>((*sizes)[d]) / static_cast<double>(x.shape(d)));
    return *sizes;
  }
  if (static_cast<int>(scales.size()) != rank_of(x)) ctx.invalid("scales must hold one per axis");
  for (int d = 0; d < rank_of(x); ++d) {
    if (scales[d] <= 0) ctx.invalid("scales must be positive");
    out.push_back(static_cast<int64_t>(scales[d] * static_cast<double>(x.shape(d))));
  }
  return out;
}

Tensor resample(NodeContext& ctx, const Tensor& x, const Resampling& how,
                std::vector<double> scales, const std::optional<Ints>& sizes) {
  if (how.mode != "nearest" && how.mode != "linear" && how.mode != "cubic")
    ctx.unsupported("mode '" + how.mode + "' is not supported (nearest, linear and cubic are)");
  if (!is_floating(x.dtype()) && how.mode != "nearest")
    ctx.unsupported("mode '" + how.mode + "' on " + std::string(dtype_name(x.dtype())) +
                    " is not supported (only on floating-point tensors)");
  Ints out = resized_shape(ctx, x, scales, sizes);
  Tensor y = x;
  for (int d = 0; d < rank_of(x); ++d) y = resample_axis(ctx, y, how, d, scales[d], out[d]);
  return y;
}

std::vector<Tensor> resize_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Resampling how;
  how.mode = ctx.attr_string("mode", "nearest");
  std::vector<double> scales;
  std::optional<Ints> sizes;
  if (ctx.opset() < 11) {
    // Opset 10 resizes as Upsample did: asymmetric coordinates, nearest rounding down.
    how.coordinates = "asymmetric";
    how.nearest = "floor";
    scales = ctx.constant_doubles(1);
  } else {
    how.coordinates = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
    how.nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
    how.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75);
    how.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
    how.extrapolation = ctx.attr_float("extrapolation_value", 0.0);
    if (how.coordinates == "tf_crop_and_resize") {
      how.roi = ctx.constant_doubles(1);
      if (static_cast<int>(how.roi.size()) != 2 * rank_of(x))
        ctx.invalid("roi must hold 2 values per axis");
    }
    if (ctx.has_input(2)) scales = ctx.constant_doubles(2);
    if (scales.empty()) {
      if (!ctx.has_input(3)) ctx.invalid("neither scales nor sizes is given");
      sizes = ctx.constant_ints(3);
    }
  }
  return {resample(ctx, x, how, scales, sizes)};
}

std::vector<Tensor> upsample_rule(NodeContext& ctx) {
  Resampling how;
  how.mode = ctx.attr_string("mode", "nearest");
  how.coordinates = "asymmetric";
  how.nearest = "floor";
  std::vector<double> scales =
      ctx.opset() >= 9 ? ctx.constant_doubles(1) : ctx.attr_floats("scales");
  return {resample(ctx, ctx.input(0), how, scales, std::nullopt)};
}

}  // namespace

void add_movement_ops(OpTable& table) {
  struct Entry {
    const char* op;
    std::vector<Tensor> (*rule)(NodeContext&);
  };
  static const Entry entries[] = {
      {"Shape", shape_rule},
      {"Size", size_rule},
      {"Reshape", reshape_rule},
      {"Flatten", flatten_rule},
      {"Squeeze", squeeze_rule},
      {"Unsqueeze", unsqueeze_rule},
      {"Transpose", transpose_rule},
      {"Concat", concat_rule},
      {"Split", split_rule},
      {"Slice", slice_rule},
      {"Expand", expand_rule},
      {"Tile", tile_rule},
      {"Pad", pad_rule},
      {"ConstantOfShape", constant_of_shape_rule},
      {"Range", range_rule},
      {"EyeLike", eye_like_rule},
      {"OneHot", one_hot_rule},
      {"Trilu", trilu_rule},
      {"CumSum", cumsum_rule},
      {"Gather", gather_rule},
      {"GatherElements", gather_elements_rule},
      {"GatherND", gather_nd_rule},
      {"ScatterElements", scatter_elements_rule},
      {"Scatter", scatter_elements_rule},  // deprecated at opset 11: ScatterElements' rule
      {"ScatterND", scatter_nd_rule},
      {"DepthToSpace", depth_to_space_rule},
      {"SpaceToDepth", space_to_depth_rule},
      {"ReverseSequence", reverse_sequence_rule},
      {"Compress", compress_rule},
      {"NonZero", non_zero_rule},
      {"TopK", top_k_rule},
      {"Einsum", einsum_rule},
      {"Resize", resize_rule},
      {"Upsample", upsample_rule},
  };
  for (const Entry& e : entries) table[e.op] = e.rule;
}

}  // namespace kiln::onnx::detail
