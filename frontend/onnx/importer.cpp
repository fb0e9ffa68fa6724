// onnx::load: a ModelProto to an IrFunction. Initializers become constants, graph inputs
// become parameters, and each node goes through its rule in the op table (op_table.cpp) in
// file order, so every value is a lazy kiln tensor. Rules that need a value at import (a
// Reshape's shape, a Slice's starts) read it with NodeContext::constant_ints, which
// evaluates the constant subgraph behind it on the reference evaluator: that is how
// shape-computing subgraphs fold. Tests: tests/onnx/import_test.cpp.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "frontend/evaluate.h"
#include "frontend/files.h"
#include "frontend/onnx/node_context.h"
#include "kiln/onnx.h"

namespace kiln::onnx {

namespace detail {

namespace {

using ::onnx::AttributeProto;
using ::onnx::TensorProto;

std::shared_ptr<runtime::Device> reference_device() {
  static std::shared_ptr<runtime::Device> device = runtime::make_device("reference");
  return device;
}

// The graph inputs (parameters without a value) the history of `root` reads.
std::vector<const ir::Node*> inputs_read(const ir::Node* root) {
  frontend::HistoryReadLock live;
  std::vector<const ir::Node*> stack{root}, found;
  std::unordered_set<const ir::Node*> seen{root};
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    if (n->buffer) continue;
    if (n->op == ir::OpKind::Parameter) found.push_back(n);
    for (const auto& o : n->operands)
      if (seen.insert(o.get()).second) stack.push_back(o.get());
  }
  return found;
}

// The value of a constant tensor as `dtype`, computed on the reference evaluator.
template <class T>
std::vector<T> constant_values(const Tensor& t, DType dtype) {
  Tensor v = t.dtype() == dtype ? t : cast(t, dtype);
  frontend::evaluate({v}, reference_device());
  std::vector<T> out(static_cast<size_t>(v.size()));
  if (!out.empty()) ::kiln::detail::copy_to_host(*v.node()->buffer, dtype, out.data(), v.size());
  return out;
}

const char* attr_type_name(int type) {
  switch (type) {
    case AttributeProto::FLOAT: return "float";
    case AttributeProto::INT: return "int";
    case AttributeProto::STRING: return "string";
    case AttributeProto::TENSOR: return "tensor";
    case AttributeProto::GRAPH: return "graph";
    case AttributeProto::FLOATS: return "floats";
    case AttributeProto::INTS: return "ints";
    case AttributeProto::STRINGS: return "strings";
    case AttributeProto::TENSORS: return "tensors";
    case AttributeProto::GRAPHS: return "graphs";
    default: return "other";
  }
}

}  // namespace

NodeContext::NodeContext(const ::onnx::NodeProto& node, int64_t opset,
                         std::vector<std::optional<Tensor>> inputs, const ImportState& state)
    : node_(node), opset_(opset), inputs_(std::move(inputs)), state_(state) {}

const std::string& NodeContext::op_type() const { return node_.op_type(); }

std::string NodeContext::describe() const {
  std::string name = node_.name().empty() && node_.output_size() > 0
                         ? "making '" + node_.output(0) + "'"
                         : "'" + node_.name() + "'";
  return "node " + name + " (" + node_.op_type() + ")";
}

const Tensor& NodeContext::input(size_t i) const {
  if (!has_input(i))
    invalid("input " + std::to_string(i) + " is required but missing (the node has " +
            std::to_string(inputs_.size()) + ")");
  return *inputs_[i];
}

std::optional<Tensor> NodeContext::optional_input(size_t i) const {
  return has_input(i) ? inputs_[i] : std::nullopt;
}

bool NodeContext::is_constant(size_t i) const {
  return has_input(i) && inputs_read(inputs_[i]->node().get()).empty();
}

void NodeContext::require_constant(size_t i, const std::string& why) const {
  std::vector<const ir::Node*> read = inputs_read(input(i).node().get());
  if (read.empty()) return;
  NeedsInputValues needs;
  for (const ir::Node* p : read) {
    auto it = state_.given_inputs.find(p);
    if (it == state_.given_inputs.end()) {
      needs.inputs.clear();
      break;
    }
    needs.inputs.push_back(it->second);
  }
  if (!needs.inputs.empty()) throw needs;
  unsupported("input " + std::to_string(i) + " ('" + node_.input(static_cast<int>(i)) +
              "') must be known when the model is imported" + (why.empty() ? "" : ": " + why) +
              " (computed from initializers, constants and static shapes), but it depends on a "
              "graph input; make that an initializer, or give its value "
              "(LoadOptions::input_values)");
}

std::vector<int64_t> NodeContext::constant_ints(size_t i) const {
  require_constant(i);
  const Tensor& t = input(i);
  if (!is_integer(t.dtype()) && !is_bool(t.dtype()))
    invalid("input " + std::to_string(i) + " must be an integer tensor, not " +
            std::string(dtype_name(t.dtype())));
  return constant_values<int64_t>(t, DType::I64);
}

std::vector<double> NodeContext::constant_doubles(size_t i) const {
  require_constant(i);
  const Tensor& t = input(i);
  if (is_complex(t.dtype())) invalid("input " + std::to_string(i) + " must be a real tensor");
  return constant_values<double>(t, DType::F64);
}

size_t NodeContext::num_outputs() const { return static_cast<size_t>(node_.output_size()); }

bool NodeContext::wants_output(size_t i) const {
  return i < num_outputs() && !node_.output(static_cast<int>(i)).empty();
}

const AttributeProto* NodeContext::find_attr(const std::string& name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

bool NodeContext::has_attr(const std::string& name) const { return find_attr(name) != nullptr; }

const AttributeProto& NodeContext::need_attr(const std::string& name, int type) const {
  const AttributeProto* a = find_attr(name);
  if (!a) invalid("attribute '" + name + "' is required but missing");
  if (!a->ref_attr_name().empty())
    unsupported("attribute '" + name + "' refers to a function attribute");
  if (a->type() != type)
    invalid(std::string("attribute '") + name + "' is " + attr_type_name(a->type()) +
            ", expected " + attr_type_name(type));
  return *a;
}

int64_t NodeContext::attr_int(const std::string& name, std::optional<int64_t> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  return need_attr(name, AttributeProto::INT).i();
}

double NodeContext::attr_float(const std::string& name, std::optional<double> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  return need_attr(name, AttributeProto::FLOAT).f();
}

std::string NodeContext::attr_string(const std::string& name, std::optional<std::string> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  return need_attr(name, AttributeProto::STRING).s();
}

std::vector<int64_t> NodeContext::attr_ints(const std::string& name,
                                            std::optional<std::vector<int64_t>> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  const auto& a = need_attr(name, AttributeProto::INTS);
  return {a.ints().begin(), a.ints().end()};
}

std::vector<double> NodeContext::attr_floats(const std::string& name,
                                             std::optional<std::vector<double>> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  const auto& a = need_attr(name, AttributeProto::FLOATS);
  return {a.floats().begin(), a.floats().end()};
}

std::vector<std::string> NodeContext::attr_strings(
    const std::string& name, std::optional<std::vector<std::string>> fallback) {
  read_.insert(name);
  if (fallback && !has_attr(name)) return *fallback;
  const auto& a = need_attr(name, AttributeProto::STRINGS);
  return {a.strings().begin(), a.strings().end()};
}

Tensor NodeContext::attr_tensor(const std::string& name) {
  read_.insert(name);
  return tensor_from_proto(need_attr(name, AttributeProto::TENSOR).t(), state_.dir,
                           describe() + " attribute '" + name + "'");
}

std::vector<std::string> NodeContext::unread_attrs() const {
  std::vector<std::string> out;
  for (const auto& a : node_.attribute())
    if (!read_.count(a.name())) out.push_back(a.name());
  return out;
}

void NodeContext::unsupported(const std::string& what) const {
  throw UnsupportedError(describe() + ": " + what);
}

void NodeContext::invalid(const std::string& what) const { throw Error(describe() + ": " + what); }

int NodeContext::normalize_axis(int64_t axis, int rank) const {
  if (axis < -rank || axis >= std::max(rank, 1))
    invalid("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

std::optional<DType> dtype_from_onnx(int element_type) {
  switch (element_type) {
    case TensorProto::FLOAT: return DType::F32;
    case TensorProto::UINT8: return DType::U8;
    case TensorProto::INT8: return DType::I8;
    case TensorProto::INT32: return DType::I32;
    case TensorProto::INT64: return DType::I64;
    case TensorProto::BOOL: return DType::Bool;
    case TensorProto::FLOAT16: return DType::F16;
    case TensorProto::DOUBLE: return DType::F64;
    case TensorProto::COMPLEX64: return DType::C64;
    case TensorProto::BFLOAT16: return DType::BF16;
    default: return std::nullopt;
  }
}

std::string onnx_type_name(int element_type) {
  if (TensorProto::DataType_IsValid(element_type))
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(element_type));
  return "element type " + std::to_string(element_type);
}

namespace {

// The bytes of an external-data tensor: `location` relative to `dir` (never outside it),
// from `offset`, `length` bytes (or to the end).
std::string external_bytes(const TensorProto& proto, const std::string& dir,
                           const std::string& what) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    if (kv.key() == "location") location = kv.value();
    try {
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      throw IOError(what + ": external data " + kv.key() + " '" + kv.value() + "' is not a number");
    }
  }
  std::filesystem::path rel(location);
  if (location.empty() || rel.is_absolute() ||
      std::any_of(rel.begin(), rel.end(), [](const auto& part) { return part == ".."; }))
    throw IOError(what + ": external data location '" + location +
                  "' is not a path inside the model's directory");
  std::string bytes = frontend::read_file((std::filesystem::path(dir) / rel).string());
  if (offset < 0 || offset > static_cast<int64_t>(bytes.size()) ||
      (length >= 0 && offset + length > static_cast<int64_t>(bytes.size())))
    throw IOError(what + ": external data '" + location + "' holds " +
                  std::to_string(bytes.size()) + " bytes, fewer than offset " +
                  std::to_string(offset) + " + length " + std::to_string(length));
  return bytes.substr(static_cast<size_t>(offset),
                      length < 0 ? std::string::npos : static_cast<size_t>(length));
}

// Copies a repeated field's values, converted to T, into `out`.
template <class T, class Field>
void copy_field(const Field& field, std::vector<std::byte>& out) {
  out.resize(static_cast<size_t>(field.size()) * sizeof(T));
  T* p = reinterpret_cast<T*>(out.data());
  for (int i = 0; i < field.size(); ++i) p[i] = static_cast<T>(field.Get(i));
}

}  // namespace

Tensor tensor_from_proto(const TensorProto& proto, const std::string& dir,
                         const std::string& what) {
  std::optional<DType> dtype = dtype_from_onnx(proto.data_type());
  if (!dtype)
    throw UnsupportedError(what + ": element type " + onnx_type_name(proto.data_type()) +
                           " has no kiln dtype (kiln has bool, int8, uint8, int32, int64, "
                           "float16, bfloat16, float, double and complex64)");
  if (proto.has_segment()) throw UnsupportedError(what + ": segmented tensors are not supported");
  Shape shape;
  for (int64_t d : proto.dims()) {
    if (d < 0) throw IOError(what + ": dimension " + std::to_string(d) + " is negative");
    shape.push_back(d);
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > (int64_t{1} << 40) / d)
      throw IOError(what + ": shape " + shape_str(shape) + " is too large");
    count *= d;
  }
  size_t nbytes = static_cast<size_t>(count) * dtype_size(*dtype);

