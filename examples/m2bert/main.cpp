// An M2-BERT encoder (Monarch Mixer BERT, kiln/m2.h) on the current device: built from a
// config.json in the reference implementation's fields, its weights loaded from a
// checkpoint by name (kiln/checkpoint.h: a PyTorch .pt / .bin, an .npz or a safetensors
// file), run on a batch of token ids as one graph; prints the kernels a forward pass
// launches, the time per batch, and the load report.
//
// By default it runs the tiny encoder of tests/fixtures/m2bert/ (weights and outputs
// written by make_fixtures.py there with PyTorch) and checks its output against
// PyTorch's; with --config and --checkpoint it runs a model of the reference's (an
// M2-BERT checkpoint of the HazyResearch/m2 repository and its config), on token ids drawn
// at random for --batch x --length.
//
//   kiln_m2bert [--config FILE --checkpoint FILE [--batch 8 --length 128]] [--device SPEC]
//               [--runs 10]
//   (exit 1 when the fixture's output differs from PyTorch's by more than 1e-4)
// tests/CMakeLists.txt runs it once (example_m2bert).
#include <kiln/checkpoint.h>
#include <kiln/kiln.h>
#include <kiln/m2.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace kiln;

namespace {

const std::string kFixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/m2bert/";

struct Options {
  std::string config, checkpoint;  // empty: the fixture's
  std::string device;              // empty: runtime::default_device() (KILN_DEVICE)
  int64_t batch = 8, length = 128;
  int runs = 10;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw Error("kiln_m2bert: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--config")
      o.config = v;
    else if (a == "--checkpoint")
      o.checkpoint = v;
    else if (a == "--device")
      o.device = v;
    else if (a == "--batch")
      o.batch = std::max<int64_t>(1, std::stoll(v));
    else if (a == "--length")
      o.length = std::max<int64_t>(1, std::stoll(v));
    else if (a == "--runs")
      o.runs = std::max(1, std::stoi(v));
    else
      throw Error("kiln_m2bert: unknown option " + a);
  }
  if (o.config.empty() != o.checkpoint.empty())
    throw Error("kiln_m2bert: give --config and --checkpoint together (or neither)");
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (!o.device.empty()) runtime::set_default_device(runtime::make_device(o.device));
    const bool fixture = o.config.empty();
    nn::M2BertModel model(nn::M2BertConfig::load(fixture ? kFixtures + "config.json" : o.config),
                          Key(0));
    model.eval();

    // The weights: the fixture file holds several cases; the encoder's are
    // "encoder.state.<name>", its inputs and PyTorch's output "encoder.<name>".
    const std::map<std::string, Tensor> file =
        load_checkpoint_tensors(fixture ? kFixtures + "fixtures.safetensors" : o.checkpoint);
    std::map<std::string, Tensor> weights;
    MatchOptions match;
    if (fixture) {
      match.strip_prefixes = {"encoder.state."};
      for (const auto& [name, t] : file)
        if (name.rfind("encoder.state.", 0) == 0) weights.emplace(name, t);
    } else {
      weights = file;
      match.strict = false;  // a pretraining checkpoint also holds heads the encoder lacks
    }
    const LoadReport report = match_and_load(model, weights, match);
    std::printf("weights: %zu tensors loaded%s\n", report.loaded.size(),
                report.ok() ? "" : "; not loaded:");
    if (!report.ok()) std::printf("%s", report.str().c_str());

    // Token ids (and segment ids) as graph inputs: every run after the first reuses the plan.
    auto inputs = [&]() -> std::pair<Tensor, Tensor> {
      if (fixture) {
        return {file.at("encoder.input_ids"), file.at("encoder.token_type_ids")};
      }
      const double vocab = static_cast<double>(model.config().vocab_size);
      return {cast(floor(uniform(Key(1), {o.batch, o.length}) * vocab), DType::I64),
              zeros({o.batch, o.length}, DType::I64)};
    };
    const auto [id_values, type_values] = inputs();
    const Tensor ids = as_input(id_values), types = as_input(type_values);
    const nn::M2BertConfig& c = model.config();
    std::printf(
        "M2-BERT: %lld layers, hidden %lld, long_conv_l_max %lld; batch %lld x %lld "
        "tokens; device %s\n",
        static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
        static_cast<long long>(c.long_conv_l_max), static_cast<long long>(ids.shape(0)),
        static_cast<long long>(ids.shape(1)), current_device()->name().c_str());

    // The first run compiles; the others are timed.
    std::vector<float> y;
    double first = 0, total = 0;
    int64_t kernels = 0;
    for (int run = 0; run <= o.runs; ++run) {
      const Stats before = stats();
      const auto start = std::chrono::steady_clock::now();
      y = model(ids, types).to_vector<float>();
      (run == 0 ? first : total) += seconds_since(start);
      kernels = stats().launches - before.launches;
    }
    std::printf(
        "%lld kernels a forward pass; first run (compiling) %.1f ms, then %.2f ms a "
        "batch (mean of %d)\n",
        static_cast<long long>(kernels), first * 1e3, total * 1e3 / o.runs, o.runs);

    if (fixture) {
      const std::vector<float> want = file.at("encoder.y").to_vector<float>();
      double worst = 0;
      for (size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(y[i]) - want[i]));
      std::printf("largest difference from PyTorch's output: %.3g\n", worst);
      if (!(worst <= 1e-4)) {
        std::fprintf(stderr, "kiln_m2bert: the output differs from PyTorch's by %.3g\n", worst);
        return 1;
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_m2bert: %s\n", e.what());
    return 1;
  }
}
