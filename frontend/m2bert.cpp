// The M2-BERT encoder (kiln/m2.h): its JSON config in the reference's field names, the
// (gated) Monarch MLP, the layer, the embeddings and the model, each a kiln::nn module with
// the reference's tensor names. Tests: tests/frontend/m2bert_test.cpp.
#include <kiln/m2.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "frontend/files.h"

namespace kiln::nn {

// ---------------------------------------------------------------------------------------
// M2BertConfig

namespace {

using nlohmann::json;

// One config field: its name, whether the reference has no default for it, and how it is
// read into the config (false when the JSON value has the wrong type).
struct Field {
  const char* name;
  bool required;
  std::function<bool(const json&, M2BertConfig&)> read;
  const char* type;
};

template <class T>
Field field(const char* name, T M2BertConfig::*member, bool required = false) {
  if constexpr (std::is_same_v<T, bool>) {
    return {name, required,
            [member](const json& v, M2BertConfig& c) {
              if (!v.is_boolean()) return false;
              c.*member = v.get<bool>();
              return true;
            },
            "a boolean"};
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return {name, required,
            [member](const json& v, M2BertConfig& c) {
              // 12.0 is accepted as 12 (configs written from Python floats), 12.5 is not.
              if (v.is_number_integer()) {
                c.*member = v.get<int64_t>();
                return true;
              }
              if (v.is_number_float() &&
                  v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
                c.*member = static_cast<int64_t>(v.get<double>());
                return true;
              }
              return false;
            },
            "an integer"};
  } else {
    return {name, required,
            [member](const json& v, M2BertConfig& c) {
              if (!v.is_number()) return false;
              c.*member = v.get<double>();
              return true;
            },
            "a number"};
  }
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      field("vocab_size", &M2BertConfig::vocab_size),
      field("hidden_size", &M2BertConfig::hidden_size),
      field("num_hidden_layers", &M2BertConfig::num_hidden_layers),
      field("intermediate_size", &M2BertConfig::intermediate_size),
      field("max_position_embeddings", &M2BertConfig::max_position_embeddings),
      field("type_vocab_size", &M2BertConfig::type_vocab_size),
      field("layer_norm_eps", &M2BertConfig::layer_norm_eps),
      field("hidden_dropout_prob", &M2BertConfig::hidden_dropout_prob),
      field("use_positional_encodings", &M2BertConfig::use_positional_encodings),
      field("monarch_mixer_sequence_mixing", &M2BertConfig::monarch_mixer_sequence_mixing),
      field("use_glu_mlp", &M2BertConfig::use_glu_mlp),
      field("use_monarch_mlp", &M2BertConfig::use_monarch_mlp),
      field("monarch_mlp_nblocks", &M2BertConfig::monarch_mlp_nblocks),
      field("long_conv_l_max", &M2BertConfig::long_conv_l_max, true),
      field("hyena_w", &M2BertConfig::hyena_w, true),
      field("hyena_w_mod", &M2BertConfig::hyena_w_mod),
      field("hyena_emb_dim", &M2BertConfig::hyena_emb_dim, true),
      field("hyena_filter_order", &M2BertConfig::hyena_filter_order),
      field("bidirectional", &M2BertConfig::bidirectional),
      field("residual_long_conv", &M2BertConfig::residual_long_conv),
      field("hyena_training_additions", &M2BertConfig::hyena_training_additions),
  };
  return table;
}

void check_config(const M2BertConfig& c, const std::string& what) {
  if (!c.monarch_mixer_sequence_mixing)
    throw Error(what +
                ": monarch_mixer_sequence_mixing is false: that is the attention "
                "encoder, which M2BertModel does not build");
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", c.type_vocab_size},
      {"monarch_mlp_nblocks", c.monarch_mlp_nblocks},
      {"long_conv_l_max", c.long_conv_l_max},
      {"hyena_filter_order", c.hyena_filter_order}};
  for (const auto& [name, v] : positive)
    if (v <= 0) throw Error(what + ": " + name + " must be positive, got " + std::to_string(v));
  if (c.hyena_emb_dim < 3 || c.hyena_emb_dim % 2 == 0)
    throw Error(what + ": hyena_emb_dim must be odd and at least 3, got " +
                std::to_string(c.hyena_emb_dim));
}

}  // namespace

