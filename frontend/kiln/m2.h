// M2-BERT (Monarch Mixer BERT) on kiln: block-diagonal and Monarch matrices, the Hyena
// filter, the Monarch Mixer sequence mixer, the gated Monarch MLP and the M2-BERT encoder,
// as kiln::nn modules whose tensor names are those of the reference implementation's
// state_dict (bert/src/bert_layers.py and bert/src/mm/ of the public HazyResearch/m2
// repository), so that its checkpoints load as they are. Every forward is lazy graph code:
// one graph per call. Guide: docs/m2bert.md. Tests: tests/frontend/m2bert_test.cpp.
#pragma once

#include <kiln/nn.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kiln {

// x (..., nblocks * p) times the block-diagonal matrix whose blocks are w [nblocks, q, p]
// (block i maps x's i-th group of p features to the result's i-th group of q):
// (..., nblocks * q).
Tensor blockdiag_multiply(const Tensor& x, const Tensor& w, Loc loc = Loc::current());

// A Monarch matrix times x (..., k * p): the block-diagonal w1 [k, q, p], the permutation
// that reads the k * q features as (r, l) and writes them as (l, r), the block-diagonal
// w2 [l, s, r] (l * r = k * q), and the permutation (l, s) -> (s, l): (..., l * s).
Tensor monarch_multiply(const Tensor& x, const Tensor& w1, const Tensor& w2,
                        Loc loc = Loc::current());

}  // namespace kiln

namespace kiln::nn {

// y = blockdiag(weight) x + bias, the reference's BlockdiagLinear: weight
// [nblocks, ceil(out / nblocks), ceil(in / nblocks)], bias [out]. An input whose features
// do not fill the blocks is padded with zeros, the result cropped to out_features.
class BlockdiagLinear : public Module {
 public:
  BlockdiagLinear(int64_t in_features, int64_t out_features, int64_t nblocks, const Key& key,
                  bool bias = true, DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int64_t in_, out_, in_padded_;
  bool bias_;
};

// y = monarch(blkdiag1, blkdiag2) x + bias with the layout of the Monarch layers M2's
// block-diagonal layer comes from: with i = ceil(in / nblocks) and o = ceil(out / nblocks),
// blkdiag1 [nblocks, i, i] and blkdiag2 [nblocks, o, i] when i < o, else blkdiag1
// [nblocks, o, i] and blkdiag2 [nblocks, o, o]; padding and cropping as BlockdiagLinear.
class MonarchLinear : public Module {
 public:
  MonarchLinear(int64_t in_features, int64_t out_features, int64_t nblocks, const Key& key,
                bool bias = true, DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int64_t in_, out_, in_padded_;
  bool bias_;
};

// The Hyena filter's settings (the reference's HyenaFilter arguments).
struct HyenaFilterOptions {
  int64_t emb_dim = 3;     // positional features: t, then cos and sin of (emb_dim - 1) / 2 bands
  int64_t order = 16;      // width of the implicit MLP
  int64_t seq_len = 1024;  // the longest sequence (the positional embedding's length)
  double w = 1;            // initial frequency of the sine activation (the learned `freq`)
  double w_mod = 1;        // fixed factor on the frequency
  bool bidirectional = false;  // a second MLP gives a kernel over the positions after each
  int64_t num_inner_mlps = 2;  // hidden Linear layers of the implicit MLP
};

// An implicit long convolution filter: a positional embedding z [1, seq_len, emb_dim]
// (parameter) and t [1, seq_len, 1] (buffer) through an MLP (Linear, sin, Linear, sin, ...,
// Linear; the sine is one module, freq [1, order], at every position, as the reference's),
// modulated by exp(-t |deltas|) (deltas [1, 1, d] buffer), gives a kernel [d, L]. Tensors:
// bias [d], pos_emb.{z,t}, implicit_filter.N.*, implicit_filter_rev.N.* (bidirectional),
// modulation.deltas.
class HyenaFilter : public Module {
 public:
  HyenaFilter(int64_t d_model, const Key& key, HyenaFilterOptions options = {});
  // The kernel [d, L] (the reverse one with `reverse`), with the call's tensors.
  Tensor kernel(int64_t length, bool reverse, const Scope& s) const;
  // The same with the module's own tensors.
  Tensor kernel(int64_t length, bool reverse = false) const;
  // The long convolution of x (channels first [b, d, L], or [b, L, d] with ChannelsLast)
  // with the filter's kernels, plus x * bias, times `gate` when given (x's shape): for a
  // bidirectional filter every output also reads the inputs after it, the reverse kernel's
  // tap j reaching j + 1 positions ahead, as the reference's 2L-point circular convolution.
  Tensor convolve(const Tensor& x, ConvLayout layout, const Scope& s,
                  const std::optional<Tensor>& gate = std::nullopt) const;
  // convolve, channels first, without a gate.
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;
  const HyenaFilterOptions& options() const { return options_; }

