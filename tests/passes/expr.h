// A small expression builder for pass tests: Expr wraps a node, and the operators and
// functions below build IR nodes the way the frontend would, with explicit types. The
// graph of an expression is gathered from its result back to its parameters.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes::testing {

struct Expr {
  ir::NodePtr node;
};

Expr param(const std::string& name, Type type);
// A constant of `type` with every element `v` (converted; bool: v != 0).
Expr full(Type type, double v);
// The same value as a broadcast of a one-element constant, the way the frontend spells
// a scalar.
Expr splat(Type type, double v);

Expr unary(ir::OpKind op, Expr a);
// Unary ops whose result dtype differs (not, isnan: bool; abs of c64: f32).
Expr unary(ir::OpKind op, Expr a, DType result);
Expr binary(ir::OpKind op, Expr a, Expr b);
Expr compare(ir::OpKind op, Expr a, Expr b);  // result bool
Expr select(Expr c, Expr a, Expr b);
Expr cast(Expr a, DType to);

inline Expr operator+(Expr a, Expr b) { return binary(ir::OpKind::Add, a, b); }
inline Expr operator-(Expr a, Expr b) { return binary(ir::OpKind::Sub, a, b); }
inline Expr operator*(Expr a, Expr b) { return binary(ir::OpKind::Mul, a, b); }
inline Expr operator/(Expr a, Expr b) { return binary(ir::OpKind::Div, a, b); }
inline Expr operator-(Expr a) { return unary(ir::OpKind::Neg, a); }

// The graph computing `results` (parameters in first-seen order).
ir::Graph graph_of(const std::vector<Expr>& results);

// Whether two values are the same computation: the same parameters, the same ops with the
// same attributes and types; constant-like values (constants and broadcasts of them)
// compare by their elements.
bool same_expr(const ir::NodePtr& a, const ir::NodePtr& b);

}  // namespace kiln::passes::testing
