// Inline f32 transcendentals (see math.h for the accuracy of each).
#include "codegen/llvm/math.h"

#include <llvm/IR/Intrinsics.h>

#include <initializer_list>

#include "codegen/llvm/builtins.h"
#include "ir/op.h"

namespace kiln::codegen::llvm_backend {

namespace {

using llvm::Value;

struct F {
  EmitContext& c;
  int w;

  Value* k(double v) { return c.f32(v, w); }
  Value* ki(int64_t v) { return c.i32(v, w); }
  llvm::Type* fty() { return c.type(DType::F32, w); }
  llvm::Type* ity() { return EmitContext::vec(c.b.getInt32Ty(), w); }
  Value* fma(Value* a, Value* b, Value* d) {
    return c.intrinsic(llvm::Intrinsic::fmuladd, {fty()}, {a, b, d});
  }
  Value* mul(Value* a, Value* b) { return c.b.CreateFMul(a, b); }
  Value* add(Value* a, Value* b) { return c.b.CreateFAdd(a, b); }
  Value* sub(Value* a, Value* b) { return c.b.CreateFSub(a, b); }
  Value* div(Value* a, Value* b) { return c.b.CreateFDiv(a, b); }
  Value* sel(Value* cond, Value* a, Value* b) { return c.b.CreateSelect(cond, a, b); }
  Value* fabs(Value* a) { return c.intrinsic(llvm::Intrinsic::fabs, {fty()}, {a}); }
  Value* rint(Value* a) { return c.intrinsic(llvm::Intrinsic::rint, {fty()}, {a}); }
  Value* copysign(Value* a, Value* s) {
    return c.intrinsic(llvm::Intrinsic::copysign, {fty()}, {a, s});
  }
  Value* isnan(Value* a) { return c.b.CreateFCmpUNO(a, a); }
  Value* bits(Value* a) { return c.b.CreateBitCast(a, ity()); }
  Value* from_bits(Value* a) { return c.b.CreateBitCast(a, fty()); }
  Value* to_int(Value* a) { return c.b.CreateFPToSI(a, ity()); }
  Value* to_float(Value* a) { return c.b.CreateSIToFP(a, fty()); }

  // c0 + x (c1 + x (c2 + ...)): coefficients from the highest degree down, Horner with fma.
  Value* poly(Value* x, std::initializer_list<double> high_to_low) {
    auto it = high_to_low.begin();
    Value* acc = k(*it++);
    for (; it != high_to_low.end(); ++it) acc = fma(acc, x, k(*it));
    return acc;
  }

