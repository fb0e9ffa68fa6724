// Structural hash: names and locations do not matter; ops, types, attributes, wiring,
// constant data and result order do.
#include "ir/hash.h"

#include <gtest/gtest.h>

#include "ir/parser.h"
#include "ir_test_util.h"

namespace kiln::ir {
namespace {

using namespace test;

// x * broadcast(c) + y, with the scalar c and the names as given.
Graph scaled_sum(const std::string& x_name, const std::string& y_name, float c_value,
                 std::source_location loc = std::source_location::current()) {
  Graph g;
  g.name = x_name + "_graph";
  NodePtr x = param(x_name, f32({4}));
  NodePtr y = param(y_name, f32({4}));
  NodePtr c = constant<float>(f32({}), {c_value});
  NodePtr c1 = make_node(OpKind::Reshape, {c}, {}, f32({1}), loc);
  NodePtr cb = make_node(OpKind::Broadcast, {c1}, {}, f32({4}), loc);
  NodePtr mul = make_node(OpKind::Mul, {x, cb}, {}, f32({4}), loc);
  NodePtr add = make_node(OpKind::Add, {mul, y}, {}, f32({4}), loc);
  g.params = {x, y};
  g.nodes = {c, c1, cb, mul, add};
  g.results = {add};
  return g;
}

TEST(StructuralHash, IgnoresNamesAndLocations) {
  EXPECT_EQ(structural_hash(scaled_sum("x", "y", 2.0f)),
            structural_hash(scaled_sum("a", "b", 2.0f)));
  EXPECT_EQ(structural_hash(scaled_sum("x", "y", 2.0f, {})),
            structural_hash(scaled_sum("x", "y", 2.0f)));
  Graph p = parse_graph(R"(func @f(%p: f32[4]) -> (f32[4]) {
  %t = neg %p : f32[4]
  return %t
})");
  Graph q = parse_graph(R"(func @g(%input: f32[4]) -> (f32[4]) {
  %0 = neg %input : f32[4]
  return %0
})");
  EXPECT_EQ(structural_hash(p), structural_hash(q));
}

TEST(StructuralHash, SeesEveryStructuralChange) {
  auto h = [](const std::string& body_and_sig) {
    return structural_hash(parse_graph(body_and_sig));
  };
  const std::string base = R"(func @main(%a: f32[2,3], %b: f32[2,3]) -> (f32[2], f32[2,3]) {
  %0 = sub %a, %b : f32[2,3]
  %1 = reduce_sum %0 {axes = [1], keepdims = false} : f32[2]
  return %1, %0
})";
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"sub %a, %b", "sub %b, %a"},               // operand order
      {"sub %a, %b", "add %a, %b"},               // op
      {"axes = [1], keepdims = false} : f32[2]",  // attribute
       "axes = [0], keepdims = false} : f32[3]"},
      {"return %1, %0", "return %0, %1"},  // result order
  };
  uint64_t h0 = h(base);
  for (const auto& [from, to] : edits) {
    std::string changed = base;
    changed.replace(changed.find(from), from.size(), to);
    if (to == "return %0, %1")
      changed.replace(changed.find("(f32[2], f32[2,3])"), 18, "(f32[2,3], f32[2])");
    if (to.find("f32[3]") != std::string::npos)
      changed.replace(changed.find("-> (f32[2]"), 10, "-> (f32[3]");
    EXPECT_NE(h(changed), h0) << changed;
  }
  // Types: the same op on another dtype or shape.
  EXPECT_NE(structural_hash(one_op(OpKind::Neg, {f32({2})}, {}, f32({2}))),
            structural_hash(one_op(OpKind::Neg, {ty(DType::F64, {2})}, {}, ty(DType::F64, {2}))));
  EXPECT_NE(structural_hash(one_op(OpKind::Neg, {f32({2})}, {}, f32({2}))),
            structural_hash(one_op(OpKind::Neg, {f32({1, 2})}, {}, f32({1, 2}))));
  // A parameter that is unused still counts (it is part of the signature).
  Graph extra = one_op(OpKind::Neg, {f32({2})}, {}, f32({2}));
  uint64_t before = structural_hash(extra);
  extra.params.push_back(param("unused", f32({2})));
  EXPECT_NE(structural_hash(extra), before);
}

TEST(StructuralHash, ConstantData) {
  EXPECT_NE(structural_hash(scaled_sum("x", "y", 2.0f)),
            structural_hash(scaled_sum("x", "y", 3.0f)));
  EXPECT_NE(structural_hash(scaled_sum("x", "y", 0.0f)),
            structural_hash(scaled_sum("x", "y", -0.0f)));
  HashOptions by_structure{.ignore_scalar_constant_values = true};
  EXPECT_EQ(structural_hash(scaled_sum("x", "y", 2.0f), by_structure),
            structural_hash(scaled_sum("x", "y", 3.0f), by_structure));

  // Only rank-0 constants are treated as arguments; a one-element vector keeps its value,
  // and the scalar's type still counts.
  auto with_constant = [](NodePtr c) {
    Graph g;
    g.nodes = {c};
    g.results = {c};
    return g;
  };
  EXPECT_NE(structural_hash(with_constant(constant<float>(f32({1}), {2.0f})), by_structure),
            structural_hash(with_constant(constant<float>(f32({1}), {3.0f})), by_structure));
  EXPECT_NE(
      structural_hash(with_constant(constant<float>(f32({}), {2.0f})), by_structure),
      structural_hash(with_constant(constant<double>(ty(DType::F64, {}), {2.0})), by_structure));
}

TEST(StructuralHash, BrokenGraphsDoNotCrash) {
  Graph g;
  g.nodes = {nullptr, make_node(OpKind::Neg, {param("stray", f32({2}))}, {}, f32({2}))};
  g.results = {nullptr};
  EXPECT_NE(structural_hash(g), structural_hash(Graph{}));
}

}  // namespace
}  // namespace kiln::ir
