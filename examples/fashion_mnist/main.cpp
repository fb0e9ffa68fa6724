// Trains a multilayer perceptron (784-256-128-10, ReLU) or a small convolutional network
// (conv 3x3 32, ReLU, max-pool 2, conv 3x3 64, ReLU, max-pool 2, linear 128, ReLU,
// linear 10) on Fashion-MNIST with Adam, as one lazy graph per step (forward, gradients,
// update) that compiles once; prints a line per epoch (loss, accuracy, images/s, kernels
// per step, kernels compiled, bytes copied to and from the device), saves a checkpoint and
// evaluates the test set. Data: the IDX files of Debian's dataset-fashion-mnist (scripts/setup.sh
// installs it). bench/fashion_mnist_torch.py trains the same models in PyTorch;
// tests/CMakeLists.txt runs short versions of both (example_fashion_mnist,
// example_fashion_mnist_cnn).
//
//   kiln_fashion_mnist [--model mlp|cnn] [--epochs 10] [--batch 128] [--lr 0.001]
//                      [--schedule constant|cosine] [--train-limit N] [--test-limit N]
//                      [--device SPEC]
//                      [--data /usr/share/datasets/fashion-mnist] [--checkpoint FILE]
//                      [--min-test-accuracy A] [--max-train-loss L]
//   (exit 1 below the accuracy or above the last epoch's mean loss; 77 without the data)
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>

using namespace kiln;

namespace {

struct Options {
  std::string model = "mlp";
  int epochs = 10;
  int64_t batch = 128;
  double lr = 1e-3;
  // cosine: from lr down to 0 over all the run's steps (PyTorch's CosineAnnealingLR).
  std::string schedule = "constant";
  std::string device;       // empty: runtime::default_device() (KILN_DEVICE)
  int64_t train_limit = 0;  // 0: all 60,000 images
  int64_t test_limit = 0;   // 0: all 10,000 test images
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string checkpoint = "fashion_mnist.safetensors";
  double min_test_accuracy = 0;
  double max_train_loss = 1e30;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw Error("kiln_fashion_mnist: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--model")
      o.model = v;
    else if (a == "--schedule")
      o.schedule = v;
    else if (a == "--device")
      o.device = v;
    else if (a == "--epochs")
      o.epochs = std::stoi(v);
    else if (a == "--batch")
      o.batch = std::stoll(v);
    else if (a == "--lr")
      o.lr = std::stod(v);
    else if (a == "--train-limit")
      o.train_limit = std::stoll(v);
    else if (a == "--test-limit")
      o.test_limit = std::stoll(v);
    else if (a == "--data")
      o.data = v;
    else if (a == "--checkpoint")
      o.checkpoint = v;
    else if (a == "--min-test-accuracy")
      o.min_test_accuracy = std::stod(v);
    else if (a == "--max-train-loss")
      o.max_train_loss = std::stod(v);
    else
      throw Error("kiln_fashion_mnist: unknown option " + a);
  }
  if (o.epochs < 1 || o.batch < 1)
    throw Error("kiln_fashion_mnist: --epochs and --batch must be >= 1");
  if (o.model != "mlp" && o.model != "cnn")
    throw Error("kiln_fashion_mnist: --model is mlp or cnn, not " + o.model);
  if (o.schedule != "constant" && o.schedule != "cosine")
    throw Error("kiln_fashion_mnist: --schedule is constant or cosine, not " + o.schedule);
  return o;
}