  // 2^n for integer n in [-126, 127] (as float bits).
  Value* pow2i(Value* n) { return from_bits(c.b.CreateShl(c.b.CreateAdd(n, ki(127)), ki(23))); }
};

F f_of(EmitContext& c, Value* x) { return F{c, c.width_of(x)}; }

// e^r for |r| <= ln2/2: Taylor to degree 7 (truncation error below 6e-9).
Value* exp_reduced(F& f, Value* r) {
  return f.poly(r, {1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0});
}

constexpr double kLn2Hi = 0.693115234375;  // 12 significant bits: n * kLn2Hi is exact
constexpr double kLn2Lo = 3.194618329871446e-05;
constexpr double kLog2e = 1.4426950408889634;

// p * 2^n for integer-valued float n in [-152, 130], in two exact steps so that results
// in the subnormal range and at the overflow edge come out right.
Value* scale(F& f, Value* p, Value* n) {
  Value* ni = f.to_int(n);
  Value* n1 = f.c.b.CreateAShr(ni, f.ki(1));
  Value* n2 = f.c.b.CreateSub(ni, n1);
  return f.mul(f.mul(p, f.pow2i(n1)), f.pow2i(n2));
}

// The argument reduction of sin and cos: x = n pi/2 + r, |r| <= pi/4, with a three-part
// pi/2 whose first two parts have 12 significant bits (n * part exact for |n| <= 4096).
struct Quadrant {
  Value* r;
  Value* q;  // n mod 4, as i32
};

Quadrant reduce_pio2(F& f, Value* x) {
  Value* n = f.rint(f.mul(x, f.k(0.6366197723675814)));
  Value* r = f.fma(n, f.k(-1.5703125), x);
  r = f.fma(n, f.k(-0.0004837512969970703), r);
  r = f.fma(n, f.k(-7.549790126404332e-08), r);
  Value* q = f.c.b.CreateAnd(f.to_int(n), f.ki(3));
  return {r, q};
}

Value* sin_poly(F& f, Value* r) {
  Value* r2 = f.mul(r, r);
  Value* p = f.poly(r2, {1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6});
  return f.fma(f.mul(r, r2), p, r);
}

Value* cos_poly(F& f, Value* r) {
  Value* r2 = f.mul(r, r);
  return f.poly(r2, {-1.0 / 3628800, 1.0 / 40320, -1.0 / 720, 1.0 / 24, -0.5, 1.0});
}

// fast(x) where every lane satisfies |x| <= limit, else libm for the whole vector (rare:
// such inputs are far outside what models feed to sin and cos).
template <class Fast>
Value* with_libm_fallback(F& f, Value* x, double limit, ir::OpKind op, Fast fast) {
  auto& b = f.c.b;
  Value* big = b.CreateFCmpOGT(f.fabs(x), f.k(limit));
  Value* any =
      f.w > 1 ? f.c.intrinsic(llvm::Intrinsic::vector_reduce_or, {big->getType()}, {big}) : big;
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  auto* fast_bb = llvm::BasicBlock::Create(f.c.ctx, "math.fast", fn);
  auto* slow_bb = llvm::BasicBlock::Create(f.c.ctx, "math.libm", fn);
  auto* join = llvm::BasicBlock::Create(f.c.ctx, "math.join", fn);
  b.CreateCondBr(any, slow_bb, fast_bb);
  b.SetInsertPoint(fast_bb);
  Value* v_fast = fast();
  llvm::BasicBlock* fast_end = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(slow_bb);
  auto callee = f.c.function("kiln_f32_unary", b.getFloatTy(), {b.getInt32Ty(), b.getFloatTy()});
  Value* v_slow = f.c.call_lanes(callee, {b.getInt32(static_cast<int>(op)), x});
  llvm::BasicBlock* slow_end = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(x->getType(), 2);
  phi->addIncoming(v_fast, fast_end);
  phi->addIncoming(v_slow, slow_end);
  return phi;
}

constexpr double kTrigLimit = 6000;

}  // namespace

Value* emit_exp_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  // Clamp so that n stays in range; the clamped ends still overflow / underflow.
  Value* xc = f.sel(c.b.CreateFCmpOLT(x, f.k(-104.0)), f.k(-104.0), x);
  xc = f.sel(c.b.CreateFCmpOGT(xc, f.k(89.0)), f.k(89.0), xc);
  Value* n = f.rint(f.mul(xc, f.k(kLog2e)));
  Value* r = f.fma(n, f.k(-kLn2Hi), xc);
  r = f.fma(n, f.k(-kLn2Lo), r);
  Value* y = scale(f, exp_reduced(f, r), n);
  return f.sel(f.isnan(x), x, y);
}

Value* emit_exp2_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  Value* xc = f.sel(c.b.CreateFCmpOLT(x, f.k(-151.0)), f.k(-151.0), x);
  xc = f.sel(c.b.CreateFCmpOGT(xc, f.k(129.0)), f.k(129.0), xc);
  Value* n = f.rint(xc);
  Value* r = f.mul(f.sub(xc, n), f.k(0.6931471805599453));
  Value* y = scale(f, exp_reduced(f, r), n);
  return f.sel(f.isnan(x), x, y);
}

Value* emit_expm1_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  // |x| < 0.5: Taylor to degree 9 (truncation below 3e-10 relative); else exp(x) - 1.
  Value* p = f.poly(
      x, {1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5});
  Value* small = f.fma(f.mul(x, x), p, x);
  Value* big = f.sub(emit_exp_f32(c, x), f.k(1.0));
  return f.sel(c.b.CreateFCmpOLT(f.fabs(x), f.k(0.5)), small, big);
}

