// M2-BERT's layers and encoder (kiln/m2.h) against PyTorch: each layer type and the whole
// encoder of a tiny config with random weights, loaded from the state_dicts in
// tests/fixtures/m2bert/fixtures.safetensors (written by make_fixtures.py there, from a
// PyTorch computation of the same layers), max abs error <= 1e-4 in f32 on every built
// backend; the config reader's errors; the state_dict names.
#include <kiln/m2.h>

#include <algorithm>
#include <cmath>

#include "tests/devices.h"
#include "tests/frontend/test_util.h"

namespace kiln::testing {
namespace {

const std::string kDir = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/m2bert/";

const Params& fixtures() {
  static const Params all = load_safetensors(kDir + "fixtures.safetensors");
  return all;
}

Tensor fixture(const std::string& name) {
  auto it = fixtures().find(name);
  if (it == fixtures().end()) throw Error("no fixture " + name);
  return it->second;
}

// The state_dict of case `c` ("<c>.state.<name>" in the file), by name.
Params state_of(const std::string& c) {
  const std::string prefix = c + ".state.";
  Params out;
  for (const auto& [name, t] : fixtures())
    if (name.rfind(prefix, 0) == 0) out.emplace(name.substr(prefix.size()), t);
  return out;
}

std::vector<std::string> names_of(const Params& p) {
  std::vector<std::string> names;
  for (const auto& [name, t] : p) names.push_back(name);
  return names;
}

// `expr` throws kiln::Error whose message holds `fragment`.
#define EXPECT_ERROR(expr, fragment) expect_error<Error>([&] { (void)(expr); }, {fragment})

nn::M2BertConfig tiny_config() { return nn::M2BertConfig::load(kDir + "config.json"); }

// Evaluates `got` on the current device and checks it against the fixture `want_name`:
// the same shape, max abs error <= 1e-4.
void expect_matches(const Tensor& got, const std::string& want_name) {
  Tensor want = fixture(want_name);
  ASSERT_EQ(got.dtype(), DType::F32) << want_name << ": " << got.type().str();
  ASSERT_EQ(got.shape(), want.shape()) << want_name << ": " << got.type().str();
  const std::vector<float> w = want.to_vector<float>(), g = got.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << want_name << " element " << i;
    worst = std::max(worst, std::abs(static_cast<double>(g[i]) - w[i]));
  }
  EXPECT_LE(worst, 1e-4) << want_name;
}

// A module with the fixture's state (strict: the names and shapes must be the reference's).
template <class M>
M& loaded(M& m, const std::string& c) {
  m.load_state_dict(state_of(c));
  m.eval();
  return m;
}

class M2BertOn : public ::testing::TestWithParam<std::string> {};

TEST_P(M2BertOn, BlockdiagLinearPadsTheFeaturesAndCrops) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  nn::BlockdiagLinear m(10, 14, 4, Key(1));  // blocks of 3 inputs (padded to 12), 4 outputs
  expect_matches(loaded(m, "blockdiag")(fixture("blockdiag.x")), "blockdiag.y");
}

TEST_P(M2BertOn, MonarchLinearMatchesTheDenseProduct) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  nn::MonarchLinear wide(12, 20, 4, Key(1));
  nn::MonarchLinear square(16, 16, 4, Key(2), false);
  const Params st = state_of("monarch_square");
  Tensor y_wide = loaded(wide, "monarch")(fixture("monarch.x"));
  Tensor y_square = loaded(square, "monarch_square")(fixture("monarch_square.x"));
  // The functional form on the same factors.
  Tensor y_functional =
      monarch_multiply(fixture("monarch_square.x"), st.at("blkdiag1"), st.at("blkdiag2"));
  eval(y_wide, y_square, y_functional);  // one graph
  expect_matches(y_wide, "monarch.y");
  expect_matches(y_square, "monarch_square.y");
  expect_matches(y_functional, "monarch_square.y");
}

