// LLVM IR for elementwise semantics, casts, random numbers and reduction steps.
#include "codegen/llvm/emit_ops.h"

#include <llvm/IR/Intrinsics.h>

#include <cmath>
#include <limits>

#include "codegen/llvm/math.h"
#include "ir/error.h"

// A switch over op kinds here either lists every case or has a default that throws, which
// the suites that run every row of ir/ops.def on every dtype reach: the differential suite
// on every device (tests/runtime/differential_test.cpp) and tests/codegen/opencl_ops_test.cpp.
#pragma GCC diagnostic error "-Wswitch"

namespace kiln::codegen::llvm_backend {

namespace {

using ir::OpKind;
using llvm::Value;

[[noreturn]] void unsupported(OpKind op, DType t) {
  throw UnsupportedError("cpu backend: " + std::string(ir::op_name(op)) + " on " +
                         std::string(dtype_name(t)) +
                         " has no LLVM IR in codegen/llvm/emit_ops.cpp (or the IR verifier "
                         "should have rejected it)");
}

bool computes_in_f32(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32; }

Value* fcall(EmitContext& c, const char* name, OpKind op, DType t, std::vector<Value*> args) {
  auto& b = c.b;
  llvm::Type* ft = t == DType::F64 ? b.getDoubleTy() : b.getFloatTy();
  std::vector<llvm::Type*> params = {b.getInt32Ty()};
  for (size_t i = 0; i < args.size(); ++i) params.push_back(ft);
  std::vector<Value*> all = {b.getInt32(static_cast<int>(op))};
  all.insert(all.end(), args.begin(), args.end());
  return c.call_lanes(c.function(name, ft, params), all);
}

// A c64 builtin per lane: the result's parts through a two-float scratch slot.
Val complex_call(EmitContext& c, OpKind op, std::vector<Val> args) {
  auto& b = c.b;
  int w = 1;
  for (const Val& a : args) w = std::max(w, c.width_of(a.re));
  std::vector<llvm::Type*> params = {b.getInt32Ty()};
  for (size_t i = 0; i < args.size(); ++i) {
    params.push_back(b.getFloatTy());
    params.push_back(b.getFloatTy());
  }
  params.push_back(b.getFloatTy()->getPointerTo());
  auto fn = c.function(args.size() == 1 ? "kiln_c64_unary" : "kiln_c64_binary", b.getVoidTy(),
                       params, false);
  llvm::AllocaInst* slot = c.entry_alloca(llvm::ArrayType::get(b.getFloatTy(), 2), "c64.out");
  Value* p0 = b.CreateConstGEP2_32(slot->getAllocatedType(), slot, 0, 0);
  Value* p1 = b.CreateConstGEP2_32(slot->getAllocatedType(), slot, 0, 1);
  Value* re = w > 1 ? llvm::UndefValue::get(c.type(DType::F32, w)) : nullptr;
  Value* im = re;
  for (int l = 0; l < w; ++l) {
    std::vector<Value*> call = {b.getInt32(static_cast<int>(op))};
    for (const Val& a : args) {
      call.push_back(w > 1 ? b.CreateExtractElement(c.splat(a.re, w), static_cast<uint64_t>(l))
                           : a.re);
      call.push_back(w > 1 ? b.CreateExtractElement(c.splat(a.im, w), static_cast<uint64_t>(l))
                           : a.im);
    }
    call.push_back(p0);
    b.CreateCall(fn, call);
    Value* r = b.CreateLoad(b.getFloatTy(), p0);
    Value* i = b.CreateLoad(b.getFloatTy(), p1);
    if (w == 1) return {r, i};
    re = b.CreateInsertElement(re, r, static_cast<uint64_t>(l));
    im = b.CreateInsertElement(im, i, static_cast<uint64_t>(l));
  }
  return {re, im};
}

Value* bool_const(EmitContext& c, bool v, int w) { return c.constant(DType::Bool, v ? 1 : 0, w); }

Value* fabs(EmitContext& c, Value* v) {
  return c.intrinsic(llvm::Intrinsic::fabs, {v->getType()}, {v});
}

Value* is_nan(EmitContext& c, Value* v) { return c.b.CreateFCmpUNO(v, v); }

// NaN-propagating max / min of floats: NaN if either is NaN, else the larger (the first
// on ties). An ordered comparison keeps a NaN `a`, so only `b` needs the NaN test (none
// where `b` is a literal): the comparison and its select are one vmaxps / vminps.
Value* float_max(EmitContext& c, Value* a, Value* b, bool is_max) {
  auto& B = c.b;
  Value* pick_b = is_max ? B.CreateFCmpOLT(a, b) : B.CreateFCmpOLT(b, a);
  // The freeze keeps the two selects apart (merged, their conditions' `or` hides the
  // first from the instruction selector's vmaxps / vminps).
  Value* larger = B.CreateFreeze(B.CreateSelect(pick_b, b, a));
  return B.CreateSelect(is_nan(c, b), b, larger);
}

Value* complex_has_nan(EmitContext& c, Val v) {
  return c.b.CreateOr(is_nan(c, v.re), is_nan(c, v.im));
}

// The textbook product; where it gives NaN (infinite operands), C's Annex G product
// (std::complex's) recovers infinities, through the builtin, for the whole vector.
Val complex_mul(EmitContext& c, Val a, Val b) {
  auto& B = c.b;
  Value* re = B.CreateFSub(B.CreateFMul(a.re, b.re), B.CreateFMul(a.im, b.im));
  Value* im = B.CreateFAdd(B.CreateFMul(a.re, b.im), B.CreateFMul(a.im, b.re));
  Value* nan = B.CreateOr(B.CreateFCmpUNO(re, re), B.CreateFCmpUNO(im, im));
  int w = c.width_of(re);
  Value* any =
      w > 1 ? c.intrinsic(llvm::Intrinsic::vector_reduce_or, {nan->getType()}, {nan}) : nan;
  llvm::Function* fn = B.GetInsertBlock()->getParent();
  auto* slow_bb = llvm::BasicBlock::Create(c.ctx, "cmul.nan", fn);
  auto* join = llvm::BasicBlock::Create(c.ctx, "cmul.join", fn);
  llvm::BasicBlock* fast_end = B.GetInsertBlock();
  B.CreateCondBr(any, slow_bb, join);
  B.SetInsertPoint(slow_bb);
  Val slow = complex_call(c, OpKind::Mul, {a, b});
  llvm::BasicBlock* slow_end = B.GetInsertBlock();
  B.CreateBr(join);
  B.SetInsertPoint(join);
  llvm::PHINode* pre = B.CreatePHI(re->getType(), 2);
  pre->addIncoming(re, fast_end);
  pre->addIncoming(slow.re, slow_end);
  llvm::PHINode* pim = B.CreatePHI(im->getType(), 2);
  pim->addIncoming(im, fast_end);
  pim->addIncoming(slow.im, slow_end);
  return {pre, pim};
}

Val complex_unary(EmitContext& c, OpKind op, Val x) {
  auto& b = c.b;
  switch (op) {
    case OpKind::Neg: return {b.CreateFNeg(x.re), b.CreateFNeg(x.im)};
    case OpKind::Conj: return {x.re, b.CreateFNeg(x.im)};
    case OpKind::Real: return {x.re};
    case OpKind::Imag: return {x.im};
    case OpKind::Abs: {
      // |z| in double, rounded once: hypot's value without its overflow.
      llvm::Type* dt = c.type(DType::F64, c.width_of(x.re));
      Value* re = b.CreateFPExt(x.re, dt);
      Value* im = b.CreateFPExt(x.im, dt);
      Value* s = b.CreateFAdd(b.CreateFMul(re, re), b.CreateFMul(im, im));
      Value* r = b.CreateFPTrunc(c.intrinsic(llvm::Intrinsic::sqrt, {dt}, {s}), x.re->getType());
      // hypot: an infinite part gives +inf even when the other is NaN.
      Value* inf = c.f32(INFINITY, c.width_of(x.re));
      Value* any_inf =
          b.CreateOr(b.CreateFCmpOEQ(fabs(c, x.re), inf), b.CreateFCmpOEQ(fabs(c, x.im), inf));
      return {b.CreateSelect(any_inf, inf, r)};
    }
    case OpKind::IsNan: return {complex_has_nan(c, x)};
    case OpKind::IsInf: {
      Value* inf = c.f32(INFINITY, c.width_of(x.re));
      return {b.CreateOr(b.CreateFCmpOEQ(fabs(c, x.re), inf), b.CreateFCmpOEQ(fabs(c, x.im), inf))};
    }
    default:
      // Every other op the table lets take c64 is a C builtin, called lane by lane.
      if (!ir::op_accepts(op, DType::C64)) unsupported(op, DType::C64);
      return complex_call(c, op, {x});
  }
}

Value* f32_transcendental(EmitContext& c, OpKind op, Value* x) {
  switch (op) {
    case OpKind::Exp: return emit_exp_f32(c, x);
    case OpKind::Exp2: return emit_exp2_f32(c, x);
    case OpKind::Log: return emit_log_f32(c, x);
    case OpKind::Log2: return emit_log2_f32(c, x);
    case OpKind::Log1p: return emit_log1p_f32(c, x);
    case OpKind::Expm1: return emit_expm1_f32(c, x);
    case OpKind::Sin: return emit_sin_f32(c, x);
    case OpKind::Cos: return emit_cos_f32(c, x);
    case OpKind::Tan: return emit_tan_f32(c, x);
    case OpKind::Tanh: return emit_tanh_f32(c, x);
    case OpKind::Sigmoid: return emit_sigmoid_f32(c, x);
    case OpKind::Erf: return emit_erf_f32(c, x);
    default: return nullptr;
  }
}

Value* float_unary(EmitContext& c, OpKind op, DType in, Value* x) {
  auto& b = c.b;
  llvm::Type* t = x->getType();
  auto k = [&](double v) { return llvm::ConstantFP::get(t, v); };
  switch (op) {
    case OpKind::Neg: return b.CreateFNeg(x);
    case OpKind::Abs: return fabs(c, x);
    case OpKind::Sign: {
      Value* r = b.CreateSelect(b.CreateFCmpOGT(x, k(0)), k(1),
                                b.CreateSelect(b.CreateFCmpOLT(x, k(0)), k(-1), k(0)));
      return b.CreateSelect(is_nan(c, x), x, r);
    }
    case OpKind::Sqrt: return c.intrinsic(llvm::Intrinsic::sqrt, {t}, {x});
    case OpKind::Rsqrt: return b.CreateFDiv(k(1), c.intrinsic(llvm::Intrinsic::sqrt, {t}, {x}));
    case OpKind::Reciprocal: return b.CreateFDiv(k(1), x);
    case OpKind::Floor: return c.intrinsic(llvm::Intrinsic::floor, {t}, {x});
    case OpKind::Ceil: return c.intrinsic(llvm::Intrinsic::ceil, {t}, {x});
    case OpKind::Round: return c.intrinsic(llvm::Intrinsic::roundeven, {t}, {x});
    case OpKind::IsNan: return is_nan(c, x);
    case OpKind::IsInf: return b.CreateFCmpOEQ(fabs(c, x), k(INFINITY));
    case OpKind::Real:
    case OpKind::Conj: return x;
    case OpKind::Imag: return k(0);
    case OpKind::Not: return b.CreateFCmpOEQ(x, k(0));
    default: break;
  }
  if (!ir::op_accepts(op, in)) unsupported(op, in);
  if (in != DType::F64)
    if (Value* r = f32_transcendental(c, op, x)) return r;
  // f64 transcendentals are libm's, and an op without an inline version is its C builtin:
  // both called lane by lane.
  return fcall(c, in == DType::F64 ? "kiln_f64_unary" : "kiln_f32_unary", op, in, {x});
}

Value* int_unary(EmitContext& c, OpKind op, DType in, Value* x) {
  auto& b = c.b;
  llvm::Type* t = x->getType();
  auto k = [&](int64_t v) { return llvm::ConstantInt::get(t, static_cast<uint64_t>(v), true); };
  bool sgn = is_signed_integer(in);
  bool is_b = in == DType::Bool;
  switch (op) {
    case OpKind::Neg: return b.CreateSub(k(0), x);
    case OpKind::Abs:
      return sgn ? b.CreateSelect(b.CreateICmpSLT(x, k(0)), b.CreateSub(k(0), x), x) : x;
    case OpKind::Sign:
      if (!sgn) return b.CreateZExt(b.CreateICmpNE(x, k(0)), t);
      return b.CreateSelect(b.CreateICmpSGT(x, k(0)), k(1),
                            b.CreateSelect(b.CreateICmpSLT(x, k(0)), k(-1), k(0)));
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Real:
    case OpKind::Conj: return x;
    case OpKind::Imag: return k(0);
    case OpKind::Not: return is_b ? b.CreateNot(x) : b.CreateICmpEQ(x, k(0));
    case OpKind::IsNan:
    case OpKind::IsInf: return bool_const(c, false, c.width_of(x));
    default: unsupported(op, in);
  }
}

// Floor division and floored modulo of signed integers; x / 0 = x % 0 = 0, MIN / -1 wraps.
Value* signed_div_mod(EmitContext& c, Value* a, Value* d, bool want_div) {
  auto& b = c.b;
  llvm::Type* t = a->getType();
  auto k = [&](int64_t v) { return llvm::ConstantInt::get(t, static_cast<uint64_t>(v), true); };
  Value* zero = b.CreateICmpEQ(d, k(0));
  Value* m1 = b.CreateICmpEQ(d, k(-1));
  Value* safe = b.CreateSelect(b.CreateOr(zero, m1), k(1), d);
  Value* r = b.CreateSRem(a, safe);
  Value* adjust = b.CreateAnd(b.CreateICmpNE(r, k(0)), b.CreateICmpNE(b.CreateICmpSLT(r, k(0)),
                                                                      b.CreateICmpSLT(safe, k(0))));
  if (want_div) {
    Value* q = b.CreateSDiv(a, safe);
    q = b.CreateSelect(adjust, b.CreateSub(q, k(1)), q);
    q = b.CreateSelect(m1, b.CreateSub(k(0), a), q);
    return b.CreateSelect(zero, k(0), q);
  }
  Value* m = b.CreateSelect(adjust, b.CreateAdd(r, safe), r);
  return b.CreateSelect(b.CreateOr(zero, m1), k(0), m);
}

Value* int_binary(EmitContext& c, OpKind op, DType in, Value* x, Value* y) {
  auto& b = c.b;
  llvm::Type* t = x->getType();
  auto k = [&](int64_t v) { return llvm::ConstantInt::get(t, static_cast<uint64_t>(v), true); };
  const bool sgn = is_signed_integer(in);
  if (in == DType::Bool) {
    switch (op) {
      case OpKind::Max:
      case OpKind::Or: return b.CreateOr(x, y);
      case OpKind::Xor:
      case OpKind::Ne: return b.CreateXor(x, y);
      case OpKind::Min:
      case OpKind::And: return b.CreateAnd(x, y);
      case OpKind::Eq: return b.CreateICmpEQ(x, y);
      case OpKind::Lt: return b.CreateICmpULT(x, y);
      case OpKind::Le: return b.CreateICmpULE(x, y);
      case OpKind::Gt: return b.CreateICmpUGT(x, y);
      case OpKind::Ge: return b.CreateICmpUGE(x, y);
      default: unsupported(op, in);
    }
  }
  switch (op) {
    case OpKind::Add: return b.CreateAdd(x, y);
    case OpKind::Sub: return b.CreateSub(x, y);
    case OpKind::Mul: return b.CreateMul(x, y);
    case OpKind::Div:
      if (sgn) return signed_div_mod(c, x, y, true);
      return b.CreateSelect(b.CreateICmpEQ(y, k(0)), k(0),
                            b.CreateUDiv(x, b.CreateSelect(b.CreateICmpEQ(y, k(0)), k(1), y)));
    case OpKind::Mod:
      if (sgn) return signed_div_mod(c, x, y, false);
      return b.CreateSelect(b.CreateICmpEQ(y, k(0)), k(0),
                            b.CreateURem(x, b.CreateSelect(b.CreateICmpEQ(y, k(0)), k(1), y)));
    case OpKind::Pow: {
      llvm::Type* i64 = c.type(DType::I64, c.width_of(x));
      Value* x64 = sgn ? b.CreateSExt(x, i64) : b.CreateZExt(x, i64);
      Value* y64 = sgn ? b.CreateSExt(y, i64) : b.CreateZExt(y, i64);
      auto fn = c.function("kiln_i64_pow", b.getInt64Ty(), {b.getInt64Ty(), b.getInt64Ty()});
      return b.CreateTrunc(c.call_lanes(fn, {x64, y64}), t);
    }
    case OpKind::Max:
      return b.CreateSelect(sgn ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y), y, x);
    case OpKind::Min:
      return b.CreateSelect(sgn ? b.CreateICmpSLT(y, x) : b.CreateICmpULT(y, x), y, x);
    case OpKind::Eq: return b.CreateICmpEQ(x, y);
    case OpKind::Ne: return b.CreateICmpNE(x, y);
    case OpKind::Lt: return sgn ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y);
    case OpKind::Le: return sgn ? b.CreateICmpSLE(x, y) : b.CreateICmpULE(x, y);
    case OpKind::Gt: return sgn ? b.CreateICmpSGT(x, y) : b.CreateICmpUGT(x, y);
    case OpKind::Ge: return sgn ? b.CreateICmpSGE(x, y) : b.CreateICmpUGE(x, y);
    case OpKind::And: return b.CreateAnd(x, y);
    case OpKind::Or: return b.CreateOr(x, y);
    case OpKind::Xor: return b.CreateXor(x, y);
    default: unsupported(op, in);
  }
}

