// The elementwise import rules (frontend/onnx/ops_elementwise.cpp): the dtype and rounding
// rules where ONNX and kiln's ops differ (integer Div, Mod's two sign rules, Pow's result
// dtype) and the errors for attribute values the rules refuse. The conformance cases
// (kiln_onnx_conformance) test the values of every op.
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include <limits>

#include "tests/expect_error.h"
#include "tests/onnx/model_builder.h"

namespace kiln {
namespace {

using ::onnx::TensorProto;

// A model of one node `op` over 1-D inputs of `elem_types` and length n, with the
// attributes `set_attrs` adds.
std::string model_of(const std::string& op, const std::vector<int>& elem_types, int64_t n,
                     void (*set_attrs)(::onnx::NodeProto&) = nullptr, int64_t opset = 13) {
  std::function<void(::onnx::NodeProto&)> set;
  if (set_attrs) set = set_attrs;
  return testing::one_node_model(op, opset, std::vector<Shape>(elem_types.size(), Shape{n}), set,
                                 elem_types);
}

::onnx::AttributeProto* add_attr(::onnx::NodeProto& node, const char* name,
                                 ::onnx::AttributeProto::AttributeType type) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

void set_int(::onnx::NodeProto& node, const char* name, int64_t v) {
  add_attr(node, name, ::onnx::AttributeProto::INT)->set_i(v);
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
  // The lowest int64, whose magnitude does not fit, included.
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  Tensor a = from_data<int64_t>({-7, 7, -7, 7, lowest}, {5});
  Tensor b = from_data<int64_t>({3, -3, -3, 3, 3}, {5});
  std::vector<int> types{TensorProto::INT64, TensorProto::INT64};
  EXPECT_EQ(run(model_of("Mod", types, 5), {a, b}).to_vector<int64_t>(),
            (std::vector<int64_t>{2, -2, -1, 1, 1}));
  auto fmod = [](::onnx::NodeProto& n) { set_int(n, "fmod", 1); };
  EXPECT_EQ(run(model_of("Mod", types, 5, fmod), {a, b}).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 1, -1, 1, -2}));
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

TEST(OnnxElementwise, ClipBoundsAreAttributesBeforeOpset11) {
  Tensor x = from_data<float>({-3, 0.5f, 3}, {3});
  auto min_only = [](::onnx::NodeProto& n) {
    add_attr(n, "min", ::onnx::AttributeProto::FLOAT)->set_f(-1);
  };
  Tensor y = run(model_of("Clip", {TensorProto::FLOAT}, 3, min_only, 10), {x});
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{-1, 0.5f, 3}));
  // From opset 11 min is an input; the attribute is not read.
  testing::expect_error<UnsupportedError>(
      [&] { onnx::load_bytes(model_of("Clip", {TensorProto::FLOAT}, 3, min_only, 11)); },
      {"attribute 'min' is not supported"});
}

TEST(OnnxElementwise, ConstantValueAttributes) {
  Tensor f = run(model_of("Constant", {}, 0,
                          [](::onnx::NodeProto& n) {
                            add_attr(n, "value_float", ::onnx::AttributeProto::FLOAT)->set_f(2.5f);
                          }),
                 {});
  EXPECT_EQ(f.type(), (Type{DType::F32, {}}));
  EXPECT_EQ(f.item<float>(), 2.5f);
  Tensor ints = run(model_of("Constant", {}, 0,
                             [](::onnx::NodeProto& n) {
                               auto* a = add_attr(n, "value_ints", ::onnx::AttributeProto::INTS);
                               for (int64_t v : {4, -1, 7}) a->add_ints(v);
                             }),
                    {});
  EXPECT_EQ(ints.type(), (Type{DType::I64, {3}}));
  EXPECT_EQ(ints.to_vector<int64_t>(), (std::vector<int64_t>{4, -1, 7}));
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
