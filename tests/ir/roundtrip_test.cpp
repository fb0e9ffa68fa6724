// The IR round trip for every op of ir/ops.def: a graph built with make_node prints as the
// hand-written text, that text parses back, prints identically, verifies, and hashes as
// the original. Iterating all_ops() makes a new op without a sample fail here.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <limits>

#include "ir/hash.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "ir_test_util.h"

namespace kiln::ir {
namespace {

using namespace test;

struct Sample {
  OpKind op;
  std::vector<Type> operands;
  std::vector<AttrValue> attrs;
  Type out;
  std::string signature;  // as printed: "(%a: f32[2,3]) -> (f32[2,3])"
  std::string line;       // the op's line, as printed
};

using I64s = std::vector<int64_t>;

std::vector<Sample> samples() {
  const Type m = f32({2, 3});
  const std::string m1 = "(%a: f32[2,3]) -> (f32[2,3])";
  const std::string m2 = "(%a: f32[2,3], %b: f32[2,3]) -> (f32[2,3])";
  std::vector<Sample> s = {
      {OpKind::Iota,
       {},
       {int64_t{1}},
       i32({2, 3}),
       "() -> (i32[2,3])",
       "%0 = iota {axis = 1} : i32[2,3]"},
      {OpKind::RandomUniform,
       {},
       {int64_t{42}, I64s{}},
       f32({4}),
       "() -> (f32[4])",
       "%0 = random_uniform {key = 42, derive = []} : f32[4]"},
      {OpKind::RandomUniform,
       {Type{DType::I64, {}}},
       {int64_t{0}, I64s{4611686018427387910, -9223372036854775806}},
       f32({4}),
       "(%a: i64[]) -> (f32[4])",
       "%0 = random_uniform %a {key = 0, derive = [4611686018427387910, -9223372036854775806]} : "
       "f32[4]"},
      {OpKind::Not,
       {boolean({3})},
       {},
       boolean({3}),
       "(%a: bool[3]) -> (bool[3])",
       "%0 = not %a : bool[3]"},
      {OpKind::IsNan,
       {f32({3})},
       {},
       boolean({3}),
       "(%a: f32[3]) -> (bool[3])",
       "%0 = isnan %a : bool[3]"},
      {OpKind::IsInf,
       {f32({3})},
       {},
       boolean({3}),
       "(%a: f32[3]) -> (bool[3])",
       "%0 = isinf %a : bool[3]"},
      {OpKind::Real,
       {ty(DType::C64, {2})},
       {},
       f32({2}),
       "(%a: c64[2]) -> (f32[2])",
       "%0 = real %a : f32[2]"},
      {OpKind::Imag,
       {ty(DType::C64, {2})},
       {},
       f32({2}),
       "(%a: c64[2]) -> (f32[2])",
       "%0 = imag %a : f32[2]"},
      {OpKind::And,
       {i32({4}), i32({4})},
       {},
       i32({4}),
       "(%a: i32[4], %b: i32[4]) -> (i32[4])",
       "%0 = and %a, %b : i32[4]"},
      {OpKind::Or,
       {boolean({4}), boolean({4})},
       {},
       boolean({4}),
       "(%a: bool[4], %b: bool[4]) -> (bool[4])",
       "%0 = or %a, %b : bool[4]"},
      {OpKind::Xor,
       {ty(DType::U8, {4}), ty(DType::U8, {4})},
       {},
       ty(DType::U8, {4}),
       "(%a: u8[4], %b: u8[4]) -> (u8[4])",
       "%0 = xor %a, %b : u8[4]"},
      {OpKind::Complex,
       {f32({2}), f32({2})},
       {},
       ty(DType::C64, {2}),
       "(%a: f32[2], %b: f32[2]) -> (c64[2])",
       "%0 = complex %a, %b : c64[2]"},
      {OpKind::Select,
       {boolean({2, 2}), f32({2, 2}), f32({2, 2})},
       {},
       f32({2, 2}),
       "(%a: bool[2,2], %b: f32[2,2], %c: f32[2,2]) -> (f32[2,2])",
       "%0 = select %a, %b, %c : f32[2,2]"},
      {OpKind::Cast, {f32({3})}, {}, i32({3}), "(%a: f32[3]) -> (i32[3])", "%0 = cast %a : i32[3]"},
      {OpKind::ReduceSum,
       {f32({2, 3, 4})},
       {I64s{0, 2}, false},
       f32({3}),
       "(%a: f32[2,3,4]) -> (f32[3])",
       "%0 = reduce_sum %a {axes = [0, 2], keepdims = false} : f32[3]"},
      {OpKind::ReduceProd,
       {f32({2, 3, 4})},
       {I64s{1}, true},
       f32({2, 1, 4}),
       "(%a: f32[2,3,4]) -> (f32[2,1,4])",
       "%0 = reduce_prod %a {axes = [1], keepdims = true} : f32[2,1,4]"},
      {OpKind::ReduceMax,
       {m},
       {I64s{0, 1}, false},
       f32({}),
       "(%a: f32[2,3]) -> (f32[])",
       "%0 = reduce_max %a {axes = [0, 1], keepdims = false} : f32[]"},
      {OpKind::ReduceMin,
       {m},
       {I64s{1}, true},
       f32({2, 1}),
       "(%a: f32[2,3]) -> (f32[2,1])",
       "%0 = reduce_min %a {axes = [1], keepdims = true} : f32[2,1]"},
      {OpKind::ArgMax,
       {m},
       {I64s{1}, false},
       i64({2}),
       "(%a: f32[2,3]) -> (i64[2])",
       "%0 = argmax %a {axes = [1], keepdims = false} : i64[2]"},
      {OpKind::ArgMin,
       {m},
       {I64s{0}, true},
       i64({1, 3}),
       "(%a: f32[2,3]) -> (i64[1,3])",
       "%0 = argmin %a {axes = [0], keepdims = true} : i64[1,3]"},
      {OpKind::CumSum, {m}, {int64_t{1}}, m, m1, "%0 = cumsum %a {axis = 1} : f32[2,3]"},
      {OpKind::CumProd,
       {i32({4})},
       {int64_t{0}},
       i32({4}),
       "(%a: i32[4]) -> (i32[4])",
       "%0 = cumprod %a {axis = 0} : i32[4]"},
      {OpKind::Reshape,
       {m},
       {},
       f32({3, 2}),
       "(%a: f32[2,3]) -> (f32[3,2])",
       "%0 = reshape %a : f32[3,2]"},
      {OpKind::Permute,
       {f32({2, 3, 4})},
       {I64s{2, 0, 1}},
       f32({4, 2, 3}),
       "(%a: f32[2,3,4]) -> (f32[4,2,3])",
       "%0 = permute %a {perm = [2, 0, 1]} : f32[4,2,3]"},
      {OpKind::Broadcast,
       {f32({1, 3})},
       {},
       f32({4, 3}),
       "(%a: f32[1,3]) -> (f32[4,3])",
       "%0 = broadcast %a : f32[4,3]"},
      {OpKind::Slice,
       {f32({10})},
       {I64s{9}, I64s{-3}},
       f32({4}),
       "(%a: f32[10]) -> (f32[4])",
       "%0 = slice %a {start = [9], step = [-3]} : f32[4]"},
      {OpKind::Pad,
       {m},
       {I64s{1, 0}, I64s{0, 2}, 0.5},
       f32({3, 5}),
       "(%a: f32[2,3]) -> (f32[3,5])",
       "%0 = pad %a {low = [1, 0], high = [0, 2], value = 0.5} : f32[3,5]"},
      {OpKind::Flip, {m}, {I64s{0, 1}}, m, m1, "%0 = flip %a {axes = [0, 1]} : f32[2,3]"},
      {OpKind::Concat,
       {m, f32({2, 1})},
       {int64_t{1}},
       f32({2, 4}),
       "(%a: f32[2,3], %b: f32[2,1]) -> (f32[2,4])",
       "%0 = concat %a, %b {axis = 1} : f32[2,4]"},
      {OpKind::OptimizationBarrier,
       {m, i32({4})},
       {},
       m,
       "(%a: f32[2,3], %b: i32[4]) -> (f32[2,3])",
       "%0 = optimization_barrier %a, %b : f32[2,3]"},
      {OpKind::Gather,
       {f32({5, 3}), i32({2, 3})},
       {int64_t{0}},
       f32({2, 3}),
       "(%a: f32[5,3], %b: i32[2,3]) -> (f32[2,3])",
       "%0 = gather %a, %b {axis = 0} : f32[2,3]"},
      {OpKind::ScatterAdd,
       {f32({5, 3}), i64({2, 3}), f32({2, 3})},
       {int64_t{0}},
       f32({5, 3}),
       "(%a: f32[5,3], %b: i64[2,3], %c: f32[2,3]) -> (f32[5,3])",
       "%0 = scatter_add %a, %b, %c {axis = 0} : f32[5,3]"},
      {OpKind::MatMul,
       {f32({2, 3, 4}), f32({2, 4, 5})},
       {},
       f32({2, 3, 5}),
       "(%a: f32[2,3,4], %b: f32[2,4,5]) -> (f32[2,3,5])",
       "%0 = matmul %a, %b : f32[2,3,5]"},
      {OpKind::Conv,
       {f32({2, 4, 9}), f32({6, 2, 3})},
       {std::vector<int64_t>{2}, std::vector<int64_t>{1}, std::vector<int64_t>{2},
        std::vector<int64_t>{0}, int64_t{2}},
       f32({2, 6, 5}),
       "(%a: f32[2,4,9], %b: f32[6,2,3]) -> (f32[2,6,5])",
       "%0 = conv %a, %b {stride = [2], dilation = [1], pad_low = [2], pad_high = [0], groups = "
       "2} : f32[2,6,5]"},
      {OpKind::Fft,
       {Type{DType::C64, {3, 8}}},
       {int64_t{1}, true},
       Type{DType::C64, {3, 8}},
       "(%a: c64[3,8]) -> (c64[3,8])",
       "%0 = fft %a {axis = 1, inverse = true} : c64[3,8]"},
      {OpKind::Rfft,
       {f32({6, 2})},
       {int64_t{0}},
       Type{DType::C64, {4, 2}},
       "(%a: f32[6,2]) -> (c64[4,2])",
       "%0 = rfft %a {axis = 0} : c64[4,2]"},
      {OpKind::Irfft,
       {Type{DType::C64, {2, 4}}},
       {int64_t{1}, int64_t{7}, int64_t{5}},
       f32({2, 5}),
       "(%a: c64[2,4]) -> (f32[2,5])",
       "%0 = irfft %a {axis = 1, n = 7, length = 5} : f32[2,5]"},
      {OpKind::Custom,
       {f32({4}), f32({2})},
       {std::string("twice"), std::string("y[get_global_id(0)] = 2.0f * x[get_global_id(0)];\n"),
        std::string("x;w"), std::string("y"), int64_t{0}, std::string("f32[4]"),
        std::vector<int64_t>{4}, std::vector<int64_t>{}, std::string("K=3")},
       f32({4}),
       "(%a: f32[4], %b: f32[2]) -> (f32[4])",
       "%0 = custom %a, %b {name = \"twice\", source = \"y[get_global_id(0)] = 2.0f * "
       "x[get_global_id(0)];\\n\", inputs = \"x;w\", outputs = \"y\", output = 0, types = "
       "\"f32[4]\", grid = [4], local = [], params = \"K=3\"} : f32[4]"},
  };
  // The other elementwise ops on f32, typed by their rule in the op table.
  for (const OpInfo& info : all_ops()) {
    bool elementwise = info.category == OpCategory::Unary || info.category == OpCategory::Binary;
    bool has_sample =
        std::any_of(s.begin(), s.end(), [&](const Sample& x) { return x.op == info.kind; });
    if (!elementwise || has_sample || !op_accepts(info.kind, DType::F32)) continue;
    Type out{op_result_dtype(info.kind, DType::F32), {2, 3}};
    bool binary = info.arity == 2;
    s.push_back(
        {info.kind,
         std::vector<Type>(static_cast<size_t>(info.arity), m),
         {},
         out,
         std::string(binary ? "(%a: f32[2,3], %b: f32[2,3])" : "(%a: f32[2,3])") + " -> (" +
             out.str() + ")",
         "%0 = " + std::string(info.text) + (binary ? " %a, %b : " : " %a : ") + out.str()});
  }
  return s;
}

std::string wrap(const std::string& signature, const std::string& line) {
  return "func @main" + signature + " {\n  " + line + "\n  return %0\n}\n";
}

// Checks print(g) == text, print(parse(text)) == text, and that both verify and hash alike.
void expect_round_trip(const Graph& g, const std::string& text) {
  EXPECT_NO_THROW(verify(g));
  EXPECT_EQ(print_graph(g), text);
  Graph parsed = parse_graph(text);
  EXPECT_NO_THROW(verify(parsed));
  EXPECT_EQ(print_graph(parsed), text);
  EXPECT_EQ(structural_hash(parsed), structural_hash(g));
}

TEST(RoundTrip, EveryOpOfTheTable) {
  std::vector<Sample> all = samples();
  for (const OpInfo& info : all_ops()) {
    SCOPED_TRACE(std::string(info.text));
    if (info.kind == OpKind::Parameter) {
      Graph g;
      g.params.push_back(param("a", f32({2})));
      g.results.push_back(g.params[0]);
      expect_round_trip(g, "func @main(%a: f32[2]) -> (f32[2]) {\n  return %a\n}\n");
      continue;
    }
    if (info.kind == OpKind::Constant) {
      Graph g;
      g.nodes.push_back(constant<int32_t>(i32({2, 2}), {1, 2, 3, 4}));
      g.results.push_back(g.nodes[0]);
      expect_round_trip(
          g, wrap("() -> (i32[2,2])", "%0 = constant dense<[[1, 2], [3, 4]]> : i32[2,2]"));
      continue;
    }
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Sample& s) { return s.op == info.kind; });
    ASSERT_NE(it, all.end()) << "no round-trip sample for op '" << info.text
                             << "': add one to tests/ir/roundtrip_test.cpp";
    expect_round_trip(one_op(it->op, it->operands, it->attrs, it->out),
                      wrap(it->signature, it->line));
  }
}