Value* float_binary(EmitContext& c, OpKind op, DType in, Value* x, Value* y) {
  auto& b = c.b;
  llvm::Type* t = x->getType();
  auto k = [&](double v) { return llvm::ConstantFP::get(t, v); };
  switch (op) {
    case OpKind::Add: return b.CreateFAdd(x, y);
    case OpKind::Sub: return b.CreateFSub(x, y);
    case OpKind::Mul: return b.CreateFMul(x, y);
    case OpKind::Div: return b.CreateFDiv(x, y);
    case OpKind::Max: return float_max(c, x, y, true);
    case OpKind::Min: return float_max(c, x, y, false);
    case OpKind::Mod: {
      // fmod, then the divisor's sign: r == 0 gives a zero with the divisor's sign.
      Value* r = b.CreateFRem(x, y);
      Value* zero = b.CreateFCmpOEQ(r, k(0));
      Value* fix = b.CreateICmpNE(b.CreateFCmpOLT(r, k(0)), b.CreateFCmpOLT(y, k(0)));
      Value* m = b.CreateSelect(fix, b.CreateFAdd(r, y), r);
      Value* signed_zero = c.intrinsic(llvm::Intrinsic::copysign, {t}, {k(0), y});
      return b.CreateSelect(zero, signed_zero, m);
    }
    case OpKind::Pow:
    case OpKind::Atan2:
      return fcall(c, in == DType::F64 ? "kiln_f64_binary" : "kiln_f32_binary", op, in, {x, y});
    case OpKind::Eq: return b.CreateFCmpOEQ(x, y);
    case OpKind::Ne: return b.CreateFCmpUNE(x, y);
    case OpKind::Lt: return b.CreateFCmpOLT(x, y);
    case OpKind::Le: return b.CreateFCmpOLE(x, y);
    case OpKind::Gt: return b.CreateFCmpOGT(x, y);
    case OpKind::Ge: return b.CreateFCmpOGE(x, y);
    default: unsupported(op, in);
  }
}

