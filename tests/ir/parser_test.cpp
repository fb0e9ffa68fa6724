// Parsing hand-written IR (comments, free whitespace, any value names, splats) and the
// parse errors: each asserts line:column and the message. A mutation loop checks that
// malformed text only ever throws ParseError.
#include "ir/parser.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/printer.h"
#include "ir_test_util.h"

namespace kiln::ir {
namespace {

using namespace test;

TEST(Parser, ReadsCommentsWhitespaceAndNamedValues) {
  Graph g = parse_graph(R"(
// a comment before the function
func @net(%x : f32[ 2 , 3 ],%y:f32[2,3])->(f32[2,3]) {   // trailing comment
  %sum = add %x,%y : f32[2,3]
  %k.1 = constant dense< [ [1.5, 2], [3, 4e0], [5, 6] ] > : f32[3, 2]
  %t = reshape %k.1 : f32[2,3]
  %out = mul %sum, %t:f32[2,3]
  return %out
}
// done
)");
  EXPECT_EQ(g.name, "net");
  ASSERT_EQ(g.params.size(), 2u);
  EXPECT_EQ(g.params[0]->name, "x");
  EXPECT_EQ(g.params[1]->type, f32({2, 3}));
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0]->op, OpKind::Add);
  EXPECT_EQ(g.nodes[0]->operands[0], g.params[0]);
  EXPECT_EQ(g.nodes[0]->operands[1], g.params[1]);
  const float* k = g.nodes[1]->buffer->as<float>();
  EXPECT_EQ(std::vector<float>(k, k + 6), (std::vector<float>{1.5f, 2, 3, 4, 5, 6}));
  EXPECT_EQ(g.nodes[3]->operands[1], g.nodes[2]);
  EXPECT_EQ(g.results, std::vector<NodePtr>{g.nodes[3]});
  EXPECT_EQ(print_graph(g), R"(func @net(%x: f32[2,3], %y: f32[2,3]) -> (f32[2,3]) {
  %0 = add %x, %y : f32[2,3]
  %1 = constant dense<[[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]]> : f32[3,2]
  %2 = reshape %1 : f32[2,3]
  %3 = mul %0, %2 : f32[2,3]
  return %3
}
)");
}

TEST(Parser, AttributesInAnyOrderAndSplats) {
  Graph g = parse_graph(R"(func @main(%a: f32[2,3]) -> (f32[2,1], i64[3], f32[2,2]) {
  %0 = reduce_max %a {keepdims = true, axes = [1]} : f32[2,1]
  %1 = constant dense<-7> : i64[3]
  %2 = constant dense<[[0.5, 0.5], [0.5, 0.5]]> : f32[2,2]
  %3 = constant dense<[[], []]> : bool[2,0]
  %4 = neg %a {} : f32[2,3]
  return %0, %1, %2
})");
  EXPECT_EQ(g.nodes[0]->attr_i64s("axes"), std::vector<int64_t>{1});
  EXPECT_TRUE(g.nodes[0]->attr_bool("keepdims"));
  const int64_t* v = g.nodes[1]->buffer->as<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(v, v + 3), (std::vector<int64_t>{-7, -7, -7}));
  EXPECT_NE(print_graph(g).find("%2 = constant dense<0.5> : f32[2,2]"), std::string::npos);
  EXPECT_NE(print_graph(g).find("%3 = constant dense<[]> : bool[2,0]"), std::string::npos);
}

