// The BERT encoder of kiln::nn (kiln/bert.h): the config.json reader, the modules of
// transformers' BertModel under their checkpoint names, loading a checkpoint's tensors into
// them, and sentence-transformers' pooling. Everything is composed from kiln's ops, so a
// forward pass is one lazy graph. Tests: tests/frontend/minilm_test.cpp.
#include <kiln/bert.h>
#include <kiln/io.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/files.h"

namespace kiln::nn {

// ---------------------------------------------------------------------------------------
// The config.

namespace {

using nlohmann::json;

void read_int(const json& j, const char* field, int64_t& out, const std::string& what) {
  if (!j.contains(field)) return;
  const json& v = j.at(field);
  if (!v.is_number_integer())
    throw Error(what + ": " + field + " must be an integer, got " + v.dump());
  out = v.get<int64_t>();
}

void read_string(const json& j, const char* field, std::string& out, const std::string& what) {
  if (!j.contains(field)) return;
  const json& v = j.at(field);
  if (!v.is_string()) throw Error(what + ": " + field + " must be a string, got " + v.dump());
  out = v.get<std::string>();
}

// The activation of the intermediate layer, by transformers' ACT2FN name.
UnaryFunction activation(const std::string& name) {
  if (name == "gelu") return [](const Tensor& x) { return gelu(x); };
  if (name == "gelu_new" || name == "gelu_pytorch_tanh")
    return [](const Tensor& x) { return gelu(x, true); };
  if (name == "relu") return [](const Tensor& x) { return relu(x); };
  if (name == "silu" || name == "swish") return [](const Tensor& x) { return silu(x); };
  return nullptr;
}

}  // namespace

void BertConfig::validate(const std::string& what) const {
  const std::pair<const char*, int64_t> sizes[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"intermediate_size", intermediate_size},
      {"max_position_embeddings", max_position_embeddings},
      {"type_vocab_size", type_vocab_size}};
  for (const auto& [field, value] : sizes)
    if (value <= 0)
      throw Error(what + ": " + field + " must be positive, got " + std::to_string(value));
  if (hidden_size % num_attention_heads)
    throw Error(what + ": hidden_size " + std::to_string(hidden_size) +
                " is not a multiple of num_attention_heads " + std::to_string(num_attention_heads));
  if (!(layer_norm_eps > 0))
    throw Error(what + ": layer_norm_eps must be positive, got " + std::to_string(layer_norm_eps));
  if (!activation(hidden_act))
    throw Error(what + ": hidden_act \"" + hidden_act +
                "\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu, swish)");
}

BertConfig BertConfig::parse(const std::string& json_text, const std::string& what) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(what + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(what + ": a config must be a JSON object");
  BertConfig c;
  read_int(j, "vocab_size", c.vocab_size, what);
  read_int(j, "hidden_size", c.hidden_size, what);
  read_int(j, "num_hidden_layers", c.num_hidden_layers, what);
  read_int(j, "num_attention_heads", c.num_attention_heads, what);
  read_int(j, "intermediate_size", c.intermediate_size, what);
  read_int(j, "max_position_embeddings", c.max_position_embeddings, what);
  read_int(j, "type_vocab_size", c.type_vocab_size, what);
  read_string(j, "hidden_act", c.hidden_act, what);
  if (j.contains("layer_norm_eps")) {
    const json& eps = j.at("layer_norm_eps");
    if (!eps.is_number())
      throw Error(what + ": layer_norm_eps must be a number, got " + eps.dump());
    c.layer_norm_eps = eps.get<double>();
  }
  // Fields that would change the computation in ways this encoder does not implement.
  std::string position = "absolute", model_type = "bert";
  read_string(j, "position_embedding_type", position, what);
  read_string(j, "model_type", model_type, what);
  if (position != "absolute")
    throw Error(what + ": position_embedding_type \"" + position +
                "\" is not supported (only \"absolute\")");
  if (model_type != "bert")
    throw Error(what + ": model_type \"" + model_type + "\" is not a BERT model");
  c.validate(what);
  return c;
}

