// Vectorizable f32 implementations of the transcendental functions, emitted inline as LLVM
// IR (LLVM itself would leave a libm call per lane). Each works on float or on a vector of
// floats. Accuracy as measured by tests/codegen/llvm/math_test.cpp against double-precision libm
// over dense samples (2^18 points per range); "ulp" is the spacing of floats at the
// result, and each bound is the test's assertion (the measured maximum is in brackets):
//
//   exp     1 ulp [0.87] on [-103, 88.5], subnormal results included; inf above 88.72
//   exp2    1 ulp [0.89] on [-126, 127]
//   expm1   2 ulp [1.48] on [-20, 88]; 0.5 ulp near 0
//   sigmoid 2.5 ulp [2.19] on [-88, 90]: 1 / (1 + exp(-x)), the reference's formula, which
//           underflows to 0 below -88.7 where exp(-x) overflows
//   log     1 ulp [0.82] on (0, 3e38], subnormal inputs included; log(0) = -inf, x < 0: NaN
//   log2    2 ulp [1.61] on (0, inf)
//   log1p   2.5 ulp [2.20] on (-1, 10]; 0.5 ulp near 0
//   sin, cos 1.5 ulp [1.41] on [-pi, pi]; absolute error below 1.2e-7 on [-6000, 6000]
//           (three-part pi/2 reduction); lanes beyond 6000 call libm (correctly rounded)
//   tan     3 ulp [2.52] on [-1.5, 1.5] (s/c of the above)
//   tanh    2.5 ulp [2.47] everywhere (via expm1)
//   erf     2.5 ulp [2.37] everywhere (odd polynomial below 0.875, 1 - exp(-x^2) q(x) up
//           to 3.95, then 1; coefficients are Chebyshev fits computed with mpmath)
// NaN inputs give NaN, and infinities the limits.
#pragma once

#include "codegen/llvm/emit_context.h"

namespace kiln::codegen::llvm_backend {

llvm::Value* emit_exp_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_exp2_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_expm1_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_log_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_log2_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_log1p_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_sin_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_cos_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_tan_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_tanh_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_sigmoid_f32(EmitContext& c, llvm::Value* x);
llvm::Value* emit_erf_f32(EmitContext& c, llvm::Value* x);

}  // namespace kiln::codegen::llvm_backend