Val complex_binary(EmitContext& c, OpKind op, Val x, Val y) {
  auto& b = c.b;
  switch (op) {
    case OpKind::Add: return {b.CreateFAdd(x.re, y.re), b.CreateFAdd(x.im, y.im)};
    case OpKind::Sub: return {b.CreateFSub(x.re, y.re), b.CreateFSub(x.im, y.im)};
    case OpKind::Mul: return complex_mul(c, x, y);
    case OpKind::Div:
    case OpKind::Pow: return complex_call(c, op, {x, y});
    case OpKind::Eq: return {b.CreateAnd(b.CreateFCmpOEQ(x.re, y.re), b.CreateFCmpOEQ(x.im, y.im))};
    case OpKind::Ne: return {b.CreateOr(b.CreateFCmpUNE(x.re, y.re), b.CreateFCmpUNE(x.im, y.im))};
    default: unsupported(op, DType::C64);
  }
}

// f64 -> f32 rounding to odd: a later rounding to f16/bf16 is then correctly rounded, as
// the reference's single rounding is.
Value* fptrunc_round_odd(EmitContext& c, Value* d) {
  auto& b = c.b;
  int w = c.width_of(d);
  llvm::Type* ft = c.type(DType::F32, w);
  llvm::Type* it = EmitContext::vec(b.getInt32Ty(), w);
  Value* f = b.CreateFPTrunc(d, ft);
  Value* back = b.CreateFPExt(f, d->getType());
  Value* bits = b.CreateBitCast(f, it);
  Value* inexact = b.CreateFCmpONE(back, d);
  Value* finite = b.CreateFCmpONE(fabs(c, f), c.f32(INFINITY, w));
  Value* even = b.CreateICmpEQ(b.CreateAnd(bits, c.i32(1, w)), c.i32(0, w));
  Value* away = b.CreateFCmpOGT(fabs(c, d), fabs(c, back));
  Value* step = b.CreateSelect(away, c.i32(1, w), c.i32(-1, w));
  Value* fixed = b.CreateAdd(bits, step);
  Value* use = b.CreateAnd(b.CreateAnd(inexact, finite), even);
  return b.CreateBitCast(b.CreateSelect(use, fixed, bits), ft);
}

