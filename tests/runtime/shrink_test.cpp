// The shrinker of failing random graphs (tests/shrink.h), on a planted disagreement: a
// "device" that adds where the graph subtracts, simulated on the reference evaluator. A
// random graph that it gets wrong must shrink to a few nodes that still show it, printed
// as IR text that parses back.
#include "tests/shrink.h"

#include <gtest/gtest.h>

#include "ir/parser.h"
#include "tests/random_graph.h"

namespace kiln::testing {
namespace {

// `g` with every sub computed as an add.
ir::Graph subtract_as_add(const ir::Graph& g) {
  ir::Graph out;
  std::unordered_map<const ir::Node*, NodePtr> made;
  for (const NodePtr& p : g.params) {
    auto q = ir::make_node(OpKind::Parameter, {}, {}, p->type);
    q->name = p->name;
    out.params.push_back(q);
    made[p.get()] = q;
  }
  for (const NodePtr& n : g.nodes) {
    NodePtr c;
    if (n->op == OpKind::Constant) {
      c = ir::make_constant(n->buffer);
    } else {
      std::vector<NodePtr> operands;
      for (const NodePtr& o : n->operands) operands.push_back(made.at(o.get()));
      c = ir::make_node(n->op == OpKind::Sub ? OpKind::Add : n->op, operands, n->attrs, n->type);
    }
    out.nodes.push_back(c);
    made[n.get()] = c;
  }
  for (const NodePtr& r : g.results) out.results.push_back(made.at(r.get()));
  return out;
}

// The planted failure: the faulty evaluation differs from the reference.
bool planted(const ir::Graph& g, const std::vector<BufferPtr>& inputs) {
  std::vector<BufferPtr> want, got;
  try {
    want = runtime::evaluate(g, inputs);
    got = runtime::evaluate(subtract_as_add(g), inputs);
  } catch (const Error&) {
    return false;
  }
  for (size_t r = 0; r < want.size(); ++r)
    if (!buffers_close(*got[r], *want[r])) return true;
  return false;
}

size_t count_op(const ir::Graph& g, OpKind op) {
  size_t n = 0;
  for (const NodePtr& node : g.nodes) n += node->op == op;
  return n;
}

TEST(Shrink, RandomGraphsWithAPlantedDisagreementShrinkToAFewNodes) {
  int shrunk = 0;
  for (uint64_t seed = 1; seed <= 400 && shrunk < 5; ++seed) {
    RandomGraphProfile profile = RandomGraphProfile::for_devices();
    profile.min_ops = profile.max_ops = 12;
    ir::Graph g = RandomGraph(seed, profile).build();
    std::vector<BufferPtr> inputs = random_inputs(g, seed);
    if (body_size(g) < 12 || !planted(g, inputs)) continue;
    ++shrunk;
    SCOPED_TRACE("seed " + std::to_string(seed) + "\n" + ir::print_graph(g));
    Reproducer small = shrink({g, inputs}, planted);
    const std::string text = reproducer_text(small);
    SCOPED_TRACE("shrunk to\n" + text);
    EXPECT_TRUE(planted(small.graph, small.inputs));
    EXPECT_LE(body_size(small.graph), 4u);
    EXPECT_EQ(count_op(small.graph, OpKind::Sub), 1u);
    // The IR text reads back as the same graph.
    EXPECT_EQ(ir::print_graph(ir::parse_graph(ir::print_graph(small.graph))),
              ir::print_graph(small.graph));
  }
  EXPECT_EQ(shrunk, 5) << "too few random graphs show the planted disagreement";
}

// Shapes shrink too, and the inputs follow: a sub of [4, 6] values, among other work, ends
// as a sub of one element each; the IR text then holds the inputs as constants, unless the
// graph needs parameters to fail.
TEST(Shrink, ShapesShrinkAndInputsBecomeConstants) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {4, 6}});
  auto y = b.param({DType::F32, {1, 6}});
  auto wide = b.add(OpKind::Broadcast, {y}, {}, Type{DType::F32, {4, 6}});
  auto d = b.add(OpKind::Sub, {x, wide});
  auto t = b.add(OpKind::Tanh, {b.add(OpKind::Mul, {d, x})});
  b.result(b.add(OpKind::ReduceSum, {t}, {std::vector<int64_t>{1}, false}));
  b.result(b.add(OpKind::Exp, {x}));
  std::vector<BufferPtr> inputs = random_inputs(b.g, 5);
  ASSERT_TRUE(planted(b.g, inputs));

  Reproducer small = shrink({b.g, inputs}, planted);
  SCOPED_TRACE(reproducer_text(small));
  EXPECT_TRUE(planted(small.graph, small.inputs));
  EXPECT_EQ(count_op(small.graph, OpKind::Sub), 1u);
  // The sub, its operands as constants, and the reduction (whose type differs from them).
  EXPECT_LE(body_size(small.graph), 4u);
  for (const NodePtr& n : small.graph.nodes) EXPECT_LE(n->type.numel(), 1) << n->type.str();
  EXPECT_TRUE(small.graph.params.empty());

  // Where the failure needs parameters (constants fold on this "device"), they stay, with
  // their inputs printed after the graph.
  auto needs_params = [](const ir::Graph& g, const std::vector<BufferPtr>& in) {
    return !g.params.empty() && planted(g, in);
  };
  Reproducer kept = shrink({b.g, inputs}, needs_params);
  EXPECT_FALSE(kept.graph.params.empty());
  EXPECT_NE(reproducer_text(kept).find("inputs:\n  %p0 = dense<"), std::string::npos)
      << reproducer_text(kept);
}

}  // namespace
}  // namespace kiln::testing
