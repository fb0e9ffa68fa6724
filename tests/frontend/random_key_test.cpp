// Key tensors: a key that is an input of the graph (key_input, Key(tensor)) draws exactly
// what the same key known when the graph is built draws, through split / fold_in too, on
// every built device; a graph that takes its key as an input keeps its plan and kernels
// when the key changes; a key tensor of the wrong type is refused by name.
#include <kiln/kiln.h>

#include "ir/parser.h"
#include "ir/random.h"
#include "test_util.h"
#include "tests/devices.h"

namespace kiln {
namespace {

using testing::expect_error;

// Draws from a key and the same draws from key_input(key), evaluated in one graph (one
// program per device) and compared exactly.
class SameDraws {
 public:
  explicit SameDraws(const Key& key) : key_(key), input_(key_input(key)) {}

  template <class Draw>
  void add(std::string what, Draw draw) {
    cases_.push_back({std::move(what), draw(key_), draw(input_)});
  }

  void check() const {
    std::vector<Tensor> all;
    for (const Case& c : cases_) all.insert(all.end(), {c.known, c.input});
    eval(all);
    for (const Case& c : cases_) {
      SCOPED_TRACE(c.what);
      ASSERT_EQ(c.known.type(), c.input.type());
      if (c.known.dtype() == DType::Bool) {
        EXPECT_EQ(c.known.to_vector<bool>(), c.input.to_vector<bool>());
      } else if (c.known.dtype() == DType::F64) {
        EXPECT_EQ(c.known.to_vector<double>(), c.input.to_vector<double>());
      } else {
        EXPECT_EQ(c.known.to_vector<float>(), c.input.to_vector<float>());
      }
    }
  }

 private:
  struct Case {
    std::string what;
    Tensor known, input;
  };
  Key key_, input_;
  std::vector<Case> cases_;
};

void expect_key_tensors_draw_like_keys() {
  SameDraws draws(Key(0x0123456789abcdefull));
  for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16})
    draws.add("uniform " + std::string(dtype_name(d)), [&](const Key& k) {
      return uniform(k, {3, 37}, d);
    });
  draws.add("range", [](const Key& k) { return uniform(k, {65}, DType::F32, -2.0, 3.0); });
  draws.add("normal (a split)", [](const Key& k) { return normal(k, {2, 50}); });
  draws.add("bernoulli", [](const Key& k) { return bernoulli(k, 0.3, {200}); });
  // Derivations of the key tensor are applied in the kernel, in order.
  draws.add("split then fold_in",
            [](const Key& k) { return uniform(fold_in(split(k, 3)[2], 7), {33}); });
  draws.add("two fold_ins then a split",
            [](const Key& k) { return normal(fold_in(fold_in(k, 1u << 20), 5), {40}); });
  // Fused with other work: the random values feed an elementwise op and a reduction.
  Tensor x = from_data(std::vector<float>(64, 2.0f), {4, 16});
  draws.add("fused into a reduction", [&](const Key& k) {
    return sum(x * uniform(fold_in(k, 3), {4, 16}), -1);
  });
  draws.check();
  // The element index is the counter, as for a known key: value i is Philox word 0.
  std::vector<float> got = uniform(key_input(Key(42)), {5}).to_vector<float>();
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(got[i], ir::random_uniform_f32(42, i)) << i;
  // Another key tensor, other values.
  EXPECT_NE(uniform(key_input(Key(1)), {16}).to_vector<float>(),
            uniform(key_input(Key(2)), {16}).to_vector<float>());
  EXPECT_NE(uniform(fold_in(key_input(Key(1)), 1), {16}).to_vector<float>(),
            uniform(fold_in(key_input(Key(1)), 2), {16}).to_vector<float>());
}