// Images as floats in [0, 1] (one row of 784 per image) and labels.
struct Split {
  std::vector<float> images;
  std::vector<int32_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

Split read_split(const std::string& dir, const std::string& prefix, int64_t limit) {
  BufferPtr images = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  BufferPtr labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (images->shape().size() != 3 || labels->shape().size() != 1 ||
      images->shape()[0] != labels->shape()[0] || images->shape()[1] * images->shape()[2] != 784)
    throw Error("kiln_fashion_mnist: " + prefix + " images " + images->type().str() +
                " and labels " + labels->type().str() + " do not match");
  int64_t n = images->shape()[0];
  if (limit > 0) n = std::min(n, limit);
  Split s;
  s.images.resize(static_cast<size_t>(n * 784));
  s.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n * 784; ++i) s.images[i] = images->as<uint8_t>()[i] / 255.0f;
  for (int64_t i = 0; i < n; ++i) s.labels[i] = labels->as<uint8_t>()[i];
  return s;
}

// PyTorch's nn.Linear initialisation: weight and bias uniform in +-1/sqrt(fan_in).
void linear(Params& p, const std::string& name, int64_t in, int64_t out, uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  p.insert_or_assign(name + ".weight", uniform(Key(seed), {in, out}, DType::F32, -bound, bound));
  p.insert_or_assign(name + ".bias", uniform(Key(seed + 1), {out}, DType::F32, -bound, bound));
}

// A model: its parameters, its forward (logits of a batch) and the shape of one image.
struct Model {
  std::string description;
  Params params;
  std::function<Tensor(const Params&, const Tensor&)> forward;
  Shape image;
};

Model mlp() {
  Model m{"MLP 784-256-128-10", {}, {}, {784}};
  linear(m.params, "fc1", 784, 256, 1);
  linear(m.params, "fc2", 256, 128, 3);
  linear(m.params, "fc3", 128, 10, 5);
  m.forward = [](const Params& p, const Tensor& x) {
    Tensor h = relu(matmul(x, p.at("fc1.weight")) + p.at("fc1.bias"));
    h = relu(matmul(h, p.at("fc2.weight")) + p.at("fc2.bias"));
    return matmul(h, p.at("fc3.weight")) + p.at("fc3.bias");
  };
  return m;
}

// kiln::nn's layers start as PyTorch's do (kaiming_uniform, a = sqrt(5)).
Model cnn() {
  const Key key(11);
  const nn::ConvModuleOptions same{.padding = 1};
  auto net = std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 32, 3, fold_in(key, 0), same), nn::ReLU(), nn::MaxPool2d(2),
      nn::Conv2d(32, 64, 3, fold_in(key, 1), same), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
      nn::Linear(64 * 7 * 7, 128, fold_in(key, 2)), nn::ReLU(),
      nn::Linear(128, 10, fold_in(key, 3)));
  Model m{"CNN conv3x3 32-pool-conv3x3 64-pool-128-10", net->parameters(), {}, {1, 28, 28}};
  m.forward = [net](const Params& p, const Tensor& x) { return net->forward(p, x); };
  return m;
}