// A compute-type value of a real dtype converted to float (for f16/bf16 targets), with a
// single rounding where the reference has one.
Value* real_to_f32_for_narrow(EmitContext& c, DType from, Value* x) {
  auto& b = c.b;
  int w = c.width_of(x);
  llvm::Type* ft = c.type(DType::F32, w);
  llvm::Type* dt = c.type(DType::F64, w);
  if (computes_in_f32(from)) return x;
  if (from == DType::F64) return fptrunc_round_odd(c, x);
  if (from == DType::Bool || from == DType::U8) return b.CreateUIToFP(x, ft);
  if (from == DType::I8) return b.CreateSIToFP(x, ft);
  // i32 / i64: exact in double (i64 nearly), then rounded to odd.
  return fptrunc_round_odd(c, b.CreateSIToFP(x, dt));
}

Value* real_cast(EmitContext& c, DType from, DType to, Value* x) {
  auto& b = c.b;
  int w = c.width_of(x);
  llvm::Type* tt = c.type(to, w);
  if (to == DType::Bool) {
    if (is_floating(from)) return b.CreateFCmpUNE(x, llvm::ConstantFP::get(x->getType(), 0));
    return b.CreateICmpNE(x, llvm::ConstantInt::get(x->getType(), 0));
  }
  if (to == DType::F16 || to == DType::BF16)
    return round_to_precision(c, to, real_to_f32_for_narrow(c, from, x));
  if (is_floating(to)) {
    if (is_floating(from)) {
      unsigned fb = x->getType()->getScalarSizeInBits(), tb = tt->getScalarSizeInBits();
      if (fb == tb) return x;
      return fb < tb ? b.CreateFPExt(x, tt) : b.CreateFPTrunc(x, tt);
    }
    return is_unsigned_dtype(from) ? b.CreateUIToFP(x, tt) : b.CreateSIToFP(x, tt);
  }
  // To an integer.
  if (is_floating(from)) {
    auto id = to == DType::U8 ? llvm::Intrinsic::fptoui_sat : llvm::Intrinsic::fptosi_sat;
    return c.intrinsic(id, {tt, x->getType()}, {x});
  }
  unsigned fb = x->getType()->getScalarSizeInBits(), tb = tt->getScalarSizeInBits();
  if (fb == tb) return x;
  if (fb > tb) return b.CreateTrunc(x, tt);
  return is_unsigned_dtype(from) ? b.CreateZExt(x, tt) : b.CreateSExt(x, tt);
}

}  // namespace

