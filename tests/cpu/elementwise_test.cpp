// Differential tests of every elementwise op, select and cast, for every dtype the IR
// accepts (the verifier's inference decides), on the CPU device against the reference
// evaluator: plain, with special values, through broadcasts and non-contiguous views.
#include <gtest/gtest.h>

#include "ir/op.h"
#include "tests/cpu/differential.h"

namespace kiln::testing {
namespace {

const std::vector<Shape> kShapes = {{}, {0}, {37}, {3, 19}};

std::vector<ir::OpKind> ops_of(ir::OpCategory cat) {
  std::vector<ir::OpKind> out;
  for (const ir::OpInfo& info : ir::all_ops())
    if (info.category == cat) out.push_back(info.kind);
  return out;
}

std::string name(ir::OpKind op, DType t, const Shape& s) {
  return std::string(ir::op_name(op)) + " " + std::string(dtype_name(t)) + shape_str(s);
}

Values values_for(ir::OpKind op) {
  switch (op) {
    case ir::OpKind::Log:
    case ir::OpKind::Log2:
    case ir::OpKind::Sqrt:
    case ir::OpKind::Rsqrt: return Values::Positive;
    default: return Values::Normal;
  }
}

TEST(CpuElementwise, EveryUnaryOpAndDtype) {
  int ran = 0;
  for (ir::OpKind op : ops_of(ir::OpCategory::Unary))
    for (DType t : kAllDTypes)
      for (const Shape& s : kShapes) {
        GraphBuilder b;
        auto x = b.param({t, s});
        try {
          b.result(b.add(op, {x}));
        } catch (const VerifyError&) {
          continue;  // the IR does not define this op on this dtype
        }
        expect_matches_reference(b.g, 1, values_for(op), {}, name(op, t, s));
        if (s.size() == 1 && is_inexact(t))
          expect_matches_reference(b.g, 2, Values::Specials, {}, name(op, t, s) + " specials");
        ++ran;
      }
  EXPECT_GT(ran, 300);
}

TEST(CpuElementwise, EveryBinaryOpAndDtype) {
  int ran = 0;
  for (ir::OpKind op : ops_of(ir::OpCategory::Binary))
    for (DType t : kAllDTypes)
      for (const Shape& s : kShapes) {
        GraphBuilder b;
        auto x = b.param({t, s});
        auto y = b.param({t, s});
        try {
          b.result(b.add(op, {x, y}));
        } catch (const VerifyError&) {
          continue;
        }
        Values v = op == ir::OpKind::Pow && is_integer(t) ? Values::Small : Values::Normal;
        expect_matches_reference(b.g, 3, v, {}, name(op, t, s));
        if (s.size() == 1 && is_inexact(t))
          expect_matches_reference(b.g, 4, Values::Specials, {}, name(op, t, s) + " specials");
        ++ran;
      }
  EXPECT_GT(ran, 300);
}

// x viewed through a transpose, y broadcast from a row: the operands' addresses are
// strided and repeated, not contiguous.
TEST(CpuElementwise, BinaryOpsOnViewsAndBroadcasts) {
  for (ir::OpKind op :
       {ir::OpKind::Add, ir::OpKind::Mul, ir::OpKind::Div, ir::OpKind::Max, ir::OpKind::Lt})
    for (DType t : {DType::F32, DType::I32, DType::F16, DType::C64, DType::U8}) {
      GraphBuilder b;
      auto x = b.param({t, {19, 5}});
      auto y = b.param({t, {5}});
      auto xt = b.add(ir::OpKind::Permute, {x}, {std::vector<int64_t>{1, 0}});
      auto yr = b.add(ir::OpKind::Reshape, {y}, {}, Type{t, {5, 1}});
      auto yb = b.add(ir::OpKind::Broadcast, {yr}, {}, Type{t, {5, 19}});
      try {
        b.result(b.add(op, {xt, yb}));
      } catch (const VerifyError&) {
        continue;
      }
      expect_matches_reference(b.g, 5, Values::Normal, {}, name(op, t, {5, 19}) + " views");
    }
}

// Outputs above 16 MiB are written with streaming (non-temporal) stores where aligned:
// rows of a multiple of 16 floats are, odd rows are not.
TEST(CpuElementwise, LargeOutputs) {
  for (int64_t cols : {2048, 2051}) {
    GraphBuilder b;
    auto x = b.param({DType::F32, {2100, cols}});
    auto y = b.param({DType::F32, {cols}});
    auto yr = b.add(ir::OpKind::Reshape, {y}, {}, Type{DType::F32, {1, cols}});
    auto yb = b.add(ir::OpKind::Broadcast, {yr}, {}, Type{DType::F32, {2100, cols}});
    b.result(b.add(ir::OpKind::Mul, {b.add(ir::OpKind::Add, {x, yb}), x}));
    expect_matches_reference(b.g, 9, Values::Normal, {}, "large " + std::to_string(cols));
  }
}

TEST(CpuElementwise, Select) {
  for (DType t : kAllDTypes)
    for (const Shape& s : kShapes) {
      GraphBuilder b;
      auto c = b.param({DType::Bool, s});
      auto x = b.param({t, s});
      auto y = b.param({t, s});
      b.result(b.add(ir::OpKind::Select, {c, x, y}));
      expect_matches_reference(b.g, 6, Values::Normal, {}, name(ir::OpKind::Select, t, s));
    }
}

TEST(CpuElementwise, CastBetweenEveryPairOfDtypes) {
  for (DType from : kAllDTypes)
    for (DType to : kAllDTypes) {
      GraphBuilder b;
      auto x = b.param({from, {41}});
      try {
        b.result(b.add(ir::OpKind::Cast, {x}, {}, Type{to, {41}}));
      } catch (const VerifyError&) {
        continue;
      }
      std::string what =
          "cast " + std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to));
      expect_matches_reference(b.g, 7, Values::Normal, {}, what);
      if (is_inexact(from))
        expect_matches_reference(b.g, 8, Values::Specials, {}, what + " specials");
    }
}

}  // namespace
}  // namespace kiln::testing
