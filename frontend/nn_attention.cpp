// MultiheadAttention of kiln::nn (kiln/nn.h): projections, per-head scaled dot products
// with causal, explicit and key-padding masks, softmax and the output projection, composed
// from kiln's ops. Tests: tests/frontend/nn_test.cpp.
#include <kiln/nn.h>

#include <cmath>
#include <limits>

namespace kiln::nn {

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, const Key& key,
                                       bool bias, DType dtype)
    : embed_dim_(embed_dim), heads_(num_heads), bias_(bias) {
  if (embed_dim <= 0 || num_heads <= 0 || embed_dim % num_heads)
    throw Error("MultiheadAttention: embed_dim " + std::to_string(embed_dim) +
                " must be a positive multiple of num_heads " + std::to_string(num_heads));
  std::vector<Key> keys = split(key, 2);
  // xavier_uniform over [3E, E]: fan_in E, fan_out 3E.
  const double bound = std::sqrt(6.0 / static_cast<double>(4 * embed_dim));
  register_parameter("in_proj_weight",
                     uniform(keys[0], {3 * embed_dim, embed_dim}, dtype, -bound, bound));
  if (bias) register_parameter("in_proj_bias", zeros({3 * embed_dim}, dtype));
  auto out = std::make_shared<Linear>(embed_dim, embed_dim, keys[1], bias, dtype);
  if (bias) out->load_state_dict({{"bias", zeros({embed_dim}, dtype)}}, false);
  register_module("out_proj", std::move(out));
}

Tensor MultiheadAttention::forward(const Tensor& x, const Scope& s) const {
  return attend(x, x, x, {}, s);
}

Tensor MultiheadAttention::operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                      const AttentionMask& mask, const CallOptions& options) {
  return call_and_store(options,
                        [&](const Scope& s) { return attend(query, key, value, mask, s); });
}

Tensor MultiheadAttention::forward(const Params& params, const Tensor& query, const Tensor& key,
                                   const Tensor& value, const AttentionMask& mask,
                                   CallOptions options) const {
  options.params = params;
  return call(options, options.updated_buffers,
              [&](const Scope& s) { return attend(query, key, value, mask, s); });
}

Tensor MultiheadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                  const AttentionMask& mask, const Scope& s) const {
  const int64_t e = embed_dim_, d = e / heads_;
  auto check = [&](const char* what, const Tensor& t) {
    if (t.ndim() != 3 || t.shape(2) != e || t.shape(0) != query.shape(0))
      throw ShapeError(std::string("MultiheadAttention: ") + what + " " + t.type().str() +
                       " must be [N, length, " + std::to_string(e) + "] (batch first)");
  };
  check("query", query);
  check("key", key);
  check("value", value);
  if (key.shape(1) != value.shape(1))
    throw ShapeError("MultiheadAttention: key " + key.type().str() + " and value " +
                     value.type().str() + " must have one length");
  const int64_t n = query.shape(0), l = query.shape(1), len = key.shape(1);

  // Rows [i E, (i+1) E) of the packed projection: query, key, value.
  std::vector<Tensor> w = split(s.get("in_proj_weight"), 3, 0);
  std::optional<std::vector<Tensor>> b;
  if (bias_) b = split(s.get("in_proj_bias"), 3, 0);
  // [N, T, E] -> [N, heads, T, d].
  auto project = [&](const Tensor& x, int i) {
    Tensor y = matmul(x, swapaxes(w[i], 0, 1));
    if (b) y = y + (*b)[i];
    return permute(reshape(y, {n, x.shape(1), heads_, d}), {0, 2, 1, 3});
  };
  Tensor q = project(query, 0), k = project(key, 1), v = project(value, 2);
  Tensor scores = matmul(q, swapaxes(k, -1, -2)) * (1.0 / std::sqrt(static_cast<double>(d)));

  std::optional<Tensor> masked;  // bool, true where a score is excluded
  auto add_mask = [&](const Tensor& m) { masked = masked ? logical_or(*masked, m) : m; };
  if (mask.causal) add_mask(greater(reshape(arange(len), {1, len}), reshape(arange(l), {l, 1})));
  if (mask.attn_mask) {
    if (mask.attn_mask->dtype() != DType::Bool)
      throw DTypeError("MultiheadAttention: attn_mask must be bool (true: masked out), got " +
                       mask.attn_mask->type().str());
    add_mask(*mask.attn_mask);
  }
  if (mask.key_padding) {
    const Tensor& kp = *mask.key_padding;
    if (kp.dtype() != DType::Bool || kp.shape() != Shape{n, len})
      throw ShapeError("MultiheadAttention: key_padding " + kp.type().str() + " must be bool[" +
                       std::to_string(n) + "," + std::to_string(len) +
                       "] (true where a key is padding)");
    add_mask(reshape(kp, {n, 1, 1, len}));
  }
  if (masked) scores = where(*masked, -std::numeric_limits<double>::infinity(), scores);

  Tensor heads = matmul(softmax(scores, -1), v);                     // [N, heads, L, d]
  Tensor joined = reshape(permute(heads, {0, 2, 1, 3}), {n, l, e});  // [N, L, E]
  const auto& children = this->children();
  return children[0].second->forward(joined, s.child("out_proj"));
}

}  // namespace kiln::nn