Value* round_to_precision(EmitContext& c, DType t, Value* v) {
  auto& b = c.b;
  int w = c.width_of(v);
  if (t == DType::F16) {
    llvm::Type* ht = EmitContext::vec(b.getHalfTy(), w);
    return b.CreateFPExt(b.CreateFPTrunc(v, ht), v->getType());
  }
  if (t == DType::BF16) {
    llvm::Type* it = EmitContext::vec(b.getInt32Ty(), w);
    Value* bits = b.CreateBitCast(v, it);
    Value* lsb = b.CreateAnd(b.CreateLShr(bits, c.i32(16, w)), c.i32(1, w));
    Value* rounded =
        b.CreateAnd(b.CreateAdd(bits, b.CreateAdd(lsb, c.i32(0x7fff, w))), c.i32(0xffff0000, w));
    Value* quiet = b.CreateAnd(b.CreateOr(bits, c.i32(0x00400000, w)), c.i32(0xffff0000, w));
    return b.CreateBitCast(b.CreateSelect(is_nan(c, v), quiet, rounded), v->getType());
  }
  return v;
}

Val from_storage(EmitContext& c, DType t, Value* s) {
  auto& b = c.b;
  int w = c.width_of(s);
  switch (t) {
    case DType::Bool: return {b.CreateICmpNE(s, llvm::ConstantInt::get(s->getType(), 0))};
    case DType::F16: {
      llvm::Type* ht = EmitContext::vec(b.getHalfTy(), w);
      return {b.CreateFPExt(b.CreateBitCast(s, ht), c.type(DType::F32, w))};
    }
    case DType::BF16: {
      llvm::Type* it = EmitContext::vec(b.getInt32Ty(), w);
      return {
          b.CreateBitCast(b.CreateShl(b.CreateZExt(s, it), c.i32(16, w)), c.type(DType::F32, w))};
    }
    default: return {s};
  }
}