TEST_P(M2BertOn, GatedMonarchMlp) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  nn::M2BertMLP m(tiny_config(), Key(1));
  expect_matches(loaded(m, "mlp")(fixture("mlp.x")), "mlp.y");
}

TEST_P(M2BertOn, HyenaFilterKernelsAndConvolution) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  const nn::M2BertConfig c = tiny_config();
  nn::HyenaFilter f(c.hidden_size, Key(1),
                    {.emb_dim = c.hyena_emb_dim,
                     .order = c.hyena_filter_order,
                     .seq_len = c.long_conv_l_max,
                     .w = c.hyena_w,
                     .w_mod = c.hyena_w_mod,
                     .bidirectional = true});
  loaded(f, "filter");
  const int64_t length = fixture("filter.x").shape()[2];
  // One graph for the three (the kernels are part of the convolution's graph anyway).
  Tensor k = f.kernel(length), k_rev = f.kernel(length, true), y = f(fixture("filter.x"));
  eval(k, k_rev, y);
  expect_matches(k, "filter.k");
  expect_matches(k_rev, "filter.k_rev");
  expect_matches(y, "filter.y");
}

TEST_P(M2BertOn, BidirectionalMixerWithResidualLongConv) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  const nn::M2BertConfig c = tiny_config();
  nn::MonarchMixerSequenceMixing m(c.hidden_size, Key(1), c.mixer_options());
  expect_matches(loaded(m, "mixer")(fixture("mixer.x")), "mixer.y");
}

TEST_P(M2BertOn, CausalMixerWithTrainingAdditions) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  const nn::M2BertConfig c = tiny_config();
  nn::MonarchMixerOptions o = c.mixer_options();
  o.bidirectional = false;
  o.residual_long_conv = false;
  o.hyena_training_additions = true;
  nn::MonarchMixerSequenceMixing m(c.hidden_size, Key(1), o);
  expect_matches(loaded(m, "mixer_causal")(fixture("mixer_causal.x")), "mixer_causal.y");
}

TEST_P(M2BertOn, Layer) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  nn::M2BertLayer m(tiny_config(), Key(1));
  expect_matches(loaded(m, "layer")(fixture("layer.x")), "layer.y");
}

TEST_P(M2BertOn, EncoderIsOneGraph) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  nn::M2BertModel m(tiny_config(), Key(1));
  loaded(m, "encoder");
  Tensor y = m(fixture("encoder.input_ids"), fixture("encoder.token_type_ids"));
  fixture("encoder.y").to_vector<float>();  // read before counting
  const int64_t before = stats().graphs_run;
  expect_matches(y, "encoder.y");
  EXPECT_EQ(stats().graphs_run - before, 1);
}

INSTANTIATE_TEST_SUITE_P(Devices, M2BertOn, ::testing::Values("reference", "cpu", "opencl"));

TEST(M2Bert, StateDictNamesAreTheReferences) {
  // Every name of the reference's state_dict, no other (load_state_dict is strict), with
  // the Hyena filters' shared sine frequency under each of its positions.
  nn::M2BertModel m(tiny_config(), Key(1));
  EXPECT_EQ(names_of(m.state_dict()), names_of(state_of("encoder")));
  const Params p = m.state_dict();
  EXPECT_TRUE(p.count("encoder.layer.1.attention.filter_fn2.implicit_filter_rev.5.freq"));
  EXPECT_TRUE(p.count("embeddings.position_ids"));
  EXPECT_EQ(p.at("encoder.layer.0.mlp.gated_layers.weight").shape(), (Shape{4, 12, 4}));
  EXPECT_EQ(p.at("encoder.layer.0.mlp.wo.weight").shape(), (Shape{4, 4, 6}));
  EXPECT_EQ(p.at("encoder.layer.0.attention.short_filter.weight").shape(), (Shape{48, 1, 3}));
}

