// The expression builder of the pass tests.
#include "expr.h"

#include <cstring>
#include <functional>
#include <memory>
#include <unordered_set>

#include "runtime/evaluator.h"

namespace kiln::passes::testing {

namespace {

template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

BufferPtr filled(Type type, double v) {
  auto b = std::make_shared<Buffer>(type);
  size_t size = dtype_size(type.dtype);
  for (int64_t i = 0; i < type.numel(); ++i) {
    std::byte* p = b->data() + i * size;
    switch (type.dtype) {
      case DType::Bool: store<uint8_t>(p, v != 0); break;
      case DType::I8: store(p, static_cast<int8_t>(v)); break;
      case DType::U8: store(p, static_cast<uint8_t>(v)); break;
      case DType::I32: store(p, static_cast<int32_t>(v)); break;
      case DType::I64: store(p, static_cast<int64_t>(v)); break;
      case DType::F16: store(p, float_to_f16(static_cast<float>(v))); break;
      case DType::BF16: store(p, float_to_bf16(static_cast<float>(v))); break;
      case DType::F32: store(p, static_cast<float>(v)); break;
      case DType::F64: store(p, v); break;
      case DType::C64: store(p, complex64(static_cast<float>(v), 0.0f)); break;
    }
  }
  return b;
}

bool is_constant_like(const ir::Node& n) {
  if (n.op == ir::OpKind::Constant) return true;
  return n.op == ir::OpKind::Broadcast && is_constant_like(*n.operands[0]);
}

BufferPtr value_of(const ir::NodePtr& n) {
  return runtime::evaluate(graph_of({Expr{n}}), {}).at(0);
}

}  // namespace

Expr param(const std::string& name, Type type) {
  auto n = ir::make_node(ir::OpKind::Parameter, {}, {}, std::move(type));
  n->name = name;
  return {n};
}

Expr full(Type type, double v) { return {ir::make_constant(filled(type, v))}; }

Expr splat(Type type, double v) {
  Type one{type.dtype, Shape(type.shape.size(), 1)};
  return {ir::make_node(ir::OpKind::Broadcast, {ir::make_constant(filled(one, v))}, {}, type)};
}

Expr unary(ir::OpKind op, Expr a) { return unary(op, a, a.node->type.dtype); }

Expr unary(ir::OpKind op, Expr a, DType result) {
  return {ir::make_node(op, {a.node}, {}, Type{result, a.node->type.shape})};
}

Expr binary(ir::OpKind op, Expr a, Expr b) {
  return {ir::make_node(op, {a.node, b.node}, {}, a.node->type)};
}

Expr compare(ir::OpKind op, Expr a, Expr b) {
  return {ir::make_node(op, {a.node, b.node}, {}, Type{DType::Bool, a.node->type.shape})};
}

Expr select(Expr c, Expr a, Expr b) {
  return {ir::make_node(ir::OpKind::Select, {c.node, a.node, b.node}, {}, a.node->type)};
}

Expr cast(Expr a, DType to) {
  return {ir::make_node(ir::OpKind::Cast, {a.node}, {}, Type{to, a.node->type.shape})};
}

ir::Graph graph_of(const std::vector<Expr>& results) {
  ir::Graph g;
  std::unordered_set<const ir::Node*> seen;
  std::function<void(const ir::NodePtr&)> visit = [&](const ir::NodePtr& n) {
    if (!seen.insert(n.get()).second) return;
    for (const ir::NodePtr& op : n->operands) visit(op);
    (n->op == ir::OpKind::Parameter ? g.params : g.nodes).push_back(n);
  };
  for (const Expr& r : results) {
    visit(r.node);
    g.results.push_back(r.node);
  }
  return g;
}

bool same_expr(const ir::NodePtr& a, const ir::NodePtr& b) {
  if (a == b) return true;
  if (a->type != b->type) return false;
  if (is_constant_like(*a) && is_constant_like(*b)) {
    BufferPtr x = value_of(a), y = value_of(b);
    return std::memcmp(x->data(), y->data(), x->nbytes()) == 0;
  }
  if (a->op != b->op || a->attrs != b->attrs || a->operands.size() != b->operands.size() ||
      a->op == ir::OpKind::Parameter)
    return false;
  for (size_t i = 0; i < a->operands.size(); ++i)
    if (!same_expr(a->operands[i], b->operands[i])) return false;
  return true;
}

}  // namespace kiln::passes::testing
