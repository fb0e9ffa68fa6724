// Graphs far deeper than a recursive walk survives (the default 8 MiB stack holds some
// tens of thousands of frames): destruction, printing and parsing, hashing, cloning,
// verification and the pass pipeline over chains of 100,000 nodes and more.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include "ir/clone.h"
#include "ir/hash.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pipeline.h"

namespace kiln::ir {
namespace {

// %x, then `ops` ops alternating neg and abs, each on the one before.
Graph chain(int ops) {
  Graph g;
  Type t{DType::F32, {4}};
  NodePtr x = make_node(OpKind::Parameter, {}, {}, t);
  x->name = "x";
  g.params.push_back(x);
  NodePtr v = x;
  for (int i = 0; i < ops; ++i) {
    v = make_node(i % 2 ? OpKind::Abs : OpKind::Neg, {v}, {}, t);
    g.nodes.push_back(v);
  }
  g.results.push_back(v);
  return g;
}

TEST(DeepGraphs, MillionNodeChainIsDestroyedWithoutRecursion) {
  Type t{DType::F32, {4}};
  NodePtr v = make_node(OpKind::Parameter, {}, {}, t);
  std::weak_ptr<Node> first = v;
  for (int i = 0; i < 1000000; ++i) v = make_node(OpKind::Neg, {v}, {}, t);
  EXPECT_FALSE(first.expired());
  v.reset();  // the last handle: a recursive release would overflow the stack here
  EXPECT_TRUE(first.expired());
}

TEST(DeepGraphs, MillionNodeGraphIsDestroyedWithoutRecursion) {
  Graph g = chain(1000000);
  std::weak_ptr<Node> last = g.results[0];
  g.nodes.clear();    // the body from its first node on: every node still held by the next
  g.results.clear();  // the last handle of the whole chain
  EXPECT_TRUE(last.expired());
}

// The same through the public API: a lazy tensor holding a million-op history.
TEST(DeepGraphs, MillionOpTensorIsDestroyedWithoutRecursion) {
  std::weak_ptr<Node> first;
  {
    Tensor x = from_data({1.0f, 2.0f}, {2});
    first = x.node();
    for (int i = 0; i < 1000000; ++i) x = -x;
  }
  EXPECT_TRUE(first.expired());
}

TEST(DeepGraphs, PrintParseHashCloneVerify) {
  Graph g = chain(100000);
  verify(g);
  const std::string text = print_graph(g);
  Graph parsed = parse_graph(text);
  EXPECT_EQ(parsed.nodes.size(), g.nodes.size());
  EXPECT_EQ(structural_hash(parsed), structural_hash(g));
  Graph copy = clone_graph(g);
  EXPECT_EQ(structural_hash(copy), structural_hash(g));
  EXPECT_EQ(print_graph(copy), text);
}

TEST(DeepGraphs, PassPipeline) {
  Graph g = chain(200000);
  passes::optimize_graph(g);
  // neg(abs(neg(x))) chains do not simplify away, but the pipeline must get through them.
  EXPECT_FALSE(g.nodes.empty());
  verify(g);
}

}  // namespace
}  // namespace kiln::ir
