// Verifier: one case per typing rule of the op table and per graph invariant, each
// asserting the whole message.
#include "ir/verifier.h"

#include <gtest/gtest.h>

#include <limits>

#include "ir_test_util.h"

namespace kiln::ir {
namespace {

using namespace test;
using I64s = std::vector<int64_t>;

// The VerifyError message of verify_node on `op` over parameters of `in`; "" when valid.
std::string node_error(OpKind op, std::vector<Type> in, std::vector<AttrValue> attrs, Type out) {
  Graph g = one_op(op, in, std::move(attrs), std::move(out));
  return error_of<VerifyError>([&] { verify_node(*g.nodes[0]); });
}

const Type m = f32({2, 3});
const Type c2 = ty(DType::C64, {2});

TEST(VerifyNode, ArityAndAttributes) {
  EXPECT_EQ(node_error(OpKind::Add, {m}, {}, m), "add: expects 2 operand(s), got 1");
  EXPECT_EQ(node_error(OpKind::Concat, {}, {int64_t{0}}, m),
            "concat: expects at least one operand, got 0");
  EXPECT_EQ(node_error(OpKind::RandomUniform, {m, m}, {int64_t{0}, I64s{}}, m),
            "random_uniform: expects zero or one operand, got 2");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {m}, {I64s{1}}, f32({2})),
            "reduce_sum: expects 2 attribute(s) (axes, keepdims), got 1");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {m}, {int64_t{1}, false}, f32({2})),
            "reduce_sum: attribute 'axes' must be a list of integers (i64s), got an integer (i64)");
  EXPECT_EQ(node_error(OpKind::Pad, {m}, {I64s{0, 0}, I64s{0, 0}, int64_t{0}}, m),
            "pad: attribute 'value' must be a number (f64), got an integer (i64)");
  EXPECT_EQ(node_error(OpKind::Neg, {m}, {int64_t{0}}, m), "neg: expects 0 attribute(s), got 1");
}

TEST(VerifyNode, TypesAreWellFormed) {
  Type rank9 = f32({1, 1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(node_error(OpKind::Neg, {rank9}, {}, rank9),
            "neg: operand 0 f32[1,1,1,1,1,1,1,1,1] has rank 9, more than the maximum 8");
  EXPECT_EQ(node_error(OpKind::Iota, {}, {int64_t{0}}, i32({-1})),
            "iota: result i32[-1] has a negative dimension");
  EXPECT_EQ(node_error(OpKind::Iota, {}, {int64_t{0}}, i64({int64_t{1} << 40, int64_t{1} << 40})),
            "iota: result i64[1099511627776,1099511627776] is too large: its size overflows int64");
  EXPECT_EQ(node_error(OpKind::Iota, {}, {int64_t{0}}, i64({int64_t{1} << 40, 0})), "");
}

TEST(VerifyNode, DTypeRules) {
  EXPECT_EQ(node_error(OpKind::Exp, {i32({2})}, {}, i32({2})),
            "exp: operand must have a floating or complex dtype, got i32; cast the integer "
            "operand to a floating dtype first");
  EXPECT_EQ(node_error(OpKind::Exp, {c2}, {}, c2), "");
  EXPECT_EQ(node_error(OpKind::Add, {boolean({2}), boolean({2})}, {}, boolean({2})),
            "add: operand must have a numeric dtype (not bool), got bool; cast the bool operand "
            "first");
  EXPECT_EQ(node_error(OpKind::Erf, {c2}, {}, c2),
            "erf: operand must have a floating dtype (f16, bf16, f32, f64), got c64; take "
            "real/imag/abs of the complex value first");
  EXPECT_EQ(node_error(OpKind::And, {f32({2}), f32({2})}, {}, f32({2})),
            "and: operand must have a bool or integer dtype, got f32; compare, or cast to an "
            "integer dtype, first");
  EXPECT_EQ(node_error(OpKind::And, {boolean({2}), boolean({2})}, {}, boolean({2})), "");
  EXPECT_EQ(node_error(OpKind::Lt, {c2, c2}, {}, boolean({2})),
            "lt: operand must have a real dtype (not c64), got c64; complex values have no "
            "order: take real/imag/abs first");
  EXPECT_EQ(node_error(OpKind::Eq, {c2, c2}, {}, boolean({2})), "");
  EXPECT_EQ(node_error(OpKind::Mod, {c2, c2}, {}, c2),
            "mod: operand must have an integer or floating dtype, got c64; take real/imag/abs of "
            "the complex value first");
  EXPECT_EQ(node_error(OpKind::Atan2, {i32({2}), i32({2})}, {}, i32({2})),
            "atan2: operand must have a floating dtype (f16, bf16, f32, f64), got i32; cast the "
            "integer operand to a floating dtype first");
  EXPECT_EQ(node_error(OpKind::Complex, {ty(DType::F64, {2}), ty(DType::F64, {2})}, {}, c2),
            "complex: operand must have f32, got f64");
  EXPECT_EQ(node_error(OpKind::RandomUniform, {}, {int64_t{1}, std::vector<int64_t>{}}, i32({2})),
            "random_uniform: result must have a floating dtype (f16, bf16, f32, f64), got i32; "
            "cast the integer operand to a floating dtype first");
  EXPECT_EQ(node_error(OpKind::Iota, {}, {int64_t{0}}, boolean({2})),
            "iota: result must have a numeric dtype (not bool), got bool; cast the bool operand "
            "first");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {boolean({2})}, {I64s{0}, false}, boolean({})),
            "reduce_sum: operand must have a numeric dtype (not bool), got bool; cast the bool "
            "operand first");
  EXPECT_EQ(node_error(OpKind::ReduceMax, {boolean({2})}, {I64s{0}, false}, boolean({})), "");
  EXPECT_EQ(node_error(OpKind::ScatterAdd, {boolean({2}), i32({2}), boolean({2})}, {int64_t{0}},
                       boolean({2})),
            "scatter_add: operand must have a numeric dtype (not bool), got bool; cast the bool "
            "operand first");
}