BertConfig BertConfig::load(const std::string& path) {
  return parse(frontend::read_file(path), path);
}

// ---------------------------------------------------------------------------------------
// The modules, named as transformers names them. Each has the single-input forward of
// Module (what it does without a mask); the layers take the mask through their own calls.

namespace {

// transformers' _init_weights: N(0, 0.02) weights and zero biases.
constexpr double kInitStddev = 0.02;

std::shared_ptr<Linear> bert_linear(int64_t in, int64_t out, const Key& key, DType dtype) {
  auto linear = std::make_shared<Linear>(in, out, key, true, dtype);
  linear->load_state_dict(
      {{"weight", normal(key, {out, in}, dtype, 0.0, kInitStddev)}, {"bias", zeros({out}, dtype)}});
  return linear;
}

std::shared_ptr<Embedding> bert_embedding(int64_t num, int64_t dim, const Key& key, DType dtype) {
  auto embedding = std::make_shared<Embedding>(num, dim, key, dtype);
  embedding->load_state_dict({{"weight", normal(key, {num, dim}, dtype, 0.0, kInitStddev)}});
  return embedding;
}

// Calls a child module by name with the scope of that name.
Tensor apply_child(const Module& child, const char* name, const Tensor& x, const Scope& s) {
  return child.forward(x, s.child(name));
}

// The lowest finite value of a floating dtype: the score of a masked key (transformers'
// torch.finfo(dtype).min), so that a row of padding stays finite.
double lowest_finite(DType dtype) {
  switch (dtype) {
    case DType::F16: return -65504.0;
    case DType::BF16: return -3.3895313892515355e38;
    case DType::F64: return std::numeric_limits<double>::lowest();
    default: return std::numeric_limits<float>::lowest();
  }
}

// A module that names parts of a layer whose computation its parent does (BertAttention,
// BertIntermediate, BertPooler, the residual norms): its own forward is refused.
class BertPart : public Module {
 public:
  void add(const std::string& name, std::shared_ptr<Module> child) {
    register_module(name, std::move(child));
  }
  Tensor forward(const Tensor& x, const Scope&) const override {
    throw Error("BertModel: a part of a layer runs only inside its layer, got " + x.type().str());
  }
};

// dense, then LayerNorm(dense(h) + residual): BertSelfOutput ("attention.output") and
// BertOutput ("output").
class BertResidualNorm : public BertPart {
 public:
  BertResidualNorm(int64_t in, const BertConfig& c, const Key& key, DType dtype)
      : dense_(bert_linear(in, c.hidden_size, key, dtype)),
        norm_(std::make_shared<LayerNorm>(Shape{c.hidden_size}, c.layer_norm_eps, true, dtype)) {
    add("dense", dense_);
    add("LayerNorm", norm_);
  }
  Tensor apply(const Tensor& h, const Tensor& residual, const Scope& s) const {
    return apply_child(*norm_, "LayerNorm", apply_child(*dense_, "dense", h, s) + residual, s);
  }

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> norm_;
};

// BertSelfAttention ("attention.self"): multi-head scaled dot products with separate query,
// key and value projections.
class BertSelfAttention : public Module {
 public:
  BertSelfAttention(const BertConfig& c, const Key& key, DType dtype)
      : heads_(c.num_attention_heads) {
    std::vector<Key> keys = split(key, 3);
    const char* names[] = {"query", "key", "value"};
    for (int i = 0; i < 3; ++i)
      register_module(names[i], bert_linear(c.hidden_size, c.hidden_size, keys[i], dtype));
  }
  Tensor forward(const Tensor& x, const Scope& s) const override { return attend(x, {}, s); }
  // `bias` [N, 1, 1, L]: added to every query's scores (0 for a token, the lowest finite
  // value for padding).
  Tensor attend(const Tensor& x, const std::optional<Tensor>& bias, const Scope& s) const {
    const int64_t n = x.shape(0), l = x.shape(1), e = x.shape(2), d = e / heads_;
    // [N, L, E] -> [N, heads, L, d].
    auto project = [&](int i) {
      const auto& [name, linear] = children()[i];
      Tensor y = apply_child(*linear, name.c_str(), x, s);
      return permute(reshape(y, {n, l, heads_, d}), {0, 2, 1, 3});
    };
    Tensor q = project(0), k = project(1), v = project(2);
    Tensor scores = matmul(q, swapaxes(k, -1, -2)) * (1.0 / std::sqrt(static_cast<double>(d)));
    if (bias) scores = scores + *bias;
    Tensor heads = matmul(softmax(scores, -1), v);            // [N, heads, L, d]
    return reshape(permute(heads, {0, 2, 1, 3}), {n, l, e});  // [N, L, E]
  }

