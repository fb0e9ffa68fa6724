// What an ONNX op's import rule sees of its node: the inputs as kiln tensors, the values of
// constant inputs (folded at import), the attributes, and the error helpers that name the
// node. Each rule lives in one of the ops_*.cpp files and is listed in the one op table
// (op_table.cpp). Every attribute a rule does not read is reported as unsupported after
// the rule ran, so a rule reads each attribute it implements, defaults included.
#pragma once

#include <kiln/kiln.h>
#include <kiln/onnx.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace onnx {
class NodeProto;
class AttributeProto;
class TensorProto;
}  // namespace onnx

namespace kiln::onnx::detail {

// What the import of one model shares between its nodes: where external data lives, and
// the graph inputs that LoadOptions::input_values can make constants (by parameter node).
struct ImportState {
  std::string dir;
  std::map<const ir::Node*, std::string> given_inputs;  // parameters with a given value
};

// Thrown by NodeContext::constant_ints / constant_doubles when a value the rule needs is
// computed from graph inputs whose values the caller gave: the import starts again with
// those inputs as constants (importer.cpp). Not a kiln::Error: rules do not catch it.
struct NeedsInputValues {
  std::vector<std::string> inputs;
};

class NodeContext {
 public:
  NodeContext(const ::onnx::NodeProto& node, int64_t opset,
              std::vector<std::optional<Tensor>> inputs, const ImportState& state);

  const std::string& op_type() const;
  // The default domain's opset of the model.
  int64_t opset() const { return opset_; }
  // "node 'conv1' (Conv)": how errors name the node.
  std::string describe() const;

  // Inputs: ONNX leaves an optional input out with an empty name, or by ending the list.
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].has_value(); }
  // Input i; a missing one throws naming the node.
  const Tensor& input(size_t i) const;
  std::optional<Tensor> optional_input(size_t i) const;
  // Whether input i is computed from initializers, constants and shapes alone.
  bool is_constant(size_t i) const;
  // The values of a constant input (see is_constant), read as int64 / double. A missing or
  // non-constant input throws UnsupportedError naming the node and the input (unless the
  // graph inputs it depends on have values in LoadOptions::input_values: then they become
  // constants, and the import starts again).
  std::vector<int64_t> constant_ints(size_t i) const;
  std::vector<double> constant_doubles(size_t i) const;
  // Throws as constant_ints does unless input i is constant; `why` ends the message
  // ("... must be known when the model is imported: <why>").
  void require_constant(size_t i, const std::string& why = "") const;

  // How many outputs the node names (trailing optional outputs may be left out).
  size_t num_outputs() const;
  bool wants_output(size_t i) const;

  // Attributes. Each getter marks the attribute as read; a missing one without a default
  // throws Error naming the node and the attribute.
  bool has_attr(const std::string& name) const;
  int64_t attr_int(const std::string& name, std::optional<int64_t> fallback = std::nullopt);
  double attr_float(const std::string& name, std::optional<double> fallback = std::nullopt);
  std::string attr_string(const std::string& name,
                          std::optional<std::string> fallback = std::nullopt);
  std::vector<int64_t> attr_ints(const std::string& name,
                                 std::optional<std::vector<int64_t>> fallback = std::nullopt);
  std::vector<double> attr_floats(const std::string& name,
                                  std::optional<std::vector<double>> fallback = std::nullopt);
  std::vector<std::string> attr_strings(
      const std::string& name, std::optional<std::vector<std::string>> fallback = std::nullopt);
  Tensor attr_tensor(const std::string& name);
  // The attributes no getter read (the importer reports them as unsupported).
  std::vector<std::string> unread_attrs() const;

  // UnsupportedError: "node 'x' (Op): <what>".
  [[noreturn]] void unsupported(const std::string& what) const;
  // Error for a model that breaks ONNX's rules: "node 'x' (Op): <what>".
  [[noreturn]] void invalid(const std::string& what) const;
  // Axis `axis` of a rank-`rank` tensor, negative counting from the end; out of range is
  // invalid().
  int normalize_axis(int64_t axis, int rank) const;

 private:
  const ::onnx::AttributeProto* find_attr(const std::string& name) const;
  const ::onnx::AttributeProto& need_attr(const std::string& name, int type) const;

  const ::onnx::NodeProto& node_;
  int64_t opset_;
  std::vector<std::optional<Tensor>> inputs_;
  const ImportState& state_;
  std::set<std::string> read_;
};

// An import rule: the node's outputs, in order (at least as many as the node names).
using OpRule = std::function<std::vector<Tensor>(NodeContext&)>;
using OpTable = std::map<std::string, OpRule, std::less<>>;

// The one op table (op_table.cpp), filled by the ops_*.cpp files.
const OpTable& op_table();
void add_elementwise_ops(OpTable& table);  // ops_elementwise.cpp
void add_movement_ops(OpTable& table);     // ops_movement.cpp
void add_nn_ops(OpTable& table);           // ops_nn.cpp
void add_reduction_ops(OpTable& table);    // ops_reduction.cpp
void add_misc_ops(OpTable& table);         // ops_misc.cpp

// A TensorProto as a constant tensor (`dir`: where external data lives; `what` names it in
// errors). Unsupported element types throw UnsupportedError.
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& dir,
                         const std::string& what);
// The kiln dtype of an ONNX TensorProto element type, or nullopt.
std::optional<DType> dtype_from_onnx(int element_type);
// The ONNX spelling of an element type ("FLOAT", "STRING", ...).
std::string onnx_type_name(int element_type);

}  // namespace kiln::onnx::detail
