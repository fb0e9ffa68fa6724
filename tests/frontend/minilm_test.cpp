// The BERT encoder (kiln/bert.h). A tiny BERT with random weights, committed under
// tests/fixtures/minilm/tiny/ as a BertForMaskedLM checkpoint ("bert." prefix, a "cls."
// head, the position_ids buffer): its last hidden state, pooler output and mean-pooled
// embeddings against PyTorch's, and on every built device against the reference evaluator,
// with padding and two token types, as one graph; its state_dict names and shapes against
// the checkpoint's; the config and loading errors. all-MiniLM-L6-v2's real weights
// (fetched by scripts/setup.sh): the mean-pooled sentence embeddings of eight tokenized
// sentences against PyTorch's, cosine similarity >= 0.99999 on every built device; skipped,
// saying why, when the weights were not fetched. The fixtures come from
// tests/fixtures/minilm/make_fixtures.py.
#include <kiln/bert.h>
#include <kiln/io.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"
#include "tests/devices.h"

namespace kiln {
namespace {

using testing::expect_error;

const std::string kFixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/minilm";

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

// max |got - want| over all elements (the sizes must match).
double max_abs_difference(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double d = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    d = std::max(d, std::abs(static_cast<double>(got[i]) - want[i]));
  return d;
}

// The cosine similarity of rows `row` of two [N, H] matrices given as flat vectors.
double row_cosine(const std::vector<float>& a, const std::vector<float>& b, size_t h, size_t row) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = row * h; i < (row + 1) * h; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// ---------------------------------------------------------------------------------------
// The tiny BERT.

struct TinyOutputs {
  std::vector<float> last_hidden_state, pooler_output, mean_pooled;
};

// The tiny model's three outputs for the committed inputs, evaluated together (one graph).
TinyOutputs run_tiny(const nn::BertModel& model, const std::map<std::string, Tensor>& io) {
  const Tensor& ids = io.at("input_ids");
  const Tensor& mask = io.at("attention_mask");
  Tensor last = model(ids, mask, io.at("token_type_ids"));
  Tensor pooler = model.pooler_output(last);
  Tensor pooled = nn::mean_pooling(last, mask);
  const Stats before = stats();
  eval({last, pooler, pooled});
  EXPECT_EQ(stats().graphs_run - before.graphs_run, 1) << "one graph per forward pass";
  return {values(last), values(pooler), values(pooled)};
}

class BertOn : public ::testing::TestWithParam<std::string> {};

TEST_P(BertOn, TinyBertMatchesPyTorchAndTheReference) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  nn::BertModel model = nn::load_bert(kFixtures + "/tiny");
  std::map<std::string, Tensor> io = load_safetensors(kFixtures + "/tiny/expected.safetensors");
  TinyOutputs want;
  {
    DeviceGuard on(testing::find_device("reference", nullptr));
    want = run_tiny(model, io);
  }
  DeviceGuard on(device);
  const TinyOutputs got = run_tiny(model, io);
  // PyTorch's values (float32, another summation order).
  EXPECT_LT(max_abs_difference(got.last_hidden_state, values(io.at("last_hidden_state"))), 1e-4);
  EXPECT_LT(max_abs_difference(got.pooler_output, values(io.at("pooler_output"))), 1e-4);
  EXPECT_LT(max_abs_difference(got.mean_pooled, values(io.at("mean_pooled"))), 1e-4);
  // The reference evaluator's: sums of at most 24 products of values about 1.
  EXPECT_LT(max_abs_difference(got.last_hidden_state, want.last_hidden_state), 2e-5);
  EXPECT_LT(max_abs_difference(got.pooler_output, want.pooler_output), 2e-5);
  EXPECT_LT(max_abs_difference(got.mean_pooled, want.mean_pooled), 2e-5);
}

// ---------------------------------------------------------------------------------------
// all-MiniLM-L6-v2.

// The folder scripts/setup.sh unpacks the model into: $KILN_MODELS_DIR, else the build's.
std::string minilm_folder() {
  const char* dir = std::getenv("KILN_MODELS_DIR");
  std::string models = dir && *dir ? dir : std::string(KILN_BINARY_DIR) + "/models";
  return models + "/all-MiniLM-L6-v2";
}

// The model, read once for every device's test; null when its files are missing.
const nn::BertModel* minilm() {
  static const std::unique_ptr<nn::BertModel> model = []() -> std::unique_ptr<nn::BertModel> {
    const std::string folder = minilm_folder();
    if (!std::filesystem::exists(folder + "/model.safetensors") ||
        !std::filesystem::exists(folder + "/config.json"))
      return nullptr;
    return std::make_unique<nn::BertModel>(nn::load_bert(folder));
  }();
  return model.get();
}

TEST_P(BertOn, MiniLMSentenceEmbeddingsMatchPyTorch) {
  const nn::BertModel* model = minilm();
  if (!model)
    GTEST_SKIP() << "all-MiniLM-L6-v2 not found at " << minilm_folder()
                 << ": run scripts/setup.sh with network access";
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  const nn::BertConfig& c = model->config();
  EXPECT_EQ(c.hidden_size, 384);
  EXPECT_EQ(c.num_hidden_layers, 6);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.hidden_act, "gelu");

