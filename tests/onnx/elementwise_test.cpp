// The elementwise import rules (frontend/onnx/ops_elementwise.cpp): the dtype and rounding
// rules where ONNX and kiln's ops differ (integer Div, Mod's two sign rules, Pow's result
// dtype) and the errors for attribute values the rules refuse. The conformance cases
// (kiln_onnx_conformance) test the values of every op.
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include "tests/expect_error.h"

namespace kiln {
namespace {

using ::onnx::TensorProto;

// A model of one node `op` (opset 13) over 1-D inputs of `elem_types` and length n, with
// the attributes `set_attrs` adds.
std::string model_of(const std::string& op, const std::vector<int>& elem_types, int64_t n,
                     void (*set_attrs)(::onnx::NodeProto&) = nullptr) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* node = g->add_node();
  node->set_op_type(op);
  node->set_name("n0");
  for (size_t i = 0; i < elem_types.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    node->add_input(name);
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_types[i]);
    tt->mutable_shape()->add_dim()->set_dim_value(n);
  }
  node->add_output("y");
  g->add_output()->set_name("y");
  if (set_attrs) set_attrs(*node);
  return m.SerializeAsString();
}

void set_int(::onnx::NodeProto& node, const char* name, int64_t v) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

Tensor run(const std::string& model, const std::vector<Tensor>& inputs) {
  return onnx::load_bytes(model)(inputs).at(0);
}

TEST(OnnxElementwise, IntegerDivTruncatesTowardZero) {
  Tensor a = from_data<int32_t>({-7, 7, -7, 7, 6, -6}, {6});
  Tensor b = from_data<int32_t>({2, -2, -2, 2, 3, 3}, {6});
  Tensor y = run(model_of("Div", {TensorProto::INT32, TensorProto::INT32}, 6), {a, b});
  ASSERT_EQ(y.dtype(), DType::I32);
  EXPECT_EQ(y.to_vector<int32_t>(), (std::vector<int32_t>{-3, -3, 3, 3, 2, -2}));
}

TEST(OnnxElementwise, ModSignFollowsTheDivisorOrWithFmodTheDividend) {
  Tensor a = from_data<int64_t>({-7, 7, -7, 7}, {4});
  Tensor b = from_data<int64_t>({3, -3, -3, 3}, {4});
  std::vector<int> types{TensorProto::INT64, TensorProto::INT64};
  EXPECT_EQ(run(model_of("Mod", types, 4), {a, b}).to_vector<int64_t>(),
            (std::vector<int64_t>{2, -2, -1, 1}));
  auto fmod = [](::onnx::NodeProto& n) { set_int(n, "fmod", 1); };
  EXPECT_EQ(run(model_of("Mod", types, 4, fmod), {a, b}).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 1, -1, 1}));
  Tensor fa = from_data<float>({-7.5f, 7.5f}, {2}), fb = from_data<float>({2, -2}, {2});
  EXPECT_EQ(run(model_of("Mod", {TensorProto::FLOAT, TensorProto::FLOAT}, 2, fmod), {fa, fb})
                .to_vector<float>(),
            (std::vector<float>{-1.5f, 1.5f}));
}

TEST(OnnxElementwise, PowKeepsTheBaseDtype) {
  Tensor base = from_data<int32_t>({2, 3, 2}, {3});
  Tensor exponent = from_data<float>({3, 2, 0.5f}, {3});
  Tensor y = run(model_of("Pow", {TensorProto::INT32, TensorProto::FLOAT}, 3), {base, exponent});
  ASSERT_EQ(y.dtype(), DType::I32);
  EXPECT_EQ(y.to_vector<int32_t>(), (std::vector<int32_t>{8, 9, 1}));
}

TEST(OnnxElementwise, AttributeErrorsNameTheNode) {
  std::vector<int> floats{TensorProto::FLOAT, TensorProto::FLOAT};
  testing::expect_error<Error>([&] { onnx::load_bytes(model_of("Mod", floats, 2)); },
                               {"node 'n0' (Mod)", "fmod must be 1 for floating-point inputs"});
  testing::expect_error<UnsupportedError>(
      [] {
        onnx::load_bytes(model_of("Elu", {TensorProto::FLOAT}, 2,
                                  [](::onnx::NodeProto& n) { set_int(n, "beta", 1); }));
      },
      {"node 'n0' (Elu)", "attribute 'beta' is not supported"});
  testing::expect_error<UnsupportedError>(
      [] {
        onnx::load_bytes(model_of("Cast", {TensorProto::FLOAT}, 2, [](::onnx::NodeProto& n) {
          set_int(n, "to", TensorProto::STRING);
        }));
      },
      {"node 'n0' (Cast)", "cast to STRING", "no kiln dtype"});
}

}  // namespace
}  // namespace kiln