  std::vector<std::byte> data;
  if (proto.data_location() == TensorProto::EXTERNAL || proto.has_raw_data()) {
    std::string raw = proto.data_location() == TensorProto::EXTERNAL
                          ? external_bytes(proto, dir, what)
                          : proto.raw_data();
    data.resize(raw.size());
    if (!raw.empty()) std::memcpy(data.data(), raw.data(), raw.size());
  } else {
    switch (proto.data_type()) {
      case TensorProto::FLOAT:
      case TensorProto::COMPLEX64: copy_field<float>(proto.float_data(), data); break;
      case TensorProto::DOUBLE: copy_field<double>(proto.double_data(), data); break;
      case TensorProto::INT64: copy_field<int64_t>(proto.int64_data(), data); break;
      case TensorProto::INT32: copy_field<int32_t>(proto.int32_data(), data); break;
      case TensorProto::INT8: copy_field<int8_t>(proto.int32_data(), data); break;
      case TensorProto::UINT8:
      case TensorProto::BOOL: copy_field<uint8_t>(proto.int32_data(), data); break;
      case TensorProto::FLOAT16:
      case TensorProto::BFLOAT16: copy_field<uint16_t>(proto.int32_data(), data); break;
      default: break;
    }
  }
  if (data.size() != nbytes)
    throw IOError(what + ": holds " + std::to_string(data.size()) + " bytes of data, but " +
                  std::string(dtype_name(*dtype)) + shape_str(shape) + " needs " +
                  std::to_string(nbytes));
  return from_host(data.data(), *dtype, count, shape);
}