TEST(VerifyNode, ResultDTypes) {
  // abs/real/imag of c64 give f32; comparisons, not, isnan give bool; argmax gives i64.
  EXPECT_EQ(node_error(OpKind::Abs, {c2}, {}, f32({2})), "");
  EXPECT_EQ(node_error(OpKind::Abs, {c2}, {}, c2),
            "abs: declared result type c64[2] but the operands give f32[2]");
  EXPECT_EQ(node_error(OpKind::Abs, {i32({2})}, {}, i32({2})), "");
  EXPECT_EQ(node_error(OpKind::Not, {f32({2})}, {}, boolean({2})), "");
  EXPECT_EQ(node_error(OpKind::IsNan, {f32({2})}, {}, f32({2})),
            "isnan: declared result type f32[2] but the operands give bool[2]");
  EXPECT_EQ(node_error(OpKind::Eq, {m, m}, {}, m),
            "eq: declared result type f32[2,3] but the operands give bool[2,3]");
  EXPECT_EQ(node_error(OpKind::ArgMax, {m}, {I64s{1}, false}, i32({2})),
            "argmax: declared result type i32[2] but the operands give i64[2]");
  EXPECT_EQ(node_error(OpKind::Cast, {m}, {}, ty(DType::F16, {2, 3})), "");
  EXPECT_EQ(node_error(OpKind::Cast, {m}, {}, ty(DType::F16, {6})),
            "cast: declared result type f16[6] but the operands give f16[2,3]");
}

TEST(VerifyNode, ElementwiseShapes) {
  EXPECT_EQ(node_error(OpKind::Add, {f32({2}), f32({3})}, {}, f32({2})),
            "add: operands must have the same type, got f32[2] and f32[3]; make broadcasts and "
            "casts explicit");
  EXPECT_EQ(node_error(OpKind::Mul, {f32({2}), ty(DType::F64, {2})}, {}, f32({2})),
            "mul: operands must have the same type, got f32[2] and f64[2]; make broadcasts and "
            "casts explicit");
  EXPECT_EQ(node_error(OpKind::Select, {f32({2}), f32({2}), f32({2})}, {}, f32({2})),
            "select: condition must be bool, got f32[2]; compare it with zero first");
  EXPECT_EQ(node_error(OpKind::Select, {boolean({2}), f32({2}), i32({2})}, {}, f32({2})),
            "select: both branches must have the same type, got f32[2] and i32[2]");
  EXPECT_EQ(node_error(OpKind::Select, {boolean({1}), f32({2}), f32({2})}, {}, f32({2})),
            "select: condition bool[1] and branches f32[2] must have the same shape; broadcast "
            "explicitly");
}