TEST(Parser, ConstantValuesOfEveryDType) {
  Graph g = parse_graph(R"(func @main() -> () {
  %0 = constant dense<[true, false]> : bool[2]
  %1 = constant dense<[-128, 127]> : i8[2]
  %2 = constant dense<[255, 0]> : u8[2]
  %3 = constant dense<[1.0, -0.5]> : f16[2]
  %4 = constant dense<[1.0, -inf]> : bf16[2]
  %5 = constant dense<[0x3f800000, 1e-45]> : f32[2]
  %6 = constant dense<(1, -2.5)> : c64[]
  %7 = constant dense<[3, 0.1]> : f64[2]
  return
})");
  EXPECT_EQ(g.nodes[0]->buffer->as<uint8_t>()[0], 1);
  EXPECT_EQ(g.nodes[1]->buffer->as<int8_t>()[0], -128);
  EXPECT_EQ(g.nodes[2]->buffer->as<uint8_t>()[0], 255);
  EXPECT_EQ(g.nodes[3]->buffer->as<uint16_t>()[1], 0xb800);  // -0.5 in f16
  EXPECT_EQ(g.nodes[4]->buffer->as<uint16_t>()[1], 0xff80);  // -inf in bf16
  EXPECT_EQ(g.nodes[5]->buffer->as<float>()[0], 1.0f);
  EXPECT_EQ(g.nodes[5]->buffer->as<uint32_t>()[1], 1u);  // the smallest subnormal
  EXPECT_EQ(g.nodes[6]->buffer->as<complex64>()[0], complex64(1.0f, -2.5f));
  EXPECT_EQ(g.nodes[7]->buffer->as<double>()[1], 0.1);
}

TEST(Parser, LoneTypes) {
  EXPECT_EQ(parse_type("f32[32, 128]"), f32({32, 128}));
  EXPECT_EQ(parse_type("bool[]"), boolean({}));
  EXPECT_EQ(parse_type("c64[0]"), ty(DType::C64, {0}));
}

struct BadText {
  std::string text;
  int line, col;
  std::string message;
};

std::string head(const std::string& sig = "(%a: f32[2,2]) -> (f32[2,2])") {
  return "func @main" + sig + " {\n";
}

