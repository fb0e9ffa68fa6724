// Gradient checkpointing (kiln::checkpoint): gradients equal those without it (on the
// reference evaluator and on every built device against the reference), the optimized
// graph holds the checkpointed region's ops twice (the recomputation survives the graph
// passes), the compiled plan of a long chain needs less intermediate memory, second
// derivatives, captured tensors, nesting, and the error for a function that changes.
#include <kiln/kiln.h>

#include <iostream>

#include "codegen/program.h"
#include "passes/pipeline.h"
#include "tests/autodiff/gradcheck.h"
#include "tests/devices.h"

namespace kiln {
namespace {

using testing::expect_close;

// A chain of `layers` tanh(h @ w) layers over x [rows, width], drawn from `seed`.
struct Chain {
  std::vector<Tensor> params;  // x, then one weight per layer

  Chain(int64_t rows, int64_t width, int layers, DType dtype, uint32_t seed = 3) {
    testing::Rng rng(seed);
    params.push_back(cast(rng.uniform({rows, width}, -1, 1), dtype));
    double scale = 1.5 / std::sqrt(static_cast<double>(width));
    for (int i = 0; i < layers; ++i)
      params.push_back(cast(rng.uniform({width, width}, -scale, scale), dtype));
    eval(params);  // values, as a model's weights are: parameters of the graphs below
  }

  const std::vector<Tensor>& inputs() const { return params; }

  // The loss sum(h * h) of the chain, the layers in segments of `segment`, each a
  // checkpoint when `checkpointed`.
  Tensor loss(const std::vector<Tensor>& in, int segment, bool checkpointed) const {
    Tensor h = in[0];
    int layers = static_cast<int>(in.size()) - 1;
    for (int first = 0; first < layers; first += segment) {
      Function part = [](const std::vector<Tensor>& a) {
        Tensor v = a[0];
        for (size_t j = 1; j < a.size(); ++j) v = tanh(matmul(v, a[j]));
        return v;
      };
      std::vector<Tensor> args{h};
      for (int j = first; j < std::min(first + segment, layers); ++j) args.push_back(in[1 + j]);
      h = checkpointed ? checkpoint(part)(args) : part(args);
    }
    return sum(h * h);
  }

