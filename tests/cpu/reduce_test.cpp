// Differential tests of reductions (over every axis subset), arg reductions, scans and
// matmul, for several dtypes and shapes including empty and size-1 dimensions.
#include <gtest/gtest.h>

#include "tests/cpu/differential.h"

namespace kiln::testing {
namespace {

using ir::OpKind;

const DType kDtypes[] = {DType::Bool, DType::I8,   DType::U8,  DType::I32, DType::I64,
                         DType::F16,  DType::BF16, DType::F32, DType::F64, DType::C64};

// Sums of n values of about 1 differ from the reference by reassociation only.
Tol sum_tol(DType t, int64_t n) {
  double r = default_rtol(t);
  return {r * 4, r * static_cast<double>(n) * 4};
}

std::vector<std::vector<int64_t>> axis_subsets(int rank) {
  std::vector<std::vector<int64_t>> out;
  for (int mask = 1; mask < (1 << rank); ++mask) {
    std::vector<int64_t> axes;
    for (int d = 0; d < rank; ++d)
      if (mask & (1 << d)) axes.push_back(d);
    out.push_back(axes);
  }
  return out;
}

TEST(CpuReduce, EveryReductionAxesAndDtype) {
  const std::vector<Shape> shapes = {{0}, {1}, {45}, {3, 17}, {4, 0, 5}, {2, 3, 19}};
  for (OpKind op : {OpKind::ReduceSum, OpKind::ReduceProd, OpKind::ReduceMax, OpKind::ReduceMin})
    for (DType t : kDtypes)
      for (const Shape& s : shapes)
        for (const auto& axes : axis_subsets(static_cast<int>(s.size())))
          for (bool keep : {false, true}) {
            GraphBuilder b;
            auto x = b.param({t, s});
            try {
              b.result(b.add(op, {x}, {axes, keep}));
            } catch (const VerifyError&) {
              continue;
            }
            Values v = op == OpKind::ReduceProd ? Values::Small : Values::Normal;
            std::string what = std::string(ir::op_name(op)) + " " + Type{t, s}.str() + " axes " +
                               std::to_string(axes.size()) + (keep ? " keepdims" : "");
            expect_matches_reference(b.g, 11, v, sum_tol(t, s.empty() ? 1 : numel(s)), what);
          }
}

// Few outer iterations and long reductions: computed as per-thread partials and a fold.
TEST(CpuReduce, SplitIntoPartials) {
  struct Case {
    Shape shape;
    std::vector<int64_t> axes;
  };
  for (const Case& c : std::vector<Case>{
           {{300, 301}, {0, 1}}, {{3, 20011}, {1}}, {{40000}, {0}}, {{2, 9000, 3}, {1}}})
    for (OpKind op : {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceProd})
      for (DType t : {DType::F32, DType::I32, DType::F16, DType::F64}) {
        GraphBuilder b;
        auto x = b.param({t, c.shape});
        auto r = b.add(op, {x}, {c.axes, false});
        b.result(b.add(OpKind::Mul, {r, r}));  // an epilogue after the fold
        Values v = op == OpKind::ReduceProd ? Values::Small : Values::Normal;
        std::vector<BufferPtr> in = {random_buffer(x->type, 17, v)};
        if (op == OpKind::ReduceProd && is_floating(t))  // keep products finite and non-zero
          for (int64_t i = 0; i < numel(c.shape); ++i) {
            double e = element(*in[0], i);
            if (t == DType::F32) in[0]->as<float>()[i] = static_cast<float>(1 + e * 1e-4);
            if (t == DType::F64) in[0]->as<double>()[i] = 1 + e * 1e-4;
            if (t == DType::F16) in[0]->as<uint16_t>()[i] = float_to_f16(1.0f);
          }
        expect_matches_reference(b.g, in, {1e-4, 1e-3},
                                 std::string(ir::op_name(op)) + " " + Type{t, c.shape}.str());
      }
}

TEST(CpuReduce, ReductionsWithSpecialValues) {
  for (OpKind op : {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin})
    for (DType t : {DType::F32, DType::F16, DType::F64}) {
      GraphBuilder b;
      auto x = b.param({t, {5, 40}});
      b.result(b.add(op, {x}, {std::vector<int64_t>{1}, false}));
      expect_matches_reference(b.g, 12, Values::Specials, sum_tol(t, 40),
                               std::string(ir::op_name(op)) + " specials");
    }
}

TEST(CpuReduce, ArgMaxArgMin) {
  for (OpKind op : {OpKind::ArgMax, OpKind::ArgMin})
    for (DType t : {DType::Bool, DType::I8, DType::U8, DType::I32, DType::F16, DType::F32,
                    DType::F64, DType::C64})
      for (const Shape& s : std::vector<Shape>{{0}, {1}, {33}, {6, 21}, {3, 0}})
        for (int64_t axis = 0; axis < static_cast<int64_t>(s.size()); ++axis)
          for (Values v : {Values::Small, Values::Specials}) {
            GraphBuilder b;
            auto x = b.param({t, s});
            try {
              b.result(b.add(op, {x}, {std::vector<int64_t>{axis}, axis % 2 == 0}));
            } catch (const VerifyError&) {
              continue;
            }
            if (v == Values::Specials && !is_inexact(t)) continue;
            expect_matches_reference(b.g, 13, v, {},
                                     std::string(ir::op_name(op)) + " " + Type{t, s}.str());
          }
}

TEST(CpuReduce, Scans) {
  for (OpKind op : {OpKind::CumSum, OpKind::CumProd})
    for (DType t : {DType::Bool, DType::I8, DType::U8, DType::I32, DType::I64, DType::F16,
                    DType::BF16, DType::F32, DType::F64, DType::C64})
      for (const Shape& s : std::vector<Shape>{{0}, {1}, {29}, {4, 13}, {3, 1, 7}})
        for (int64_t axis = 0; axis < static_cast<int64_t>(s.size()); ++axis) {
          GraphBuilder b;
          auto x = b.param({t, s});
          try {
            b.result(b.add(op, {x}, {axis}));
          } catch (const VerifyError&) {
            continue;
          }
          expect_matches_reference(b.g, 14, Values::Small, sum_tol(t, 29),
                                   std::string(ir::op_name(op)) + " " + Type{t, s}.str() +
                                       " axis " + std::to_string(axis));
        }
}

TEST(CpuReduce, MatMul) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {{{3, 4}, {4, 5}},       {{1, 1}, {1, 1}}, {{17, 33}, {33, 9}},
                                   {{2, 3, 8}, {2, 8, 7}}, {{4, 0}, {0, 3}}, {{0, 5}, {5, 2}}};
  for (DType t : {DType::Bool, DType::I8, DType::I32, DType::I64, DType::F16, DType::BF16,
                  DType::F32, DType::F64, DType::C64})
    for (const Case& c : cases) {
      GraphBuilder b;
      auto x = b.param({t, c.a});
      auto y = b.param({t, c.b});
      try {
        b.result(b.add(OpKind::MatMul, {x, y}));
      } catch (const VerifyError&) {
        continue;
      }
      expect_matches_reference(b.g, 15, Values::Small, sum_tol(t, 40),
                               "matmul " + Type{t, c.a}.str() + " x " + shape_str(c.b));
    }
}

TEST(CpuReduce, MatMulOfTransposedOperandAndEpilogue) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {24, 10}});
  auto w = b.param({DType::F32, {16, 24}});
  auto bias = b.param({DType::F32, {16}});
  auto xt = b.add(OpKind::Permute, {x}, {std::vector<int64_t>{1, 0}});
  auto wt = b.add(OpKind::Permute, {w}, {std::vector<int64_t>{1, 0}});
  auto mm = b.add(OpKind::MatMul, {xt, wt});
  auto br = b.add(OpKind::Reshape, {bias}, {}, Type{DType::F32, {1, 16}});
  auto bb = b.add(OpKind::Broadcast, {br}, {}, Type{DType::F32, {10, 16}});
  b.result(b.add(OpKind::Tanh, {b.add(OpKind::Add, {mm, bb})}));
  expect_matches_reference(b.g, 16, Values::Small, sum_tol(DType::F32, 24), "matmul epilogue");
}

}  // namespace
}  // namespace kiln::testing