Value* to_storage(EmitContext& c, DType t, Value* v) {
  auto& b = c.b;
  int w = c.width_of(v);
  switch (t) {
    case DType::Bool: return b.CreateZExt(v, EmitContext::vec(b.getInt8Ty(), w));
    case DType::F16: {
      llvm::Type* ht = EmitContext::vec(b.getHalfTy(), w);
      llvm::Type* st = EmitContext::vec(b.getInt16Ty(), w);
      return b.CreateBitCast(b.CreateFPTrunc(v, ht), st);
    }
    case DType::BF16: {
      llvm::Type* it = EmitContext::vec(b.getInt32Ty(), w);
      llvm::Type* st = EmitContext::vec(b.getInt16Ty(), w);
      Value* r = b.CreateBitCast(round_to_precision(c, DType::BF16, v), it);
      return b.CreateTrunc(b.CreateLShr(r, c.i32(16, w)), st);
    }
    default: return v;
  }
}

Val emit_unary(EmitContext& c, OpKind op, DType in, DType out, Val x) {
  if (is_complex(in)) return complex_unary(c, op, x);
  Value* r;
  if (is_floating(in))
    r = float_unary(c, op, in, x.re);
  else
    r = int_unary(c, op, in, x.re);
  return {round_to_precision(c, out, r)};
}