// Rows `order[from, from + n)` of a split as tensors.
std::pair<Tensor, Tensor> batch(const Split& s, const Shape& image,
                                const std::vector<int64_t>& order, int64_t from, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n * 784));
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = order[static_cast<size_t>(from + i)];
    std::copy_n(s.images.begin() + r * 784, 784, x.begin() + i * 784);
    y[i] = s.labels[static_cast<size_t>(r)];
  }
  Shape shape{n};
  shape.insert(shape.end(), image.begin(), image.end());
  return {from_data(x, shape), from_data(y, {n})};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (!o.device.empty()) runtime::set_default_device(runtime::make_device(o.device));
    if (!std::filesystem::exists(o.data + "/train-labels-idx1-ubyte.gz")) {
      std::fprintf(stderr,
                   "kiln_fashion_mnist: no Fashion-MNIST under %s (apt-get install "
                   "dataset-fashion-mnist)\n",
                   o.data.c_str());
      return 77;
    }
    const Split train = read_split(o.data, "train", o.train_limit);
    const Split test = read_split(o.data, "t10k", o.test_limit);
    const Model model = o.model == "cnn" ? cnn() : mlp();
    std::printf(
        "Fashion-MNIST: %lld training and %lld test images; %s, Adam lr %g (%s), batch %lld, "
        "device %s\n",
        static_cast<long long>(train.size()), static_cast<long long>(test.size()),
        model.description.c_str(), o.lr, o.schedule.c_str(), static_cast<long long>(o.batch),
        current_device()->name().c_str());

    Params params = model.params;
    Adam opt;
    OptimizerState state = opt.init(params);
    std::mt19937_64 rng(7);
    std::vector<int64_t> order(static_cast<size_t>(train.size()));
    const int64_t steps = train.size() / o.batch;  // the last partial batch is left out
    // The rate is an input of the step graph (a schedule reads the state's step count), so
    // neither changes the plan.
    auto learning_rate = [&](const OptimizerState& st) {
      return o.schedule == "cosine" ? cosine_lr(o.lr, steps * o.epochs, 0, as_input(st.step))
                                    : scalar_input(o.lr);
    };
    double last_loss = 0;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      const Stats before = stats();
      const auto start = std::chrono::steady_clock::now();
      double loss_sum = 0, correct = 0;
      for (int64_t s = 0; s < steps; ++s) {
        auto [x, y] = batch(train, model.image, order, s * o.batch, o.batch);
        params = as_input(params);
        std::optional<Tensor> logits;
        auto loss_of = [&](const Params& p) {
          logits = model.forward(p, x);
          return cross_entropy(*logits, y);
        };
        auto [loss, grads] = value_and_grad(loss_of, params);
        Tensor acc = accuracy(stop_gradient(*logits), y);
        std::tie(params, state) = opt.update(params, grads, state, learning_rate(state));
        std::vector<Tensor> results{loss, acc, state.step};
        for (const auto& [name, t] : params) results.push_back(t);
        for (const auto& [name, t] : state.slots) results.push_back(t);
        eval(results);
        loss_sum += loss.item<float>();
        correct += acc.item<float>();
      }
      const double secs = seconds_since(start);
      last_loss = loss_sum / steps;
      const Stats after = stats();
      std::printf(
          "epoch %d: loss %.4f, train accuracy %.4f, %.0f images/s, %.1f kernels per "
          "step, %lld kernels compiled, %.0f bytes to the device and %.0f back per step\n",
          epoch, loss_sum / steps, correct / steps, static_cast<double>(steps * o.batch) / secs,
          static_cast<double>(after.launches - before.launches) / steps,
          static_cast<long long>(after.kernels_compiled - before.kernels_compiled),
          static_cast<double>(after.bytes_host_to_device - before.bytes_host_to_device) / steps,
          static_cast<double>(after.bytes_device_to_host - before.bytes_device_to_host) / steps);
      std::fflush(stdout);  // progress shows as it comes when the output is a file
    }
    save_checkpoint(o.checkpoint, params, state);
    double correct = 0;
    std::vector<int64_t> all(static_cast<size_t>(test.size()));
    std::iota(all.begin(), all.end(), 0);
    for (int64_t from = 0; from < test.size(); from += 1000) {
      const int64_t n = std::min<int64_t>(1000, test.size() - from);
      auto [x, y] = batch(test, model.image, all, from, n);
      correct += accuracy(model.forward(params, x), y).item<float>() * static_cast<double>(n);
    }
    const double test_accuracy = correct / static_cast<double>(test.size());
    std::printf("test accuracy %.4f (checkpoint: %s)\n", test_accuracy, o.checkpoint.c_str());
    if (last_loss > o.max_train_loss) {
      std::fprintf(stderr, "kiln_fashion_mnist: the last epoch's loss %.4f is above %.4f\n",
                   last_loss, o.max_train_loss);
      return 1;
    }
    if (test_accuracy < o.min_test_accuracy) {
      std::fprintf(stderr, "kiln_fashion_mnist: test accuracy %.4f is below %.4f\n", test_accuracy,
                   o.min_test_accuracy);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
