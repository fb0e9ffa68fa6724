// The layers of kiln::nn (kiln/nn.h): Linear, Conv1d/2d, LayerNorm, RMSNorm, Embedding,
// Dropout, Max/AvgPool2d and BatchNorm1d/2d, each a composition of kiln's ops, with
// PyTorch's default initialisers. Tests: tests/frontend/nn_test.cpp.
#include <kiln/nn.h>

#include <cmath>
#include <limits>

#include "frontend/builder.h"

namespace kiln::nn {

int64_t fan_in(const Shape& shape) {
  if (shape.size() < 2)
    throw ShapeError("fan_in: a weight needs at least 2 dimensions, got " + shape_str(shape));
  int64_t f = shape[1];
  for (size_t i = 2; i < shape.size(); ++i) f *= shape[i];
  return f;
}

Tensor kaiming_uniform(const Key& key, const Shape& shape, double a, DType dtype) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in(shape)));
  return uniform(key, shape, dtype, -bound, bound);
}

namespace {

// PyTorch's bias init for a layer of fan_in inputs: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor bias_init(const Key& key, int64_t features, int64_t fan, DType dtype) {
  const double bound = fan > 0 ? 1.0 / std::sqrt(static_cast<double>(fan)) : 0.0;
  return uniform(key, {features}, dtype, -bound, bound);
}