TEST(RoundTrip, MultiNodeGraphWithSharedValuesAndTwoResults) {
  Graph g;
  NodePtr x = param("x", f32({32, 128}));
  NodePtr w = param("w", f32({128}));
  g.params = {x, w};
  NodePtr w2 = make_node(OpKind::Reshape, {w}, {}, f32({1, 128}));
  NodePtr wb = make_node(OpKind::Broadcast, {w2}, {}, f32({32, 128}));
  NodePtr sum = make_node(OpKind::Add, {x, wb}, {}, f32({32, 128}));
  NodePtr red = make_node(OpKind::ReduceSum, {sum}, {std::vector<int64_t>{1}, false}, f32({32}));
  g.nodes = {w2, wb, sum, red};
  g.results = {sum, red, x};
  expect_round_trip(
      g, R"(func @main(%x: f32[32,128], %w: f32[128]) -> (f32[32,128], f32[32], f32[32,128]) {
  %0 = reshape %w : f32[1,128]
  %1 = broadcast %0 : f32[32,128]
  %2 = add %x, %1 : f32[32,128]
  %3 = reduce_sum %2 {axes = [1], keepdims = false} : f32[32]
  return %2, %3, %x
}
)");
}

TEST(RoundTrip, EmptyGraph) { expect_round_trip(Graph{}, "func @main() -> () {\n  return\n}\n"); }