  Tensor ids = load_npy(kFixtures + "/input_ids.npy");
  Tensor mask = load_npy(kFixtures + "/attention_mask.npy");
  Tensor want_all = load_npy(kFixtures + "/embeddings.npy");
  // The reference evaluator's plain loops take about 20 s for all eight sentences: it runs
  // two short ones (8 and 3 tokens), without the padding columns the others need (padding
  // is masked out, so the embeddings are the same).
  std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  if (GetParam() == "reference") {
    rows = {0, 6};
    Tensor picked = from_data(rows, {2});
    const std::vector<int64_t> counts = sum(take(mask, picked, 0), 1).to_vector<int64_t>();
    const int64_t length = *std::max_element(counts.begin(), counts.end());
    ids = slice(take(ids, picked, 0), 1, 0, length);
    mask = slice(take(mask, picked, 0), 1, 0, length);
    want_all = take(want_all, picked, 0);
  }
  const std::vector<float> want = values(want_all);
  Tensor pooled = nn::sentence_embeddings(*model, ids, mask, /*normalize=*/false);
  Tensor normalized = nn::l2_normalize(pooled);
  const Stats before = stats();
  eval({pooled, normalized});
  EXPECT_EQ(stats().graphs_run - before.graphs_run, 1) << "one graph per forward pass";
  ASSERT_EQ(pooled.shape(), (Shape{static_cast<int64_t>(rows.size()), 384}));
  const std::vector<float> got = values(pooled), unit = values(normalized);
  for (size_t row = 0; row < rows.size(); ++row) {
    EXPECT_GE(row_cosine(got, want, 384, row), 0.99999) << "sentence " << rows[row];
    double norm = 0;
    for (size_t i = row * 384; i < (row + 1) * 384; ++i) norm += unit[i] * unit[i];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << "sentence " << rows[row];
  }
  EXPECT_LT(max_abs_difference(got, want), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Devices, BertOn, ::testing::Values("reference", "cpu", "opencl"));

// ---------------------------------------------------------------------------------------
// Names, configs, errors (no device).

TEST(Bert, StateDictNamesAreTheCheckpointsWithoutPrefixAndHeads) {
  const nn::BertConfig config = nn::BertConfig::load(kFixtures + "/tiny/config.json");
  EXPECT_EQ(config.hidden_size, 16);
  EXPECT_EQ(config.num_hidden_layers, 2);
  EXPECT_EQ(config.num_attention_heads, 4);
  EXPECT_EQ(config.intermediate_size, 24);
  EXPECT_EQ(config.max_position_embeddings, 12);
  EXPECT_EQ(config.vocab_size, 40);
  SafetensorsFile file = SafetensorsFile::open(kFixtures + "/tiny/model.safetensors");
  std::map<std::string, Shape> want;
  for (const auto& e : file.entries()) {
    if (e.name.rfind("bert.", 0) != 0 || e.name == "bert.embeddings.position_ids") continue;
    want[e.name.substr(5)] = e.shape;
  }
  std::map<std::string, Shape> got;
  for (const auto& [name, t] : nn::BertModel(config, Key(3)).state_dict()) got[name] = t.shape();
  EXPECT_EQ(got, want);
  ASSERT_EQ(got.size(), 5u + 2 * 16 + 2);  // embeddings, 16 tensors a layer, the pooler
  EXPECT_EQ(got.at("encoder.layer.1.attention.self.query.weight"), (Shape{16, 16}));
  EXPECT_EQ(got.at("encoder.layer.0.intermediate.dense.weight"), (Shape{24, 16}));
  EXPECT_EQ(got.at("encoder.layer.0.output.dense.weight"), (Shape{16, 24}));
  EXPECT_EQ(got.at("embeddings.LayerNorm.bias"), (Shape{16}));
  // Without the pooling layer.
  EXPECT_EQ(nn::BertModel(config, Key(3), false).state_dict().count("pooler.dense.weight"), 0u);
}

TEST(Bert, RandomWeightsFollowTransformersInit) {
  nn::BertConfig c;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 16;
  nn::BertModel model(c, Key(9));
  std::vector<float> w = values(model.state_dict().at("encoder.layer.0.intermediate.dense.weight"));
  double sq = 0;
  for (float v : w) sq += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(w.size())), 0.02, 0.002);  // N(0, 0.02)
  EXPECT_EQ(values(model.state_dict().at("encoder.layer.0.output.dense.bias")),
            std::vector<float>(32, 0.0f));
  EXPECT_EQ(values(model.state_dict().at("embeddings.LayerNorm.weight")),
            std::vector<float>(32, 1.0f));
  // The forward without a mask is the forward with a mask of ones; token types default to 0.
  Tensor ids = from_data(std::vector<int64_t>{1, 5, 9, 2, 7, 0}, {2, 3});
  Tensor ones_mask = from_data(std::vector<int64_t>(6, 1), {2, 3});
  EXPECT_LT(max_abs_difference(values(model(ids)), values(model(ids, ones_mask, zeros_like(ids)))),
            1e-6);
}