// Three steps of a graph with a dropout mask whose key changes every step: after the
// first, every step reuses its plan and compiles nothing.
void expect_key_changes_reuse_the_plan() {
  Tensor x = from_data(std::vector<float>(256, 1.0f), {16, 16});
  auto step = [&](const Key& key) {
    Tensor keep = bernoulli(fold_in(key, 0), 0.75, x.shape());
    Tensor y = where(keep, x * (1.0 / 0.75), 0.0) + 1.0;
    return y.to_vector<float>();
  };
  step(key_input(Key(100)));  // compiles the plan
  const Stats before = stats();
  std::vector<std::vector<float>> ys;
  for (uint64_t s = 1; s <= 3; ++s) ys.push_back(step(key_input(fold_in(Key(100), s))));
  const Stats after = stats();
  EXPECT_EQ(after.kernels_compiled - before.kernels_compiled, 0);
  EXPECT_EQ(after.plans_reused - before.plans_reused, 3);
  EXPECT_NE(ys[0], ys[1]);  // the masks differ
  EXPECT_NE(ys[1], ys[2]);
  // The same steps with keys known when the graph is built: the same values, but a plan
  // per key.
  const Stats known_before = stats();
  for (uint64_t s = 1; s <= 3; ++s) EXPECT_EQ(step(fold_in(Key(100), s)), ys[s - 1]);
  EXPECT_EQ(stats().plans_reused - known_before.plans_reused, 0);
}

class RandomKeyOn : public ::testing::TestWithParam<std::string> {};

TEST_P(RandomKeyOn, KeyTensorsDrawWhatTheirKeysDraw) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  expect_key_tensors_draw_like_keys();
}

TEST_P(RandomKeyOn, ChangingTheKeyReusesThePlan) {
  if (GetParam() == "reference") GTEST_SKIP() << "the reference evaluator makes no plans";
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  expect_key_changes_reuse_the_plan();
}

INSTANTIATE_TEST_SUITE_P(Devices, RandomKeyOn, ::testing::Values("reference", "cpu", "opencl"));

TEST(RandomKey, TheGraphTakesTheKeyAsAnInput) {
  Key k = key_input(Key(5));
  EXPECT_TRUE(k.is_tensor());
  EXPECT_EQ(k.tensor().type().str(), "i64[]");
  EXPECT_EQ(key_input(k), k);  // already a key tensor
  EXPECT_EQ(fold_in(k, 3), fold_in(k, 3));
  EXPECT_NE(fold_in(k, 3), fold_in(k, 4));
  EXPECT_NE(k, Key(5));
  std::string ir = print_ir(uniform(fold_in(k, 3), {4}));
  EXPECT_NE(ir.find("(%arg0: i64[]) -> (f32[4])"), std::string::npos) << ir;
  EXPECT_NE(ir.find("random_uniform %arg0 {key = 0, derive = [4611686018427387910]}"),
            std::string::npos)
      << ir;
  // Two keys, one graph.
  EXPECT_EQ(print_ir(uniform(key_input(Key(1)), {4})), print_ir(uniform(key_input(Key(2)), {4})));
}

TEST(RandomKey, WrongKeyTensorsAreRefused) {
  expect_error<DTypeError>([] { Key k(from_data({1.0f}, Shape{})); },
                           {"Key", "0-d i64", "got f32[]", "key_input"});
  expect_error<ShapeError>(
      [] {
        Key k(from_data(std::vector<int64_t>{1, 2}, {2}));
      },
      {"Key", "must be 0-d", "got i64[2]"});
  expect_error<Error>([] { key_input(Key(1)).bits(); },
                      {"Key::bits", "tensor of the graph", "when the graph runs"});
  expect_error<Error>([] { Key(1).tensor(); }, {"Key::tensor", "not a tensor", "key_input"});
  // The IR verifier: the operand is an i64[] and excludes a key attribute.
  expect_error<Error>(
      [] {
        ir::parse_graph(
            "func @f(%k: f32[]) -> (f32[2]) {\n"
            "  %0 = random_uniform %k {key = 0, derive = []} : f32[2]\n  return %0\n}\n");
      },
      {"random_uniform", "key operand must be i64[]", "got f32[]"});
  expect_error<Error>(
      [] {
        ir::parse_graph(
            "func @f(%k: i64[]) -> (f32[2]) {\n"
            "  %0 = random_uniform %k {key = 3, derive = []} : f32[2]\n  return %0\n}\n");
      },
      {"random_uniform", "nonzero key attribute (3)", "must be 0"});
  expect_error<Error>(
      [] {
        ir::parse_graph(
            "func @f(%k: i64[]) -> (f32[2]) {\n"
            "  %0 = random_uniform %k, %k {key = 0, derive = []} : f32[2]\n  return %0\n}\n");
      },
      {"random_uniform", "expects zero or one operand, got 2"});
}

}  // namespace
}  // namespace kiln