namespace {

// Rules implement each op as opset 7 and later define it; older models load too, since the
// attributes older opsets had and later ones dropped (consumed_inputs, is_test, broadcast)
// are refused as unsupported where a rule does not read them.
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;

// Characters other than letters, digits and '_' become '_'; a leading digit gets an 'x'.
std::string identifier_of(const std::string& name, std::unordered_set<std::string>& used) {
  std::string id;
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (id.empty() || !std::isalpha(static_cast<unsigned char>(id[0]))) id = "x" + id;
  std::string unique = id;
  for (int k = 1; !used.insert(unique).second; ++k) unique = id + "_" + std::to_string(k);
  return unique;
}

// The type of a graph input, with the caller's shape for dynamic dimensions.
Type input_type(const ::onnx::ValueInfoProto& info, const LoadOptions& options) {
  const std::string& name = info.name();
  if (!info.type().has_tensor_type())
    throw UnsupportedError("graph input '" + name +
                           "' is not a tensor (sequences, maps and "
                           "optional values are not supported)");
  const auto& tt = info.type().tensor_type();
  std::optional<DType> dtype = dtype_from_onnx(tt.elem_type());
  if (!dtype)
    throw UnsupportedError("graph input '" + name + "': element type " +
                           onnx_type_name(tt.elem_type()) + " has no kiln dtype");
  auto given = options.input_shapes.find(name);
  if (!tt.has_shape()) {
    if (given == options.input_shapes.end())
      throw UnsupportedError("graph input '" + name +
                             "' has no shape in the model; give one (LoadOptions::input_shapes, "
                             "--input-shape " +
                             name + "=...)");
    return Type{*dtype, given->second};
  }
  Shape shape;
  std::string dynamic;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      shape.push_back(d.dim_value());
    } else {
      shape.push_back(-1);
      if (dynamic.empty()) dynamic = d.has_dim_param() ? "'" + d.dim_param() + "'" : "unnamed";
    }
  }
  if (given == options.input_shapes.end()) {
    if (!dynamic.empty())
      throw UnsupportedError("graph input '" + name + "' has a dynamic dimension (" + dynamic +
                             "); give its shape (LoadOptions::input_shapes, --input-shape " + name +
                             "=...)");
    return Type{*dtype, shape};
  }
  const Shape& g = given->second;
  bool agrees = g.size() == shape.size();
  for (size_t i = 0; agrees && i < g.size(); ++i) agrees = shape[i] < 0 || shape[i] == g[i];
  if (!agrees) {
    std::string model_shape;
    for (int64_t d : shape)
      model_shape += (model_shape.empty() ? "" : ",") + (d < 0 ? "?" : std::to_string(d));
    throw ShapeError("graph input '" + name + "': the given shape " + shape_str(g) +
                     " does not match the model's [" + model_shape + "] (?: dynamic)");
  }
  return Type{*dtype, g};
}