 private:
  int64_t heads_;
};

// BertLayer ("encoder.layer.i"): attention.self, attention.output, intermediate.dense with
// the activation, output.
class BertLayer : public Module {
 public:
  BertLayer(const BertConfig& c, const Key& key, DType dtype) : act_(activation(c.hidden_act)) {
    std::vector<Key> keys = split(key, 4);
    self_ = std::make_shared<BertSelfAttention>(c, keys[0], dtype);
    self_output_ = std::make_shared<BertResidualNorm>(c.hidden_size, c, keys[1], dtype);
    attention_ = std::make_shared<BertPart>();
    attention_->add("self", self_);
    attention_->add("output", self_output_);
    register_module("attention", attention_);
    intermediate_ = std::make_shared<BertPart>();
    intermediate_->add("dense", bert_linear(c.hidden_size, c.intermediate_size, keys[2], dtype));
    register_module("intermediate", intermediate_);
    output_ = std::make_shared<BertResidualNorm>(c.intermediate_size, c, keys[3], dtype);
    register_module("output", output_);
  }
  Tensor forward(const Tensor& x, const Scope& s) const override { return apply(x, {}, s); }
  Tensor apply(const Tensor& x, const std::optional<Tensor>& bias, const Scope& s) const {
    const Scope attention = s.child("attention");
    Tensor a = self_->attend(x, bias, attention.child("self"));
    a = self_output_->apply(a, x, attention.child("output"));
    const Scope intermediate = s.child("intermediate");
    Tensor h = act_(apply_child(*intermediate_->children()[0].second, "dense", a, intermediate));
    return output_->apply(h, a, s.child("output"));
  }

 private:
  UnaryFunction act_;
  std::shared_ptr<BertSelfAttention> self_;
  std::shared_ptr<BertResidualNorm> self_output_, output_;
  std::shared_ptr<BertPart> attention_, intermediate_;
};

}  // namespace

// BertEmbeddings ("embeddings"): word + position + token type embeddings, then LayerNorm.
class BertEmbeddings : public Module {
 public:
  BertEmbeddings(const BertConfig& c, const Key& key, DType dtype) {
    std::vector<Key> keys = split(key, 3);
    register_module("word_embeddings", bert_embedding(c.vocab_size, c.hidden_size, keys[0], dtype));
    register_module("position_embeddings",
                    bert_embedding(c.max_position_embeddings, c.hidden_size, keys[1], dtype));
    register_module("token_type_embeddings",
                    bert_embedding(c.type_vocab_size, c.hidden_size, keys[2], dtype));
    register_module("LayerNorm", std::make_shared<LayerNorm>(Shape{c.hidden_size}, c.layer_norm_eps,
                                                             true, dtype));
  }
  Tensor forward(const Tensor& ids, const Scope& s) const override { return embed(ids, {}, s); }
  Tensor embed(const Tensor& ids, const std::optional<Tensor>& token_types, const Scope& s) const {
    const int64_t l = ids.shape(1);
    Tensor words = take(s.child("word_embeddings").get("weight"), ids, 0);
    // Positions 0..L-1 are the table's first rows; without token types every token is type
    // 0 (transformers' zero token_type_ids buffer).
    Tensor positions = slice(s.child("position_embeddings").get("weight"), 0, 0, l);
    Tensor types = token_types
                       ? take(s.child("token_type_embeddings").get("weight"), *token_types, 0)
                       : slice(s.child("token_type_embeddings").get("weight"), 0, 0, 1);
    return apply_child(*children()[3].second, "LayerNorm", words + positions + types, s);
  }
};

