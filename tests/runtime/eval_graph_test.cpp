// Reference evaluator: whole graphs (parameters, several results, evaluated nodes, input
// checks, malformed graphs) and a test that evaluates an example of every op in the table,
// at size 0, 1 and more, so that a new op fails here until the evaluator handles it.
#include "tests/runtime/eval_test_util.h"

// A new row in ir/ops.def that is not elementwise fails this test until example_node()
// covers it; elementwise ops are built from their dtype rule in the table.

namespace kiln::test {
namespace {

using I64s = std::vector<int64_t>;
Type t(DType d, Shape s) { return Type{d, std::move(s)}; }

ir::NodePtr param(std::string name, Type type) {
  auto p = ir::make_node(OpKind::Parameter, {}, {}, std::move(type));
  p->name = std::move(name);
  return p;
}

TEST(EvalGraph, ParametersAndSeveralResults) {
  auto x = param("x", t(DType::F32, {3}));
  auto y = param("y", t(DType::F32, {3}));
  auto sum = node(OpKind::Add, {x, y}, {}, t(DType::F32, {3}));
  auto prod = node(OpKind::Mul, {sum, x}, {}, t(DType::F32, {3}));
  auto total = node(OpKind::ReduceSum, {prod}, {I64s{0}, false}, t(DType::F32, {}));
  auto g = graph_of({prod, total, sum}, {x, y});
  auto r =
      runtime::evaluate(g, {buf(DType::F32, {3}, {1, 2, 3}), buf(DType::F32, {3}, {10, 20, 30})});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(same(*r[0], t(DType::F32, {3}), {11, 44, 99}));
  EXPECT_TRUE(same(*r[1], t(DType::F32, {}), {154}));
  EXPECT_TRUE(same(*r[2], t(DType::F32, {3}), {11, 22, 33}));
}

TEST(EvalGraph, ResultsMayBeParametersOrConstants) {
  auto x = param("x", t(DType::I32, {2}));
  auto c = cst(buf(DType::I32, {2}, {5, 6}));
  auto in = buf(DType::I32, {2}, {1, 2});
  auto r = runtime::evaluate(graph_of({x, c}, {x}), {in});
  EXPECT_EQ(r[0], in);  // shared, not copied
  EXPECT_EQ(r[1], c->buffer);
}

TEST(EvalGraph, EvaluatedNodesAreNotRecomputed) {
  // An evaluated node keeps its buffer and drops its operands.
  auto done = node(OpKind::Add, {}, {}, t(DType::F64, {2}));
  done->buffer = buf(DType::F64, {2}, {3, 4});
  auto neg = node(OpKind::Neg, {done}, {}, t(DType::F64, {2}));
  runtime::EvalCounts counts;
  auto r = runtime::evaluate(graph_of({neg}), {}, counts);
  EXPECT_TRUE(same(*r[0], t(DType::F64, {2}), {-3, -4}));
  EXPECT_EQ(counts.nodes_evaluated, 1);
  EXPECT_EQ(counts.bytes_allocated, 16);
}

TEST(EvalGraph, CountsNodesAndBytes) {
  auto a = cst(buf(DType::F32, {4}, {1, 2, 3, 4}));
  auto b = node(OpKind::Exp, {a}, {}, t(DType::F32, {4}));
  auto c = node(OpKind::Cast, {b}, {}, t(DType::F64, {4}));
  runtime::EvalCounts counts;
  runtime::evaluate(graph_of({c}), {}, counts);
  EXPECT_EQ(counts.nodes_evaluated, 2);        // the constant is not computed
  EXPECT_EQ(counts.bytes_allocated, 16 + 32);  // f32[4] and f64[4]
}

TEST(EvalGraph, InputsMustMatchTheParameters) {
  auto x = param("x", t(DType::F32, {3}));
  auto y = param("", t(DType::I32, {2}));
  auto g = graph_of({x}, {x, y});
  g.name = "model";
  expect_error<Error>(
      [&] {
        runtime::evaluate(g, {buf(DType::F32, {3}, {1, 2, 3})});
      },
      {"graph 'model' takes 2 input(s)", "f32[3], i32[2]", "got 1"});
  expect_error<InputError>(
      [&] {
        runtime::evaluate(g, {buf(DType::F64, {3}, {1, 2, 3}), buf(DType::I32, {2}, {1, 2})});
      },
      {"parameter 'x' (#0) of graph 'model'", "expects f32[3], got f64[3]"});
  expect_error<InputError>(
      [&] {
        runtime::evaluate(g, {buf(DType::F32, {3}, {1, 2, 3}), buf(DType::I32, {3}, {1, 2, 3})});
      },
      {"parameter #1 of graph 'model'", "expects i32[2], got i32[3]"});
  expect_error<Error>(
      [&] {
        runtime::evaluate(g, {buf(DType::F32, {3}, {1, 2, 3}), nullptr});
      },
      {"parameter #1", "no buffer"});
}

TEST(EvalGraph, MalformedGraphsAreErrorsNotCrashes) {
  auto x = param("x", t(DType::F32, {2}));
  auto neg = node(OpKind::Neg, {x}, {}, t(DType::F32, {2}));
  // x is used but not declared as a parameter.
  ir::Graph undeclared;
  undeclared.nodes = {neg};
  undeclared.results = {neg};
  expect_error<VerifyError>([&] { runtime::evaluate(undeclared, {}); },
                            {"neg", "parameter", "topological"});
  // x is in the body instead of the parameter list.
  expect_error<VerifyError>([&] { runtime::evaluate(graph_of({neg}), {}); },
                            {"parameter", "not in the graph's parameter list"});
  // Operands out of order.
  auto a = cst(buf(DType::F32, {2}, {1, 2}));
  auto b = node(OpKind::Neg, {a}, {}, t(DType::F32, {2}));
  auto c = node(OpKind::Neg, {b}, {}, t(DType::F32, {2}));
  ir::Graph g;
  g.nodes = {a, c, b};
  g.results = {c};
  expect_error<VerifyError>([&] { runtime::evaluate(g, {}); }, {"neg", "topological"});
  // Wrong operand count, missing attribute, constant without data.
  expect_error<VerifyError>(
      [&] { runtime::evaluate(graph_of({node(OpKind::Add, {a}, {}, t(DType::F32, {2}))}), {}); },
      {"add", "takes 2 operand(s), got 1"});
  expect_error<VerifyError>(
      [&] { runtime::evaluate(graph_of({node(OpKind::Flip, {a}, {}, t(DType::F32, {2}))}), {}); },
      {"flip", "axes"});
  expect_error<VerifyError>(
      [&] {
        runtime::evaluate(graph_of({node(OpKind::Constant, {}, {}, t(DType::F32, {2}))}), {});
      },
      {"constant", "without data"});
  // A node's buffer of the wrong type.
  auto wrong = node(OpKind::Exp, {}, {}, t(DType::F32, {2}));
  wrong->buffer = buf(DType::F32, {3}, {1, 2, 3});
  expect_error<VerifyError>([&] { runtime::evaluate(graph_of({wrong}), {}); }, {"f32[3]"});
  // A result that is not in the graph.
  ir::Graph h;
  h.results = {node(OpKind::Neg, {a}, {}, t(DType::F32, {2}))};
  expect_error<VerifyError>([&] { runtime::evaluate(h, {}); }, {"result", "neg"});
}

TEST(EvalGraph, LongChains) {
  // 50 multiplications over 1 MiB arrays; the evaluator releases each intermediate after
  // its last use (visible only as memory use: this checks the values stay right).
  auto x = param("x", t(DType::F32, {262144}));
  ir::NodePtr v = x;
  for (int i = 0; i < 50; ++i) v = node(OpKind::Mul, {v, x}, {}, t(DType::F32, {262144}));
  auto r = runtime::evaluate(graph_of({v}, {x}),
                             {buf(DType::F32, {262144}, std::vector<double>(262144, 1))});
  EXPECT_EQ(values(*r[0])[262143], 1);
}

// A small well-typed node of `op` over constants of `shape` (rank >= 1).
ir::NodePtr example_node(OpKind op, const Shape& shape) {
  const int64_t n = numel(shape);
  auto f32 = [&] { return cst(buf(DType::F32, shape, std::vector<double>(n, 0.5))); };
  auto ty = [&](DType d) { return Type{d, shape}; };
  const int rank = static_cast<int>(shape.size());
  I64s zeros(rank, 0), ones(rank, 1);
  const ir::OpCategory category = ir::op_category(op);
  if ((category == ir::OpCategory::Unary || category == ir::OpCategory::Binary) &&
      op != OpKind::Complex) {
    // Operands of the first dtype the rule takes, of f32, bool and i32.
    DType d = DType::F32;
    if (!ir::op_accepts(op, d)) d = ir::op_accepts(op, DType::Bool) ? DType::Bool : DType::I32;
    auto operand = [&] { return cst(buf(d, shape, std::vector<double>(n, 1))); };
    std::vector<ir::NodePtr> operands;
    for (int i = 0; i < ir::op_info(op).arity; ++i) operands.push_back(operand());
    return node(op, operands, {}, ty(ir::op_result_dtype(op, d)));
  }
  switch (op) {
    case OpKind::Parameter: return nullptr;  // covered by EvalGraph tests
    case OpKind::Constant: return f32();
    case OpKind::Iota: return node(op, {}, {int64_t{0}}, ty(DType::I32));
    case OpKind::RandomUniform:
      return node(op, {}, {int64_t{3}, std::vector<int64_t>{}}, ty(DType::F32));
    case OpKind::Complex: return node(op, {f32(), f32()}, {}, ty(DType::C64));
    case OpKind::Select: {
      auto c = cst(buf(DType::Bool, shape, std::vector<double>(n, 1)));
      return node(op, {c, f32(), f32()}, {}, ty(DType::F32));
    }
    case OpKind::Cast: return node(op, {f32()}, {}, ty(DType::I8));
    case OpKind::ReduceSum:
    case OpKind::ReduceProd:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin: {
      Shape s = shape;
      s[0] = 1;
      return node(op, {f32()}, {I64s{0}, true}, Type{DType::F32, s});
    }
    case OpKind::ArgMax:
    case OpKind::ArgMin: {
      Shape s(shape.begin() + 1, shape.end());
      return node(op, {f32()}, {I64s{0}, false}, Type{DType::I64, s});
    }
    case OpKind::CumSum:
    case OpKind::CumProd: return node(op, {f32()}, {int64_t{rank - 1}}, ty(DType::F32));
    case OpKind::Reshape: return node(op, {f32()}, {}, Type{DType::F32, {n}});
    case OpKind::Permute: {
      I64s perm;
      Shape s;
      for (int d = rank - 1; d >= 0; --d) perm.push_back(d), s.push_back(shape[d]);
      return node(op, {f32()}, {perm}, Type{DType::F32, s});
    }
    case OpKind::Broadcast: {
      Shape one(rank, 1);
      return node(op, {cst(buf(DType::F32, one, {2}))}, {}, ty(DType::F32));
    }
    case OpKind::Slice: return node(op, {f32()}, {zeros, ones}, ty(DType::F32));
    case OpKind::Pad: {
      Shape s = shape;
      for (auto& d : s) d += 2;
      return node(op, {f32()}, {ones, ones, 0.0}, Type{DType::F32, s});
    }
    case OpKind::Flip: return node(op, {f32()}, {I64s{0}}, ty(DType::F32));
    case OpKind::Concat: {
      Shape s = shape;
      s[0] *= 2;
      return node(op, {f32(), f32()}, {int64_t{0}}, Type{DType::F32, s});
    }
    case OpKind::OptimizationBarrier:
      return node(op, {f32(), cst(buf(DType::I32, {2}, {1, 2}))}, {}, ty(DType::F32));
    case OpKind::Gather:
      return node(op, {f32(), cst(buf(DType::I64, shape, std::vector<double>(n, -1)))},
                  {int64_t{0}}, ty(DType::F32));
    case OpKind::ScatterAdd:
      return node(op, {f32(), cst(buf(DType::I32, shape, std::vector<double>(n, 0))), f32()},
                  {int64_t{0}}, ty(DType::F32));
    case OpKind::Custom:
      return nullptr;  // needs an OpenCL device: tests/runtime/opencl/custom_kernel_test.cpp
    case OpKind::MatMul: {
      Shape s = shape;
      s.push_back(s.back());  // [..., d, d] x [..., d, d]
      auto m = cst(buf(DType::F32, s, std::vector<double>(numel(s), 1)));
      return node(op, {m, m}, {}, Type{DType::F32, s});
    }
    case OpKind::Conv: {
      // x [1, 1, shape...] with a 1-tap kernel and one position of padding after each dim
      // (an empty dim is then all padding).
      Shape xs = {1, 1}, ws = {1, 1}, os = {1, 1};
      for (int64_t d : shape) xs.push_back(d), ws.push_back(1), os.push_back(d + 1);
      auto x = cst(buf(DType::F32, xs, std::vector<double>(n, 1)));
      auto w = cst(buf(DType::F32, ws, {2}));
      return node(op, {x, w}, {ones, ones, zeros, ones, int64_t{1}}, Type{DType::F32, os});
    }
    case OpKind::Fft:
    case OpKind::Rfft:
    case OpKind::Irfft: {
      // Along a leading axis of 4 points (3 frequencies for irfft): the other dims may be
      // empty.
      Shape in = shape, out = shape;
      in.insert(in.begin(), op == OpKind::Irfft ? 3 : 4);
      out.insert(out.begin(), op == OpKind::Rfft ? 3 : 4);
      const int64_t count = numel(in);
      auto x =
          cst(buf(op == OpKind::Rfft ? DType::F32 : DType::C64, in, std::vector<double>(count, 1)));
      std::vector<ir::AttrValue> attrs = {int64_t{0}};
      if (op == OpKind::Fft) attrs.push_back(false);
      if (op == OpKind::Irfft) attrs.insert(attrs.end(), {int64_t{4}, int64_t{4}});
      return node(op, {x}, attrs, Type{op == OpKind::Irfft ? DType::F32 : DType::C64, out});
    }
    default: break;
  }
  ADD_FAILURE() << "no example node for op '" << ir::op_name(op)
                << "' in tests/runtime/eval_graph_test.cpp";
  return nullptr;
}

TEST(EvalGraph, EveryOpEvaluatesAtSizesZeroOneAndMore) {
  for (const ir::OpInfo& info : ir::all_ops()) {
    for (const Shape& shape : {Shape{3, 2}, Shape{1}, Shape{0}, Shape{2, 0}}) {
      SCOPED_TRACE(std::string(info.text) + " " + shape_str(shape));
      auto n = example_node(info.kind, shape);
      if (!n) continue;
      std::vector<BufferPtr> r;
      ASSERT_NO_THROW(r = runtime::evaluate(graph_of({n}), {}));
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0]->type(), n->type);
    }
  }
}

}  // namespace
}  // namespace kiln::test
