// Small ONNX models built in C++ for the import tests: a graph of inputs, initializers and
// nodes, serialized as a .onnx file's bytes.
#pragma once

#include <kiln/kiln.h>
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

namespace kiln::testing {

class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int64_t opset = 13) {
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(opset);
    model_.mutable_graph()->set_name("g");
  }

  // A graph input; dims of -1 are dynamic (named `dim_param` when given).
  OnnxModelBuilder& input(const std::string& name, const std::vector<int64_t>& dims,
                          int elem_type = ::onnx::TensorProto::FLOAT,
                          const std::string& dim_param = "") {
    auto* in = graph().add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    tt->mutable_shape();  // a scalar has a shape of no dimensions
    for (int64_t d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (d >= 0)
        dim->set_dim_value(d);
      else if (!dim_param.empty())
        dim->set_dim_param(dim_param);
    }
    return *this;
  }

  // A float initializer.
  OnnxModelBuilder& initializer(const std::string& name, const std::vector<int64_t>& dims,
                                const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    fill(*t, name, dims, values);
    return *this;
  }
  // An int64 initializer.
  OnnxModelBuilder& initializer_i64(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
    return *this;
  }

  // A node; returns it so that a test can add attributes.
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? "n" + std::to_string(graph().node_size() - 1) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }

  OnnxModelBuilder& output(const std::string& name) {
    graph().add_output()->set_name(name);
    return *this;
  }

  ::onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  ::onnx::ModelProto& model() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }

  // Sets an int attribute / ints attribute / float attribute on a node.
  static void attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr_float(::onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }

  // A float TensorProto.
  static void fill(::onnx::TensorProto& t, const std::string& name,
                   const std::vector<int64_t>& dims, const std::vector<float>& values) {
    t.set_name(name);
    t.set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float v : values) t.add_float_data(v);
  }

 private:
  ::onnx::ModelProto model_;
};

// A model of one node `op` (named n0) over inputs x0, x1, ... of `shapes` (float, or
// `elem_types[i]`) with one output y; `set` adds the node's attributes.
inline std::string one_node_model(const std::string& op, int64_t opset,
                                  const std::vector<Shape>& shapes,
                                  const std::function<void(::onnx::NodeProto&)>& set = {},
                                  const std::vector<int>& elem_types = {}) {
  OnnxModelBuilder b(opset);
  std::vector<std::string> names;
  for (size_t i = 0; i < shapes.size(); ++i) {
    names.push_back("x" + std::to_string(i));
    b.input(names.back(), shapes[i],
            i < elem_types.size() ? elem_types[i] : ::onnx::TensorProto::FLOAT);
  }
  ::onnx::NodeProto& n = b.node(op, names, {"y"}, "n0");
  if (set) set(n);
  b.output("y");
  return b.bytes();
}

}  // namespace kiln::testing