Val emit_binary(EmitContext& c, OpKind op, DType in, DType out, Val a, Val b) {
  if (op == OpKind::Complex) {
    llvm::Type* ft = c.type(DType::F32, c.width_of(a.re));
    auto to_f = [&](Value* v) {
      return v->getType()->getScalarType()->isDoubleTy() ? c.b.CreateFPTrunc(v, ft) : v;
    };
    return {to_f(a.re), to_f(b.re)};
  }
  if (is_complex(in)) return complex_binary(c, op, a, b);
  Value* r;
  if (is_floating(in))
    r = float_binary(c, op, in, a.re, b.re);
  else
    r = int_binary(c, op, in, a.re, b.re);
  return {round_to_precision(c, out, r)};
}

Val emit_cast(EmitContext& c, DType from, DType to, Val x) {
  if (from == to) return x;
  auto& b = c.b;
  int w = c.width_of(x.re);
  if (is_complex(from)) {
    if (to == DType::Bool) {
      Value* z = c.f32(0, w);
      return {b.CreateOr(b.CreateFCmpUNE(x.re, z), b.CreateFCmpUNE(x.im, z))};
    }
    return {real_cast(c, DType::F32, to, x.re)};
  }
  if (is_complex(to)) {
    Value* re = real_cast(c, from, DType::F32, x.re);
    return {re, c.f32(0, w)};
  }
  return {real_cast(c, from, to, x.re)};
}

namespace {

// Word 0 of Philox4x32-10 (ir/random.h) as i32 lanes, for i64 counter and key of width w.
Value* philox_word0(EmitContext& c, Value* counter, Value* key, int w) {
  auto& b = c.b;
  llvm::Type* i32 = EmitContext::vec(b.getInt32Ty(), w);
  llvm::Type* i64 = c.type(DType::I64, w);
  auto lo = [&](Value* v) { return b.CreateTrunc(v, i32); };
  auto hi = [&](Value* v) { return b.CreateTrunc(b.CreateLShr(v, c.i64(32, w)), i32); };
  Value* c0 = lo(counter);
  Value* c1 = hi(counter);
  Value* c2 = c.i32(0, w);
  Value* c3 = c.i32(0, w);
  Value* k0 = lo(key);
  Value* k1 = hi(key);
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 = b.CreateAdd(k0, c.i32(0x9E3779B9u, w));
      k1 = b.CreateAdd(k1, c.i32(0xBB67AE85u, w));
    }
    Value* p0 = b.CreateMul(b.CreateZExt(c0, i64), c.i64(0xD2511F53u, w));
    Value* p1 = b.CreateMul(b.CreateZExt(c2, i64), c.i64(0xCD9E8D57u, w));
    Value* n0 = b.CreateXor(b.CreateXor(hi(p1), c1), k0);
    Value* n1 = lo(p1);
    Value* n2 = b.CreateXor(b.CreateXor(hi(p0), c3), k1);
    Value* n3 = lo(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
  }
  return c0;
}

}  // namespace

