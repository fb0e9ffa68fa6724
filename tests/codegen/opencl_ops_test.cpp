// The OpenCL renderer's scalar semantics (codegen/opencl/scalar_ops.cpp) cover the op
// table: every elementwise op renders on every dtype its rule admits, so a new row that
// the renderer does not spell fails here by name, without an OpenCL device. (The LLVM
// emitter's coverage is the differential suite's, tests/runtime/differential_test.cpp,
// which runs every row on every dtype.)
#include <gtest/gtest.h>

#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"

namespace kiln::codegen::opencl {
namespace {

TEST(OpenCLOps, EveryElementwiseOpAndDtypeRenders) {
  int rendered = 0;
  for (const ir::OpInfo& info : ir::all_ops()) {
    if (info.category != ir::OpCategory::Unary && info.category != ir::OpCategory::Binary) continue;
    for (DType t : kAllDTypes) {
      if (!ir::op_accepts(info.kind, t)) continue;
      DType out = ir::op_result_dtype(info.kind, t);
      try {
        std::string s = info.category == ir::OpCategory::Unary
                            ? unary_op(info.kind, t, out, "x")
                            : binary_op(info.kind, t, out, "a", "b");
        EXPECT_FALSE(s.empty());
        ++rendered;
      } catch (const Error& e) {
        ADD_FAILURE() << "op '" << info.text << "' on " << dtype_name(t)
                      << ": codegen/opencl/scalar_ops.cpp has no spelling: " << e.what();
      }
    }
  }
  EXPECT_GT(rendered, 200);
}

// Simple math ops take their OpenCL C spelling from the op table's math column.
TEST(OpenCLOps, MathColumnSpelling) {
  EXPECT_EQ(unary_op(ir::OpKind::Erf, DType::F32, DType::F32, "x"), "erf(x)");
  EXPECT_EQ(unary_op(ir::OpKind::Round, DType::F64, DType::F64, "x"), "rint(x)");
  EXPECT_EQ(unary_op(ir::OpKind::Exp, DType::F16, DType::F16, "x"), "kiln_round_f16(exp(x))");
}

}  // namespace
}  // namespace kiln::codegen::opencl
