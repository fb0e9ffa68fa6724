// The shape and movement import rules (frontend/onnx/ops_movement.cpp): a shape computed
// by Shape -> Gather -> Concat folds at import into Reshape's constant shape, a Reshape
// whose shape depends on a graph input is refused naming that input, and an unsupported
// attribute value is named. Values are tested by the conformance cases.
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include "tests/expect_error.h"

namespace kiln {
namespace {

// A small graph written node by node: float inputs, int64 initializers, one output "y".
struct Graph {
  ::onnx::ModelProto model;
  ::onnx::GraphProto* g = model.mutable_graph();

  explicit Graph(int64_t opset = 13) {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(opset);
    g->set_name("g");
    g->add_output()->set_name("y");
  }
  void input(const std::string& name, const Shape& shape, int type = ::onnx::TensorProto::FLOAT) {
    auto* tt = g->add_input()->mutable_type()->mutable_tensor_type();
    g->mutable_input(g->input_size() - 1)->set_name(name);
    tt->set_elem_type(type);
    for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void ints(const std::string& name, const std::vector<int64_t>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
  }
  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                          const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  onnx::Model load() const { return onnx::load_bytes(model.SerializeAsString()); }
};

TEST(OnnxMovement, ShapeGatherConcatFoldsIntoReshape) {
  Graph m;
  m.input("x", {2, 3, 4});
  m.ints("first", {0});
  m.ints("rest", {-1});
  m.node("Shape", {"x"}, "s");
  m.node("Gather", {"s", "first"}, "s0");
  Graph::attr(m.node("Concat", {"s0", "rest"}, "target"), "axis", 0);
  m.node("Reshape", {"x", "target"}, "y");
  onnx::Model model = m.load();
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor y = model({from_data(v, {2, 3, 4})}).at(0);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.to_vector<float>(), v);
}

// Before opset 10 (Slice), 11 (Pad) and 13 (Squeeze, Unsqueeze) these values were
// attributes.
TEST(OnnxMovement, OldOpsetsReadAttributes) {
  Graph m(9);
  m.input("x", {2, 3});
  ::onnx::NodeProto* slice = m.node("Slice", {"x"}, "s");
  Graph::attr(slice, "starts", std::vector<int64_t>{-2});
  Graph::attr(slice, "ends", std::vector<int64_t>{INT64_MAX});
  Graph::attr(slice, "axes", std::vector<int64_t>{1});
  Graph::attr(m.node("Unsqueeze", {"s"}, "u"), "axes", std::vector<int64_t>{0});
  Graph::attr(m.node("Squeeze", {"u"}, "q"), "axes", std::vector<int64_t>{0});
  ::onnx::NodeProto* pad = m.node("Pad", {"q"}, "y");
  Graph::attr(pad, "pads", std::vector<int64_t>{0, 1, 0, 0});
  Graph::attr(pad, "mode", std::string("edge"));
  Tensor y = m.load()({from_data<float>({1, 2, 3, 4, 5, 6}, {2, 3})}).at(0);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2, 2, 3, 5, 5, 6}));
}

TEST(OnnxMovement, ReshapeToAGraphInputIsRefusedNamingIt) {
  Graph m;
  m.input("x", {2, 3});
  m.input("shape", {2}, ::onnx::TensorProto::INT64);
  m.node("Reshape", {"x", "shape"}, "y");
  testing::expect_error<UnsupportedError>(
      [&] { m.load(); },
      {"node 'y' (Reshape)", "input 1 ('shape')", "must be known when the model is imported"});
}

TEST(OnnxMovement, UnsupportedModeIsNamed) {
  Graph m;
  m.input("x", {1, 4, 2, 2});
  ::onnx::NodeProto* n = m.node("DepthToSpace", {"x"}, "y");
  Graph::attr(n, "blocksize", 2);
  Graph::attr(n, "mode", std::string("XYZ"));
  testing::expect_error<UnsupportedError>(
      [&] { m.load(); }, {"node 'y' (DepthToSpace)", "mode 'XYZ' is not supported"});
}

}  // namespace
}  // namespace kiln
