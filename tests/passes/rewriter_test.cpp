// GraphRewriter, the walk under the local passes: copies instead of mutating, offers new
// nodes to the rule again, stops a rule that never settles, and rejects a replacement of
// the wrong type.
#include "passes/rewriter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "expr.h"
#include "ir/error.h"

namespace kiln::passes {
namespace {

using ::testing::HasSubstr;
using namespace testing;

const Type F32{DType::F32, {3}};

TEST(GraphRewriter, CopiesUsersOfReplacedNodesInsteadOfMutatingThem) {
  Expr x = param("x", F32);
  Expr n = -x;
  Expr e = unary(ir::OpKind::Exp, n);
  ir::Graph g = graph_of({e});
  // Replace the neg by x itself: the exp must be a new node reading x.
  bool changed = GraphRewriter::rewrite(g, "test", [&](const ir::NodePtr& node, auto&) {
    return node->op == ir::OpKind::Neg ? node->operands[0] : nullptr;
  });
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_NE(g.nodes[0], e.node);
  EXPECT_EQ(g.nodes[0]->operands[0], x.node);
  EXPECT_EQ(e.node->operands[0], n.node) << "the original exp was mutated";
  EXPECT_EQ(g.results[0], g.nodes[0]);
}

TEST(GraphRewriter, ReportsNoChangeWhenTheRuleKeepsEverything) {
  Expr x = param("x", F32);
  ir::Graph g = graph_of({-x + x});
  std::vector<ir::NodePtr> nodes = g.nodes;
  EXPECT_FALSE(GraphRewriter::rewrite(g, "test", [](const auto&, auto&) { return nullptr; }));
  EXPECT_EQ(g.nodes, nodes);
}

TEST(GraphRewriter, OffersNewNodesToTheRule) {
  // neg(x) -> abs(x) -> sign(x): the second step only happens if the new abs is offered.
  Expr x = param("x", F32);
  ir::Graph g = graph_of({-x});
  GraphRewriter::rewrite(g, "test", [](const ir::NodePtr& node, auto&) -> ir::NodePtr {
    if (node->op == ir::OpKind::Neg)
      return ir::make_node(ir::OpKind::Abs, node->operands, {}, node->type);
    if (node->op == ir::OpKind::Abs)
      return ir::make_node(ir::OpKind::Sign, node->operands, {}, node->type);
    return nullptr;
  });
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0]->op, ir::OpKind::Sign);
}

TEST(GraphRewriter, StopsARuleThatNeverSettles) {
  Expr x = param("x", F32);
  ir::Graph g = graph_of({-x});
  int calls = 0;
  GraphRewriter::rewrite(g, "test", [&](const ir::NodePtr& node, auto&) {
    ++calls;
    return ir::make_node(node->op, node->operands, {}, node->type);  // a fresh copy, forever
  });
  EXPECT_LT(calls, 1000);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0]->op, ir::OpKind::Neg);
}

TEST(GraphRewriter, RejectsAReplacementOfAnotherType) {
  Expr x = param("x", F32);
  ir::Graph g = graph_of({-x});
  try {
    GraphRewriter::rewrite(g, "badpass", [](const ir::NodePtr& node, auto&) {
      return ir::make_node(ir::OpKind::Neg, node->operands, {}, Type{DType::F64, {3}});
    });
    FAIL() << "no error";
  } catch (const VerifyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("badpass: internal error"));
    EXPECT_THAT(e.what(), HasSubstr("f32[3]"));
    EXPECT_THAT(e.what(), HasSubstr("f64[3]"));
  }
}

TEST(GraphRewriter, GivesDefinitionOrder) {
  Expr x = param("x", F32), y = param("y", F32);
  ir::Graph g = graph_of({x + y});
  std::vector<int64_t> seen;
  GraphRewriter::rewrite(g, "test", [&](const ir::NodePtr& node, const GraphRewriter& rw) {
    for (const auto& op : node->operands) seen.push_back(rw.position(op.get()));
    seen.push_back(rw.position(node.get()));  // not placed yet
    return nullptr;
  });
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, -1}));
}

}  // namespace
}  // namespace kiln::passes
