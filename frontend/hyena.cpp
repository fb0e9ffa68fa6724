// The Hyena filter and M2-BERT's Monarch Mixer sequence mixer (kiln/m2.h): the implicit
// filter's kernel is graph code (positional embedding, MLP with a sine activation,
// exponential modulation) and the long convolution is kiln::fftconv, so one forward is one
// graph. Tests: tests/frontend/m2bert_test.cpp.
#include <kiln/m2.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace kiln::nn {

namespace {

// A module that only holds named tensors (the reference's PositionalEmbedding and
// ExponentialModulation, whose owners read their tensors directly).
class TensorHolder : public Module {
 public:
  using Module::register_buffer;
  using Module::register_parameter;
  Tensor forward(const Tensor&, const Scope&) const override {
    throw Error("nn: this module only holds tensors; its owner reads them");
  }
};

// sin(w_mod * freq * x), freq [1, order] (the reference's Sin).
class Sine : public Module {
 public:
  Sine(int64_t order, double w, double w_mod) : w_mod_(w_mod) {
    register_parameter("freq", full({1, order}, w, DType::F32));
  }
  Tensor forward(const Tensor& x, const Scope& s) const override {
    return sin(s.get("freq") * w_mod_ * x);
  }

 private:
  double w_mod_;
};

void check_positive(const char* who, const char* what, int64_t v) {
  if (v <= 0)
    throw Error(std::string(who) + ": " + what + " must be positive, got " + std::to_string(v));
}

// z [1, L, emb_dim] = [t, cos(f w), -sin(f w)] with t = linspace(0, 1, L), w = 2 pi j / L
// and f = linspace(1e-4, bands - 1, bands); t [1, L, 1]. Computed in float as the
// reference's initial values are.
std::shared_ptr<TensorHolder> positional_embedding(int64_t emb_dim, int64_t seq_len) {
  const int64_t bands = (emb_dim - 1) / 2;
  std::vector<float> z(static_cast<size_t>(seq_len * emb_dim)), t(static_cast<size_t>(seq_len));
  for (int64_t j = 0; j < seq_len; ++j) {
    const float tj = seq_len > 1 ? static_cast<float>(j) / static_cast<float>(seq_len - 1) : 0.f;
    const double w = 2 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(seq_len);
    float* row = &z[static_cast<size_t>(j * emb_dim)];
    row[0] = t[static_cast<size_t>(j)] = tj;
    for (int64_t b = 0; b < bands; ++b) {
      const double f = bands > 1
                           ? 1e-4 + (static_cast<double>(bands - 1) - 1e-4) *
                                        static_cast<double>(b) / static_cast<double>(bands - 1)
                           : 1e-4;
      row[1 + b] = static_cast<float>(std::cos(f * w));
      row[1 + bands + b] = static_cast<float>(-std::sin(f * w));
    }
  }
  auto holder = std::make_shared<TensorHolder>();
  holder->register_parameter("z", from_data(z, {1, seq_len, emb_dim}));
  holder->register_buffer("t", from_data(t, {1, seq_len, 1}));
  return holder;
}

// deltas [1, 1, d] from log(0.01) / 1.5 to log(0.01) / 0.3: each channel's decay rate.
std::shared_ptr<TensorHolder> exponential_modulation(int64_t d) {
  const double target = 1e-2, fast = 0.3, slow = 1.5;
  auto holder = std::make_shared<TensorHolder>();
  holder->register_buffer("deltas", reshape(linspace(std::log(target) / slow,
                                                     std::log(target) / fast, d, true, DType::F32),
                                            {1, 1, d}));
  return holder;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// HyenaFilter

HyenaFilter::HyenaFilter(int64_t d_model, const Key& key, HyenaFilterOptions options)
    : d_(d_model), options_(options) {
  check_positive("HyenaFilter", "d_model", d_model);
  check_positive("HyenaFilter", "order", options.order);
  check_positive("HyenaFilter", "seq_len", options.seq_len);
  if (options.emb_dim < 3 || options.emb_dim % 2 == 0)
    throw Error("HyenaFilter: emb_dim must be odd and at least 3 (time, cosine and sine), got " +
                std::to_string(options.emb_dim));
  std::vector<Key> keys = split(key, 3);
  register_parameter("bias", normal(keys[0], {d_model}));
  auto sine = std::make_shared<Sine>(options.order, options.w, options.w_mod);
  auto mlp = [&](const Key& k) {
    std::vector<Key> ks = split(k, static_cast<int>(options.num_inner_mlps + 2));
    auto m = std::make_shared<Sequential>();
    m->append(std::make_shared<Linear>(options.emb_dim, options.order, ks[0]));
    m->append(sine);
    for (int64_t i = 0; i < options.num_inner_mlps; ++i) {
      m->append(
          std::make_shared<Linear>(options.order, options.order, ks[static_cast<size_t>(i + 1)]));
      m->append(sine);
    }
    m->append(std::make_shared<Linear>(options.order, d_model, ks.back(), false));
    return m;
  };
  register_module("pos_emb", positional_embedding(options.emb_dim, options.seq_len));
  mlp_ = mlp(keys[1]);
  register_module("implicit_filter", mlp_);
  if (options.bidirectional) {
    mlp_rev_ = mlp(keys[2]);
    register_module("implicit_filter_rev", mlp_rev_);
  }
  register_module("modulation", exponential_modulation(d_model));
}

Tensor HyenaFilter::kernel(int64_t length, bool reverse, const Scope& s) const {
  if (length < 1 || length > options_.seq_len)
    throw ShapeError(
        "HyenaFilter: a sequence of " + std::to_string(length) +
        " positions; the filter covers 1 to seq_len = " + std::to_string(options_.seq_len));
  if (reverse && !mlp_rev_)
    throw Error("HyenaFilter: the reverse kernel of a filter that is not bidirectional");
  const Scope pos = s.child("pos_emb");
  Tensor z = slice(pos.get("z"), 1, 0, length);
  Tensor t = slice(pos.get("t"), 1, 0, length);
  const std::string name = reverse ? "implicit_filter_rev" : "implicit_filter";
  Tensor h = (reverse ? mlp_rev_ : mlp_)->forward(z, s.child(name));  // [1, L, d]
  h = h * exp(-t * abs(s.child("modulation").get("deltas")));
  return swapaxes(reshape(h, {length, d_}), 0, 1);
}

Tensor HyenaFilter::kernel(int64_t length, bool reverse) const {
  return call({}, nullptr, [&](const Scope& s) { return kernel(length, reverse, s); });
}

Tensor HyenaFilter::convolve(const Tensor& x, ConvLayout layout, const Scope& s,
                             const std::optional<Tensor>& gate) const {
  if (x.ndim() != 3)
    throw ShapeError(
        "HyenaFilter: x " + x.type().str() +
        (layout == ConvLayout::ChannelsFirst ? " must be [b, d, L]" : " must be [b, L, d]"));
  const int64_t length = x.shape()[layout == ConvLayout::ChannelsFirst ? 2 : 1];
  FftConvOptions conv{.gate = gate, .layout = layout};
  if (mlp_rev_) {
    // The reference convolves with [k, reversed k_rev] over 2L points: k_rev[j] weighs
    // the input j + 1 positions ahead. fftconv's reverse kernel reaches j positions ahead
    // (its tap 0 is the output's own position), hence one zero tap first; the last tap
    // would reach past the sequence and is dropped.
    Tensor k_rev = kernel(length, true, s);
    conv.k_rev = slice(pad(k_rev, {{0, 0}, {1, 0}}), 1, 0, length);
  }
  return fftconv(x, kernel(length, false, s), s.get("bias"), conv);
}

Tensor HyenaFilter::forward(const Tensor& x, const Scope& s) const {
  return convolve(x, ConvLayout::ChannelsFirst, s);
}

// ---------------------------------------------------------------------------------------
// MonarchMixerSequenceMixing

MonarchMixerSequenceMixing::MonarchMixerSequenceMixing(int64_t d_model, const Key& key,
                                                       MonarchMixerOptions options)
    : d_(d_model), options_(options) {
  check_positive("MonarchMixerSequenceMixing", "d_model", d_model);
  std::vector<Key> keys = split(key, 5);
  const HyenaFilterOptions filter{.emb_dim = options.hyena_emb_dim,
                                  .order = options.hyena_filter_order,
                                  .seq_len = options.l_max,
                                  .w = options.hyena_w,
                                  .w_mod = options.hyena_w_mod,
                                  .bidirectional = options.bidirectional};
  filter_ = std::make_shared<HyenaFilter>(d_model, keys[0], filter);
  register_module("filter_fn", filter_);
  if (options.residual_long_conv) {
    filter2_ = std::make_shared<HyenaFilter>(d_model, keys[1], filter);
    register_module("filter_fn2", filter2_);
  }
  in_linear_ = std::make_shared<Linear>(d_model, 3 * d_model, keys[2]);
  out_linear_ = std::make_shared<Linear>(d_model, d_model, keys[3]);
  register_module("in_linear", in_linear_);
  register_module("out_linear", out_linear_);
  if (options.hyena_training_additions) {
    layernorm_ = std::make_shared<LayerNorm>(Shape{d_model});
    register_module("layernorm", layernorm_);
  }
  register_module("short_filter",
                  std::make_shared<Conv1d>(3 * d_model, 3 * d_model, 3, keys[4],
                                           ConvModuleOptions{.groups = 3 * d_model}));
}

Tensor MonarchMixerSequenceMixing::forward(const Tensor& x, const Scope& s) const {
  if (x.ndim() != 3 || x.shape()[2] != d_)
    throw ShapeError("MonarchMixerSequenceMixing: u " + x.type().str() + " must be [b, L, " +
                     std::to_string(d_) + "]");
  // Channels stay last throughout ([b, L, c]): the convolutions read permuted views.
  Tensor u = layernorm_ ? layernorm_->forward(x, s.child("layernorm")) : x;
  Tensor projected = in_linear_->forward(u, s.child("in_linear"));  // [b, L, 3d]
  const Scope conv = s.child("short_filter");
  // Causal: two taps of padding before the sequence, none after (the reference pads both
  // sides and keeps the first L outputs).
  Tensor uc = conv1d(projected, conv.get("weight"),
                     {.padding = ConvPadding::causal(),
                      .groups = 3 * d_,
                      .bias = conv.get("bias"),
                      .layout = ConvLayout::ChannelsLast});
  Tensor x1 = slice(uc, 2, 0, d_), x2 = slice(uc, 2, d_, 2 * d_), v = slice(uc, 2, 2 * d_, 3 * d_);
  Tensor y = filter_->convolve(v * x1, ConvLayout::ChannelsLast, s.child("filter_fn"), x2);
  if (filter2_) y = y + filter2_->convolve(u, ConvLayout::ChannelsLast, s.child("filter_fn2"));
  return out_linear_->forward(y, s.child("out_linear"));
}

}  // namespace kiln::nn