  // The gradients of the loss with respect to x and every weight.
  std::vector<Tensor> grads(int segment, bool checkpointed) const {
    std::vector<Tensor> in = inputs();
    return gradients(loss(in, segment, checkpointed), in);
  }
};

std::vector<std::vector<double>> values_of(const std::vector<Tensor>& ts) {
  eval(ts);
  std::vector<std::vector<double>> out;
  for (const Tensor& t : ts) out.push_back(cast(t, DType::F64).to_vector<double>());
  return out;
}

void expect_all_close(const std::vector<Tensor>& got, const std::vector<std::vector<double>>& want,
                      double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("gradient " + std::to_string(i));
    expect_close(got[i], got[i].dtype(), got[i].shape(), want[i], tol, tol);
  }
}

class Checkpoint : public ::testing::Test {
 protected:
  DeviceGuard device_{runtime::make_device("reference")};
};

TEST_F(Checkpoint, GradientsEqualThoseWithoutIt) {
  Chain c(3, 5, 6, DType::F64);
  auto plain = values_of(c.grads(2, false));
  for (int segment : {1, 2, 4, 6}) {
    SCOPED_TRACE("segments of " + std::to_string(segment));
    expect_all_close(c.grads(segment, true), plain, 1e-13);
  }
  // And the plain gradients are right: central differences.
  testing::Sample s{c.inputs(), [&](const std::vector<Tensor>& in) { return c.loss(in, 2, true); }};
  testing::check_vjp(s);
}

// On each built device, the checkpointed gradients match the reference's plain ones.
TEST_F(Checkpoint, GradientsOnEveryDeviceMatchTheReference) {
  Chain c(4, 16, 6, DType::F32);
  auto want = values_of(c.grads(3, false));
  for (const char* spec : {"cpu", "opencl"}) {
    SCOPED_TRACE(spec);
    std::string why;
    auto device = testing::find_device(spec, &why);
    if (!device) {
      if (testing::device_required(spec)) ADD_FAILURE() << "no " << spec << " device: " << why;
      continue;
    }
    DeviceGuard on(device);
    expect_all_close(c.grads(3, true), want, 2e-5);
    expect_all_close(c.grads(3, false), want, 2e-5);
  }
}

// The ops of kind `op` in the optimized graph of `ts`.
int count_after_passes(const std::vector<Tensor>& ts, ir::OpKind op) {
  ir::Graph g = graph_of(ts);
  passes::optimize_graph(g);
  int n = 0;
  for (const auto& node : g.nodes) n += node->op == op ? 1 : 0;
  return n;
}

// The recomputation is real: after CSE and the other graph passes, the checkpointed graph
// computes every layer twice (forward, then again in the backward pass), the plain one once.
TEST_F(Checkpoint, TheRegionIsComputedTwiceAfterTheGraphPasses) {
  Chain c(3, 5, 6, DType::F32);
  for (int segment : {1, 3}) {
    SCOPED_TRACE("segments of " + std::to_string(segment));
    EXPECT_EQ(count_after_passes(c.grads(segment, false), ir::OpKind::Tanh), 6);
    EXPECT_EQ(count_after_passes(c.grads(segment, true), ir::OpKind::Tanh), 12);
    // Forward matmuls 6, two per layer backward but the first layer's input gradient
    // (x is an input: both are kept), plus the 6 recomputed.
    EXPECT_EQ(count_after_passes(c.grads(segment, false), ir::OpKind::MatMul), 18);
    EXPECT_EQ(count_after_passes(c.grads(segment, true), ir::OpKind::MatMul), 24);
  }
  // Without differentiation a checkpoint is its function.
  std::vector<Tensor> in = c.inputs();
  EXPECT_EQ(count_after_passes({c.loss(in, 2, true)}, ir::OpKind::Tanh), 6);
}

// The bytes of intermediate memory the compiled program of `ts` plans.
int64_t planned_bytes(const std::vector<Tensor>& ts) {
  ir::Graph g = graph_of(ts);
  passes::optimize_graph(g);
  return codegen::build_program(g).memory.planned_bytes;
}

// A chain of 16 layers in 4 checkpointed segments keeps the activations of the segment
// boundaries and of one segment at a time, not of all 16 layers. The plain chain is
// measured with the gradients asked in both orders: first layer first (the scheduler then
// computes the weight gradients last and keeps every layer's cotangent until then) and
// last layer first (each weight gradient as soon as it can be); the checkpoints order the
// backward pass themselves, so both orders stay within the same bound for them.
TEST_F(Checkpoint, LongChainPlansLessIntermediateMemory) {
  Chain c(64, 256, 16, DType::F32);
  const std::vector<Tensor>& in = c.params;
  const std::vector<Tensor> reversed(in.rbegin(), in.rend());
  auto bytes = [&](bool checkpointed, const std::vector<Tensor>& wrt) {
    return planned_bytes(gradients(c.loss(in, 4, checkpointed), wrt));
  };
  const int64_t plain = bytes(false, in), plain_reversed = bytes(false, reversed);
  const int64_t checkpointed = bytes(true, in), checkpointed_reversed = bytes(true, reversed);
  const int64_t activation = 64 * 256 * 4;
  std::cout << "16 layers, [64,256] f32 activations (" << activation
            << " bytes): planned intermediate bytes, plain " << plain << " (gradients asked "
            << plain_reversed << " last layer first), 4 checkpointed segments of 4 " << checkpointed
            << " (" << checkpointed_reversed << ")\n";
  RecordProperty("plain_bytes", std::to_string(plain));
  RecordProperty("plain_reversed_bytes", std::to_string(plain_reversed));
  RecordProperty("checkpointed_bytes", std::to_string(checkpointed));
  EXPECT_GE(plain_reversed, 16 * activation);  // every layer's activation
  // 4 boundaries, 4 recomputed, 2 cotangents, in either order of the gradients (the
  // scheduler's ties may save a little more in one of them).
  EXPECT_LE(checkpointed, 10 * activation);
  EXPECT_LE(checkpointed_reversed, 10 * activation);
}

TEST_F(Checkpoint, SecondDerivativesEqualThoseWithoutIt) {
  testing::Rng rng;
  Tensor x = rng.uniform({4}, -1, 1);
  UnaryFunction inner = [](const Tensor& t) { return sin(t) * exp(t * 0.5); };
  auto f = [](const UnaryFunction& g) { return [g](const Tensor& t) { return sum(g(t) * g(t)); }; };
  Tensor plain = grad([&](const Tensor& t) { return sum(grad(f(inner))(t)); })(x);
  Tensor ck = grad([&](const Tensor& t) { return sum(grad(f(checkpoint(inner)))(t)); })(x);
  expect_close(ck, DType::F64, {4}, plain.to_vector<double>(), 1e-12, 1e-12);
}

// A weight the function captures instead of taking as an argument gets its gradient, and
// an input it ignores gets zeros.
TEST_F(Checkpoint, CapturedTensorsAndUnusedInputs) {
  testing::Rng rng;
  Tensor x = rng.uniform({2, 3}, -1, 1), w = rng.uniform({3, 3}, -1, 1);
  Tensor unused = rng.uniform({5}, -1, 1);
  Tensor w2 = w * 2.0;  // computed from w outside the region
  auto region = [&](const std::vector<Tensor>& a) { return tanh(matmul(a[0], w2)); };
  auto loss = [&](const std::vector<Tensor>& a, bool ck) {
    return sum(square(ck ? checkpoint(region)({a[0], a[2]}) : region({a[0], a[2]})) * a[1]);
  };
  Tensor scale = rng.uniform({2, 3}, -1, 1);
  auto plain = values_of(gradients(loss({x, scale, unused}, false), {x, w, scale, unused}));
  expect_all_close(gradients(loss({x, scale, unused}, true), {x, w, scale, unused}), plain, 1e-13);
  EXPECT_EQ(plain[3], std::vector<double>(5, 0.0));
}

TEST_F(Checkpoint, NestedCheckpoints) {
  Chain c(2, 4, 4, DType::F64);
  auto plain = values_of(c.grads(4, false));
  Function inner = [](const std::vector<Tensor>& a) { return tanh(matmul(a[0], a[1])); };
  Function outer = [&](const std::vector<Tensor>& a) {
    Tensor h = a[0];
    for (size_t j = 1; j < a.size(); ++j) h = checkpoint(inner)({h, a[j]});
    return h;
  };
  std::vector<Tensor> in = c.inputs();
  Tensor h = checkpoint(outer)(in);
  expect_all_close(gradients(sum(h * h), in), plain, 1e-13);
}

TEST_F(Checkpoint, AFunctionThatChangesIsAnError) {
  int calls = 0;
  UnaryFunction f = checkpoint([&](const Tensor& t) { return ++calls == 1 ? t * 2.0 : sum(t); });
  Tensor x = from_data({1.0, 2.0}, {2});
  testing::expect_error<Error>(
      [&] { (void)grad([&](const Tensor& t) { return sum(f(t)); })(x); },
      {"grad: the checkpointed function returned f64[] when called again on the same inputs, "
       "f64[2] the first time; it must compute the same thing every time"});
}

}  // namespace
}  // namespace kiln
