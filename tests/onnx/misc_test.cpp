// ONNX import rules of frontend/onnx/ops_misc.cpp beyond the conformance cases: the DFT's
// layout, QuantizeLinear's rounding of halves to even, and their error messages.
#include <gtest/gtest.h>
#include <kiln/onnx.h>

#include "tests/expect_error.h"
#include "tests/onnx/model_builder.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::OnnxModelBuilder;

std::vector<Tensor> run_one(const std::string& op, const std::vector<Tensor>& inputs,
                            int outputs = 1, int64_t opset = 17,
                            const std::function<void(::onnx::NodeProto&)>& attrs = {}) {
  OnnxModelBuilder b(opset);
  std::vector<std::string> in, out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back("x" + std::to_string(i));
    int type =
        inputs[i].dtype() == DType::U8 ? ::onnx::TensorProto::UINT8 : ::onnx::TensorProto::FLOAT;
    b.input(in.back(), inputs[i].shape(), type);
  }
  for (int i = 0; i < outputs; ++i) out.push_back("y" + std::to_string(i));
  auto& n = b.node(op, in, out, "n0");
  if (attrs) attrs(n);
  for (const auto& o : out) b.output(o);
  return onnx::load_bytes(b.bytes())(inputs);
}

TEST(OnnxMisc, DftOfARealSignalInOnnxsLayout) {
  // x = [1, 2, 3, 4] as [1, 4, 1]: X = [10, -2+2i, -2, -2-2i], as [1, 4, 2].
  auto y = run_one("DFT", {from_data<float>({1, 2, 3, 4}, {1, 4, 1})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 4, 2}));
  std::vector<float> v = y[0].to_vector<float>(), want = {10, 0, -2, 2, -2, 0, -2, -2};
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], want[i], 1e-5) << i;
  auto one = run_one("DFT", {from_data<float>({1, 2, 3, 4}, {1, 4, 1})}, 1, 17,
                     [](auto& n) { OnnxModelBuilder::attr(n, "onesided", int64_t{1}); });
  EXPECT_EQ(one[0].shape(), (Shape{1, 3, 2}));
  expect_error<Error>(
      [] {
        run_one("DFT", {from_data<float>({1, 2, 3}, {1, 3})}, 1, 17,
                [](auto& n) { OnnxModelBuilder::attr(n, "axis", int64_t{0}); });
      },
      {"(DFT)", "end in a dimension of 1 (real) or 2 (complex)"});
}

TEST(OnnxMisc, QuantizeLinearRoundsHalvesToEvenAndSaturates) {
  Tensor x = from_data<float>({0.5f, 1.5f, 2.5f, -0.5f, 300.0f, -9.0f}, {6});
  Tensor scale = full({}, 1.0f);
  Tensor zero = full({}, 0, DType::U8);
  OnnxModelBuilder b(13);
  b.input("x", {6}).input("s", {}).input("z", {}, ::onnx::TensorProto::UINT8);
  b.node("QuantizeLinear", {"x", "s", "z"}, {"y"});
  b.output("y");
  auto y = onnx::load_bytes(b.bytes())({x, scale, zero});
  EXPECT_EQ(y[0].dtype(), DType::U8);
  EXPECT_EQ(y[0].to_vector<uint8_t>(), (std::vector<uint8_t>{0, 2, 2, 0, 255, 0}));
}

}  // namespace
}  // namespace kiln