int64_t default_opset(const ::onnx::ModelProto& model) {
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  // A model of other domains' ops alone (the training optimizers) has no default opset.
  if (opset < 0) return kMaxOpset;
  if (opset < kMinOpset || opset > kMaxOpset)
    throw UnsupportedError("the model imports opset " + std::to_string(opset) +
                           " of the default domain; kiln reads opsets " +
                           std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  return opset;
}

// One import, with the graph inputs in `constant_inputs` taken as constants of their
// values in options.input_values.
Model import_once(const ::onnx::ModelProto& model, const LoadOptions& options,
                  const std::string& dir, const std::set<std::string>& constant_inputs) {
  if (!model.has_graph()) throw IOError("the ONNX model has no graph");
  int64_t opset = default_opset(model);
  const ::onnx::GraphProto& graph = model.graph();
  if (graph.sparse_initializer_size() > 0)
    throw UnsupportedError("graph '" + graph.name() + "': sparse initializers are not supported");

  ImportState state;
  state.dir = dir;
  std::unordered_map<std::string, Tensor> values;
  for (const auto& init : graph.initializer())
    values.insert_or_assign(init.name(),
                            tensor_from_proto(init, dir, "initializer '" + init.name() + "'"));

  SaveIrOptions fn_options;
  fn_options.function_name = "main";
  std::vector<std::string> input_names, all_inputs;
  std::unordered_set<std::string> used_ids;
  for (const auto& info : graph.input()) {
    if (values.count(info.name())) continue;  // an initializer listed as an input
    all_inputs.push_back(info.name());
    Type type = input_type(info, options);
    auto given = options.input_values.find(info.name());
    if (given != options.input_values.end() && given->second.type() != type)
      throw ShapeError("the value given for graph input '" + info.name() + "' is " +
                       given->second.type().str() + ", but the input is " + type.str());
    if (constant_inputs.count(info.name())) {
      values.insert_or_assign(info.name(), given->second);
      continue;
    }
    Tensor p(ir::make_node(ir::OpKind::Parameter, {}, {}, type));
    values.insert_or_assign(info.name(), p);
    if (given != options.input_values.end()) state.given_inputs[p.node().get()] = info.name();
    fn_options.inputs.emplace_back(identifier_of(info.name(), used_ids), p);
    input_names.push_back(info.name());
  }
  auto check_known = [&](const std::string& name, const char* what) {
    if (std::find(all_inputs.begin(), all_inputs.end(), name) == all_inputs.end())
      throw ShapeError(std::string("a ") + what + " is given for '" + name +
                       "', which is not an input of the model");
  };
  for (const auto& given : options.input_shapes) check_known(given.first, "shape");
  for (const auto& given : options.input_values) check_known(given.first, "value");

  const OpTable& table = op_table();
  for (const auto& node : graph.node()) {
    auto describe = [&]() {
      return "node '" +
             (node.name().empty() ? node.output_size() ? node.output(0) : "" : node.name()) +
             "' (" + node.op_type() + ")";
    };
    if (!node.domain().empty() && node.domain() != "ai.onnx" &&
        node.domain() != "ai.onnx.preview.training")
      throw UnsupportedError(describe() + ": domain '" + node.domain() +
                             "' is not supported (only the default domain and "
                             "ai.onnx.preview.training are)");
    auto rule = table.find(node.op_type());
    if (rule == table.end())
      throw UnsupportedError(describe() + ": op type " + node.op_type() + " is not supported");
    for (const auto& a : node.attribute())
      if (a.type() == AttributeProto::GRAPH || a.type() == AttributeProto::GRAPHS)
        throw UnsupportedError(describe() + ": attribute '" + a.name() +
                               "' is a subgraph; control flow is not supported");
    std::vector<std::optional<Tensor>> inputs;
    for (const std::string& name : node.input()) {
      if (name.empty()) {
        inputs.emplace_back(std::nullopt);
        continue;
      }
      auto it = values.find(name);
      if (it == values.end())
        throw Error(describe() + ": input '" + name +
                    "' is neither a graph input, an initializer nor made by an earlier node");
      inputs.emplace_back(it->second);
    }
    NodeContext ctx(node, opset, std::move(inputs), state);
    std::vector<Tensor> outputs;
    try {
      outputs = rule->second(ctx);
    } catch (const std::length_error& e) {  // a size from the model too large for a vector
      ctx.invalid(std::string("a size in the model is too large (") + e.what() + ")");
    } catch (const std::logic_error& e) {  // e.g. .at(0) of an input that holds no values
      ctx.invalid(std::string("an input or attribute holds fewer values than the op needs (") +
                  e.what() + ")");
    } catch (const std::bad_alloc&) {
      ctx.invalid("a size in the model is too large to allocate");
    }
    std::vector<std::string> unread = ctx.unread_attrs();
    if (!unread.empty()) ctx.unsupported("attribute '" + unread.front() + "' is not supported");
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty()) continue;
      if (static_cast<size_t>(i) >= outputs.size())
        ctx.unsupported("output " + std::to_string(i) + " ('" + node.output(i) +
                        "') is not supported");
      values.insert_or_assign(node.output(i), outputs[static_cast<size_t>(i)]);
    }
  }

  std::vector<Tensor> outputs;
  std::vector<std::string> output_names;
  for (const auto& info : graph.output()) {
    auto it = values.find(info.name());
    if (it == values.end()) throw Error("graph output '" + info.name() + "' is made by no node");
    outputs.push_back(it->second);
    output_names.push_back(info.name());
  }
  if (outputs.empty()) throw Error("graph '" + graph.name() + "' has no outputs");
  return Model(make_function(outputs, fn_options), std::move(input_names), std::move(output_names),
               opset);
}

