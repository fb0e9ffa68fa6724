// Convolutions: conv1d and conv2d over the IR's channels-first `conv` op. The options
// (stride, padding pairs or causal, dilation, groups) become its attributes, a bias is an
// add broadcast over the channels (fused into the conv's kernel as its epilogue), and the
// channels-last layouts are permuted views of the input and the result. Every check names
// the function and the shapes. Tests: tests/frontend/conv_test.cpp.
#include <string>

#include "frontend/builder.h"

namespace kiln {

using frontend::list_str;
using frontend::type_str;

namespace {

// `values` for each of the `sp` spatial dims: one value for all, one per dim, or (empty)
// `fallback`; each at least 1.
std::vector<int64_t> per_dim(const std::string& name, const char* what,
                             const std::vector<int64_t>& values, int sp) {
  std::vector<int64_t> out;
  if (values.empty()) out.assign(static_cast<size_t>(sp), 1);
  if (values.size() == 1) out.assign(static_cast<size_t>(sp), values[0]);
  if (static_cast<int>(values.size()) == sp) out = values;
  if (out.empty())
    throw ShapeError(name + ": " + what + " " + list_str(values) + " must have one value or " +
                     std::to_string(sp) + " (one per spatial dimension)");
  for (int64_t v : out)
    if (v < 1)
      throw ShapeError(name + ": " + what + " " + list_str(values) + " must be at least 1");
  return out;
}

// "[n, c_in, h, w]" or "[n, h, w, c_in]": what an operand's dims mean, for messages.
std::string dims_str(int sp, bool channels_last, const char* channels) {
  static const char* const spatial[] = {"l", "h, w", "d, h, w"};
  const std::string s = sp <= 3 ? spatial[sp - 1] : "spatial...";
  return channels_last ? "[n, " + s + ", " + channels + "]"
                       : "[n, " + std::string(channels) + ", " + s + "]";
}

Tensor conv_nd(const std::string& name, int sp, const Tensor& x_in, const Tensor& w_in,
               const ConvOptions& o, Loc loc) {
  const bool last = o.layout == ConvLayout::ChannelsLast;
  const int rank = sp + 2;
  if (x_in.ndim() != rank)
    throw ShapeError(name + ": input " + type_str(x_in) + " must have rank " +
                     std::to_string(rank) + " " + dims_str(sp, last, "c_in"));
  if (w_in.ndim() != rank)
    throw ShapeError(name + ": weight " + type_str(w_in) + " must have rank " +
                     std::to_string(rank) + " [c_out, c_in / groups, kernel...]");
  DType d = promote_types(x_in.dtype(), w_in.dtype());
  if (is_bool(d)) d = DType::I32;
  frontend::check_dtype(name, ir::OpKind::Conv, d,
                        [&] { return "operands " + type_str(x_in) + " and " + type_str(w_in); });
  // The IR is channels first: move the channels of a channels-last input to dim 1.
  std::vector<int> to_first = {0, rank - 1}, to_last = {0};
  for (int i = 1; i < rank - 1; ++i) to_first.push_back(i);
  for (int i = 2; i < rank; ++i) to_last.push_back(i);
  to_last.push_back(1);
  const Tensor x = last ? permute(x_in, to_first, loc) : x_in;
  const Shape& xs = x.shape();
  const Shape& ws = w_in.shape();
  const std::string operands = "input " + type_str(x_in) + " and weight " + type_str(w_in);
  if (o.groups < 1)
    throw ShapeError(name + ": groups must be at least 1, got " + std::to_string(o.groups));
  const int64_t c_in = xs[1], c_out = ws[0];
  if (c_in % o.groups != 0 || c_out % o.groups != 0)
    throw ShapeError(name + ": " + operands + ": the channels (" + std::to_string(c_in) + " in, " +
                     std::to_string(c_out) + " out) are not divisible by groups " +
                     std::to_string(o.groups));
  if (ws[1] != c_in / o.groups)
    throw ShapeError(name + ": " + operands + ": the weight's dim 1 must be c_in / groups = " +
                     std::to_string(c_in / o.groups) + ", got " + std::to_string(ws[1]));
  const std::vector<int64_t> stride = per_dim(name, "stride", o.stride, sp);
  const std::vector<int64_t> dilation = per_dim(name, "dilation", o.dilation, sp);
  std::vector<int64_t> low, high;
  if (o.padding.is_causal) {
    if (sp != 1)
      throw ShapeError(name + ": causal padding is for 1-D convolutions; give (low, high) pairs");
    low = {dilation[0] * (ws[2] - 1)};
    high = {0};
  } else {
    const auto& pairs = o.padding.pairs;
    if (pairs.size() != 1 && static_cast<int>(pairs.size()) != sp)
      throw ShapeError(name + ": padding has " + std::to_string(pairs.size()) +
                       " (low, high) pairs; give one, or " + std::to_string(sp) +
                       " (one per spatial dimension)");
    for (int i = 0; i < sp; ++i) {
      const auto& [lo, hi] = pairs[pairs.size() == 1 ? 0 : i];
      if (lo < 0 || hi < 0)
        throw ShapeError(name + ": padding (" + std::to_string(lo) + ", " + std::to_string(hi) +
                         ") of spatial dimension " + std::to_string(i) +
                         " is negative; slice the input to crop it");
      low.push_back(lo);
      high.push_back(hi);
    }
  }
  Shape out = {xs[0], c_out};
  for (int i = 0; i < sp; ++i) {
    const int64_t k = ws[2 + i];
    const int64_t span = dilation[i] * (k - 1) + 1, padded = xs[2 + i] + low[i] + high[i];
    if (k < 1)
      throw ShapeError(name + ": weight " + type_str(w_in) +
                       " has an empty kernel in spatial dimension " + std::to_string(i));
    if (span > padded)
      throw ShapeError(name + ": " + operands + ": the kernel spans " + std::to_string(span) +
                       " positions of spatial dimension " + std::to_string(i) + " (size " +
                       std::to_string(k) + ", dilation " + std::to_string(dilation[i]) +
                       "), more than the padded input's " + std::to_string(padded));
    out.push_back((padded - span) / stride[i] + 1);
  }
  Shape bias_shape;
  if (o.bias) {
    if (o.bias->ndim() != 1 || o.bias->shape()[0] != c_out)
      throw ShapeError(name + ": bias " + type_str(*o.bias) + " must be [c_out] = [" +
                       std::to_string(c_out) + "] for weight " + type_str(w_in));
    bias_shape.assign(static_cast<size_t>(rank), 1);
    bias_shape[1] = c_out;
  }
  Tensor r = frontend::make(ir::OpKind::Conv,
                            {frontend::cast_to(x, d, loc), frontend::cast_to(w_in, d, loc)},
                            {stride, dilation, low, high, o.groups}, Type{d, out}, loc);
  if (o.bias) r = add(r, frontend::reshape_to(*o.bias, bias_shape, loc), loc);
  return last ? permute(r, to_last, loc) : r;
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& w, const ConvOptions& options, Loc loc) {
  return conv_nd("conv1d", 1, x, w, options, loc);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const ConvOptions& options, Loc loc) {
  return conv_nd("conv2d", 2, x, w, options, loc);
}

}  // namespace kiln
