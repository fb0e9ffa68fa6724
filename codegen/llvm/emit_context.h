// The state shared by the LLVM IR emitters of one kernel: the builder, the compute types of
// kiln dtypes, and values that may be scalars or vectors of lanes. Compute types: bool is
// i1; i8/u8, i32, i64 are themselves; f16, bf16 and f32 compute in float (rounded back to
// their precision after each op, as the reference does); f64 in double; c64 as a pair of
// floats (Val::re, Val::im). Every emitter works on scalars and vectors alike.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <string>
#include <vector>

#include "codegen/llvm/target.h"
#include "ir/dtype.h"

namespace kiln::codegen::llvm_backend {

// A kiln value in LLVM: one value, or two for c64 (real and imaginary parts).
struct Val {
  llvm::Value* re = nullptr;
  llvm::Value* im = nullptr;
};

class EmitContext {
 public:
  EmitContext(llvm::Module& module, const TargetInfo& target);

  llvm::LLVMContext& ctx;
  llvm::Module& module;
  llvm::IRBuilder<> b;
  TargetInfo target;

  // The compute type of one element of `t` (the part type for c64).
  llvm::Type* scalar_type(DType t);
  // scalar_type, as a vector of `width` lanes when width > 1.
  llvm::Type* type(DType t, int width);
  // The storage type of one element in memory (i16 for f16/bf16, i8 for bool).
  llvm::Type* storage_type(DType t);

  int width_of(llvm::Value* v) const;
  // `elem`, or a vector of `width` of them when width > 1.
  static llvm::Type* vec(llvm::Type* elem, int width);
  // Broadcasts a scalar to `width` lanes (a no-op for width 1 or a vector already).
  llvm::Value* splat(llvm::Value* v, int width);
  Val splat(Val v, int width);

  llvm::Constant* f32(double v, int width);
  llvm::Constant* f64(double v, int width);
  llvm::Constant* i32(int64_t v, int width);
  llvm::Constant* i64(int64_t v, int width);
  // A constant of compute type `t` holding `v` (integers truncate; bool is v != 0).
  llvm::Value* constant(DType t, double v, int width);
  llvm::Value* constant_int(DType t, int64_t v, int width);

  // Calls an external scalar function once per lane of vector arguments.
  llvm::Value* call_lanes(llvm::FunctionCallee fn, std::vector<llvm::Value*> args);
  // Declares an external function; `pure` ones neither read nor write memory.
  llvm::FunctionCallee function(const std::string& name, llvm::Type* ret,
                                std::vector<llvm::Type*> params, bool pure = true);

  // The function's entry block, where allocas go (set by the kernel emitter).
  llvm::BasicBlock* entry = nullptr;
  llvm::AllocaInst* entry_alloca(llvm::Type* t, const char* name = "");

  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> types,
                         std::vector<llvm::Value*> args);
};

bool is_unsigned_dtype(DType t);  // u8 and bool compare, divide and extend unsigned

}  // namespace kiln::codegen::llvm_backend
