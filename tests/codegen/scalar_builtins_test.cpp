// The scalar C builtins (codegen/aot/runtime/kiln_aot_builtins.c), which JIT and AOT code
// call lane by lane, against the reference evaluator: every transcendental op of the op
// table on every real and complex dtype it takes, so a new row without a formula there
// fails here by name.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "codegen/aot/runtime/kiln_aot_runtime.h"
#include "ir/node.h"
#include "ir/op.h"
#include "runtime/evaluator.h"

namespace kiln {
namespace {

const std::vector<double> kPoints = {-2.5, -0.75, -1e-3, 0.0, 0.3, 0.5, 1.0, 2.0, 7.25};

// op over constants of dtype `t` holding `values` (for c64: real parts `values`, imaginary
// parts 0.5), evaluated by the reference.
BufferPtr reference(ir::OpKind op, DType t, const std::vector<double>& values) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int arity = ir::op_info(op).arity;
  std::vector<ir::NodePtr> operands;
  for (int k = 0; k < arity; ++k) {
    auto b = std::make_shared<Buffer>(Type{t, {n}});
    for (int64_t i = 0; i < n; ++i) {
      double v = k == 0 ? values[i] : 1.5 - values[i] / 2;  // a second, different operand
      if (t == DType::F32) b->as<float>()[i] = static_cast<float>(v);
      if (t == DType::F64) b->as<double>()[i] = v;
      if (t == DType::C64) b->as<complex64>()[i] = complex64(static_cast<float>(v), 0.5f);
    }
    operands.push_back(ir::make_constant(b));
  }
  auto node = ir::make_node(op, operands, {}, Type{ir::op_result_dtype(op, t), {n}});
  ir::Graph g;
  g.nodes = operands;
  g.nodes.push_back(node);
  g.results = {node};
  return runtime::evaluate(g, {})[0];
}

bool close(double got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= tol * std::max(1.0, std::abs(want));
}

TEST(ScalarBuiltins, EveryTranscendentalOpMatchesTheReference) {
  int checked = 0;
  for (const ir::OpInfo& info : ir::all_ops()) {
    if (info.cost != ir::OpCost::Transcendental) continue;
    const int32_t op = static_cast<int32_t>(info.kind);
    const bool unary = info.arity == 1;
    std::string where = "op '" + std::string(info.text) + "': ";
    for (DType t : {DType::F32, DType::F64, DType::C64}) {
      if (!ir::op_accepts(info.kind, t)) continue;
      BufferPtr want = reference(info.kind, t, kPoints);
      for (size_t i = 0; i < kPoints.size(); ++i) {
        const double x = kPoints[i], y = 1.5 - x / 2;
        const std::string at = " at " + std::to_string(x) + " differs from the reference";
        if (t == DType::F32) {
          float xf = static_cast<float>(x), yf = static_cast<float>(y);
          double got = unary ? kiln_f32_unary(op, xf) : kiln_f32_binary(op, xf, yf);
          EXPECT_TRUE(close(got, want->as<float>()[i], 1e-6))
              << where << (unary ? "kiln_f32_unary" : "kiln_f32_binary")
              << " (codegen/aot/runtime/kiln_aot_builtins.c)" << at << ": " << got;
        } else if (t == DType::F64) {
          double got = unary ? kiln_f64_unary(op, x) : kiln_f64_binary(op, x, y);
          EXPECT_TRUE(close(got, want->as<double>()[i], 1e-14))
              << where << (unary ? "kiln_f64_unary" : "kiln_f64_binary")
              << " (codegen/aot/runtime/kiln_aot_builtins.c)" << at << ": " << got;
        } else {
          float out[2];
          if (unary)
            kiln_c64_unary(op, static_cast<float>(x), 0.5f, out);
          else
            kiln_c64_binary(op, static_cast<float>(x), 0.5f, static_cast<float>(y), 0.5f, out);
          complex64 w = want->as<complex64>()[i];
          EXPECT_TRUE(close(out[0], w.real(), 1e-5) && close(out[1], w.imag(), 1e-5))
              << where << (unary ? "kiln_c64_unary" : "kiln_c64_binary")
              << " (codegen/aot/runtime/kiln_aot_builtins.c)" << at;
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 300);
}

}  // namespace
}  // namespace kiln