TEST(Bert, ConfigErrorsNameTheField) {
  using nn::BertConfig;
  expect_error<Error>([] { BertConfig::parse(R"({"hidden_size": 10, "num_attention_heads": 3})"); },
                      {"config", "hidden_size 10", "num_attention_heads 3"});
  expect_error<Error>([] { BertConfig::parse(R"({"hidden_act": "mish"})", "my.json"); },
                      {"my.json", "hidden_act \"mish\"", "not supported"});
  expect_error<Error>([] { BertConfig::parse(R"({"num_hidden_layers": "six"})"); },
                      {"num_hidden_layers must be an integer", "\"six\""});
  expect_error<Error>([] { BertConfig::parse(R"({"position_embedding_type": "relative_key"})"); },
                      {"position_embedding_type \"relative_key\"", "absolute"});
  expect_error<Error>([] { BertConfig::parse(R"({"model_type": "roberta"})"); },
                      {"model_type \"roberta\"", "not a BERT model"});
  expect_error<Error>([] { BertConfig::parse(R"({"vocab_size": 0})"); },
                      {"vocab_size must be positive, got 0"});
  expect_error<Error>([] { BertConfig::parse("{"); }, {"config: not valid JSON"});
  expect_error<IOError>([] { BertConfig::load(kFixtures + "/no-such-config.json"); },
                        {"no-such-config.json"});
}

TEST(Bert, LoadAndInputErrors) {
  const nn::BertConfig config = nn::BertConfig::load(kFixtures + "/tiny/config.json");
  std::map<std::string, Tensor> state = load_safetensors(kFixtures + "/tiny/model.safetensors");
  {
    nn::BertModel model(config, Key(1));
    state.erase("bert.encoder.layer.1.output.LayerNorm.bias");
    expect_error<Error>([&] { nn::load_bert_state_dict(model, state); },
                        {"encoder.layer.1.output.LayerNorm.bias"});
    nn::load_bert_state_dict(model, state, /*strict=*/false);  // the rest loads
    EXPECT_EQ(values(model.state_dict().at("pooler.dense.bias")),
              values(state.at("bert.pooler.dense.bias")));
  }
  nn::BertModel model(config, Key(1), false);
  expect_error<Error>([&] { model.pooler_output(zeros({1, 2, 16})); }, {"add_pooling_layer"});
  Tensor ids = from_data(std::vector<int64_t>(13, 1), {1, 13});
  expect_error<ShapeError>([&] { model(ids); }, {"i64[1,13]", "max_position_embeddings 12"});
  expect_error<ShapeError>([&] { model(zeros({1, 3})); }, {"f32[1,3]", "must be integers"});
  Tensor three = from_data(std::vector<int64_t>{1, 2, 3}, {1, 3});
  expect_error<ShapeError>(
      [&] {
        model(three, ones({1, 4}));
      },
      {"attention_mask f32[1,4]", "input_ids' shape i64[1,3]"});
  expect_error<ShapeError>(
      [&] {
        nn::mean_pooling(zeros({1, 3, 16}), ones({1, 2}));
      },
      {"mean_pooling", "f32[1,3,16]", "f32[1,2]"});
}

}  // namespace
}  // namespace kiln
