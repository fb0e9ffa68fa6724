// Small builders shared by the IR tests: types, parameters, constants from values, and a
// graph around a single op. Tests build nodes with ir::make_node directly.
#pragma once

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/graph.h"

namespace kiln::ir::test {

inline Type ty(DType dtype, Shape shape) { return Type{dtype, std::move(shape)}; }
inline Type f32(Shape shape) { return ty(DType::F32, std::move(shape)); }
inline Type i32(Shape shape) { return ty(DType::I32, std::move(shape)); }
inline Type i64(Shape shape) { return ty(DType::I64, std::move(shape)); }
inline Type boolean(Shape shape) { return ty(DType::Bool, std::move(shape)); }

inline NodePtr param(std::string name, Type type) {
  NodePtr p = make_node(OpKind::Parameter, {}, {}, std::move(type));
  p->name = std::move(name);
  return p;
}

// A constant of `type` whose elements are `values` stored as T (the dtype's C++ type, or
// uint16_t bits for f16/bf16, uint8_t for bool).
template <class T>
NodePtr constant(Type type, std::initializer_list<T> values) {
  auto buffer = std::make_shared<Buffer>(std::move(type));
  if (values.size() * sizeof(T) != buffer->nbytes())
    throw Error("test constant: wrong number of values for " + buffer->type().str());
  if (values.size() > 0) std::memcpy(buffer->data(), values.begin(), buffer->nbytes());
  return make_constant(buffer);
}

// A graph with parameters %a, %b, %c... of `operand_types` and one node of `op` over them,
// returned as the only result.
inline Graph one_op(OpKind op, const std::vector<Type>& operand_types, std::vector<AttrValue> attrs,
                    Type out) {
  Graph g;
  std::vector<NodePtr> operands;
  for (size_t i = 0; i < operand_types.size(); ++i) {
    g.params.push_back(param(std::string(1, static_cast<char>('a' + i)), operand_types[i]));
    operands.push_back(g.params.back());
  }
  NodePtr n = make_node(op, operands, std::move(attrs), std::move(out));
  g.nodes.push_back(n);
  g.results.push_back(n);
  return g;
}

// Runs `f` and returns the message of the E it throws ("" when it throws nothing).
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace kiln::ir::test