TEST(VerifyNode, Reductions) {
  Type t = f32({2, 3, 4});
  EXPECT_EQ(node_error(OpKind::ReduceSum, {t}, {I64s{0, 2}, true}, f32({1, 3, 1})), "");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {t}, {I64s{}, false}, t), "");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {t}, {I64s{2, 0}, false}, f32({3})),
            "reduce_sum: axes [2, 0] must be sorted and unique");
  EXPECT_EQ(node_error(OpKind::ReduceSum, {t}, {I64s{1, 1}, false}, f32({2, 4})),
            "reduce_sum: axes [1, 1] must be sorted and unique");
  EXPECT_EQ(
      node_error(OpKind::ReduceProd, {t}, {I64s{3}, false}, f32({2, 3, 4})),
      "reduce_prod: axis 3 is out of range for f32[2,3,4] (rank 3); IR axes are in [0, rank)");
  EXPECT_EQ(
      node_error(OpKind::ReduceMin, {t}, {I64s{-1}, false}, f32({2, 3})),
      "reduce_min: axis -1 is out of range for f32[2,3,4] (rank 3); IR axes are in [0, rank)");
  EXPECT_EQ(node_error(OpKind::ArgMin, {t}, {I64s{0, 1}, false}, i64({4})),
            "argmin: takes exactly one axis, got [0, 1]");
  EXPECT_EQ(node_error(OpKind::ReduceMax, {t}, {I64s{1}, false}, f32({2, 1, 4})),
            "reduce_max: declared result type f32[2,1,4] but the operands give f32[2,4]");
  EXPECT_EQ(node_error(OpKind::CumSum, {t}, {int64_t{3}}, t),
            "cumsum: axis 3 is out of range for f32[2,3,4] (rank 3); IR axes are in [0, rank)");
  EXPECT_EQ(node_error(OpKind::CumProd, {f32({})}, {int64_t{0}}, f32({})),
            "cumprod: axis 0 is out of range for f32[] (rank 0); IR axes are in [0, rank)");
}

TEST(VerifyNode, ReshapePermuteBroadcast) {
  EXPECT_EQ(node_error(OpKind::Reshape, {m}, {}, f32({4})),
            "reshape: cannot reshape f32[2,3] (6 elements) to [4] (4 elements)");
  EXPECT_EQ(node_error(OpKind::Reshape, {f32({0, 3})}, {}, f32({5, 0})), "");
  EXPECT_EQ(node_error(OpKind::Reshape, {m}, {}, i32({6})),
            "reshape: declared result type i32[6] but the operands give f32[6]");
  EXPECT_EQ(node_error(OpKind::Permute, {m}, {I64s{0, 0}}, m),
            "permute: perm [0, 0] is not a permutation of the 2 dims of f32[2,3]");
  EXPECT_EQ(node_error(OpKind::Permute, {m}, {I64s{2, 0}}, m),
            "permute: perm [2, 0] is not a permutation of the 2 dims of f32[2,3]");
  EXPECT_EQ(node_error(OpKind::Permute, {m}, {I64s{0}}, m),
            "permute: 'perm' has 1 entries but the operand f32[2,3] has rank 2");
  EXPECT_EQ(node_error(OpKind::Broadcast, {f32({3})}, {}, m),
            "broadcast: operand f32[3] must have the result's rank ([2,3]); reshape it first");
  EXPECT_EQ(node_error(OpKind::Broadcast, {m}, {}, f32({4, 3})),
            "broadcast: cannot broadcast f32[2,3] to [4,3]: dim 0 is neither equal nor 1");
  EXPECT_EQ(node_error(OpKind::Broadcast, {f32({1, 3})}, {}, f32({0, 3})), "");
}

