// Printer output for constants of every dtype (expected spellings worked out by hand),
// special floats, rank 0, zero-size shapes, splats and parameter naming; each printed
// constant must also parse back to the same bytes.
#include "ir/printer.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <limits>

#include "ir/parser.h"
#include "ir/verifier.h"
#include "ir_test_util.h"

namespace kiln::ir {
namespace {

using namespace test;

// The line a graph returning only `c` prints for it, after checking that the text parses
// back to a constant with identical bytes.
std::string constant_line(const NodePtr& c) {
  Graph g;
  g.nodes = {c};
  g.results = {c};
  std::string text = print_graph(g);
  Graph back = parse_graph(text);
  EXPECT_EQ(print_graph(back), text);
  const Buffer& a = *c->buffer;
  const Buffer& b = *back.nodes.at(0)->buffer;
  EXPECT_EQ(b.type(), a.type());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << text;
  size_t start = text.find("%0 = ");
  return text.substr(start, text.find('\n', start) - start);
}

TEST(Printer, Types) {
  EXPECT_EQ(print_type(f32({32, 128})), "f32[32,128]");
  EXPECT_EQ(print_type(f32({})), "f32[]");
  EXPECT_EQ(print_type(boolean({0, 3})), "bool[0,3]");
  EXPECT_EQ(print_type(ty(DType::BF16, {1, 1, 1, 1, 1, 1, 1, 1})), "bf16[1,1,1,1,1,1,1,1]");
}

TEST(Printer, IntegerAndBoolConstants) {
  EXPECT_EQ(constant_line(constant<uint8_t>(boolean({2}), {1, 0})),
            "%0 = constant dense<[true, false]> : bool[2]");
  EXPECT_EQ(constant_line(constant<int8_t>(ty(DType::I8, {3}), {-128, 0, 127})),
            "%0 = constant dense<[-128, 0, 127]> : i8[3]");
  EXPECT_EQ(constant_line(constant<uint8_t>(ty(DType::U8, {3}), {0, 255, 7})),
            "%0 = constant dense<[0, 255, 7]> : u8[3]");
  EXPECT_EQ(constant_line(constant<int32_t>(i32({2}), {std::numeric_limits<int32_t>::min(),
                                                       std::numeric_limits<int32_t>::max()})),
            "%0 = constant dense<[-2147483648, 2147483647]> : i32[2]");
  EXPECT_EQ(constant_line(constant<int64_t>(i64({2}), {std::numeric_limits<int64_t>::min(),
                                                       std::numeric_limits<int64_t>::max()})),
            "%0 = constant dense<[-9223372036854775808, 9223372036854775807]> : i64[2]");
  EXPECT_EQ(constant_line(constant<int32_t>(i32({2, 3, 1}), {1, 2, 3, 4, 5, 6})),
            "%0 = constant dense<[[[1], [2], [3]], [[4], [5], [6]]]> : i32[2,3,1]");
}

TEST(Printer, FloatConstantsUseTheShortestExactSpelling) {
  EXPECT_EQ(
      constant_line(constant<float>(f32({6}), {0.1f, 1.0f, -2.5e-8f, 3.4028235e38f,
                                               std::numeric_limits<float>::denorm_min(), -0.0f})),
      "%0 = constant dense<[0.1, 1.0, -2.5e-08, 3.4028235e+38, 1e-45, -0.0]> : f32[6]");
  EXPECT_EQ(constant_line(constant<double>(ty(DType::F64, {4}), {0.1, 1e300, 5e-324, 123.0})),
            "%0 = constant dense<[0.1, 1e+300, 5e-324, 123.0]> : f64[4]");
  // f16: 1.0; the largest finite 65504, whose shortest spelling is 6.55e+04 (65500 is
  // nearer to 65504 than to 65472, as NumPy prints it too); the smallest subnormal 2^-24
  // (shortest "6e-08"); 0x3555 = 0.333251953125 (0.333 would read as 0x3554).
  EXPECT_EQ(
      constant_line(constant<uint16_t>(ty(DType::F16, {4}), {0x3c00, 0x7bff, 0x0001, 0x3555})),
      "%0 = constant dense<[1.0, 6.55e+04, 6e-08, 0.3333]> : f16[4]");
  // bf16: 1.0, 0x4049 = 3.140625 (3.1 reads as 0x4046; 3.14 as 0x4049), -0.0.
  EXPECT_EQ(constant_line(constant<uint16_t>(ty(DType::BF16, {3}), {0x3f80, 0x4049, 0x8000})),
            "%0 = constant dense<[1.0, 3.14, -0.0]> : bf16[3]");
  EXPECT_EQ(constant_line(constant<complex64>(ty(DType::C64, {2}), {{1.0f, -2.5f}, {0.0f, 0.5f}})),
            "%0 = constant dense<[(1.0, -2.5), (0.0, 0.5)]> : c64[2]");
}

TEST(Printer, SpecialFloatsKeepTheirBits) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(constant_line(
                constant<float>(f32({6}), {nan, -nan, inf, -inf, std::bit_cast<float>(0x7fc00001u),
                                           std::bit_cast<float>(0x7f800001u)})),
            "%0 = constant dense<[nan, -nan, inf, -inf, 0x7fc00001, 0x7f800001]> : f32[6]");
  EXPECT_EQ(
      constant_line(constant<uint16_t>(ty(DType::F16, {4}), {0x7e00, 0xfc00, 0x7e01, 0xfe00})),
      "%0 = constant dense<[nan, -inf, 0x7e01, -nan]> : f16[4]");
  EXPECT_EQ(constant_line(constant<uint16_t>(ty(DType::BF16, {3}), {0x7fc0, 0x7f80, 0x7fc1})),
            "%0 = constant dense<[nan, inf, 0x7fc1]> : bf16[3]");
  EXPECT_EQ(constant_line(constant<double>(ty(DType::F64, {2}),
                                           {std::numeric_limits<double>::quiet_NaN(),
                                            std::bit_cast<double>(uint64_t{0xfff0000000000002})})),
            "%0 = constant dense<[nan, 0xfff0000000000002]> : f64[2]");
  EXPECT_EQ(constant_line(constant<complex64>(ty(DType::C64, {}), {{inf, nan}})),
            "%0 = constant dense<(inf, nan)> : c64[]");
}

TEST(Printer, RankZeroZeroSizeAndSplat) {
  EXPECT_EQ(constant_line(constant<float>(f32({}), {2.5f})), "%0 = constant dense<2.5> : f32[]");
  EXPECT_EQ(constant_line(constant<float>(f32({1}), {2.5f})),
            "%0 = constant dense<[2.5]> : f32[1]");
  EXPECT_EQ(constant_line(constant<float>(f32({0, 3}), {})), "%0 = constant dense<[]> : f32[0,3]");
  EXPECT_EQ(constant_line(constant<uint8_t>(boolean({2, 0}), {})),
            "%0 = constant dense<[]> : bool[2,0]");
  EXPECT_EQ(constant_line(constant<float>(f32({2, 2}), {1.0f, 1.0f, 1.0f, 1.0f})),
            "%0 = constant dense<1.0> : f32[2,2]");
  EXPECT_EQ(constant_line(constant<int64_t>(i64({3}), {0, 0, 0})),
            "%0 = constant dense<0> : i64[3]");
  // -0.0 and 0.0 compare equal but differ in bits: no splat.
  EXPECT_EQ(constant_line(constant<float>(f32({2}), {0.0f, -0.0f})),
            "%0 = constant dense<[0.0, -0.0]> : f32[2]");
}

TEST(Printer, EveryFloat16PatternRoundTrips) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    auto buffer = std::make_shared<Buffer>(ty(dtype, {65536}));
    for (uint32_t i = 0; i < 65536; ++i) buffer->as<uint16_t>()[i] = static_cast<uint16_t>(i);
    Graph g;
    g.nodes = {make_constant(buffer)};
    g.results = g.nodes;
    Graph back = parse_graph(print_graph(g));
    EXPECT_EQ(std::memcmp(back.nodes[0]->buffer->data(), buffer->data(), buffer->nbytes()), 0)
        << dtype_name(dtype);
  }
}

