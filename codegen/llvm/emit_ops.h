// LLVM IR for the scalar semantics of every elementwise IR op, cast, random_uniform and the
// reduction combiners, on compute types (codegen/llvm/emit_context.h), scalars or vectors
// alike. The rules are the reference evaluator's (ir/eval/scalar.h): wrapping integer
// arithmetic, floor division and modulo with x/0 = 0, NaN-propagating max/min, saturating
// float-to-int casts, f16/bf16 rounded after every op. An op/dtype pair the IR does not
// allow throws UnsupportedError naming both. Tests: tests/runtime/differential_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"
#include "codegen/llvm/emit_context.h"

namespace kiln::codegen::llvm_backend {

// Operands must already have one width.
Val emit_unary(EmitContext& c, ir::OpKind op, DType in, DType out, Val x);
Val emit_binary(EmitContext& c, ir::OpKind op, DType in, DType out, Val a, Val b);
Val emit_cast(EmitContext& c, DType from, DType to, Val x);
// A uniform [0, 1) value of `dtype` for an i64 counter and key (ir/random.h).
llvm::Value* emit_random(EmitContext& c, DType dtype, llvm::Value* counter, llvm::Value* key);
// ir::derive_key of an i64 key (scalar or vector) and a constant counter.
llvm::Value* emit_random_key(EmitContext& c, llvm::Value* key, uint64_t counter);

// Rounds a float holding an f16 or bf16 result to that precision (identity for others).
llvm::Value* round_to_precision(EmitContext& c, DType t, llvm::Value* v);

// Memory <-> compute type.
Val from_storage(EmitContext& c, DType t, llvm::Value* stored);    // not for c64
llvm::Value* to_storage(EmitContext& c, DType t, llvm::Value* v);  // not for c64

// Reductions: the identity and one step of the fold (acc, value both of dtype `acc`).
Val reduce_identity(EmitContext& c, ReduceOp op, DType acc, int width);
Val reduce_combine(EmitContext& c, ReduceOp op, DType acc, Val a, Val v);
// Whether `v` replaces `best` in an argmax / argmin (first occurrence wins; NaN is the
// largest value).
llvm::Value* arg_better(EmitContext& c, ReduceOp op, DType t, Val v, Val best);

}  // namespace kiln::codegen::llvm_backend