 private:
  int64_t d_;
  HyenaFilterOptions options_;
  std::shared_ptr<Sequential> mlp_, mlp_rev_;
};

// The Monarch Mixer sequence mixer's settings (the reference's constructor arguments).
struct MonarchMixerOptions {
  int64_t l_max = 128;
  bool bidirectional = false;
  double hyena_w = 10;
  double hyena_w_mod = 1;
  int64_t hyena_emb_dim = 3;
  int64_t hyena_filter_order = 16;
  bool residual_long_conv = false;        // a second filter convolves the input itself
  bool hyena_training_additions = false;  // a LayerNorm on the input
};

// M2-BERT's sequence mixer on u [b, L, d] (L <= l_max): in_linear to 3d channels, a causal
// depthwise convolution of 3 taps (short_filter), split into x1, x2, v; the long
// convolution of v * x1 by filter_fn (plus its bias), gated by x2; plus filter_fn2's
// convolution of u when residual_long_conv; then out_linear. No residual connection (the
// reference has none here). Tensors: in_linear.*, short_filter.{weight [3d, 1, 3], bias},
// filter_fn.*, filter_fn2.*, out_linear.*, layernorm.* (training additions).
class MonarchMixerSequenceMixing : public Module {
 public:
  MonarchMixerSequenceMixing(int64_t d_model, const Key& key, MonarchMixerOptions options = {});
  Tensor forward(const Tensor& u, const Scope& s) const override;
  using Module::forward;

 private:
  int64_t d_;
  MonarchMixerOptions options_;
  std::shared_ptr<Module> in_linear_, out_linear_, layernorm_;
  std::shared_ptr<HyenaFilter> filter_, filter2_;
};

// An M2-BERT model's configuration, in the reference's field names (its BertConfig: the
// Hugging Face BERT fields plus M2's). Defaults are the reference's; long_conv_l_max,
// hyena_w and hyena_emb_dim have none there and are required.
struct M2BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  int64_t pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  double hidden_dropout_prob = 0.1;
  bool use_positional_encodings = false;
  bool monarch_mixer_sequence_mixing = true;  // false (attention) is not built here
  bool use_glu_mlp = true;
  bool use_monarch_mlp = false;
  int64_t monarch_mlp_nblocks = 4;
  int64_t long_conv_l_max = 0;
  double hyena_w = 0;
  double hyena_w_mod = 1;
  int64_t hyena_emb_dim = 0;
  int64_t hyena_filter_order = 64;
  bool bidirectional = true;
  bool residual_long_conv = false;
  bool hyena_training_additions = false;

  // From the text of a config.json (fields the model does not use are ignored; a missing
  // required field or a field of the wrong type is a kiln::Error naming it). `what` names
  // the source in errors.
  static M2BertConfig from_json(const std::string& text, const std::string& what = "config");
  // From a config.json file.
  static M2BertConfig load(const std::string& path);
  // The sequence mixer's settings.
  MonarchMixerOptions mixer_options() const;
};

// M2-BERT's MLP on [..., d]: with use_glu_mlp (BertGatedLinearUnitMLP) gated_layers maps d
// to 2 * intermediate (no bias), gelu(first half) * second half, wo back to d; without it
// (BertMLP) gelu of gated_layers' d -> intermediate, then wo. Then layernorm(y + x). The
// layers are BlockdiagLinear with use_monarch_mlp, else Linear. Tensors: gated_layers.*,
// wo.*, layernorm.*.
class M2BertMLP : public Module {
 public:
  M2BertMLP(const M2BertConfig& config, const Key& key);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int64_t intermediate_;
  bool glu_;
};

// One M2-BERT layer (the reference's BertLayer with monarch_mixer_sequence_mixing): the
// sequence mixer ("attention") then the MLP ("mlp"), on [b, L, d].
class M2BertLayer : public Module {
 public:
  M2BertLayer(const M2BertConfig& config, const Key& key);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;
};

// The embeddings: word_embeddings(ids) + token_type_embeddings(types) (+
// position_embeddings of positions 0..L-1 when use_positional_encodings, whose
// position_ids [1, max_position_embeddings] i64 is a buffer of the state_dict, as the
// reference's), then LayerNorm and dropout.
class M2BertEmbeddings : public Module {
 public:
  M2BertEmbeddings(const M2BertConfig& config, const Key& key);
  // Token types all 0.
  Tensor forward(const Tensor& input_ids, const Scope& s) const override;
  Tensor embed(const Tensor& input_ids, const Tensor& token_type_ids, const Scope& s) const;
  using Module::forward;

 private:
  bool positions_;
  int64_t max_positions_;
};

// The M2-BERT encoder (the reference's BertModel without its pooler): embeddings, then
// encoder.layer.0 .. N-1. Input ids [b, L] (integers, L <= long_conv_l_max and, with
// positional encodings, <= max_position_embeddings), the last hidden states [b, L, d].
// The sequence mixers read every position: as in the reference's dense M2 path, an
// attention mask would change nothing inside the encoder, so none is taken; padding
// tokens are part of the sequence.
class M2BertModel : public Module {
 public:
  M2BertModel(const M2BertConfig& config, const Key& key);
  // Token types all 0.
  Tensor forward(const Tensor& input_ids, const Scope& s) const override;
  // With token types [b, L], with the module's tensors or the call's.
  Tensor operator()(const Tensor& input_ids, const Tensor& token_type_ids,
                    const CallOptions& options = {});
  Tensor forward(const Params& params, const Tensor& input_ids, const Tensor& token_type_ids,
                 CallOptions options = {}) const;
  using Module::forward;
  using Module::operator();
  const M2BertConfig& config() const { return config_; }

 private:
  Tensor run(const Tensor& input_ids, const std::optional<Tensor>& token_type_ids,
             const Scope& s) const;
  M2BertConfig config_;
  std::shared_ptr<M2BertEmbeddings> embeddings_;
  std::shared_ptr<Module> encoder_;
};

}  // namespace kiln::nn
