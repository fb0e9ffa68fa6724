// The IR's scalar semantics written as OpenCL C expressions: types, literals, every
// elementwise op, casts, and the steps of reductions. Each function takes its operands as
// already-rendered C operands (variable names or literals, evaluated once each, so they
// may appear several times in the result) and returns one C expression. The rules are the
// reference evaluator's (ir/eval/scalar.h, ir/eval/types.h) and match the LLVM
// backend's (codegen/llvm/emit_ops.cpp): f16 and bf16 compute in float and round after
// every op; integer + - * wrap; division and modulo floor, with x / 0 = x % 0 = 0; max
// and min propagate NaN; float -> int casts truncate and saturate, NaN -> 0. The helper
// functions they call (kiln_*) are in prelude.cpp. Tests: tests/codegen/opencl/render_test.cpp and
// the differential suite (tests/runtime/differential_test.cpp).
#pragma once

#include <string>

#include "codegen/kernel_ir.h"
#include "ir/dtype.h"
#include "ir/op.h"

namespace kiln::codegen::opencl {

// The type values of `t` are computed in: bool, char, uchar, int, long, float (f16, bf16
// and f32), double, float2 (c64).
std::string compute_type(DType t);
// The element type of a buffer of `t`: uchar for bool, half for f16, ushort for bf16.
std::string storage_type(DType t);

// Literals of each dtype. Floats print exactly (hexadecimal), f16/bf16 values are rounded
// to their precision first.
std::string int_literal(DType t, int64_t v);
std::string float_literal(DType t, double v);
std::string const_literal(DType t, int64_t ival, double re, double im);

// A value read from / written to buffer element `index` of `buf` (a __global pointer).
std::string load_element(DType t, const std::string& buf, const std::string& index);
std::string store_element(DType t, const std::string& buf, const std::string& index,
                          const std::string& value);

std::string unary_op(ir::OpKind op, DType in, DType out, const std::string& x);
std::string binary_op(ir::OpKind op, DType in, DType out, const std::string& a,
                      const std::string& b);
std::string cast_op(DType from, DType to, const std::string& x);
// Rounds a float value to f16 / bf16 precision; other dtypes pass through.
std::string round_to(DType t, const std::string& x);

// Reductions over accumulators of `acc`.
std::string reduce_identity(ReduceOp op, DType acc);
std::string reduce_combine(ReduceOp op, DType acc, const std::string& a, const std::string& b);
// ArgMax/ArgMin: whether candidate (v, p) replaces the best (bv, bp): strictly better, or
// as good at an earlier position (NaN counts as the maximum; the first one wins).
std::string arg_takes(ReduceOp op, DType t, const std::string& v, const std::string& p,
                      const std::string& bv, const std::string& bp);

// Whether buffers of `t` can be read and written as OpenCL vectors (vloadN / vstoreN).
bool vector_storage(DType t);
// vloadN of `width` elements at element `index` (converted to compute values lane by
// lane by `vector_lane`), and the matching store of `lanes` (compute values). `aligned`
// (the index is a multiple of `width`) accesses memory through a pointer to the vector
// type, which tells the compiler it may use one wide access.
std::string vector_load(DType t, int width, const std::string& buf, const std::string& index,
                        bool aligned);
std::string vector_lane(DType t, const std::string& vec, int lane);
std::string vector_store(DType t, int width, const std::string& buf, const std::string& index,
                         const std::vector<std::string>& lanes, bool aligned);
// The type of vector_load's result.
std::string vector_type(DType t, int width);

}  // namespace kiln::codegen::opencl