M2BertConfig M2BertConfig::from_json(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(what + ": not JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(what + ": the config must be a JSON object");
  M2BertConfig c;
  std::string missing;
  for (const Field& f : fields()) {
    auto it = j.find(f.name);
    if (it == j.end() || it->is_null()) {
      if (f.required) missing += std::string(missing.empty() ? "" : ", ") + f.name;
      continue;
    }
    if (!f.read(*it, c))
      throw Error(what + ": " + f.name + " must be " + f.type + ", got " + it->dump());
  }
  if (!missing.empty()) throw Error(what + ": missing required field(s): " + missing);
  check_config(c, what);
  return c;
}

M2BertConfig M2BertConfig::load(const std::string& path) {
  return from_json(frontend::read_file(path), path);
}

MonarchMixerOptions M2BertConfig::mixer_options() const {
  return {.l_max = long_conv_l_max,
          .bidirectional = bidirectional,
          .hyena_w = hyena_w,
          .hyena_w_mod = hyena_w_mod,
          .hyena_emb_dim = hyena_emb_dim,
          .hyena_filter_order = hyena_filter_order,
          .residual_long_conv = residual_long_conv,
          .hyena_training_additions = hyena_training_additions};
}

// ---------------------------------------------------------------------------------------
// The MLP and the layer

M2BertMLP::M2BertMLP(const M2BertConfig& config, const Key& key)
    : intermediate_(config.intermediate_size), glu_(config.use_glu_mlp) {
  std::vector<Key> keys = split(key, 2);
  auto linear = [&](int64_t in, int64_t out, const Key& k, bool bias) -> std::shared_ptr<Module> {
    if (config.use_monarch_mlp)
      return std::make_shared<BlockdiagLinear>(in, out, config.monarch_mlp_nblocks, k, bias);
    return std::make_shared<Linear>(in, out, k, bias);
  };
  const int64_t d = config.hidden_size, hidden = (glu_ ? 2 : 1) * intermediate_;
  register_module("gated_layers", linear(d, hidden, keys[0], false));
  register_module("dropout", std::make_shared<Dropout>(config.hidden_dropout_prob));
  register_module("wo", linear(intermediate_, d, keys[1], true));
  register_module("layernorm", std::make_shared<LayerNorm>(Shape{d}, config.layer_norm_eps));
}

Tensor M2BertMLP::forward(const Tensor& x, const Scope& s) const {
  auto child = [&](size_t i) -> const Module& { return *children()[i].second; };
  Tensor h = child(0).forward(x, s.child("gated_layers"));
  const int last = static_cast<int>(h.ndim()) - 1;
  h = glu_ ? gelu(slice(h, last, 0, intermediate_)) * slice(h, last, intermediate_, std::nullopt)
           : gelu(h);
  h = child(1).forward(h, s.child("dropout"));
  h = child(2).forward(h, s.child("wo"));
  return child(3).forward(h + x, s.child("layernorm"));
}

M2BertLayer::M2BertLayer(const M2BertConfig& config, const Key& key) {
  std::vector<Key> keys = split(key, 2);
  register_module("attention", std::make_shared<MonarchMixerSequenceMixing>(
                                   config.hidden_size, keys[0], config.mixer_options()));
  register_module("mlp", std::make_shared<M2BertMLP>(config, keys[1]));
}

Tensor M2BertLayer::forward(const Tensor& x, const Scope& s) const {
  Tensor mixed = children()[0].second->forward(x, s.child("attention"));
  return children()[1].second->forward(mixed, s.child("mlp"));
}

// ---------------------------------------------------------------------------------------
// The embeddings and the model

M2BertEmbeddings::M2BertEmbeddings(const M2BertConfig& config, const Key& key)
    : positions_(config.use_positional_encodings), max_positions_(config.max_position_embeddings) {
  std::vector<Key> keys = split(key, 3);
  const int64_t d = config.hidden_size;
  register_module("word_embeddings", std::make_shared<Embedding>(config.vocab_size, d, keys[0]));
  if (positions_) {
    register_module("position_embeddings",
                    std::make_shared<Embedding>(config.max_position_embeddings, d, keys[1]));
    register_buffer("position_ids", reshape(arange(config.max_position_embeddings, DType::I64),
                                            {1, config.max_position_embeddings}));
  }
  register_module("token_type_embeddings",
                  std::make_shared<Embedding>(config.type_vocab_size, d, keys[2]));
  register_module("LayerNorm", std::make_shared<LayerNorm>(Shape{d}, config.layer_norm_eps));
  register_module("dropout", std::make_shared<Dropout>(config.hidden_dropout_prob));
}

Tensor M2BertEmbeddings::embed(const Tensor& ids, const Tensor& types, const Scope& s) const {
  if (ids.ndim() != 2 || !is_integer(ids.dtype()))
    throw ShapeError("M2BertEmbeddings: input_ids " + ids.type().str() +
                     " must be integers [batch, L]");
  if (types.shape() != ids.shape())
    throw ShapeError("M2BertEmbeddings: token_type_ids " + types.type().str() +
                     " must have input_ids' shape " + ids.type().str());
  const int64_t length = ids.shape()[1];
  auto child = [&](const std::string& name) -> const Module& {
    for (const auto& [n, m] : children())
      if (n == name) return *m;
    throw Error("M2BertEmbeddings: no child " + name);
  };
  Tensor e = child("word_embeddings").forward(ids, s.child("word_embeddings")) +
             child("token_type_embeddings").forward(types, s.child("token_type_embeddings"));
  if (positions_) {
    if (length > max_positions_)
      throw ShapeError("M2BertEmbeddings: a sequence of " + std::to_string(length) +
                       " tokens; max_position_embeddings is " + std::to_string(max_positions_));
    Tensor ids_at = slice(s.get("position_ids"), 1, 0, length);
    e = e + child("position_embeddings").forward(ids_at, s.child("position_embeddings"));
  }
  e = child("LayerNorm").forward(e, s.child("LayerNorm"));
  return child("dropout").forward(e, s.child("dropout"));
}

Tensor M2BertEmbeddings::forward(const Tensor& ids, const Scope& s) const {
  return embed(ids, zeros_like(ids, DType::I64), s);
}

namespace {

// The reference's BertEncoder: the layers, in order, under `layer` (encoder.layer.N.*).
class Encoder : public Module {
 public:
  explicit Encoder(std::shared_ptr<Sequential> layers) : layers_(std::move(layers)) {
    register_module("layer", layers_);
  }
  Tensor forward(const Tensor& x, const Scope& s) const override {
    return layers_->forward(x, s.child("layer"));
  }

 private:
  std::shared_ptr<Sequential> layers_;
};

}  // namespace

M2BertModel::M2BertModel(const M2BertConfig& config, const Key& key) : config_(config) {
  check_config(config, "M2BertModel");
  std::vector<Key> keys = split(key, static_cast<int>(config.num_hidden_layers + 1));
  embeddings_ = std::make_shared<M2BertEmbeddings>(config, keys[0]);
  register_module("embeddings", embeddings_);
  auto layers = std::make_shared<Sequential>();
  for (int64_t i = 0; i < config.num_hidden_layers; ++i)
    layers->append(std::make_shared<M2BertLayer>(config, keys[static_cast<size_t>(i + 1)]));
  encoder_ = std::make_shared<Encoder>(layers);
  register_module("encoder", encoder_);
}

Tensor M2BertModel::run(const Tensor& ids, const std::optional<Tensor>& types,
                        const Scope& s) const {
  if (ids.ndim() == 2 && ids.shape()[1] > config_.long_conv_l_max)
    throw ShapeError("M2BertModel: a sequence of " + std::to_string(ids.shape()[1]) +
                     " tokens; long_conv_l_max is " + std::to_string(config_.long_conv_l_max));
  Tensor h = types ? embeddings_->embed(ids, *types, s.child("embeddings"))
                   : embeddings_->forward(ids, s.child("embeddings"));
  return encoder_->forward(h, s.child("encoder"));
}

Tensor M2BertModel::forward(const Tensor& ids, const Scope& s) const {
  return run(ids, std::nullopt, s);
}

Tensor M2BertModel::operator()(const Tensor& ids, const Tensor& types, const CallOptions& options) {
  return call_and_store(options, [&](const Scope& s) { return run(ids, types, s); });
}

Tensor M2BertModel::forward(const Params& params, const Tensor& ids, const Tensor& types,
                            CallOptions options) const {
  options.params = params;
  return call(options, options.updated_buffers, [&](const Scope& s) { return run(ids, types, s); });
}

}  // namespace kiln::nn