TEST(VerifyNode, SliceBounds) {
  Type v = f32({10});
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{1}, I64s{3}}, f32({3})), "");  // 1, 4, 7
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{9}, I64s{-1}}, f32({10})), "");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{8}, I64s{2}}, f32({2})),
            "slice: dim 0 reads 2 elements from index 8 with step 2, outside the operand f32[10]");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{2}, I64s{-1}}, f32({4})),
            "slice: dim 0 reads 4 elements from index 2 with step -1, outside the operand f32[10]");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{10}, I64s{1}}, f32({1})),
            "slice: dim 0 reads 1 elements from index 10 with step 1, outside the operand f32[10]");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{0}, I64s{std::numeric_limits<int64_t>::max()}},
                       f32({3})),
            "slice: dim 0 reads 3 elements from index 0 with step 9223372036854775807, outside "
            "the operand f32[10]");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{0}, I64s{0}}, f32({1})),
            "slice: step of dim 0 is 0");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{0, 0}, I64s{1}}, f32({1})),
            "slice: 'start' has 2 entries but the operand f32[10] has rank 1");
  EXPECT_EQ(node_error(OpKind::Slice, {v}, {I64s{0}, I64s{1}}, f32({1, 1})),
            "slice: result f32[1,1] must have the operand's rank (f32[10])");
  EXPECT_EQ(node_error(OpKind::Slice, {f32({0})}, {I64s{5}, I64s{1}}, f32({0})), "");  // reads none
}

TEST(VerifyNode, PadFlipConcat) {
  EXPECT_EQ(node_error(OpKind::Pad, {m}, {I64s{-1, 0}, I64s{0, 0}, 0.0}, m),
            "pad: pads must be non-negative, got low [-1, 0] high [0, 0]; use slice to crop");
  EXPECT_EQ(node_error(OpKind::Pad, {m}, {I64s{1, 0}, I64s{0, 2}, 0.0}, f32({3, 5})), "");
  EXPECT_EQ(node_error(OpKind::Pad, {m}, {I64s{1, 0}, I64s{0, 2}, 0.0}, f32({3, 4})),
            "pad: declared result type f32[3,4] but the operands give f32[3,5]");
  EXPECT_EQ(node_error(OpKind::Pad, {i32({2})}, {I64s{1}, I64s{0}, 0.5}, i32({3})),
            "pad: pad value 0.5 is not representable in i32");
  EXPECT_EQ(
      node_error(OpKind::Pad, {ty(DType::U8, {2})}, {I64s{1}, I64s{0}, -1.0}, ty(DType::U8, {3})),
      "pad: pad value -1.0 is not representable in u8");
  EXPECT_EQ(node_error(OpKind::Pad, {boolean({2})}, {I64s{1}, I64s{0}, 1.0}, boolean({3})), "");
  EXPECT_EQ(node_error(OpKind::Pad, {f32({2})},
                       {I64s{1}, I64s{0}, -std::numeric_limits<double>::infinity()}, f32({3})),
            "");
  EXPECT_EQ(node_error(OpKind::Flip, {m}, {I64s{1, 0}}, m),
            "flip: axes [1, 0] must be sorted and unique");
  EXPECT_EQ(node_error(OpKind::Flip, {m}, {I64s{2}}, m),
            "flip: axis 2 is out of range for f32[2,3] (rank 2); IR axes are in [0, rank)");
  EXPECT_EQ(node_error(OpKind::Concat, {m, f32({3, 3})}, {int64_t{1}}, f32({2, 6})),
            "concat: operand 1 f32[3,3] does not match operand 0 f32[2,3] outside axis 1");
  EXPECT_EQ(node_error(OpKind::Concat, {m, i32({2, 3})}, {int64_t{0}}, f32({4, 3})),
            "concat: operand 1 i32[2,3] does not match operand 0 f32[2,3] outside axis 0");
  EXPECT_EQ(node_error(OpKind::Concat, {m, m, f32({2, 0})}, {int64_t{1}}, f32({2, 6})), "");
  EXPECT_EQ(node_error(OpKind::Concat, {f32({})}, {int64_t{0}}, f32({})),
            "concat: axis 0 is out of range for f32[] (rank 0); IR axes are in [0, rank)");
}