namespace {

// log(1 + g) for g in [sqrt(1/2) - 1, sqrt(2) - 1]: with s = g / (2 + g) and z = s^2,
// log(1 + g) = 2 atanh(s) = g - (h - s (h + R)), h = g^2 / 2, R = z (2/3 + 2/5 z + ...)
// (the series to s^11, truncation below 1e-10 relative). Written so that g enters exactly
// and the correction is small: under 1 ulp.
Value* log1p_reduced(F& f, Value* g) {
  Value* s = f.div(g, f.add(f.k(2.0), g));
  Value* z = f.mul(s, s);
  Value* r = f.mul(z, f.poly(z, {2.0 / 11, 2.0 / 9, 2.0 / 7, 2.0 / 5, 2.0 / 3}));
  Value* h = f.mul(f.mul(g, g), f.k(0.5));
  return f.sub(g, f.sub(h, f.mul(s, f.add(h, r))));
}

struct Split {
  Value* e;  // exponent as float
  Value* g;  // mantissa - 1, mantissa in [sqrt(1/2), sqrt(2))
};

Split split_log(F& f, Value* x) {
  auto& b = f.c.b;
  // Subnormals: scale into the normal range first.
  Value* sub = b.CreateFCmpOLT(x, f.k(1.1754943508222875e-38));
  Value* xs = f.sel(sub, f.mul(x, f.k(8388608.0)), x);
  Value* bias = f.sel(sub, f.ki(127 + 23), f.ki(127));
  Value* bits = f.bits(xs);
  // Mantissa bits with the exponent of [sqrt(1/2), sqrt(2)): offset by 0x3f3504f3.
  Value* shifted = b.CreateSub(bits, f.ki(0x3f3504f3));
  Value* e = b.CreateSub(b.CreateAShr(shifted, f.ki(23)), b.CreateSub(bias, f.ki(127)));
  Value* mbits = b.CreateAdd(b.CreateAnd(shifted, f.ki(0x007fffff)), f.ki(0x3f3504f3));
  Value* m = f.from_bits(mbits);
  return {f.to_float(e), f.sub(m, f.k(1.0))};
}

// Special inputs of log-like functions: NaN and negatives give NaN, 0 gives -inf, +inf
// stays.
Value* log_specials(F& f, Value* x, Value* y) {
  auto& b = f.c.b;
  y = f.sel(b.CreateFCmpOEQ(x, f.k(0.0)), f.k(-INFINITY), y);
  y = f.sel(b.CreateFCmpOEQ(x, f.k(INFINITY)), x, y);
  y = f.sel(b.CreateFCmpOLT(x, f.k(0.0)), f.k(NAN), y);
  return f.sel(f.isnan(x), x, y);
}

}  // namespace

Value* emit_log_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  Split s = split_log(f, x);
  Value* l = log1p_reduced(f, s.g);
  Value* y = f.fma(s.e, f.k(kLn2Hi), f.fma(s.e, f.k(kLn2Lo), l));
  return log_specials(f, x, y);
}

Value* emit_log2_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  Split s = split_log(f, x);
  // log2(e) in two parts, so that l log2(e) adds no rounding of its own.
  Value* l = log1p_reduced(f, s.g);
  Value* y = f.fma(l, f.k(1.4426950216293335), f.fma(l, f.k(1.9259629911783016e-08), s.e));
  return log_specials(f, x, y);
}

Value* emit_log1p_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  auto& b = c.b;
  // Near 0, x is already the reduced argument; elsewhere log(u) * x / (u - 1) with
  // u = 1 + x corrects the rounding of u.
  Value* u = f.add(f.k(1.0), x);
  Value* lu = emit_log_f32(c, u);
  Value* y = f.mul(lu, f.div(x, f.sub(u, f.k(1.0))));
  y = f.sel(b.CreateFCmpOEQ(u, f.k(1.0)), x, y);
  Value* near0 =
      b.CreateAnd(b.CreateFCmpOGE(x, f.k(-0.2928932)), b.CreateFCmpOLE(x, f.k(0.4142135)));
  y = f.sel(near0, log1p_reduced(f, x), y);
  y = f.sel(b.CreateFCmpOEQ(u, f.k(INFINITY)), u, y);
  y = f.sel(b.CreateFCmpOEQ(x, f.k(-1.0)), f.k(-INFINITY), y);
  y = f.sel(b.CreateFCmpOLT(x, f.k(-1.0)), f.k(NAN), y);
  return f.sel(f.isnan(x), x, y);
}