Value* emit_random_key(EmitContext& c, Value* key, uint64_t counter) {
  auto& b = c.b;
  int w = c.width_of(key);
  llvm::Type* i64 = c.type(DType::I64, w);
  auto word = [&](uint64_t k) {
    return b.CreateZExt(philox_word0(c, c.i64(static_cast<int64_t>(k), w), key, w), i64);
  };
  return b.CreateOr(word(counter), b.CreateShl(word(counter | 1), c.i64(32, w)));
}

Value* emit_random(EmitContext& c, DType dtype, Value* counter, Value* key) {
  auto& b = c.b;
  int w = std::max(c.width_of(counter), c.width_of(key));
  counter = c.splat(counter, w);
  key = c.splat(key, w);
  Value* c0 = philox_word0(c, counter, key, w);
  int shift = 8;
  double scale = 0x1p-24;
  if (dtype == DType::F16) shift = 21, scale = 0x1p-11;
  if (dtype == DType::BF16) shift = 24, scale = 0x1p-8;
  Value* bits = b.CreateLShr(c0, c.i32(shift, w));
  Value* f = b.CreateFMul(b.CreateUIToFP(bits, c.type(DType::F32, w)), c.f32(scale, w));
  if (dtype == DType::F64) return b.CreateFPExt(f, c.type(DType::F64, w));
  if (!is_floating(dtype))
    throw UnsupportedError("cpu backend: random_uniform of " + std::string(dtype_name(dtype)));
  return f;
}

Val reduce_identity(EmitContext& c, ReduceOp op, DType acc, int w) {
  auto big_int = [&](bool highest) -> int64_t {
    switch (acc) {
      case DType::Bool: return highest ? 1 : 0;
      case DType::I8: return highest ? 127 : -128;
      case DType::U8: return highest ? 255 : 0;
      case DType::I32:
        return highest ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
      default:
        return highest ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    }
  };
  double inf = std::numeric_limits<double>::infinity();
  auto both = [&](double v) {
    Val r{c.constant(acc, v, w)};
    if (is_complex(acc)) r.im = c.constant(DType::F32, v, w);
    return r;
  };
  switch (op) {
    case ReduceOp::Sum: return both(0);
    case ReduceOp::Prod: {
      Val r{c.constant(acc, 1, w)};
      if (is_complex(acc)) r.im = c.constant(DType::F32, 0, w);
      return r;
    }
    // Orders exist for real dtypes only: the op table refuses c64 for these.
    case ReduceOp::Max:
    case ReduceOp::ArgMax:
      if (is_floating(acc)) return {c.constant(acc, -inf, w)};
      return {c.constant_int(acc, big_int(false), w)};
    case ReduceOp::Min:
    case ReduceOp::ArgMin:
      if (is_floating(acc)) return {c.constant(acc, inf, w)};
      return {c.constant_int(acc, big_int(true), w)};
  }
  return both(0);
}

Val reduce_combine(EmitContext& c, ReduceOp op, DType acc, Val a, Val v) {
  switch (op) {
    case ReduceOp::Sum: return emit_binary(c, OpKind::Add, acc, acc, a, v);
    case ReduceOp::Prod: return emit_binary(c, OpKind::Mul, acc, acc, a, v);
    case ReduceOp::Max: return emit_binary(c, OpKind::Max, acc, acc, a, v);
    case ReduceOp::Min: return emit_binary(c, OpKind::Min, acc, acc, a, v);
    default: throw CompileError("cpu backend: reduce_combine of an arg reduction");
  }
}

Value* arg_better(EmitContext& c, ReduceOp op, DType t, Val v, Val best) {
  auto& b = c.b;
  Value *nan_v, *nan_best, *less_vb, *less_bv;
  if (is_floating(t)) {
    nan_v = is_nan(c, v.re);
    nan_best = is_nan(c, best.re);
    less_vb = b.CreateFCmpOLT(v.re, best.re);
    less_bv = b.CreateFCmpOLT(best.re, v.re);
  } else {
    bool sgn = is_signed_integer(t);
    nan_v = nan_best = bool_const(c, false, c.width_of(v.re));
    less_vb = sgn ? b.CreateICmpSLT(v.re, best.re) : b.CreateICmpULT(v.re, best.re);
    less_bv = sgn ? b.CreateICmpSLT(best.re, v.re) : b.CreateICmpULT(best.re, v.re);
  }
  if (op == ReduceOp::ArgMax) return b.CreateAnd(b.CreateNot(nan_best), b.CreateOr(nan_v, less_bv));
  return b.CreateAnd(b.CreateNot(nan_v), b.CreateOr(nan_best, less_vb));
}

}  // namespace kiln::codegen::llvm_backend