TEST(VerifyNode, GatherScatter) {
  Type data = f32({5, 3});
  EXPECT_EQ(node_error(OpKind::Gather, {data, i64({7, 2})}, {int64_t{0}}, f32({7, 2})), "");
  EXPECT_EQ(node_error(OpKind::Gather, {data, f32({2, 3})}, {int64_t{0}}, f32({2, 3})),
            "gather: indices must be i32 or i64, got f32[2,3]");
  EXPECT_EQ(node_error(OpKind::Gather, {data, i32({6})}, {int64_t{0}}, f32({6})),
            "gather: indices i32[6] must have the rank of the data f32[5,3]");
  EXPECT_EQ(node_error(OpKind::Gather, {data, i32({2, 4})}, {int64_t{0}}, f32({2, 4})),
            "gather: indices i32[2,4] are larger than the data f32[5,3] in dim 1 (only the axis "
            "may differ freely)");
  EXPECT_EQ(node_error(OpKind::Gather, {data, i32({2, 3})}, {int64_t{2}}, f32({2, 3})),
            "gather: axis 2 is out of range for f32[5,3] (rank 2); IR axes are in [0, rank)");
  EXPECT_EQ(node_error(OpKind::Gather, {f32({0, 3}), i32({1, 3})}, {int64_t{0}}, f32({1, 3})),
            "gather: cannot gather from f32[0,3], which is empty along axis 0");
  EXPECT_EQ(node_error(OpKind::Gather, {data, i32({2, 3})}, {int64_t{0}}, f32({5, 3})),
            "gather: declared result type f32[5,3] but the operands give f32[2,3]");
  EXPECT_EQ(node_error(OpKind::ScatterAdd, {data, i32({2, 3}), f32({2, 3})}, {int64_t{0}}, data),
            "");
  EXPECT_EQ(node_error(OpKind::ScatterAdd, {data, i32({2, 3}), f32({2, 2})}, {int64_t{0}}, data),
            "scatter_add: updates f32[2,2] must have the indices' shape i32[2,3]");
  EXPECT_EQ(node_error(OpKind::ScatterAdd, {data, i32({2, 3}), ty(DType::F64, {2, 3})},
                       {int64_t{0}}, data),
            "scatter_add: updates f64[2,3] must have the base's dtype f32[5,3]");
  EXPECT_EQ(node_error(OpKind::ScatterAdd, {data, i32({2}), f32({2})}, {int64_t{0}}, data),
            "scatter_add: indices i32[2] must have the rank of the base f32[5,3]");
}

TEST(VerifyNode, Conv) {
  // attrs: stride, dilation, pad_low, pad_high, groups.
  auto attrs = [](I64s stride, I64s dilation, I64s low, I64s high, int64_t groups) {
    return std::vector<AttrValue>{stride, dilation, low, high, groups};
  };
  const auto plain = attrs({1}, {1}, {0}, {0}, 1);
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})}, plain, f32({2, 6, 8})), "");
  // Stride 2, dilation 2, pads (3, 1): (10 + 4 - 5) / 2 + 1 = 5; two groups.
  EXPECT_EQ(
      infer_type(OpKind::Conv, {f32({2, 4, 10}), f32({6, 2, 3})}, attrs({2}, {2}, {3}, {1}, 2), {}),
      f32({2, 6, 5}));
  EXPECT_EQ(infer_type(OpKind::Conv, {f32({1, 3, 7, 5}), f32({2, 3, 3, 1})},
                       attrs({2, 1}, {1, 1}, {1, 0}, {1, 0}, 1), {}),
            f32({1, 2, 4, 5}));
  EXPECT_EQ(node_error(OpKind::Conv, {f32({4, 10}), f32({6, 4})}, plain, f32({4, 6})),
            "conv: input f32[4,10] and weight f32[6,4] must have one rank of at least 3 ([n, "
            "channels, spatial...])");
  EXPECT_EQ(
      node_error(OpKind::Conv, {f32({2, 4, 10}), ty(DType::F64, {6, 4, 3})}, plain, f32({2, 6, 8})),
      "conv: input f32[2,4,10] and weight f64[6,4,3] must have the same dtype");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 2, 3})},
                       attrs({1}, {1}, {0}, {0}, 3), f32({2, 6, 8})),
            "conv: input f32[2,4,10] and weight f32[6,2,3]: channels (4 in, 6 out) are not "
            "divisible by groups 3");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 2, 3})}, plain, f32({2, 6, 8})),
            "conv: input f32[2,4,10] and weight f32[6,2,3]: the weight's dim 1 must be c_in / "
            "groups = 4, got 2");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})},
                       attrs({1}, {1}, {-1}, {0}, 1), f32({2, 6, 7})),
            "conv: pads must be non-negative, got pad_low [-1] pad_high [0]");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})},
                       attrs({0}, {1}, {0}, {0}, 1), f32({2, 6, 8})),
            "conv: stride [0] and dilation [1] must be at least 1");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})},
                       attrs({1}, {6}, {0}, {0}, 1), f32({2, 6, 8})),
            "conv: input f32[2,4,10] and weight f32[6,4,3]: the kernel of spatial dim 0 spans 13 "
            "(size 3, dilation 6), more than the padded input's 10");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})},
                       attrs({1, 1}, {1}, {0}, {0}, 1), f32({2, 6, 8})),
            "conv: 'stride' has 2 entries but f32[2,4,10] has 1 spatial dims");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 3})},
                       attrs({1}, {1}, {0}, {0}, 0), f32({2, 6, 8})),
            "conv: groups must be at least 1, got 0");
  EXPECT_EQ(node_error(OpKind::Conv, {f32({2, 4, 10}), f32({6, 4, 0})}, plain, f32({2, 6, 8})),
            "conv: weight f32[6,4,0] has an empty kernel of spatial dim 0");
  EXPECT_EQ(node_error(OpKind::Conv, {boolean({2, 4, 10}), boolean({6, 4, 3})}, plain,
                       boolean({2, 6, 8})),
            "conv: operand must have a numeric dtype (not bool), got bool; cast the bool operand "
            "first");
}