// Imports `model`; when a rule needs the value of graph inputs the caller gave values for,
// those become constants and the import starts again (at most once per input).
Model import_model(const ::onnx::ModelProto& model, const LoadOptions& options,
                   const std::string& dir) {
  std::set<std::string> constant_inputs;
  for (;;) {
    try {
      return import_once(model, options, dir, constant_inputs);
    } catch (const NeedsInputValues& needs) {
      size_t before = constant_inputs.size();
      constant_inputs.insert(needs.inputs.begin(), needs.inputs.end());
      if (constant_inputs.size() == before)
        throw Error("onnx import: inputs given as values did not become constants");
    }
  }
}

}  // namespace

}  // namespace detail

Model::Model(IrFunction function, std::vector<std::string> input_names,
             std::vector<std::string> output_names, int64_t opset)
    : function_(std::move(function)),
      input_names_(std::move(input_names)),
      output_names_(std::move(output_names)),
      opset_(opset) {}

std::vector<Type> Model::input_types() const {
  std::vector<Type> out;
  for (const auto& p : function_.inputs()) out.push_back(p->type);
  return out;
}

std::vector<Tensor> Model::operator()(const std::vector<Tensor>& inputs, Loc loc) const {
  return function_(inputs, loc);
}

std::map<std::string, Tensor> Model::call(const std::map<std::string, Tensor>& inputs,
                                          Loc loc) const {
  std::vector<Tensor> args;
  for (const std::string& name : input_names_) {
    auto it = inputs.find(name);
    if (it == inputs.end()) throw ShapeError("onnx model: input '" + name + "' is not given");
    args.push_back(it->second);
  }
  for (const auto& [name, t] : inputs)
    if (std::find(input_names_.begin(), input_names_.end(), name) == input_names_.end())
      throw ShapeError("onnx model: '" + name + "' is not an input of the model");
  std::vector<Tensor> results = function_(args, loc);
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < results.size(); ++i) out.insert_or_assign(output_names_[i], results[i]);
  return out;
}

Model load_bytes(std::string_view bytes, const LoadOptions& options, const std::string& dir) {
  ::onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw IOError("not a valid ONNX model (the protobuf does not parse; is the file truncated?)");
  return detail::import_model(model, options, dir);
}

Model load(const std::string& path, const LoadOptions& options) {
  std::string bytes = frontend::read_file(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  try {
    return load_bytes(bytes, options, dir.empty() ? "." : dir);
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(path + ": " + e.what());
  } catch (const IOError& e) {
    throw IOError(path + ": " + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(path + ": " + e.what());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

Tensor read_tensor_bytes(std::string_view bytes, const std::string& what) {
  ::onnx::TensorProto proto;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw IOError(what + ": not a valid ONNX TensorProto");
  return detail::tensor_from_proto(proto, ".", what);
}

Tensor read_tensor(const std::string& path) {
  return read_tensor_bytes(frontend::read_file(path), path);
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> out;
  for (const auto& [name, rule] : detail::op_table()) out.push_back(name);
  return out;
}

}  // namespace kiln::onnx
