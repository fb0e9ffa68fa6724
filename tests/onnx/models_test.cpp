// Models exported from PyTorch (scripts/export_onnx_models.py, tests/fixtures/onnx/) run by
// kiln on every built device and compared with PyTorch's outputs for the same inputs:
//   fashion_mnist_cnn  Conv, Relu, MaxPool, Flatten, Gemm (opset 17)
//   transformer_block  MatMul, Gemm, Add, Mul, Div, Sub, Pow, Sqrt, ReduceMean, Softmax,
//                      Reshape, Transpose, Slice, Gather, Shape, Constant, Identity, Relu
//                      (opset 13; the shape subgraphs fold at import)
// A model whose op types are not all in the op table is skipped, naming them; anything
// else that goes wrong fails. ONNX's own model folders (simple, pytorch-converted,
// pytorch-operator) run through kiln_onnx_conformance (tests/CMakeLists.txt).
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/devices.h"

namespace kiln {
namespace {

const std::string kFixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/onnx/";

// The model's op types that the op table lacks, space-separated.
std::string missing_ops(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) return "(model unreadable)";
  std::vector<std::string> have = onnx::supported_ops();
  std::set<std::string> missing;
  for (const auto& node : model.graph().node())
    if (!std::binary_search(have.begin(), have.end(), node.op_type()))
      missing.insert(node.op_type());
  std::string out;
  for (const std::string& op : missing) out += (out.empty() ? "" : " ") + op;
  return out;
}

using Param = std::tuple<std::string, std::string>;  // model, device

class OnnxModel : public ::testing::TestWithParam<Param> {};

TEST_P(OnnxModel, MatchesPyTorch) {
  const auto& [name, spec] = GetParam();
  const std::string dir = kFixtures + name;
  if (std::string missing = missing_ops(dir + "/model.onnx"); !missing.empty())
    GTEST_SKIP() << name << " needs ops kiln's ONNX import lacks: " << missing;
  KILN_TEST_DEVICE_OR_SKIP(device, spec);
  DeviceGuard on(device);
  onnx::Model model = onnx::load(dir + "/model.onnx");
  ASSERT_EQ(model.input_names(), (std::vector<std::string>{"input"}));
  ASSERT_EQ(model.output_names(), (std::vector<std::string>{"output"}));
  Tensor x = onnx::read_tensor(dir + "/test_data_set_0/input_0.pb");
  Tensor want = onnx::read_tensor(dir + "/test_data_set_0/output_0.pb");
  Tensor got = model({x}).at(0);
  ASSERT_EQ(got.shape(), want.shape());
  std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>();
  // float32 in another summation order than PyTorch's (sums of up to 784 products).
  int bad = 0;
  for (size_t i = 0; i < w.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= 1e-4 + 1e-3 * std::abs(w[i])) && bad++ < 5)
      ADD_FAILURE() << name << " on " << spec << ": output[" << i << "] " << g[i] << " vs " << w[i];
  EXPECT_EQ(bad, 0) << "of " << w.size() << " values";
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxModel,
                         ::testing::Combine(::testing::Values("fashion_mnist_cnn",
                                                              "transformer_block"),
                                            ::testing::Values("reference", "cpu", "opencl")),
                         param_name);

}  // namespace
}  // namespace kiln