Value* emit_sin_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  return with_libm_fallback(f, x, kTrigLimit, ir::OpKind::Sin, [&] {
    Quadrant q = reduce_pio2(f, x);
    Value* s = sin_poly(f, q.r);
    Value* co = cos_poly(f, q.r);
    auto& b = c.b;
    // q: 0 -> s, 1 -> c, 2 -> -s, 3 -> -c
    Value* odd = b.CreateICmpNE(b.CreateAnd(q.q, f.ki(1)), f.ki(0));
    Value* neg = b.CreateICmpNE(b.CreateAnd(q.q, f.ki(2)), f.ki(0));
    Value* v = f.sel(odd, co, s);
    return f.sel(neg, c.b.CreateFNeg(v), v);
  });
}

Value* emit_cos_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  return with_libm_fallback(f, x, kTrigLimit, ir::OpKind::Cos, [&] {
    Quadrant q = reduce_pio2(f, x);
    Value* s = sin_poly(f, q.r);
    Value* co = cos_poly(f, q.r);
    auto& b = c.b;
    // q: 0 -> c, 1 -> -s, 2 -> -c, 3 -> s
    Value* odd = b.CreateICmpNE(b.CreateAnd(q.q, f.ki(1)), f.ki(0));
    Value* neg = b.CreateICmpNE(b.CreateAnd(b.CreateAdd(q.q, f.ki(1)), f.ki(2)), f.ki(0));
    Value* v = f.sel(odd, s, co);
    return f.sel(neg, c.b.CreateFNeg(v), v);
  });
}

Value* emit_tan_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  return with_libm_fallback(f, x, kTrigLimit, ir::OpKind::Tan, [&] {
    Quadrant q = reduce_pio2(f, x);
    Value* s = sin_poly(f, q.r);
    Value* co = cos_poly(f, q.r);
    Value* odd = c.b.CreateICmpNE(c.b.CreateAnd(q.q, f.ki(1)), f.ki(0));
    // Odd quadrants: tan(r + pi/2) = -cos(r) / sin(r).
    return f.sel(odd, c.b.CreateFNeg(f.div(co, s)), f.div(s, co));
  });
}

Value* emit_tanh_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  // tanh|x| = -e / (2 + e) with e = expm1(-2|x|) in [-1, 0]: no overflow, and accurate
  // near 0 because expm1 is.
  Value* e = emit_expm1_f32(c, f.mul(f.fabs(x), f.k(-2.0)));
  Value* t = f.div(c.b.CreateFNeg(e), f.add(f.k(2.0), e));
  Value* y = f.copysign(t, x);
  return f.sel(f.isnan(x), x, y);
}

Value* emit_sigmoid_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  return f.div(f.k(1.0), f.add(f.k(1.0), emit_exp_f32(c, c.b.CreateFNeg(x))));
}

Value* emit_erf_f32(EmitContext& c, Value* x) {
  F f = f_of(c, x);
  Value* ax = f.fabs(x);
  // |x| < 0.875: x p(x^2), p a degree-6 Chebyshev fit of erf(sqrt z) / sqrt z.
  Value* z = f.mul(ax, ax);
  Value* small =
      f.mul(ax, f.poly(z, {8.690368907390262e-05, -0.0008214570887454587, 0.0052070489106000265,
                           -0.026861705831181606, 0.11283735210155595, -0.3761263621367055,
                           1.1283791668855805}));
  // 0.875 <= |x| < 3.95: 1 - exp(-x^2) q(|x|), q a degree-12 fit of erfc(x) exp(x^2).
  Value* q = f.poly(
      ax, {1.4078856768484773e-07, -4.6507241693468855e-06, 7.055493597999314e-05,
           -0.0006528830596334002, 0.004130850063566751, -0.019006758122686665, 0.06613553020866457,
           -0.17901490960792313, 0.3855703259492591, -0.6730465150912683, 0.9622592690578741,
           -1.1173906306903298, 0.9985332506767018});
  Value* mid = f.sub(f.k(1.0), f.mul(emit_exp_f32(c, c.b.CreateFNeg(z)), q));
  Value* y = f.sel(c.b.CreateFCmpOLT(ax, f.k(0.875)), small, mid);
  y = f.sel(c.b.CreateFCmpOGE(ax, f.k(3.95)), f.k(1.0), y);
  y = f.copysign(y, x);
  return f.sel(f.isnan(x), x, y);
}

}  // namespace kiln::codegen::llvm_backend
