// clone_graph: an independent copy that prints the same and shares constant buffers.
#include "ir/clone.h"

#include <gtest/gtest.h>

#include "ir/hash.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace kiln::ir {
namespace {

TEST(Clone, CopiesNodesAndRewiresOperands) {
  Graph g = parse_graph(R"(func @main(%x: f32[2]) -> (f32[2], f32[2]) {
  %0 = constant dense<[1.0, 2.0]> : f32[2]
  %1 = add %x, %0 : f32[2]
  return %1, %x
})");
  CloneMap map;
  Graph c = clone_graph(g, &map);
  EXPECT_EQ(print_graph(c), print_graph(g));
  EXPECT_EQ(structural_hash(c), structural_hash(g));
  EXPECT_NO_THROW(verify(c));
  EXPECT_NE(c.params[0], g.params[0]);
  EXPECT_EQ(c.params[0]->name, "x");
  EXPECT_NE(c.nodes[1], g.nodes[1]);
  EXPECT_EQ(c.nodes[1]->operands[0], c.params[0]);
  EXPECT_EQ(c.nodes[1]->operands[1], c.nodes[0]);
  EXPECT_EQ(c.nodes[0]->buffer, g.nodes[0]->buffer);
  EXPECT_EQ(c.results[1], c.params[0]);
  EXPECT_EQ(map.at(g.nodes[1].get()), c.nodes[1]);
  // Editing the copy leaves the original alone.
  c.nodes[1]->op = OpKind::Sub;
  EXPECT_EQ(g.nodes[1]->op, OpKind::Add);
}

}  // namespace
}  // namespace kiln::ir
