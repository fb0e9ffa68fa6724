// Vectorizable f32 implementations of the transcendental functions, emitted inline as LLVM
// IR (LLVM itself would leave a libm call per lane). Each works on float or on a vector of
// floats. Accuracy, measured against libm (which is within 1 ulp of the true value) over
// the stated range by tests/cpu/math_test.cpp; "ulp" is the spacing of floats at the result:
//
//   exp    <= 1 ulp on [-87, 88]; overflow to inf above 88.72, 0 or subnormal below -87.3
//   exp2   <= 2 ulp on [-126, 127]
//   expm1  <= 2 ulp on [-20, 88]
//   log    <= 2 ulp on (0, inf), subnormals included; log(0) = -inf, log(x<0) = NaN
//   log2   <= 2 ulp on (0, inf)
//   log1p  <= 3 ulp on (-1, inf)
//   sin, cos <= 2 ulp on [-6000, 6000] except near their zeros, where the absolute error
//          stays below 1e-11 (range reduction with a three-part pi/2); lanes outside that
//          range call libm, so every input gets libm's accuracy there
//   tan    <= 3 ulp on [-6000, 6000] away from its poles (s/c of the above)
//   tanh   <= 3 ulp everywhere (via expm1)
//   sigmoid <= 2 ulp everywhere (1 / (1 + exp(-x)), the reference's formula)
//   erf    <= 3 ulp everywhere (odd polynomial below 0.875, 1 - exp(-x^2) q(x) up to 3.95,
//          then 1; coefficients are Chebyshev fits computed with mpmath)
// NaN inputs give NaN everywhere.
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