TEST(Parser, ErrorsNameLineColumnAndProblem) {
  const std::vector<BadText> cases = {
      {"", 1, 1, "expected 'func' at the start of the graph, got end of input"},
      {"fun @main", 1, 1, "expected 'func'"},
      {"func main", 1, 6, "expected the function name '@name' after 'func', got 'main'"},
      {"func @main(%a f32[2])", 1, 15, "expected ':' after parameter %a"},
      {"func @main(%a: f31[2])", 1, 16, "unknown dtype 'f31' (expected one of bool, i8, u8"},
      {"func @main(%a: f32)", 1, 19, "expected '[' after dtype 'f32' (rank 0 is written f32[])"},
      {"func @main(%a: f32[2,-3])", 1, 22, "negative dimension -3 in type"},
      {"func @main(%a: f32[1,1,1,1,1,1,1,1,1])", 1, 36,
       "type has more than 8 dimensions (the maximum rank)"},
      {"func @main(%a: f32[99999999999999999999])", 1, 20,
       "integer 99999999999999999999 is too large for i64"},
      {"func @main(%a: f64[4611686018427387904])", 1, 16, "is too large: its size overflows int64"},
      {"func @main(%a: f32[2], %a: f32[2])", 1, 24, "parameter %a is declared twice"},
      {"func @main(%a: f32[2]) (f32[2])", 1, 24, "expected '->' and the result types, got '('"},
      {head() + "  %0 = foo %a : f32[2,2]\n", 2, 8, "unknown op 'foo'"},
      {head() + "  %0 = add %a %a : f32[2,2]\n", 2, 15, "expected ':' after operands, got '%a'"},
      {head() + "  %0 = add %a, %7 : f32[2,2]\n", 2, 16, "use of undefined value %7"},
      {head() + "  %0 = add %a : f32[2,2]\n", 2, 8, "op 'add' expects 2 operand(s), got 1"},
      {head() + "  %0 = concat {axis = 0} : f32[2,2]\n", 2, 8,
       "op 'concat' expects at least one operand"},
      {head() + "  %0 = neg %a : f32[2,2]\n  %0 = neg %a : f32[2,2]\n", 3, 3,
       "value %0 is already defined at 2:3"},
      {head() + "  %a = neg %a : f32[2,2]\n", 2, 3, "value %a is already defined at 1:12"},
      {head() + "  %0 = neg %0 : f32[2,2]\n", 2, 12, "use of undefined value %0"},
      {head() + "  %0 = parameter : f32[2,2]\n", 2, 8, "'parameter' cannot appear in the body"},
      {head() + "  %0 = reduce_sum %a {axes = 1, keepdims = false} : f32[2]\n", 2, 30,
       "attribute 'axes' expects a list of integers, got '1'"},
      {head() + "  %0 = reduce_sum %a {axes = [1, x], keepdims = false} : f32[2]\n", 2, 34,
       "attribute 'axes' expects a list of integers, got 'x'"},
      {head() + "  %0 = reduce_sum %a {axes = [1], keepdims = 1} : f32[2]\n", 2, 46,
       "attribute 'keepdims' expects true or false, got '1'"},
      {head() + "  %0 = reduce_sum %a {axes = [1]} : f32[2]\n", 2, 8,
       "op 'reduce_sum' requires attribute 'keepdims'"},
      {head() + "  %0 = reduce_sum %a {axes = [1], axes = [0]} : f32[2]\n", 2, 35,
       "attribute 'axes' is given twice"},
      {head() + "  %0 = neg %a {axis = 1} : f32[2,2]\n", 2, 16,
       "op 'neg' has no attribute 'axis' (it takes none)"},
      {head() + "  %0 = cumsum %a {axes = [1]} : f32[2,2]\n", 2, 19,
       "op 'cumsum' has no attribute 'axes' (it takes axis)"},
      {head() + "  %0 = pad %a {low = [0, 0], high = [0, 0], value = true} : f32[2,2]\n", 2, 53,
       "attribute 'value' expects a number, got 'true'"},
      {head() + "  %0 = neg %a {} f32[2,2]\n", 2, 18, "expected ':' after the attributes"},
      {head() + "  %0 = constant dense<[1, 2, 3, 4, 5]> : f32[2,2]\n", 2, 23,
       "constant has 5 values but type f32[2,2] needs 4"},
      {head() + "  %0 = constant dense<[1, 2, 3, 4]> : f32[2,2]\n", 2, 23,
       "constant literal does not match f32[2,2]: expected a list of 2 element(s) at depth 0"},
      {head() + "  %0 = constant dense<[[1, 2], [3, [4]]]> : f32[2,2]\n", 2, 36,
       "expected a single value here, not a list"},
      {head() + "  %0 = constant dense<[2.5]> : f32[]\n", 2, 23, "expected a single value here"},
      {head() + "  %0 = constant dense<[1, 2.5]> : i32[2]\n", 2, 27,
       "expected an integer in an i32 constant, got '2.5'"},
      {head() + "  %0 = constant dense<[1, 300]> : u8[2]\n", 2, 27,
       "value 300 is out of range for u8"},
      {head() + "  %0 = constant dense<[1, 0]> : bool[2]\n", 2, 24,
       "expected true or false in a bool constant, got '1'"},
      {head() + "  %0 = constant dense<1e39> : f32[]\n", 2, 23,
       "value 1e39 is out of range for f32"},
      {head() + "  %0 = constant dense<70000> : f16[]\n", 2, 23,
       "value 70000 is out of range for f16"},
      {head() + "  %0 = constant dense<0x1ffff> : f16[]\n", 2, 23,
       "bit pattern 0x1ffff does not fit f16"},
      {head() + "  %0 = constant dense<1.0> : c64[]\n", 2, 23,
       "expected (re, im) in a c64 constant"},
      {head() + "  %0 = constant dense<(1, 2)> : f32[]\n", 2, 23,
       "a complex value (re, im) cannot be stored in f32"},
      {head() + "  %0 = constant dense<[[[[[[[[[1]]]]]]]]]> : f32[1,1,1,1,1,1,1,1,1]\n", 2, 31,
       "constant literal is nested deeper than the maximum rank 8"},
      {head() + "  %0 = constant dense<0> : f32[1000000000000]\n", 2, 23,
       "is too large for the text form (at most 2 GiB)"},
      {head() + "  %0 = constant [1] : f32[1]\n", 2, 17, "expected 'dense<...>' after 'constant'"},
      {head() + "  %0 = add %a, %a : f32[2,3]\n", 2, 3,
       "add: declared result type f32[2,3] but the operands give f32[2,2]"},
      {head() + "  %0 = reshape %a : f32[5]\n", 2, 3,
       "reshape: cannot reshape f32[2,2] (4 elements) to [5]"},
      {head() + "  return %a, %a\n}", 2, 3,
       "the signature declares 1 result(s) but 'return' gives 2"},
      {head("(%a: f32[2,2]) -> (f32[2])") + "  return %a\n}", 2, 10,
       "returned value %a has type f32[2,2] but the signature declares f32[2]"},
      {head() + "  return %a\n", 3, 1,
       "expected ',' or '}' after the returned values, got end of input"},
      {head() + "  return %a\n}\n}", 4, 1, "expected the end of input after the function, got '}'"},
      {head() + "  %0 = neg %a : f32[2,2] $\n", 2, 26, "unexpected character '$'"},
      {head() + "  % = neg %a : f32[2,2]\n", 2, 4, "expected a name after '%', got ' '"},
      {head() + "  %0 = neg %a : f32[2,2x]\n", 2, 23, "malformed number '2x'"},
      {head() + "  %0 = random_uniform {key = 99999999999999999999} : f32[2]\n", 2, 30,
       "integer 99999999999999999999 is too large for i64"},
      {head() + "  %0 = add %a, %a : f32[2,2] foo\n", 2, 30,
       "expected a statement '%name = op ...' or 'return', got 'foo'"},
  };
  for (const BadText& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_graph(c.text);
      ADD_FAILURE() << "parsed without error";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_EQ(e.column(), c.col) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(
                    std::to_string(c.line) + ":" + std::to_string(c.col) + ": ", 0),
                0u)
          << e.what();
    }
  }
}