TEST(RoundTrip, RankZeroAndZeroSizeTypes) {
  Graph g;
  g.params = {param("s", f32({})), param("e", boolean({0, 3}))};
  NodePtr n = make_node(OpKind::Not, {g.params[1]}, {}, boolean({0, 3}));
  NodePtr r = make_node(OpKind::ReduceSum, {g.params[0]}, {std::vector<int64_t>{}, true}, f32({}));
  g.nodes = {n, r};
  g.results = {n, r};
  expect_round_trip(g, R"(func @main(%s: f32[], %e: bool[0,3]) -> (bool[0,3], f32[]) {
  %0 = not %e : bool[0,3]
  %1 = reduce_sum %s {axes = [], keepdims = true} : f32[]
  return %0, %1
}
)");
}

TEST(RoundTrip, AttributeValuesAtTheirLimits) {
  // Extreme i64 keys and pad values that need an exact shortest form.
  Graph g1 = one_op(OpKind::RandomUniform, {},
                    {std::numeric_limits<int64_t>::min(), std::vector<int64_t>{}}, f32({2}));
  expect_round_trip(g1, wrap("() -> (f32[2])",
                             "%0 = random_uniform {key = -9223372036854775808, derive = []} : "
                             "f32[2]"));
  for (auto [value, text] : std::vector<std::pair<double, std::string>>{
           {0.1, "0.1"},
           {-0.0, "-0.0"},
           {1e300, "1e+300"},
           {5e-324, "5e-324"},
           {-std::numeric_limits<double>::infinity(), "-inf"},
           {std::numeric_limits<double>::infinity(), "inf"},
           {std::numeric_limits<double>::quiet_NaN(), "nan"},
           {std::bit_cast<double>(uint64_t{0x7ff0000000000001}), "0x7ff0000000000001"}}) {
    Graph g = one_op(OpKind::Pad, {f32({1})},
                     {std::vector<int64_t>{0}, std::vector<int64_t>{1}, value}, f32({2}));
    expect_round_trip(g,
                      wrap("(%a: f32[1]) -> (f32[2])",
                           "%0 = pad %a {low = [0], high = [1], value = " + text + "} : f32[2]"));
    double back = std::get<double>(parse_graph(print_graph(g)).nodes[0]->attrs[2]);
    EXPECT_EQ(std::bit_cast<uint64_t>(back), std::bit_cast<uint64_t>(value)) << text;
  }
}

}  // namespace
}  // namespace kiln::ir