void check_positive(const char* what, const char* name, int64_t v) {
  if (v <= 0)
    throw Error(std::string(what) + ": " + name + " must be positive, got " + std::to_string(v));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Linear and Conv

Linear::Linear(int64_t in_features, int64_t out_features, const Key& key, bool bias, DType dtype)
    : bias_(bias) {
  check_positive("Linear", "in_features", in_features);
  check_positive("Linear", "out_features", out_features);
  std::vector<Key> keys = split(key, 2);
  register_parameter("weight",
                     kaiming_uniform(keys[0], {out_features, in_features}, std::sqrt(5.0), dtype));
  if (bias) register_parameter("bias", bias_init(keys[1], out_features, in_features, dtype));
}

Tensor Linear::forward(const Tensor& x, const Scope& s) const {
  Tensor y = matmul(x, swapaxes(s.get("weight"), 0, 1));
  return bias_ ? y + s.get("bias") : y;
}

Conv::Conv(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel, const Key& key,
           ConvModuleOptions options)
    : options_(std::move(options)), dims_(kernel.size()) {
  check_positive("Conv", "in_channels", in_channels);
  check_positive("Conv", "out_channels", out_channels);
  if (options_.groups <= 0 || in_channels % options_.groups || out_channels % options_.groups)
    throw Error("Conv: groups = " + std::to_string(options_.groups) + " must divide in_channels (" +
                std::to_string(in_channels) + ") and out_channels (" +
                std::to_string(out_channels) + ")");
  Shape w{out_channels, in_channels / options_.groups};
  for (int64_t k : kernel) {
    check_positive("Conv", "the kernel size", k);
    w.push_back(k);
  }
  std::vector<Key> keys = split(key, 2);
  register_parameter("weight", kaiming_uniform(keys[0], w, std::sqrt(5.0), options_.dtype));
  if (options_.bias)
    register_parameter("bias", bias_init(keys[1], out_channels, fan_in(w), options_.dtype));
}

Tensor Conv::forward(const Tensor& x, const Scope& s) const {
  ConvOptions o;
  o.stride = options_.stride;
  o.padding = options_.padding;
  o.dilation = options_.dilation;
  o.groups = options_.groups;
  if (options_.bias) o.bias = s.get("bias");
  return dims_ == 1 ? conv1d(x, s.get("weight"), o) : conv2d(x, s.get("weight"), o);
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel,
               const Key& key, ConvModuleOptions options)
    : Conv(in_channels, out_channels,
           kernel.size() == 1 ? std::vector<int64_t>{kernel[0], kernel[0]} : kernel, key,
           std::move(options)) {
  if (kernel.size() != 1 && kernel.size() != 2)
    throw Error("Conv2d: the kernel is one size or {kh, kw}, got " + frontend::list_str(kernel));
}

// ---------------------------------------------------------------------------------------
// Normalization and embedding

namespace {

// The last n axes, as layer_norm / rms_norm take them.
Axes last_axes(int n) {
  std::vector<int> axes;
  for (int i = -n; i < 0; ++i) axes.push_back(i);
  return Axes(axes);
}

void check_normalized(const char* what, const Tensor& x, const Tensor& w) {
  const Shape& ns = w.shape();
  const Shape& xs = x.shape();
  if (xs.size() < ns.size() || !std::equal(ns.begin(), ns.end(), xs.end() - ns.size()))
    throw ShapeError(std::string(what) + ": input " + x.type().str() +
                     " does not end with the normalized shape " + shape_str(ns));
}

}  // namespace

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, DType dtype)
    : axes_(static_cast<int>(normalized_shape.size())), eps_(eps), affine_(elementwise_affine) {
  if (normalized_shape.empty()) throw Error("LayerNorm: the normalized shape is empty");
  if (affine_) {
    register_parameter("weight", ones(normalized_shape, dtype));
    register_parameter("bias", zeros(normalized_shape, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x, const Scope& s) const {
  if (!affine_) {
    if (x.ndim() < axes_) throw ShapeError("LayerNorm: input " + x.type().str() + " is too small");
    return layer_norm(x, last_axes(axes_), std::nullopt, std::nullopt, eps_);
  }
  Tensor w = s.get("weight");
  check_normalized("LayerNorm", x, w);
  return layer_norm(x, last_axes(axes_), w, s.get("bias"), eps_);
}

RMSNorm::RMSNorm(Shape normalized_shape, std::optional<double> eps, bool elementwise_affine,
                 DType dtype)
    : axes_(static_cast<int>(normalized_shape.size())), eps_(eps), affine_(elementwise_affine) {
  if (normalized_shape.empty()) throw Error("RMSNorm: the normalized shape is empty");
  if (affine_) register_parameter("weight", ones(normalized_shape, dtype));
}

Tensor RMSNorm::forward(const Tensor& x, const Scope& s) const {
  double eps = eps_.value_or(x.dtype() == DType::F64 ? std::numeric_limits<double>::epsilon()
                                                     : std::numeric_limits<float>::epsilon());
  if (!affine_) return rms_norm(x, last_axes(axes_), std::nullopt, eps);
  Tensor w = s.get("weight");
  check_normalized("RMSNorm", x, w);
  return rms_norm(x, last_axes(axes_), w, eps);
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, const Key& key, DType dtype) {
  check_positive("Embedding", "num_embeddings", num_embeddings);
  check_positive("Embedding", "embedding_dim", embedding_dim);
  register_parameter("weight", normal(key, {num_embeddings, embedding_dim}, dtype));
}

Tensor Embedding::forward(const Tensor& x, const Scope& s) const {
  if (!is_integer(x.dtype()))
    throw DTypeError("Embedding: indices must be integers, got " + x.type().str());
  return take(s.get("weight"), x, 0);
}

// ---------------------------------------------------------------------------------------
// Dropout and pooling

Dropout::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw Error("Dropout: p = " + std::to_string(p) + " is not a probability in [0, 1]");
}

Tensor Dropout::forward(const Tensor& x, const Scope& s) const {
  if (!training() || p_ == 0.0) return x;
  Tensor keep = bernoulli(s.next_key("Dropout"), 1.0 - p_, x.shape());
  if (p_ == 1.0) return where(keep, x, 0.0);  // keep is all false; no division by zero
  return where(keep, x * (1.0 / (1.0 - p_)), 0.0);
}

Pool2d::Pool2d(Kind kind, std::vector<int64_t> kernel, std::vector<int64_t> stride,
               std::vector<int64_t> padding)
    : kind_(kind),
      kernel_(std::move(kernel)),
      stride_(std::move(stride)),
      padding_(std::move(padding)) {
  for (int d = 0; d < 2; ++d) {
    check_positive("Pool2d", "the kernel size", kernel_[d]);
    check_positive("Pool2d", "the stride", stride_[d]);
    if (padding_[d] < 0 || 2 * padding_[d] > kernel_[d])
      throw Error("Pool2d: padding " + std::to_string(padding_[d]) +
                  " must be between 0 and half the kernel size " + std::to_string(kernel_[d]));
  }
}

Tensor Pool2d::forward(const Tensor& x, const Scope&) const {
  const char* what = kind_ == Kind::Max ? "MaxPool2d" : "AvgPool2d";
  if (x.ndim() != 3 && x.ndim() != 4)
    throw ShapeError(std::string(what) + ": input " + x.type().str() +
                     " must be [N, C, H, W] or [C, H, W]");
  const int r = x.ndim();
  Tensor p = x;
  if (padding_[0] || padding_[1]) {
    std::vector<std::pair<int64_t, int64_t>> pads(static_cast<size_t>(r), {0, 0});
    pads[r - 2] = {padding_[0], padding_[0]};
    pads[r - 1] = {padding_[1], padding_[1]};
    Scalar fill = kind_ == Kind::Max ? Scalar(-std::numeric_limits<double>::infinity()) : Scalar(0);
    p = pad(x, pads, fill);
  }
  int64_t out[2];
  for (int d = 0; d < 2; ++d) {
    out[d] = (p.shape(r - 2 + d) - kernel_[d]) / stride_[d] + 1;
    if (p.shape(r - 2 + d) < kernel_[d])
      throw ShapeError(std::string(what) + ": input " + x.type().str() +
                       " is smaller than the kernel " + frontend::list_str(kernel_));
  }
  auto reduce = [&](const Tensor& t, const Axes& axes) {
    return kind_ == Kind::Max ? max(t, axes) : mean(t, axes);
  };
  if (stride_ == kernel_) {
    // Windows tile the input: drop the rows and columns left over, split each spatial axis
    // into (windows, kernel) and reduce the kernel axes.
    Tensor t = slice(slice(p, r - 2, 0, out[0] * kernel_[0]), r - 1, 0, out[1] * kernel_[1]);
    Shape s(t.shape().begin(), t.shape().end() - 2);
    s.insert(s.end(), {out[0], kernel_[0], out[1], kernel_[1]});
    return reduce(reshape(t, s), {r - 1, r + 1});
  }
  // Overlapping or gapped windows: one strided view per kernel offset, stacked on a new
  // last axis and reduced.
  std::vector<Tensor> taps;
  for (int64_t i = 0; i < kernel_[0]; ++i)
    for (int64_t j = 0; j < kernel_[1]; ++j)
      taps.push_back(slice(slice(p, r - 2, i, i + (out[0] - 1) * stride_[0] + 1, stride_[0]), r - 1,
                           j, j + (out[1] - 1) * stride_[1] + 1, stride_[1]));
  return reduce(stack(taps, -1), -1);
}

// ---------------------------------------------------------------------------------------
// BatchNorm

BatchNorm::BatchNorm(int64_t num_features, int rank, double eps, double momentum, bool affine,
                     DType dtype)
    : features_(num_features), rank_(rank), eps_(eps), momentum_(momentum), affine_(affine) {
  check_positive("BatchNorm", "num_features", num_features);
  if (affine) {
    register_parameter("weight", ones({num_features}, dtype));
    register_parameter("bias", zeros({num_features}, dtype));
  }
  register_buffer("running_mean", zeros({num_features}, dtype));
  register_buffer("running_var", ones({num_features}, dtype));
  register_buffer("num_batches_tracked", zeros({}, DType::I64));
}

Tensor BatchNorm::forward(const Tensor& x, const Scope& s) const {
  const char* what = rank_ == 4 ? "BatchNorm2d" : "BatchNorm1d";
  const bool rank_ok = rank_ == 4 ? x.ndim() == 4 : (x.ndim() == 2 || x.ndim() == 3);
  if (!rank_ok || x.shape(1) != features_)
    throw ShapeError(std::string(what) + ": input " + x.type().str() + " must be " +
                     (rank_ == 4 ? "[N, C, H, W]" : "[N, C] or [N, C, L]") +
                     " with C = " + std::to_string(features_));
  std::vector<int> axes{0};
  for (int i = 2; i < x.ndim(); ++i) axes.push_back(i);
  // Statistics of shape [C], broadcast as [1, C, 1, ...].
  Shape bshape(static_cast<size_t>(x.ndim()), 1);
  bshape[1] = features_;
  auto b = [&](const Tensor& t) { return reshape(t, bshape); };
  Tensor mu = s.get("running_mean"), var = s.get("running_var");
  if (training()) {
    const int64_t n = x.size() / features_;
    if (n < 2)
      throw ShapeError(std::string(what) +
                       ": training mode needs more than one value per "
                       "channel, got input " +
                       x.type().str());
    mu = mean(x, axes);
    var = mean(square(x - b(mu)), axes);
    // The running statistics carry no gradient; the variance they keep is unbiased.
    Tensor unbiased = stop_gradient(var) * (static_cast<double>(n) / static_cast<double>(n - 1));
    s.update_buffer("running_mean",
                    s.get("running_mean") * (1.0 - momentum_) + stop_gradient(mu) * momentum_);
    s.update_buffer("running_var", s.get("running_var") * (1.0 - momentum_) + unbiased * momentum_);
    s.update_buffer("num_batches_tracked", s.get("num_batches_tracked") + int64_t{1});
  }
  Tensor y = (x - b(mu)) * rsqrt(b(var) + eps_);
  if (affine_) y = y * b(s.get("weight")) + b(s.get("bias"));
  return y;
}

}  // namespace kiln::nn
