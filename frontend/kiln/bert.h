// The BERT encoder of Hugging Face's BertModel as a kiln::nn module: embeddings (word,
// position, token type, LayerNorm), N layers of self-attention with separate query / key /
// value projections, the intermediate activation and the residual LayerNorms, and the
// optional pooler, built from a config.json and named exactly as a checkpoint's tensors
// ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
// "pooler.dense.bias", ...), so that a model.safetensors loads as it is. Sentence
// embeddings as sentence-transformers computes them: mean pooling over the attention mask,
// then optional L2 normalization. Inference only (no dropout). A forward pass is lazy graph
// code: one graph, evaluated when its value is read.
// Guide: docs/bert.md. Tests: tests/frontend/minilm_test.cpp.
#pragma once

#include <kiln/nn.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kiln::nn {

// The fields of a Hugging Face BERT config.json that shape the encoder; a field the file
// leaves out keeps BertConfig's default (those of transformers' BertConfig).
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  // "gelu" (exact, with erf), "gelu_new" / "gelu_pytorch_tanh" (the tanh form), "relu",
  // "silu" / "swish".
  std::string hidden_act = "gelu";

  // The config of a config.json's text; `what` names the source in errors. Refused, with
  // an Error naming the field: a field of the wrong type, sizes that are not positive,
  // hidden_size not a multiple of num_attention_heads, an unknown hidden_act, a
  // position_embedding_type other than "absolute", a model_type other than "bert".
  static BertConfig parse(const std::string& json_text, const std::string& what = "config");
  // The config of a config.json file.
  static BertConfig load(const std::string& path);
  // Throws the Error parse() would for a config with bad values.
  void validate(const std::string& what = "BertConfig") const;
};

class BertEmbeddings;
class BertEncoder;

// BertModel: input ids [N, L] (integers) -> the last hidden state [N, L, hidden_size].
// Weights start as transformers' _init_weights does: N(0, 0.02) for the projections and
// embeddings, zero biases, LayerNorms ones and zeros.
class BertModel : public Module {
 public:
  BertModel(const BertConfig& config, const Key& key, bool add_pooling_layer = true,
            DType dtype = DType::F32);

  // The last hidden state of `input_ids` [N, L] with every position attended to and token
  // type 0.
  Tensor forward(const Tensor& input_ids, const Scope& s) const override;
  // The last hidden state with an attention mask [N, L] (1 or true: a token, 0 or false:
  // padding; any dtype) and token types [N, L] (zeros when omitted). Padding keys get the
  // lowest finite score, as in transformers: a row of padding attends uniformly, no NaN.
  Tensor operator()(const Tensor& input_ids, const std::optional<Tensor>& attention_mask,
                    const std::optional<Tensor>& token_type_ids = std::nullopt,
                    const CallOptions& options = {}) const;
  // The functional form (as Module::forward(params, x)).
  Tensor forward(const Params& params, const Tensor& input_ids,
                 const std::optional<Tensor>& attention_mask,
                 const std::optional<Tensor>& token_type_ids = std::nullopt,
                 CallOptions options = {}) const;
  using Module::forward;
  using Module::operator();

  // The pooler's output tanh(dense(h[:, 0])) [N, hidden_size] of a last hidden state
  // (kiln::Error when the model was built without the pooling layer).
  Tensor pooler_output(const Tensor& last_hidden_state, const CallOptions& options = {}) const;

  const BertConfig& config() const { return config_; }

 private:
  Tensor encode(const Tensor& input_ids, const std::optional<Tensor>& attention_mask,
                const std::optional<Tensor>& token_type_ids, const Scope& s) const;
  BertConfig config_;
  std::shared_ptr<BertEmbeddings> embeddings_;
  std::shared_ptr<BertEncoder> encoder_;
  bool pooler_;
};

// The checkpoint `state` (a model.safetensors' tensors, or any state_dict of BertModel or
// BertForXxx) loaded into `model`: a "bert." prefix is removed; the heads of task models
// ("cls.", "classifier.", "qa_outputs." names) and embeddings.position_ids /
// embeddings.token_type_ids (constant buffers of older checkpoints) are left out; a
// checkpoint without pooler weights loads into a model built with add_pooling_layer =
// false. Then Module::load_state_dict(renamed, strict).
void load_bert_state_dict(BertModel& model, const Params& state, bool strict = true);

// A BERT encoder read from a folder holding config.json and model.safetensors (a Hugging
// Face model folder), with the pooler when the checkpoint has one, in eval mode.
BertModel load_bert(const std::string& folder);

// sentence-transformers' mean pooling: the mean of hidden [N, L, H] over the positions
// where attention_mask [N, L] is non-zero, [N, H] (a row without any token gives zeros).
Tensor mean_pooling(const Tensor& hidden, const Tensor& attention_mask);
// x / max(||x||_2, eps) along `axis` (torch.nn.functional.normalize).
Tensor l2_normalize(const Tensor& x, int axis = -1, double eps = 1e-12);

// Sentence embeddings [N, H]: the model's last hidden state, mean-pooled over the mask, then
// L2-normalized when `normalize` (all-MiniLM-L6-v2's Normalize module).
Tensor sentence_embeddings(const BertModel& model, const Tensor& input_ids,
                           const Tensor& attention_mask, bool normalize = true);

}  // namespace kiln::nn
