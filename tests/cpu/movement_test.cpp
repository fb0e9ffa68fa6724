// Differential tests of the movement ops (as index arithmetic inside kernels), gather,
// scatter_add, iota, random_uniform and constants, alone and chained.
#include <gtest/gtest.h>

#include "tests/cpu/differential.h"

namespace kiln::testing {
namespace {

using ir::OpKind;

const DType kSome[] = {DType::Bool, DType::I8, DType::I64, DType::F16, DType::F32, DType::C64};

// A movement op between a parameter and a result: its kernel copies through the view.
void check_view(DType t, const Shape& in, OpKind op, std::vector<ir::AttrValue> attrs,
                Type declared, const std::string& what) {
  GraphBuilder b;
  auto x = b.param({t, in});
  b.result(b.add(op, {x}, attrs, declared));
  expect_matches_reference(b.g, 21, Values::Normal, {}, what + " " + std::string(dtype_name(t)));
}

TEST(CpuMovement, EachViewOp) {
  for (DType t : kSome) {
    check_view(t, {6, 4}, OpKind::Reshape, {}, {t, {3, 8}}, "reshape");
    check_view(t, {6, 4}, OpKind::Reshape, {}, {t, {24}}, "reshape flat");
    check_view(t, {5, 7}, OpKind::Reshape, {}, {t, {7, 5}}, "reshape uneven");
    check_view(t, {2, 3, 4}, OpKind::Permute, {std::vector<int64_t>{2, 0, 1}}, {}, "permute");
    check_view(t, {3, 1, 5}, OpKind::Broadcast, {}, {t, {3, 6, 5}}, "broadcast");
    check_view(t, {10, 9}, OpKind::Slice, {std::vector<int64_t>{1, 8}, std::vector<int64_t>{3, -2}},
               {t, {3, 4}}, "slice");
    check_view(t, {4, 5}, OpKind::Pad,
               {std::vector<int64_t>{1, 0}, std::vector<int64_t>{2, 3}, is_inexact(t) ? 1.5 : 1.0},
               {}, "pad");
    check_view(
        t, {0, 3}, OpKind::Pad,
        {std::vector<int64_t>{1, 1}, std::vector<int64_t>{0, 2}, t == DType::Bool ? 0.0 : -2.0}, {},
        "pad empty");
    check_view(t, {4, 6}, OpKind::Flip, {std::vector<int64_t>{0, 1}}, {}, "flip");
  }
}

TEST(CpuMovement, Concat) {
  for (DType t : kSome)
    for (int64_t axis : {0, 1}) {
      GraphBuilder b;
      auto x = b.param({t, {3, 4}});
      auto y = b.param({t, axis == 0 ? Shape{2, 4} : Shape{3, 5}});
      auto z = b.param({t, axis == 0 ? Shape{0, 4} : Shape{3, 0}});
      b.result(b.add(OpKind::Concat, {x, z, y, x}, {axis}));
      expect_matches_reference(b.g, 22, Values::Normal, {}, "concat " + std::string(dtype_name(t)));
    }
}

// A chain of views over contiguous data: the kernel should address memory directly.
TEST(CpuMovement, ChainedViews) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {8, 6, 5}});
  auto p = b.add(OpKind::Permute, {x}, {std::vector<int64_t>{1, 0, 2}});
  auto r = b.add(OpKind::Reshape, {p}, {}, Type{DType::F32, {6, 40}});
  auto s = b.add(OpKind::Slice, {r}, {std::vector<int64_t>{5, 39}, std::vector<int64_t>{-1, -3}},
                 Type{DType::F32, {6, 13}});
  auto f = b.add(OpKind::Flip, {s}, {std::vector<int64_t>{1}});
  auto pad = b.add(OpKind::Pad, {f}, {std::vector<int64_t>{0, 2}, std::vector<int64_t>{1, 0}, 0.0});
  b.result(b.add(OpKind::Exp, {pad}));
  expect_matches_reference(b.g, 23, Values::Normal, {}, "chained views");
}