TEST(Parser, TypeCheckFailuresPointAtTheNode) {
  std::string text = R"(func @main(%a: f32[4], %b: f32[3]) -> (f32[4]) {
  %0 = neg %a : f32[4]
  %1 = add %0, %b : f32[4]
  return %1
})";
  std::string msg = error_of<ParseError>([&] { parse_graph(text); });
  EXPECT_EQ(msg,
            "3:3: add: operands must have the same type, got f32[4] and f32[3]; make "
            "broadcasts and casts explicit");
}

// Mutates valid texts a few thousand times (deletions, insertions, swaps, truncations,
// digit changes) and checks that each result parses or throws ParseError, nothing else.
TEST(Parser, MutatedTextOnlyThrowsParseError) {
  const std::vector<std::string> seeds = {
      R"(func @main(%x: f32[2,3], %i: i32[2,3]) -> (f32[2,3], f32[3]) {
  %0 = constant dense<[[1.5, -2.0, nan], [inf, 0x7fc00001, 3e-05]]> : f32[2,3]
  %1 = add %x, %0 : f32[2,3]
  %2 = reduce_sum %1 {axes = [0], keepdims = false} : f32[3]
  %3 = gather %x, %i {axis = 1} : f32[2,3]
  %4 = pad %2 {low = [1], high = [0], value = -inf} : f32[4]
  %5 = slice %4 {start = [3], step = [-1]} : f32[3]
  return %3, %5
})",
      R"(func @m(%a: c64[2], %b: bool[2]) -> (c64[2]) {
  %0 = constant dense<[(1.0, 2.0), (-0.0, 1e-45)]> : c64[2]
  %1 = select %b, %a, %0 : c64[2] // why not
  %2 = constant dense<[true, false]> : bool[2]
  return %1
})"};
  const std::string alphabet = "%@:=,()[]{}<>-.0123456789ex\" \n/fi";
  std::mt19937 rng(12345);
  int parsed = 0, errors = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string t = seeds[iter % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !t.empty(); ++e) {
      size_t pos = rng() % t.size();
      switch (rng() % 5) {
        case 0: t.erase(pos, 1 + rng() % 4); break;
        case 1: t.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: std::swap(t[pos], t[rng() % t.size()]); break;
        case 3: t.resize(pos); break;
        case 4: t[pos] = static_cast<char>(rng() % 256); break;
      }
    }
    try {
      Graph g = parse_graph(t);
      std::string printed = print_graph(g);
      EXPECT_EQ(print_graph(parse_graph(printed)), printed);
      ++parsed;
    } catch (const ParseError&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-ParseError " << e.what() << " for:\n" << t;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace kiln::ir
