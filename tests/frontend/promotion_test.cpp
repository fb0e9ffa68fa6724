// Type promotion between tensors and weakly typed C++ scalars (docs/semantics.md), and
// that promotion shows up as explicit casts in the IR.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;
using testing::expect_values;

Tensor of(DType d) { return ones({2}, d); }

TEST(Promotion, TensorWithTensor) {
  struct Case {
    DType a, b, want;
  };
  const Case cases[] = {
      {DType::I32, DType::F32, DType::F32},  {DType::I8, DType::U8, DType::I32},
      {DType::I8, DType::I32, DType::I32},   {DType::I32, DType::I64, DType::I64},
      {DType::F16, DType::BF16, DType::F32}, {DType::F16, DType::F32, DType::F32},
      {DType::F32, DType::F64, DType::F64},  {DType::Bool, DType::I8, DType::I8},
      {DType::Bool, DType::F16, DType::F16}, {DType::I64, DType::F16, DType::F16},
      {DType::F64, DType::C64, DType::C64},  {DType::U8, DType::U8, DType::U8},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(dtype_name(c.a)) + " + " + std::string(dtype_name(c.b)));
    EXPECT_EQ((of(c.a) + of(c.b)).dtype(), c.want);
    EXPECT_EQ((of(c.b) + of(c.a)).dtype(), c.want);
    EXPECT_EQ(multiply(of(c.a), of(c.b)).dtype(), c.want);
  }
  // Values survive: i32 3 + f32 0.5.
  expect_f32(from_data({3}, {1}) + from_data({0.5f}, {1}), {1}, {3.5});
  // u8 255 and i8 -1 meet in i32.
  expect_values<int32_t>(from_data({uint8_t{255}}, {1}) + from_data({int8_t{-1}}, {1}), DType::I32,
                         {1}, {254});
}

TEST(Promotion, WeakScalarsKeepTheTensorsDType) {
  EXPECT_EQ((of(DType::F16) * 2.0).dtype(), DType::F16);
  EXPECT_EQ((of(DType::BF16) + 1).dtype(), DType::BF16);
  EXPECT_EQ((of(DType::F32) * 2.0).dtype(), DType::F32);
  EXPECT_EQ((2.0 * of(DType::F64)).dtype(), DType::F64);
  EXPECT_EQ((of(DType::I8) + 1).dtype(), DType::I8);
  EXPECT_EQ((of(DType::U8) * 3).dtype(), DType::U8);
  EXPECT_EQ((of(DType::I64) - 1).dtype(), DType::I64);
  EXPECT_EQ((of(DType::C64) * 2.0).dtype(), DType::C64);
  EXPECT_EQ((of(DType::I32) + true).dtype(), DType::I32);
  EXPECT_EQ((of(DType::F32) == 1).dtype(), DType::Bool);
  // f16 2.0 * 0.1 keeps f16: 0.1 is rounded to f16 first (0.0999755859375).
  expect_f32(cast(full({1}, 2.0, DType::F16) * 0.1, DType::F32), {1}, {0.199951171875});
}

TEST(Promotion, WeakScalarsOfAHigherKind) {
  // A float scalar with an integer or bool tensor gives f32.
  expect_f32(from_data({3}, {1}) * 2.5, {1}, {7.5});
  expect_f32(from_data(std::vector<int64_t>{1}, {1}) + 0.25, {1}, {1.25});
  expect_f32(from_data(std::vector<bool>{true}, {1}) * 1.5, {1}, {1.5});
  // An int scalar with a bool tensor gives i32.
  expect_values<int32_t>(from_data(std::vector<bool>{true, false}, {2}) + 1, DType::I32, {2},
                         {2, 1});
  // A complex scalar with a real tensor gives c64.
  expect_values<complex64>(from_data({2.f}, {1}) * complex64(0, 1), DType::C64, {1},
                           {complex64(0, 2)});
  // Two scalars alone: their own defaults (i32 with f32 -> f32).
  expect_f32(where(true, 1, 2.5), {}, {1});
}

TEST(Promotion, ScalarRangeIsChecked) {
  expect_error<DTypeError>([] { of(DType::U8) + 300; },
                           {"add", "scalar 300 does not fit u8", "cast the tensor"});
  expect_error<DTypeError>([] { of(DType::I8) * -129; }, {"multiply", "-129", "i8"});
  expect_error<DTypeError>([] { of(DType::U8) + -1; }, {"u8"});
  expect_values<uint8_t>(of(DType::U8) + 254, DType::U8, {2}, {255, 255});
}

TEST(Promotion, DivisionAndTranscendentalsOfIntegers) {
  EXPECT_EQ((of(DType::I32) / of(DType::I32)).dtype(), DType::F32);
  EXPECT_EQ((of(DType::I64) / 2).dtype(), DType::F32);
  EXPECT_EQ((of(DType::Bool) / 2).dtype(), DType::F32);
  EXPECT_EQ((of(DType::F16) / 2).dtype(), DType::F16);
  EXPECT_EQ(floor_divide(of(DType::I32), 2).dtype(), DType::I32);
  EXPECT_EQ(exp(of(DType::I64)).dtype(), DType::F32);
  EXPECT_EQ(exp(of(DType::U8)).dtype(), DType::F32);
  EXPECT_EQ(exp(of(DType::F16)).dtype(), DType::F16);
  EXPECT_EQ(atan2(of(DType::I32), of(DType::I32)).dtype(), DType::F32);
  expect_f32(from_data({1}, {1}) / from_data({4}, {1}), {1}, {0.25});
}

TEST(Promotion, CastsAreExplicitInTheIR) {
  Tensor i = from_data({1, 2}, {2});
  Tensor f = from_data({0.5f, 0.5f}, {2});
  auto ops = testing::graph_ops(i + f);
  EXPECT_EQ(ops, (std::vector<std::string>{"constant", "cast", "constant", "add"}));
  // A weak scalar is a rank-0 constant of the tensor's dtype, reshaped and broadcast.
  ir::Graph g = graph_of(f * 2.0);
  ASSERT_EQ(g.nodes.size(), 5u);
  EXPECT_EQ(g.nodes[1]->op, ir::OpKind::Constant);
  EXPECT_EQ(g.nodes[1]->type.str(), "f32[]");
  EXPECT_EQ(g.nodes[2]->op, ir::OpKind::Reshape);
  EXPECT_EQ(g.nodes[3]->op, ir::OpKind::Broadcast);
  EXPECT_EQ(g.nodes[4]->type.str(), "f32[2]");
}

}  // namespace
}  // namespace kiln