TEST(M2Bert, ConfigReadsTheReferencesFields) {
  const nn::M2BertConfig c = tiny_config();
  EXPECT_EQ(c.hidden_size, 16);
  EXPECT_EQ(c.intermediate_size, 24);
  EXPECT_EQ(c.long_conv_l_max, 32);
  EXPECT_EQ(c.hyena_emb_dim, 5);
  EXPECT_EQ(c.hyena_filter_order, 8);
  EXPECT_DOUBLE_EQ(c.hyena_w, 10);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_TRUE(c.bidirectional && c.residual_long_conv && c.use_monarch_mlp);
  // Defaults are the reference's; unknown fields are ignored.
  const nn::M2BertConfig d = nn::M2BertConfig::from_json(
      R"({"long_conv_l_max": 128, "hyena_w": 10, "hyena_emb_dim": 5, "architectures": []})");
  EXPECT_EQ(d.hidden_size, 768);
  EXPECT_EQ(d.hyena_filter_order, 64);
  EXPECT_TRUE(d.bidirectional);
  EXPECT_FALSE(d.use_monarch_mlp);
}

TEST(M2Bert, ConfigErrorsNameTheField) {
  using C = nn::M2BertConfig;
  EXPECT_ERROR(C::from_json(R"({"hyena_w": 10})", "cfg.json"),
               "cfg.json: missing required field(s): long_conv_l_max, hyena_emb_dim");
  EXPECT_ERROR(
      C::from_json(
          R"({"long_conv_l_max": 8, "hyena_w": 1, "hyena_emb_dim": 3, "hidden_size": "x"})"),
      "config: hidden_size must be an integer, got \"x\"");
  EXPECT_ERROR(
      C::from_json(
          R"({"long_conv_l_max": 8, "hyena_w": 1, "hyena_emb_dim": 3, "bidirectional": 1})"),
      "config: bidirectional must be a boolean, got 1");
  EXPECT_ERROR(C::from_json(R"({"long_conv_l_max": 8, "hyena_w": 1, "hyena_emb_dim": 4})"),
               "config: hyena_emb_dim must be odd and at least 3, got 4");
  EXPECT_ERROR(C::from_json(R"({"long_conv_l_max": 8, "hyena_w": 1, "hyena_emb_dim": 3,
                                    "monarch_mixer_sequence_mixing": false})"),
               "config: monarch_mixer_sequence_mixing is false: that is the attention "
               "encoder, which M2BertModel does not build");
  EXPECT_ERROR(C::from_json("[1, 2]"), "config: the config must be a JSON object");
  EXPECT_ERROR(C::from_json("{"), "config: not JSON");
}

TEST(M2Bert, ShapeErrors) {
  nn::M2BertModel m(tiny_config(), Key(1));
  m.eval();
  EXPECT_ERROR(m(zeros({1, 33}, DType::I64)),
               "M2BertModel: a sequence of 33 tokens; long_conv_l_max is 32");
  EXPECT_ERROR(m(zeros({1, 4})), "M2BertEmbeddings: input_ids f32[1,4] must be integers");
  EXPECT_ERROR(blockdiag_multiply(zeros({2, 10}), zeros({4, 3, 3})),
               "blockdiag_multiply: x f32[2,10] must end in nblocks * p = 12 features");
  EXPECT_ERROR(monarch_multiply(zeros({2, 8}), zeros({2, 4, 4}), zeros({3, 4, 3})),
               "monarch_multiply: the factors f32[2,4,4] and f32[3,4,3] do not chain");
  nn::HyenaFilter causal(4, Key(1), {.seq_len = 8});
  EXPECT_ERROR(causal.kernel(9), "HyenaFilter: a sequence of 9 positions");
  EXPECT_ERROR(causal.kernel(4, true),
               "HyenaFilter: the reverse kernel of a filter that is not bidirectional");
}

}  // namespace
}  // namespace kiln::testing
