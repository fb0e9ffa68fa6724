// The fusion limits (passes/fusion_cost.h) and the scheduler on graphs far deeper than a
// recursive walk survives: where cuts fall, that every group stays within the limits, and
// that graphs within the limits are scheduled as before.
#include "passes/fusion_cost.h"

#include <gtest/gtest.h>

#include "ir/verifier.h"
#include "passes/schedule.h"

namespace kiln::passes {
namespace {

using ir::make_node;
using ir::NodePtr;
using ir::OpKind;

struct Chain {
  ir::Graph graph;
  NodePtr x;
};

// A graph with parameter %x of `shape`; nodes added with `add` go to the body in order.
class Builder {
 public:
  explicit Builder(const Shape& shape) { x = param(shape); }
  NodePtr param(const Shape& shape) {
    auto p = make_node(OpKind::Parameter, {}, {}, {DType::F32, shape});
    p->name = "p" + std::to_string(g.params.size());
    g.params.push_back(p);
    return p;
  }
  NodePtr add(OpKind op, std::vector<NodePtr> operands, const Shape& shape,
              std::vector<ir::AttrValue> attrs = {}) {
    auto n = make_node(op, std::move(operands), std::move(attrs), {DType::F32, shape});
    g.nodes.push_back(n);
    return n;
  }
  ir::Graph done(const NodePtr& result) {
    g.results = {result};
    ir::verify(g);
    return std::move(g);
  }
  ir::Graph g;
  NodePtr x;
};

// x, then `ops` unary ops alternating neg and abs: a chain.
ir::Graph chain(int ops, const Shape& shape = {64}) {
  Builder b(shape);
  NodePtr v = b.x;
  for (int i = 0; i < ops; ++i) v = b.add(i % 2 ? OpKind::Abs : OpKind::Neg, {v}, shape);
  return b.done(v);
}

std::vector<FusionCut> cuts_of(const ir::Graph& g, const FusionLimits& limits) {
  return cap_fusion(
      g, [](const ir::Node* n) { return n->op == OpKind::Parameter; },
      [](const ir::Node* n) { return is_scalar_constant(*n); }, limits);
}

TEST(FusionCost, ChainIsCutEveryMaxOps) {
  ir::Graph g = chain(1000);
  std::vector<FusionCut> cuts = cuts_of(g, {100, 96});
  // Each piece holds 100 ops: the 1000th op's piece is the root's.
  ASSERT_EQ(cuts.size(), 9u);
  EXPECT_EQ(cuts[0].node, g.nodes[99].get());
  EXPECT_EQ(cuts[8].node, g.nodes[899].get());
  EXPECT_NE(cuts[0].reason.find("fusion limit: neg would inline more than 100 ops"),
            std::string::npos)
      << cuts[0].reason;
}

TEST(FusionCost, GraphsWithinTheLimitsHaveNoCuts) { EXPECT_TRUE(cuts_of(chain(500), {}).empty()); }

TEST(FusionCost, TranscendentalOpsCostMore) {
  Builder b({8});
  NodePtr v = b.x;
  for (int i = 0; i < 40; ++i) v = b.add(OpKind::Exp, {v}, {8});
  ir::Graph g = b.done(v);
  // 40 exps at kExpensiveOp each: 320 > 100, pieces of 12 exps (96).
  std::vector<FusionCut> cuts = cuts_of(g, {100, 96});
  ASSERT_EQ(cuts.size(), 3u);
  EXPECT_EQ(cuts[0].node, g.nodes[11].get());
}

// x1 = x0 * x0, x2 = x1 * x1...: each value is read twice, so inlining doubles the work
// (or the register pressure) at every level; the cost counts it.
TEST(FusionCost, SharedSubexpressionsCountPerUse) {
  Builder b({8});
  NodePtr v = b.x;
  for (int i = 0; i < 12; ++i) v = b.add(OpKind::Mul, {v, v}, {8});
  ir::Graph g = b.done(v);
  std::vector<FusionCut> cuts = cuts_of(g, {100, 1000});
  ASSERT_FALSE(cuts.empty());
  // 2^k - 1 ops and 2^k loads for x_k inline: x_6 (63 ops, 64 loads) fits, x_7 does not.
  EXPECT_EQ(cuts[0].node, g.nodes[5].get());
}

// acc + p0 + p1 + ... : every parameter is a load the kernel keeps an argument for.
TEST(FusionCost, LoadsAreBounded) {
  Builder b({8});
  NodePtr v = b.x;
  for (int i = 0; i < 300; ++i) v = b.add(OpKind::Add, {v, b.param({8})}, {8});
  ir::Graph g = b.done(v);
  Schedule s = schedule(g);
  ASSERT_GT(s.groups.size(), 3u);
  for (const FusionGroup& group : s.groups)
    EXPECT_LE(static_cast<int64_t>(group.inputs.size()), FusionLimits{}.max_leaves);
}

// The cut stores the value under a broadcast, not the (larger) broadcast copy.
TEST(FusionCost, CutsGoUnderViews) {
  Builder b({1, 8});
  NodePtr v = b.x;
  for (int i = 0; i < 90; ++i) v = b.add(OpKind::Neg, {v}, {1, 8});
  NodePtr wide = b.add(OpKind::Broadcast, {v}, {4, 8});
  ir::Graph g = b.done(b.add(OpKind::Mul, {wide, wide}, {4, 8}));
  std::vector<FusionCut> cuts = cuts_of(g, {100, 96});
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].node, v.get());
}