// BertEncoder ("encoder"): the layers "encoder.layer.0", "encoder.layer.1", ...
class BertEncoder : public Module {
 public:
  BertEncoder(const BertConfig& c, const Key& key, DType dtype) {
    auto list = std::make_shared<Sequential>();
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      layers_.push_back(
          std::make_shared<BertLayer>(c, fold_in(key, static_cast<uint64_t>(i)), dtype));
      list->append(layers_.back());
    }
    register_module("layer", std::move(list));
  }
  Tensor forward(const Tensor& x, const Scope& s) const override { return apply(x, {}, s); }
  Tensor apply(const Tensor& x, const std::optional<Tensor>& bias, const Scope& s) const {
    const Scope list = s.child("layer");
    Tensor h = x;
    for (size_t i = 0; i < layers_.size(); ++i)
      h = layers_[i]->apply(h, bias, list.child(std::to_string(i)));
    return h;
  }

 private:
  std::vector<std::shared_ptr<BertLayer>> layers_;
};

// ---------------------------------------------------------------------------------------
// BertModel.

BertModel::BertModel(const BertConfig& config, const Key& key, bool add_pooling_layer, DType dtype)
    : config_(config), pooler_(add_pooling_layer) {
  config_.validate();
  std::vector<Key> keys = split(key, 3);
  embeddings_ = std::make_shared<BertEmbeddings>(config_, keys[0], dtype);
  encoder_ = std::make_shared<BertEncoder>(config_, keys[1], dtype);
  register_module("embeddings", embeddings_);
  register_module("encoder", encoder_);
  if (pooler_) {
    auto pooler = std::make_shared<BertPart>();
    pooler->add("dense", bert_linear(config_.hidden_size, config_.hidden_size, keys[2], dtype));
    register_module("pooler", std::move(pooler));
  }
}

Tensor BertModel::encode(const Tensor& input_ids, const std::optional<Tensor>& attention_mask,
                         const std::optional<Tensor>& token_type_ids, const Scope& s) const {
  if (input_ids.ndim() != 2 || !is_integer(input_ids.dtype()))
    throw ShapeError("BertModel: input_ids " + input_ids.type().str() +
                     " must be integers [batch, length]");
  const int64_t n = input_ids.shape(0), l = input_ids.shape(1);
  if (l > config_.max_position_embeddings)
    throw ShapeError("BertModel: input_ids " + input_ids.type().str() + " is longer than " +
                     "max_position_embeddings " + std::to_string(config_.max_position_embeddings));
  auto check_like_ids = [&](const char* what, const Tensor& t) {
    if (t.shape() != input_ids.shape())
      throw ShapeError(std::string("BertModel: ") + what + " " + t.type().str() +
                       " must have input_ids' shape " + input_ids.type().str());
  };
  if (token_type_ids) {
    check_like_ids("token_type_ids", *token_type_ids);
    if (!is_integer(token_type_ids->dtype()))
      throw DTypeError("BertModel: token_type_ids " + token_type_ids->type().str() +
                       " must be integers");
  }
  Tensor h = embeddings_->embed(input_ids, token_type_ids, s.child("embeddings"));
  std::optional<Tensor> bias;
  if (attention_mask) {
    check_like_ids("attention_mask", *attention_mask);
    Tensor padding = equal(*attention_mask, 0);
    bias = reshape(cast(where(padding, lowest_finite(h.dtype()), 0.0), h.dtype()), {n, 1, 1, l});
  }
  return encoder_->apply(h, bias, s.child("encoder"));
}

