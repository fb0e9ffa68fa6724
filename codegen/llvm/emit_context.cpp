// EmitContext: types, constants and lane helpers of the LLVM emitters.
#include "codegen/llvm/emit_context.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>

#include <cmath>

#include "ir/error.h"

namespace kiln::codegen::llvm_backend {

EmitContext::EmitContext(llvm::Module& m, const TargetInfo& t)
    : ctx(m.getContext()), module(m), b(m.getContext()), target(t) {}

llvm::Type* EmitContext::scalar_type(DType t) {
  switch (t) {
    case DType::Bool: return b.getInt1Ty();
    case DType::I8:
    case DType::U8: return b.getInt8Ty();
    case DType::I32: return b.getInt32Ty();
    case DType::I64: return b.getInt64Ty();
    case DType::F16:
    case DType::BF16:
    case DType::F32:
    case DType::C64: return b.getFloatTy();
    case DType::F64: return b.getDoubleTy();
  }
  return b.getFloatTy();
}

llvm::Type* EmitContext::type(DType t, int width) {
  llvm::Type* s = scalar_type(t);
  return width > 1 ? llvm::FixedVectorType::get(s, width) : s;
}

llvm::Type* EmitContext::storage_type(DType t) {
  switch (t) {
    case DType::Bool: return b.getInt8Ty();
    case DType::F16:
    case DType::BF16: return b.getInt16Ty();
    default: return scalar_type(t);
  }
}

llvm::Type* EmitContext::vec(llvm::Type* elem, int width) {
  if (width > 1) return llvm::FixedVectorType::get(elem, width);
  return elem;
}

int EmitContext::width_of(llvm::Value* v) const {
  if (auto* vt = llvm::dyn_cast<llvm::FixedVectorType>(v->getType()))
    return static_cast<int>(vt->getNumElements());
  return 1;
}

llvm::Value* EmitContext::splat(llvm::Value* v, int width) {
  if (width <= 1 || width_of(v) > 1) return v;
  return b.CreateVectorSplat(width, v);
}

Val EmitContext::splat(Val v, int width) {
  return {splat(v.re, width), v.im ? splat(v.im, width) : nullptr};
}

llvm::Constant* EmitContext::f32(double v, int width) {
  llvm::Constant* c = llvm::ConstantFP::get(b.getFloatTy(), v);
  return width > 1 ? llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(width), c) : c;
}

llvm::Constant* EmitContext::f64(double v, int width) {
  llvm::Constant* c = llvm::ConstantFP::get(b.getDoubleTy(), v);
  return width > 1 ? llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(width), c) : c;
}

llvm::Constant* EmitContext::i32(int64_t v, int width) {
  llvm::Constant* c = llvm::ConstantInt::get(b.getInt32Ty(), static_cast<uint64_t>(v), true);
  return width > 1 ? llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(width), c) : c;
}

llvm::Constant* EmitContext::i64(int64_t v, int width) {
  llvm::Constant* c = llvm::ConstantInt::get(b.getInt64Ty(), static_cast<uint64_t>(v), true);
  return width > 1 ? llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(width), c) : c;
}

llvm::Value* EmitContext::constant(DType t, double v, int width) {
  llvm::Type* ty = type(t, width);
  if (is_floating(t) || is_complex(t)) return llvm::ConstantFP::get(ty, v);
  if (t == DType::Bool) return llvm::ConstantInt::get(ty, v != 0 ? 1 : 0);
  int64_t iv = std::isfinite(v) ? static_cast<int64_t>(v) : 0;
  return llvm::ConstantInt::get(ty, static_cast<uint64_t>(iv), true);
}

llvm::Value* EmitContext::constant_int(DType t, int64_t v, int width) {
  llvm::Type* ty = type(t, width);
  if (is_floating(t) || is_complex(t)) return llvm::ConstantFP::get(ty, static_cast<double>(v));
  return llvm::ConstantInt::get(ty, static_cast<uint64_t>(v), true);
}

llvm::FunctionCallee EmitContext::function(const std::string& name, llvm::Type* ret,
                                           std::vector<llvm::Type*> params, bool pure) {
  auto* fty = llvm::FunctionType::get(ret, params, false);
  llvm::FunctionCallee callee = module.getOrInsertFunction(name, fty);
  if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    f->setDoesNotThrow();
    f->setWillReturn();
    if (pure) f->setDoesNotAccessMemory();
  }
  return callee;
}

llvm::AllocaInst* EmitContext::entry_alloca(llvm::Type* t, const char* name) {
  llvm::IRBuilder<> eb(entry, entry->begin());
  return eb.CreateAlloca(t, nullptr, name);
}

llvm::Value* EmitContext::call_lanes(llvm::FunctionCallee fn, std::vector<llvm::Value*> args) {
  int width = 1;
  for (llvm::Value* a : args) width = std::max(width, width_of(a));
  if (width == 1) return b.CreateCall(fn, args);
  llvm::Type* ret = fn.getFunctionType()->getReturnType();
  llvm::Value* out = llvm::UndefValue::get(llvm::FixedVectorType::get(ret, width));
  for (int l = 0; l < width; ++l) {
    std::vector<llvm::Value*> lane;
    for (llvm::Value* a : args)
      lane.push_back(width_of(a) > 1 ? b.CreateExtractElement(a, static_cast<uint64_t>(l)) : a);
    out = b.CreateInsertElement(out, b.CreateCall(fn, lane), static_cast<uint64_t>(l));
  }
  return out;
}

llvm::Value* EmitContext::intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> types,
                                    std::vector<llvm::Value*> args) {
  llvm::Function* f = llvm::Intrinsic::getDeclaration(&module, id, types);
  return b.CreateCall(f, args);
}

bool is_unsigned_dtype(DType t) { return t == DType::U8 || t == DType::Bool; }

}  // namespace kiln::codegen::llvm_backend