TEST(VerifyNode, MatMul) {
  EXPECT_EQ(node_error(OpKind::MatMul, {f32({2, 3}), f32({3, 4})}, {}, f32({2, 4})), "");
  EXPECT_EQ(node_error(OpKind::MatMul, {f32({3}), f32({3})}, {}, f32({})),
            "matmul: operands must have the same rank >= 2, got f32[3] and f32[3]; reshape "
            "vectors to matrices and broadcast batch dims first");
  EXPECT_EQ(node_error(OpKind::MatMul, {f32({2, 3}), f32({4, 5})}, {}, f32({2, 5})),
            "matmul: contraction dims differ: f32[2,3] has k = 3, f32[4,5] has k = 4");
  EXPECT_EQ(node_error(OpKind::MatMul, {f32({2, 2, 3}), f32({3, 3, 4})}, {}, f32({2, 2, 4})),
            "matmul: batch dims of f32[2,2,3] and f32[3,3,4] differ; broadcast them first");
  EXPECT_EQ(node_error(OpKind::MatMul, {f32({2, 3}), i32({3, 4})}, {}, f32({2, 4})),
            "matmul: operands must have the same dtype, got f32[2,3] and i32[3,4]");
  EXPECT_EQ(node_error(OpKind::MatMul, {boolean({2, 3}), boolean({3, 4})}, {}, boolean({2, 4})),
            "matmul: operand must have a numeric dtype (not bool), got bool; cast the bool "
            "operand first");
}

TEST(VerifyNode, SourcesAndConstants) {
  EXPECT_EQ(node_error(OpKind::Iota, {}, {int64_t{2}}, i32({2, 3})),
            "iota: axis 2 is out of range for i32[2,3] (rank 2); IR axes are in [0, rank)");
  NodePtr c = make_node(OpKind::Constant, {}, {}, f32({2}));
  EXPECT_EQ(error_of<VerifyError>([&] { verify_node(*c); }), "constant: has no buffer");
  c->buffer = std::make_shared<Buffer>(f32({3}));
  EXPECT_EQ(error_of<VerifyError>([&] { verify_node(*c); }),
            "constant: buffer holds f32[3] but the node's type is f32[2]");
  NodePtr n = make_node(OpKind::Neg, {nullptr}, {}, f32({2}));
  EXPECT_EQ(error_of<VerifyError>([&] { verify_node(*n); }), "neg: operand 0 is null");
}

TEST(InferType, GivesTheResultType) {
  EXPECT_EQ(infer_type(OpKind::ReduceSum, {m}, {I64s{1}, false}, {}), f32({2}));
  EXPECT_EQ(infer_type(OpKind::Lt, {m, m}, {}, {}), boolean({2, 3}));
  EXPECT_EQ(infer_type(OpKind::Cast, {m}, {}, ty(DType::I8, {})), ty(DType::I8, {2, 3}));
  EXPECT_EQ(infer_type(OpKind::Permute, {f32({2, 3, 4})}, {I64s{1, 2, 0}}, {}), f32({3, 4, 2}));
  EXPECT_EQ(infer_type(OpKind::Concat, {m, f32({5, 3})}, {int64_t{0}}, {}), f32({7, 3}));
  EXPECT_EQ(infer_type(OpKind::MatMul, {f32({4, 2, 3}), f32({4, 3, 1})}, {}, {}), f32({4, 2, 1}));
  EXPECT_EQ(infer_type(OpKind::Complex, {m, m}, {}, {}), ty(DType::C64, {2, 3}));
}

