// onnx::load: models read, mapped onto kiln ops and run; errors for what kiln does not
// implement and for malformed files.
#include <gtest/gtest.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include "tests/expect_error.h"

namespace kiln {
namespace {

// A model of one node over float inputs of `shape`.
std::string one_node_model(const std::string& op, int inputs, const Shape& shape,
                           int64_t opset = 13) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("n0");
  for (int i = 0; i < inputs; ++i) {
    std::string name = "x" + std::to_string(i);
    n->add_input(name);
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  n->add_output("y");
  g->add_output()->set_name("y");
  return m.SerializeAsString();
}

TEST(OnnxImport, RunsAnAdd) {
  onnx::Model model = onnx::load_bytes(one_node_model("Add", 2, {2, 3}));
  EXPECT_EQ(model.input_names(), (std::vector<std::string>{"x0", "x1"}));
  EXPECT_EQ(model.output_names(), (std::vector<std::string>{"y"}));
  Tensor a = from_data<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_data<float>({10, 20, 30, 40, 50, 60}, {2, 3});
  std::vector<Tensor> y = model({a, b});
  EXPECT_EQ(y.at(0).to_vector<float>(), (std::vector<float>{11, 22, 33, 44, 55, 66}));
}

TEST(OnnxImport, UnknownOpNamesTheNode) {
  testing::expect_error<UnsupportedError>(
      [] { onnx::load_bytes(one_node_model("NoSuchOp", 1, {2})); },
      {"node 'n0' (NoSuchOp): op type NoSuchOp is not supported"});
}

TEST(OnnxImport, TruncatedFileIsAnError) {
  std::string bytes = one_node_model("Add", 2, {2, 3});
  for (size_t cut : {bytes.size() / 2, bytes.size() - 1, size_t{3}})
    EXPECT_THROW(onnx::load_bytes(bytes.substr(0, cut)), Error) << cut;
}

TEST(OnnxImport, OpsetOutOfRange) {
  testing::expect_error<UnsupportedError>(
      [] { onnx::load_bytes(one_node_model("Add", 2, {2}, 5)); }, {"opset 5", "7 to 17"});
}

}  // namespace
}  // namespace kiln
