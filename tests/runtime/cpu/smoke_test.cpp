// First end-to-end checks of the CPU device on hand-built graphs.
#include <gtest/gtest.h>

#include "ir/graph.h"
#include "runtime/cpu/cpu_device.h"
#include "runtime/evaluator.h"

namespace kiln {
namespace {

using ir::OpKind;

TEST(CpuSmoke, AddTwoVectors) {
  ir::Graph g;
  Type t{DType::F32, {37}};
  auto a = ir::make_node(OpKind::Parameter, {}, {}, t);
  a->name = "a";
  auto b = ir::make_node(OpKind::Parameter, {}, {}, t);
  b->name = "b";
  auto c = ir::make_node(OpKind::Add, {a, b}, {}, t);
  g.params = {a, b};
  g.nodes = {c};
  g.results = {c};
  auto x = std::make_shared<Buffer>(t);
  auto y = std::make_shared<Buffer>(t);
  for (int i = 0; i < 37; ++i) {
    x->as<float>()[i] = static_cast<float>(i);
    y->as<float>()[i] = 0.5f * static_cast<float>(i);
  }
  runtime::cpu::CpuDevice dev;
  auto out = dev.run(g, {x, y});
  ASSERT_EQ(out.size(), 1u);
  for (int i = 0; i < 37; ++i) EXPECT_EQ(out[0]->as<float>()[i], 1.5f * static_cast<float>(i));
}

}  // namespace
}  // namespace kiln
