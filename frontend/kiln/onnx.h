// ONNX models as kiln graphs (docs/onnx.md). load() reads a model (protobuf, through the
// ONNX project's generated classes in Debian's libonnx-dev), maps each node onto kiln ops,
// so fusion sees through the model, and folds shape-computing subgraphs (Shape, Gather on
// shapes, Concat of shapes, ConstantOfShape...) while importing. The result is an IrFunction:
// it runs, inspects and compiles ahead of time like any kiln graph. Built when the library
// is (KILN_HAS_ONNX). Tests: tests/onnx/.
#pragma once

#include <kiln/io.h>
#include <kiln/kiln.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::onnx {

struct LoadOptions {
  // Shapes for graph inputs whose shapes have dynamic (named or unknown) dimensions, by
  // input name. A given shape must agree with every static dimension of the model.
  std::map<std::string, Shape> input_shapes;
  // Values for graph inputs that the import may need to know (a Reshape's shape or a
  // Slice's starts given as a graph input rather than an initializer). An input whose value
  // an op needs becomes a constant of the given value and is no longer an input of the
  // model; the others stay inputs (their given values are not used).
  std::map<std::string, Tensor> input_values;
};

// A loaded model: call it with tensors for its inputs to get lazy tensors for its outputs.
class Model {
 public:
  Model(IrFunction function, std::vector<std::string> input_names,
        std::vector<std::string> output_names, int64_t opset);

  // The graph: its unbound parameters are the inputs (in input_names() order, named after
  // them with characters other than letters, digits and '_' replaced by '_'); initializers
  // above 16 elements are parameters bound to their values.
  const IrFunction& function() const { return function_; }
  // The graph inputs that are not initializers, and the graph outputs, as the model names
  // them.
  const std::vector<std::string>& input_names() const { return input_names_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  // The type each input takes (after LoadOptions::input_shapes).
  std::vector<Type> input_types() const;
  // The default domain's opset the model imports.
  int64_t opset() const { return opset_; }

  // The outputs, in output_names() order, for inputs given in input_names() order. Nothing
  // runs. A wrong count, dtype or shape throws ShapeError / DTypeError naming the input.
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, Loc loc = Loc::current()) const;
  // The same by name; every input must be given, and no unknown name.
  std::map<std::string, Tensor> call(const std::map<std::string, Tensor>& inputs,
                                     Loc loc = Loc::current()) const;

 private:
  IrFunction function_;
  std::vector<std::string> input_names_, output_names_;
  int64_t opset_;
};

// Reads an .onnx file; external data files are looked for beside it. A missing, malformed
// or truncated file throws IOError. An ONNX feature kiln does not implement (an op, opset,
// dtype, attribute or attribute value) throws UnsupportedError naming the node, its op type
// and what is missing; a model that breaks ONNX's rules (a value used before it is made, a
// missing required input) throws Error.
Model load(const std::string& path, const LoadOptions& options = {});
// The same from the bytes of a model; `dir` is where external data files are looked for.
Model load_bytes(std::string_view bytes, const LoadOptions& options = {},
                 const std::string& dir = ".");

// A serialized TensorProto (the .pb files of ONNX's test cases) as a constant tensor.
Tensor read_tensor(const std::string& path);
Tensor read_tensor_bytes(std::string_view bytes, const std::string& what = "tensor");

// The ONNX op types load() maps, sorted.
std::vector<std::string> supported_ops();

}  // namespace kiln::onnx