TEST(Printer, ParameterNamesAreMadeValidAndUnique) {
  Graph g;
  g.name = "my model";
  g.params = {param("", f32({})),          param("x", f32({})),    param("x", f32({})),
              param("layer.0/w", f32({})), param("0abc", f32({})), param("arg0", f32({}))};
  g.results = {g.params[0], g.params[5]};
  EXPECT_EQ(
      print_graph(g),
      "func @my_model(%arg0: f32[], %x: f32[], %x_1: f32[], %layer.0_w: f32[], %_0abc: f32[], "
      "%arg0_1: f32[]) -> (f32[], f32[]) {\n  return %arg0, %arg0_1\n}\n");
  std::string text = print_graph(g);
  EXPECT_EQ(print_graph(parse_graph(text)), text);
}

TEST(Printer, StringAttributesAreQuotedAndEscaped) {
  EXPECT_EQ(print_attr(std::string("a\"b\\c\nd\x01")), R"("a\"b\\c\nd\x01")");
  EXPECT_EQ(print_attr(std::vector<int64_t>{}), "[]");
  EXPECT_EQ(print_attr(std::vector<int64_t>{-1, 2}), "[-1, 2]");
  EXPECT_EQ(print_attr(true), "true");
  EXPECT_EQ(print_attr(2.0), "2.0");
}

TEST(Printer, BrokenGraphsStillPrint) {
  Graph g;
  NodePtr outside = param("o", f32({2}));
  NodePtr n = make_node(OpKind::Neg, {outside}, {}, f32({2}));
  g.nodes = {n};
  g.results = {n};
  EXPECT_EQ(print_graph(g), "func @main() -> (f32[2]) {\n  %0 = neg %? : f32[2]\n  return %0\n}\n");
}

}  // namespace
}  // namespace kiln::ir
