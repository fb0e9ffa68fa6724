// The op table (ir/ops.def) is complete and is what the verifier applies: every row has an
// arity that fits its category, a dtype rule that admits some dtype, a result rule that
// fits its category, and the verifier's infer_type accepts exactly the dtypes the rule
// admits, with the result dtype the rule gives.
#include <gtest/gtest.h>

#include <set>

#include "ir/error.h"
#include "ir/op.h"
#include "ir/verifier.h"

namespace kiln::ir {
namespace {

int expected_arity(OpCategory c) {
  switch (c) {
    case OpCategory::Source: return 0;
    case OpCategory::Unary:
    case OpCategory::Cast:
    case OpCategory::Reduce:
    case OpCategory::Scan: return 1;
    case OpCategory::Binary: return 2;
    case OpCategory::Ternary: return 3;
    case OpCategory::Contraction:  // products take two, transforms one
    case OpCategory::Movement:
    case OpCategory::Index:
    case OpCategory::Custom: return -2;  // per op
  }
  return -2;
}

TEST(OpTable, EveryRowIsComplete) {
  std::set<std::string_view> texts;
  for (const OpInfo& info : all_ops()) {
    SCOPED_TRACE("ir/ops.def row '" + std::string(info.text) + "'");
    EXPECT_EQ(&op_info(info.kind), &info);
    EXPECT_FALSE(info.text.empty());
    EXPECT_TRUE(texts.insert(info.text).second) << "spelling used twice";
    EXPECT_EQ(op_from_text(info.text), info.kind);
    if (info.kind == OpKind::RandomUniform) {
      EXPECT_EQ(info.arity, -2) << "its key operand is optional";
    } else if (int arity = expected_arity(info.category); arity != -2) {
      EXPECT_EQ(info.arity, arity);
    }
    int admitted = 0;
    for (DType t : kAllDTypes) admitted += op_accepts(info.kind, t) ? 1 : 0;
    EXPECT_GT(admitted, 0) << "the Accepts column admits no dtype";
    const bool declared = info.result == ResultRule::Declared;
    const bool may_declare = info.category == OpCategory::Source ||
                             info.category == OpCategory::Cast ||
                             info.category == OpCategory::Custom;
    EXPECT_EQ(declared, may_declare) << "only sources, cast and custom take a declared result";
    if (info.cost == OpCost::Transcendental) {
      EXPECT_TRUE(info.category == OpCategory::Unary || info.category == OpCategory::Binary)
          << "the cost class is for elementwise ops";
    }
    if (!info.math.empty()) {
      EXPECT_EQ(info.category, OpCategory::Unary) << "the math column is for unary ops";
      EXPECT_TRUE(op_accepts(info.kind, DType::F32) && op_accepts(info.kind, DType::F64))
          << "a C function of reals needs the op to take f32 and f64";
    }
  }
}

// The verifier applies the table's rule, on every dtype, for the elementwise ops (whose
// operands all share the checked dtype).
TEST(OpTable, VerifierAppliesTheRule) {
  for (const OpInfo& info : all_ops()) {
    if (info.category != OpCategory::Unary && info.category != OpCategory::Binary) continue;
    if (info.kind == OpKind::Complex) continue;  // its result is c64 whatever the parts
    for (DType t : kAllDTypes) {
      SCOPED_TRACE(std::string(info.text) + " on " + std::string(dtype_name(t)));
      std::vector<Type> in(static_cast<size_t>(info.arity), Type{t, {3}});
      Type want{op_result_dtype(info.kind, t), {3}};
      if (op_accepts(info.kind, t)) {
        EXPECT_EQ(infer_type(info.kind, in, {}, want), want);
      } else {
        try {
          infer_type(info.kind, in, {}, want);
          ADD_FAILURE() << "the verifier accepts a dtype the table refuses";
        } catch (const VerifyError& e) {
          EXPECT_EQ(std::string(e.what()),
                    std::string(info.text) + ": operand " + dtype_refusal(info.kind, t));
        }
      }
    }
  }
}

TEST(OpTable, Transcendental) {
  EXPECT_TRUE(is_transcendental(OpKind::Exp));
  EXPECT_TRUE(is_transcendental(OpKind::Erf));
  EXPECT_TRUE(is_transcendental(OpKind::Pow));
  EXPECT_FALSE(is_transcendental(OpKind::Add));
  EXPECT_FALSE(is_transcendental(OpKind::Sqrt));
}

TEST(OpTable, Refusals) {
  EXPECT_EQ(dtype_refusal(OpKind::Exp, DType::F32), "");
  EXPECT_EQ(dtype_refusal(OpKind::Erf, DType::C64),
            "must have a floating dtype (f16, bf16, f32, f64), got c64; take real/imag/abs of the "
            "complex value first");
  EXPECT_EQ(dtype_refusal(OpKind::Sign, DType::C64),
            "must have an integer or floating dtype, got c64; take real/imag/abs of the complex "
            "value first");
}

}  // namespace
}  // namespace kiln::ir