Tensor BertModel::forward(const Tensor& input_ids, const Scope& s) const {
  return encode(input_ids, std::nullopt, std::nullopt, s);
}

Tensor BertModel::operator()(const Tensor& input_ids, const std::optional<Tensor>& attention_mask,
                             const std::optional<Tensor>& token_type_ids,
                             const CallOptions& options) const {
  return call(options, options.updated_buffers,
              [&](const Scope& s) { return encode(input_ids, attention_mask, token_type_ids, s); });
}

Tensor BertModel::forward(const Params& params, const Tensor& input_ids,
                          const std::optional<Tensor>& attention_mask,
                          const std::optional<Tensor>& token_type_ids, CallOptions options) const {
  options.params = params;
  return (*this)(input_ids, attention_mask, token_type_ids, options);
}

Tensor BertModel::pooler_output(const Tensor& last_hidden_state, const CallOptions& options) const {
  if (!pooler_) throw Error("BertModel: built without the pooling layer (add_pooling_layer)");
  return call(options, options.updated_buffers, [&](const Scope& s) {
    Tensor first = squeeze(slice(last_hidden_state, 1, 0, 1), {1});  // [N, H]
    const Scope pooler = s.child("pooler");
    return tanh(matmul(first, swapaxes(pooler.child("dense").get("weight"), 0, 1)) +
                pooler.child("dense").get("bias"));
  });
}

// ---------------------------------------------------------------------------------------
// Checkpoints.

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Tensors of a BERT checkpoint that are not the encoder's: task heads, and the constant
// index buffers that older transformers versions saved.
bool outside_the_encoder(std::string_view name) {
  for (std::string_view head : {"cls.", "classifier.", "qa_outputs."})
    if (starts_with(name, head)) return true;
  return name == "embeddings.position_ids" || name == "embeddings.token_type_ids";
}

}  // namespace

void load_bert_state_dict(BertModel& model, const Params& state, bool strict) {
  Params renamed;
  for (const auto& [name, value] : state) {
    std::string_view local = name;
    if (starts_with(local, "bert.")) local.remove_prefix(5);
    if (outside_the_encoder(local)) continue;
    renamed.emplace(std::string(local), value);
  }
  model.load_state_dict(renamed, strict);
}

BertModel load_bert(const std::string& folder) {
  BertConfig config = BertConfig::load(folder + "/config.json");
  Params state = load_safetensors(folder + "/model.safetensors");
  bool pooler = false;
  for (const auto& [name, value] : state)
    pooler = pooler || starts_with(name, "pooler.") || starts_with(name, "bert.pooler.");
  BertModel model(config, Key(0), pooler);
  load_bert_state_dict(model, state);
  model.eval();
  return model;
}

// ---------------------------------------------------------------------------------------
// Pooling.

Tensor mean_pooling(const Tensor& hidden, const Tensor& attention_mask) {
  if (hidden.ndim() != 3 || attention_mask.ndim() != 2 ||
      attention_mask.shape(0) != hidden.shape(0) || attention_mask.shape(1) != hidden.shape(1))
    throw ShapeError("mean_pooling: hidden " + hidden.type().str() + " must be [N, L, H] and " +
                     "attention_mask " + attention_mask.type().str() + " [N, L]");
  Tensor m = expand_dims(cast(not_equal(attention_mask, 0), hidden.dtype()), {2});  // [N, L, 1]
  // sentence-transformers clamps the token count at 1e-9: a row without tokens gives zeros.
  return sum(hidden * m, 1) / maximum(sum(m, 1), 1e-9);
}

Tensor l2_normalize(const Tensor& x, int axis, double eps) {
  return x / maximum(sqrt(sum(x * x, axis, true)), eps);
}

Tensor sentence_embeddings(const BertModel& model, const Tensor& input_ids,
                           const Tensor& attention_mask, bool normalize) {
  Tensor pooled = mean_pooling(model(input_ids, attention_mask), attention_mask);
  return normalize ? l2_normalize(pooled) : pooled;
}

}  // namespace kiln::nn