TEST(CpuIndex, Gather) {
  for (DType t : kSome)
    for (DType it : {DType::I32, DType::I64})
      for (int64_t axis : {0, 1}) {
        GraphBuilder b;
        auto data = b.param({t, {5, 7}});
        auto idx = b.param({it, axis == 0 ? Shape{9, 7} : Shape{5, 11}});
        b.result(b.add(OpKind::Gather, {data, idx}, {axis}));
        std::vector<BufferPtr> in = {
            random_buffer(data->type, 31),
            random_buffer(idx->type, 32, Values::Index, axis == 0 ? 5 : 7)};
        expect_matches_reference(b.g, in, {}, "gather " + std::string(dtype_name(t)));
      }
}

TEST(CpuIndex, ScatterAdd) {
  for (DType t : {DType::Bool, DType::I8, DType::U8, DType::I32, DType::I64, DType::F16,
                  DType::BF16, DType::F32, DType::F64, DType::C64})
    for (int64_t axis : {0, 1}) {
      GraphBuilder b;
      auto base = b.param({t, {6, 5}});
      Shape us = axis == 0 ? Shape{9, 5} : Shape{6, 8};
      auto idx = b.param({DType::I64, us});
      auto upd = b.param({t, us});
      try {
        b.result(b.add(OpKind::ScatterAdd, {base, idx, upd}, {axis}));
      } catch (const VerifyError&) {
        continue;
      }
      std::vector<BufferPtr> in = {random_buffer(base->type, 33, Values::Small),
                                   random_buffer(idx->type, 34, Values::Index, axis == 0 ? 6 : 5),
                                   random_buffer(upd->type, 35, Values::Small)};
      expect_matches_reference(b.g, in, {}, "scatter_add " + std::string(dtype_name(t)));
    }
}

TEST(CpuSources, IotaAndRandom) {
  for (DType t : {DType::I8, DType::U8, DType::I32, DType::I64, DType::F16, DType::BF16, DType::F32,
                  DType::F64, DType::C64})
    for (int64_t axis : {0, 1}) {
      GraphBuilder b;
      b.result(b.add(OpKind::Iota, {}, {axis}, Type{t, {4, 300}}));
      expect_matches_reference(b.g, 0, Values::Normal, {}, "iota " + std::string(dtype_name(t)));
    }
  for (DType t : {DType::F16, DType::BF16, DType::F32, DType::F64}) {
    GraphBuilder b;
    auto r = b.add(OpKind::RandomUniform, {}, {int64_t{0x1234567887654321}}, Type{t, {3, 77}});
    b.result(r);
    expect_matches_reference(b.g, 0, Values::Normal, {0, 0},
                             "random " + std::string(dtype_name(t)));
  }
}

TEST(CpuSources, ConstantsScalarAndDense) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {3, 4}});
  auto dense = std::make_shared<Buffer>(Type{DType::F32, {3, 4}});
  for (int i = 0; i < 12; ++i) dense->as<float>()[i] = static_cast<float>(i) * 0.25f;
  auto scalar = std::make_shared<Buffer>(Type{DType::F32, {}});
  scalar->as<float>()[0] = 2.5f;
  auto c = b.constant(dense);
  auto s = b.constant(scalar);
  auto sr = b.add(OpKind::Reshape, {s}, {}, Type{DType::F32, {1, 1}});
  auto sb = b.add(OpKind::Broadcast, {sr}, {}, Type{DType::F32, {3, 4}});
  b.result(b.add(OpKind::Mul, {b.add(OpKind::Add, {x, c}), sb}));
  b.result(c);
  expect_matches_reference(b.g, 41, Values::Normal, {}, "constants");
}

TEST(CpuGraphs, ResultsThatAreParametersOrRepeated) {
  GraphBuilder b;
  auto x = b.param({DType::I32, {5}});
  auto y = b.add(OpKind::Neg, {x});
  b.result(y);
  b.result(x);
  b.result(y);
  expect_matches_reference(b.g, 42, Values::Normal, {}, "results");
}

}  // namespace
}  // namespace kiln::testing