// ---- graph invariants ---------------------------------------------------------------

std::string graph_error(const Graph& g) {
  return error_of<VerifyError>([&] { verify(g); });
}

TEST(VerifyGraph, AcceptsAValidGraph) {
  Graph g;
  g.params = {param("x", m)};
  NodePtr a = make_node(OpKind::Neg, {g.params[0]}, {}, m);
  NodePtr b = make_node(OpKind::Add, {a, g.params[0]}, {}, m);
  g.nodes = {a, b};
  g.results = {b, g.params[0]};
  EXPECT_EQ(graph_error(g), "");
}

TEST(VerifyGraph, Parameters) {
  Graph g;
  g.params = {make_node(OpKind::Iota, {}, {int64_t{0}}, i32({2}))};
  EXPECT_EQ(graph_error(g),
            "verify: parameter 0 (%arg0) is a 'iota' node; graph parameters must be 'parameter' "
            "nodes");
  Graph h;
  h.params = {param("x", m), nullptr};
  EXPECT_EQ(graph_error(h), "verify: parameter 1 is null");
  h.params[1] = h.params[0];
  EXPECT_EQ(graph_error(h), "verify: parameter 1 (%x) appears twice in the signature");
  Graph k;
  k.params = {param("x", f32({-2}))};
  EXPECT_EQ(graph_error(k),
            "verify: parameter 0 (%x): parameter: result f32[-2] has a negative dimension");
  Graph body;
  body.nodes = {param("p", m)};
  EXPECT_EQ(graph_error(body),
            "verify: value %0 is a parameter node in the body; parameters belong in the graph's "
            "signature (Graph::params)");
}

TEST(VerifyGraph, OperandsAreDefinedEarlier) {
  Graph g;
  g.params = {param("x", m)};
  NodePtr a = make_node(OpKind::Neg, {g.params[0]}, {}, m);
  NodePtr b = make_node(OpKind::Neg, {a}, {}, m);
  g.nodes = {b, a};
  g.results = {b};
  EXPECT_EQ(graph_error(g),
            "verify: value %0 (neg): operand 0 (%1) is defined after its use; the body must be "
            "in topological order (and acyclic)");

  // A cycle: a reads b, b reads a.
  g.nodes = {a, b};
  a->operands[0] = b;
  EXPECT_EQ(graph_error(g),
            "verify: value %0 (neg): operand 0 (%1) is defined after its use; the body must be "
            "in topological order (and acyclic)");
  a->operands[0] = g.params[0];  // break the reference cycle

  NodePtr stray = param("s", m);
  NodePtr c = make_node(OpKind::Neg, {stray}, {}, m);
  g.nodes = {c};
  g.results = {c};
  EXPECT_EQ(graph_error(g),
            "verify: value %0 (neg): operand 0 is not a parameter or body node of this graph");

  g.nodes = {a, a};
  g.results = {a};
  EXPECT_EQ(graph_error(g), "verify: value %0 appears twice in the body");
}

TEST(VerifyGraph, NodesAndResults) {
  Graph g;
  g.params = {param("x", m), param("y", f32({3}))};
  NodePtr a = make_node(OpKind::Add, {g.params[0], g.params[1]}, {}, m);
  g.nodes = {a};
  g.results = {a};
  EXPECT_EQ(graph_error(g),
            "verify: value %0: add: operands must have the same type, got f32[2,3] and f32[3]; "
            "make broadcasts and casts explicit");
  Graph r;
  r.params = {param("x", m)};
  r.results = {make_node(OpKind::Neg, {r.params[0]}, {}, m)};
  EXPECT_EQ(graph_error(r), "verify: result 0 is not a parameter or body node of this graph");
  r.results = {nullptr};
  EXPECT_EQ(graph_error(r), "verify: result 0 is null");
  r.results = {};
  r.nodes = {nullptr};
  EXPECT_EQ(graph_error(r), "verify: body node 0 is null");
}

}  // namespace
}  // namespace kiln::ir