// Products in a row, each with 60 ops of activation between: every product is a GEMM's
// root, so what reads it inlines one load, not the expressions of the products before it
// (counted through them, the activations were cut once their sum passed the limit).
TEST(FusionCost, ProductsStopTheCost) {
  Builder b({16, 16});
  NodePtr v = b.x;
  for (int layer = 0; layer < 12; ++layer) {
    v = b.add(OpKind::MatMul, {v, b.param({16, 16})}, {16, 16});
    for (int i = 0; i < 60; ++i) v = b.add(i % 2 ? OpKind::Abs : OpKind::Neg, {v}, {16, 16});
  }
  ir::Graph g = b.done(v);
  EXPECT_TRUE(cuts_of(g, {100, 96}).empty());
  // Within one product's factor, the limit still holds.
  EXPECT_EQ(cuts_of(chain(150, {16, 16}), {100, 96}).size(), 1u);
}

// Deep enough that any recursion over the graph's depth would overflow the stack, and
// long enough that superlinear work would show: 300,000 ops schedule into groups within
// the limit, in dependency order.
TEST(Schedule, DeepChainIsBoundedGroups) {
  ir::Graph g = chain(300000);
  Schedule s = schedule(g);
  const FusionLimits limits;
  ASSERT_GE(s.groups.size(), static_cast<size_t>(300000 / limits.max_ops));
  size_t nodes = 0;
  for (const FusionGroup& group : s.groups) {
    EXPECT_LE(static_cast<int64_t>(group.nodes.size()), limits.max_ops);
    nodes += group.nodes.size();
  }
  EXPECT_EQ(nodes, g.nodes.size());
  EXPECT_EQ(s.groups.back().outputs.back(), g.results[0].get());
}

// x <- x - broadcast(max(x, rows)): a row computation per step, 20,000 steps.
TEST(Schedule, DeepChainThroughReductions) {
  Builder b({4, 16});
  NodePtr v = b.x;
  for (int i = 0; i < 20000; ++i) {
    NodePtr m = b.add(OpKind::ReduceMax, {v}, {4, 1}, {std::vector<int64_t>{1}, true});
    NodePtr w = b.add(OpKind::Broadcast, {m}, {4, 16});
    v = b.add(OpKind::Sub, {v, w}, {4, 16});
  }
  ir::Graph g = b.done(v);
  Schedule s = schedule(g);
  ASSERT_GT(s.groups.size(), 10u);
  for (const FusionGroup& group : s.groups)
    EXPECT_LE(static_cast<int64_t>(group.nodes.size()), FusionLimits{}.max_ops);
}

}  // namespace
}  // namespace kiln::passes
