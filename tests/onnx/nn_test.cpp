// The nn and reduction import rules (frontend/onnx/ops_nn.cpp, ops_reduction.cpp): values
// against hand computations where opsets or attributes change the meaning, and the errors
// for attribute values kiln does not implement. The conformance cases cover the rest.
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "tests/devices.h"
#include "tests/expect_error.h"
#include "tests/onnx/model_builder.h"

namespace kiln {
namespace {

// A model of one node `n0` over float inputs x0, x1, ... of the given shapes; `set`
// adds the node's attributes.
std::string model_of(const std::string& op, int64_t opset, const std::vector<Shape>& shapes,
                     const std::function<void(::onnx::NodeProto&)>& set = {}) {
  return testing::one_node_model(op, opset, shapes, set);
}

void set_string(::onnx::NodeProto& n, const std::string& name, const std::string& value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(value);
}

void set_int(::onnx::NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(value);
}

std::vector<float> run(const std::string& model, const std::vector<Tensor>& inputs) {
  return onnx::load_bytes(model)(inputs).at(0).to_vector<float>();
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

// 1..9 as [1, 1, 3, 3] convolved with a 2 x 2 kernel of ones: SAME pads one row and one
// column, after the input (UPPER) or before it (LOWER).
TEST(OnnxNn, ConvAutoPadSame) {
  Tensor x = from_data<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = ones({1, 1, 2, 2});
  auto conv = [&](const char* auto_pad) {
    return run(model_of("Conv", 11, {{1, 1, 3, 3}, {1, 1, 2, 2}},
                        [&](auto& n) { set_string(n, "auto_pad", auto_pad); }),
               {x, w});
  };
  expect_near(conv("SAME_UPPER"), {12, 16, 9, 24, 28, 15, 15, 17, 9});
  expect_near(conv("SAME_LOWER"), {1, 3, 5, 5, 12, 16, 11, 24, 28});
}

// Before opset 13 Softmax flattens at `axis` to a matrix; from 13 it runs along `axis`.
TEST(OnnxNn, SoftmaxAxisByOpset) {
  Tensor x = log(from_data<float>({1, 2, 3, 4}, {2, 2}));
  auto softmax0 = [&](int64_t opset) {
    return run(model_of("Softmax", opset, {{2, 2}}, [](auto& n) { set_int(n, "axis", 0); }), {x});
  };
  expect_near(softmax0(11), {0.1f, 0.2f, 0.3f, 0.4f});
  expect_near(softmax0(13), {0.25f, 2.f / 6, 0.75f, 4.f / 6});
}

// ReduceSum's axes are an attribute before opset 13 (the suite's cases are all later).
TEST(OnnxNn, ReduceSumAxesAttributeBeforeOpset13) {
  Tensor x = from_data<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  std::string model = model_of("ReduceSum", 11, {{2, 3}}, [](auto& n) {
    auto* a = n.add_attribute();
    a->set_name("axes");
    a->set_type(::onnx::AttributeProto::INTS);
    a->add_ints(-1);
    set_int(n, "keepdims", 0);
  });
  expect_near(run(model, {x}), {6, 15});
}

// MaxPool's windows, each against plain loops, with the launches each takes: a 2 x 2 pool
// that tiles its input is a reshape and one reduction, a 3 x 3 window's nine taps are
// stacked into one reduction, and a 5 x 5 window reduces one axis at a time (two).
TEST(OnnxNn, MaxPoolWindowsAndTheirLaunches) {
  KILN_TEST_DEVICE_OR_SKIP(cpu, "cpu");
  struct Case {
    int64_t kernel, stride;
    int launches;
  };
  const int64_t C = 2, H = 7, W = 9;
  std::vector<float> xs(static_cast<size_t>(C * H * W));
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.7f * static_cast<float>(i));
  for (Case c : {Case{2, 2, 1}, Case{3, 1, 1}, Case{5, 1, 2}}) {
    SCOPED_TRACE(c.kernel);
    const std::string model = model_of("MaxPool", 13, {{1, C, H, W}}, [&](auto& n) {
      testing::OnnxModelBuilder::attr(n, "kernel_shape", {c.kernel, c.kernel});
      testing::OnnxModelBuilder::attr(n, "strides", {c.stride, c.stride});
    });
    Tensor y = onnx::load_bytes(model)({from_data<float>(xs, {1, C, H, W})}).at(0);
    const int64_t before = stats().launches;
    eval(cpu, y);
    EXPECT_EQ(stats().launches - before, c.launches);
    const int64_t oh = (H - c.kernel) / c.stride + 1, ow = (W - c.kernel) / c.stride + 1;
    std::vector<float> want;
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          float m = -INFINITY;
          for (int64_t a = 0; a < c.kernel; ++a)
            for (int64_t b = 0; b < c.kernel; ++b)
              m = std::max(
                  m, xs[static_cast<size_t>((ch * H + i * c.stride + a) * W + j * c.stride + b)]);
          want.push_back(m);
        }
    expect_near(y.to_vector<float>(), want);
  }
}

TEST(OnnxNn, UnsupportedAttributeValuesNameTheNode) {
  testing::expect_error<UnsupportedError>(
      [] {
        onnx::load_bytes(model_of("Conv", 11, {{1, 1, 3, 3}, {1, 1, 2, 2}},
                                  [](auto& n) { set_string(n, "auto_pad", "SAME_MIDDLE"); }));
      },
      {"node 'n0' (Conv)", "auto_pad 'SAME_MIDDLE' is not supported"});
  testing::expect_error<UnsupportedError>(
      [] {
        onnx::load_bytes(model_of("Det", 11, {{5, 5}}));
      },
      {"node 'n0' (Det)", "5 x 5", "up to 4 x 4"});
  auto lstm_with = [](std::vector<const char*> functions) {
    return model_of("LSTM", 14, {{2, 1, 3}, {1, 8, 3}, {1, 8, 2}}, [functions](auto& n) {
      auto* a = n.add_attribute();
      a->set_name("activations");
      a->set_type(::onnx::AttributeProto::STRINGS);
      for (const char* f : functions) a->add_strings(f);
    });
  };
  EXPECT_NO_THROW(onnx::load_bytes(lstm_with({"Relu", "Tanh", "HardSigmoid"})));
  testing::expect_error<UnsupportedError>(
      [&] {
        onnx::load_bytes(lstm_with({"Relu", "Swish", "Tanh"}));
      },
      {"node 'n0' (LSTM)", "activation 'Swish' is not supported"});
  testing::expect_error<Error>(
      [&] {
        onnx::load_bytes(lstm_with({"Relu", "Tanh"}));
      },
      {"node 'n0' (LSTM)", "names 2 functions, expected 3"});
}

}  // namespace
}  // namespace kiln
