// KernelIR expressions: construction, hashing, value ranges and the index simplifier.
#include "codegen/expr.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "ir/error.h"

namespace kiln::codegen {

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

int64_t sat(__int128 v) {
  if (v > kMax) return kMax;
  if (v < kMin) return kMin;
  return static_cast<int64_t>(v);
}

int64_t floordiv(int64_t a, int64_t k) {
  int64_t q = a / k;
  if ((a % k != 0) && ((a < 0) != (k < 0))) --q;
  return q;
}

int64_t floormod(int64_t a, int64_t k) { return a - floordiv(a, k) * k; }

void dtype_range(DType t, int64_t& lo, int64_t& hi) {
  switch (t) {
    case DType::Bool: lo = 0, hi = 1; return;
    case DType::I8: lo = -128, hi = 127; return;
    case DType::U8: lo = 0, hi = 255; return;
    case DType::I32:
      lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
      return;
    default: lo = kMin, hi = kMax; return;
  }
}

bool is_index_like(DType t) { return t == DType::Bool || is_integer(t); }

// The structural hash of a node, and the variables and stage values it depends on.
void set_hash_and_masks(Expr& e) {
  uint64_t h = mix(static_cast<uint64_t>(e.kind) + 1, static_cast<uint64_t>(e.op));
  h = mix(h, static_cast<uint64_t>(e.dtype));
  h = mix(h, static_cast<uint64_t>(e.slot));
  h = mix(h, static_cast<uint64_t>(e.ival));
  h = mix(h, std::bit_cast<uint64_t>(e.re));
  h = mix(h, std::bit_cast<uint64_t>(e.im));
  for (const ExprPtr& a : e.args) {
    h = mix(h, a->hash);
    e.var_mask |= a->var_mask;
    e.stage_mask |= a->stage_mask;
  }
  e.hash = h;
  if (e.kind == ExprKind::Var) e.var_mask |= 1ull << std::min(e.slot, 63);
  if (e.kind == ExprKind::StageValue) e.stage_mask |= 1ull << std::min(e.slot, 63);
}

// The value range of an i64 index sum, product, min or max from its operands' ranges.
void binary_index_range(Expr& e) {
  __int128 a0 = e.args[0]->lo, a1 = e.args[0]->hi, b0 = e.args[1]->lo, b1 = e.args[1]->hi;
  switch (e.op) {
    case ir::OpKind::Add: e.lo = sat(a0 + b0), e.hi = sat(a1 + b1); break;
    case ir::OpKind::Sub: e.lo = sat(a0 - b1), e.hi = sat(a1 - b0); break;
    case ir::OpKind::Mul: {
      __int128 c[4] = {a0 * b0, a0 * b1, a1 * b0, a1 * b1};
      // Products of saturated bounds are meaningless: keep the full range then.
      bool wide = a0 == kMin || a1 == kMax || b0 == kMin || b1 == kMax;
      if (!wide) e.lo = sat(*std::min_element(c, c + 4)), e.hi = sat(*std::max_element(c, c + 4));
      break;
    }
    case ir::OpKind::Min:
      e.lo = std::min(e.args[0]->lo, e.args[1]->lo), e.hi = std::min(e.args[0]->hi, e.args[1]->hi);
      break;
    case ir::OpKind::Max:
      e.lo = std::max(e.args[0]->lo, e.args[1]->lo), e.hi = std::max(e.args[0]->hi, e.args[1]->hi);
      break;
    default: break;
  }
  // Index sums must not overflow; when they could, the range is unknown.
  if (e.lo == kMin || e.hi == kMax) e.lo = kMin, e.hi = kMax;
}

// The value range of a bool or integer node (its dtype's range for others and where
// nothing tighter is known), from its operands' ranges.
void set_range(Expr& e) {
  dtype_range(e.dtype, e.lo, e.hi);
  if (!is_index_like(e.dtype)) return;
  auto arg_lo = [&](int i) { return e.args[i]->lo; };
  auto arg_hi = [&](int i) { return e.args[i]->hi; };
  switch (e.kind) {
    case ExprKind::Const: e.lo = e.hi = e.ival; break;
    case ExprKind::Var: e.lo = 0, e.hi = std::max<int64_t>(e.ival - 1, 0); break;
    case ExprKind::IndexDiv:
      e.lo = floordiv(arg_lo(0), e.ival), e.hi = floordiv(arg_hi(0), e.ival);
      break;
    case ExprKind::IndexMod:
      if (arg_lo(0) >= 0 && arg_hi(0) < e.ival)
        e.lo = arg_lo(0), e.hi = arg_hi(0);
      else
        e.lo = 0, e.hi = e.ival - 1;
      break;
    case ExprKind::Select:
      e.lo = std::min(arg_lo(1), arg_lo(2)), e.hi = std::max(arg_hi(1), arg_hi(2));
      break;
    case ExprKind::Cast:
      if (is_index_like(e.args[0]->dtype)) {
        int64_t l, h;
        dtype_range(e.dtype, l, h);
        if (e.args[0]->lo >= l && e.args[0]->hi <= h) e.lo = e.args[0]->lo, e.hi = e.args[0]->hi;
      }
      break;
    case ExprKind::Binary:
      if (e.dtype == DType::I64 && is_index_like(e.args[0]->dtype)) binary_index_range(e);
      break;
    default: break;
  }
}

// Fills hash, masks and range of a node whose fields and args are set.
ExprPtr finish(Expr e) {
  set_hash_and_masks(e);
  set_range(e);
  return std::make_shared<const Expr>(std::move(e));
}

Expr make(ExprKind kind, DType dtype, std::vector<ExprPtr> args = {}) {
  Expr e;
  e.kind = kind;
  e.dtype = dtype;
  e.args = std::move(args);
  return e;
}

ExprPtr raw_binary(ir::OpKind op, DType dtype, ExprPtr a, ExprPtr b) {
  Expr e = make(ExprKind::Binary, dtype, {std::move(a), std::move(b)});
  e.op = op;
  return finish(std::move(e));
}

bool less_by_hash(const std::pair<ExprPtr, int64_t>& x, const std::pair<ExprPtr, int64_t>& y) {
  return x.first->hash < y.first->hash;
}

}  // namespace

bool expr_equal(const ExprPtr& a, const ExprPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->hash != b->hash || a->kind != b->kind || a->op != b->op || a->dtype != b->dtype ||
      a->slot != b->slot || a->ival != b->ival ||
      std::bit_cast<uint64_t>(a->re) != std::bit_cast<uint64_t>(b->re) ||
      std::bit_cast<uint64_t>(a->im) != std::bit_cast<uint64_t>(b->im) ||
      a->args.size() != b->args.size())
    return false;
  for (size_t i = 0; i < a->args.size(); ++i)
    if (!expr_equal(a->args[i], b->args[i])) return false;
  return true;
}

// ---- leaves ----

ExprPtr const_int(DType dtype, int64_t value) {
  Expr e = make(ExprKind::Const, dtype);
  e.ival = value;
  return finish(std::move(e));
}

ExprPtr const_float(DType dtype, double value) {
  Expr e = make(ExprKind::Const, dtype);
  e.re = value;
  return finish(std::move(e));
}

ExprPtr const_complex(double re, double im) {
  Expr e = make(ExprKind::Const, DType::C64);
  e.re = re;
  e.im = im;
  return finish(std::move(e));
}

ExprPtr const_bool(bool value) { return const_int(DType::Bool, value ? 1 : 0); }
ExprPtr index_const(int64_t value) { return const_int(DType::I64, value); }

ExprPtr const_of(DType dtype, double value) {
  if (is_complex(dtype)) return const_complex(value, 0);
  if (is_floating(dtype)) return const_float(dtype, value);
  if (dtype == DType::Bool) return const_bool(value != 0);
  // Out-of-range pad values wrap like a C++ conversion through int64.
  int64_t v = std::isfinite(value) && std::abs(value) < 9.2e18 ? static_cast<int64_t>(value) : 0;
  switch (dtype) {
    case DType::I8: v = static_cast<int8_t>(v); break;
    case DType::U8: v = static_cast<uint8_t>(v); break;
    case DType::I32: v = static_cast<int32_t>(v); break;
    default: break;
  }
  return const_int(dtype, v);
}

ExprPtr arg(DType dtype, int slot) {
  Expr e = make(ExprKind::Arg, dtype);
  e.slot = slot;
  return finish(std::move(e));
}

ExprPtr var(int id, int64_t extent) {
  Expr e = make(ExprKind::Var, DType::I64);
  e.slot = id;
  e.ival = extent;
  return finish(std::move(e));
}

ExprPtr load(DType dtype, int buffer, ExprPtr index) {
  Expr e = make(ExprKind::Load, dtype, {std::move(index)});
  e.slot = buffer;
  return finish(std::move(e));
}

ExprPtr stage_value(DType dtype, int stage) {
  Expr e = make(ExprKind::StageValue, dtype);
  e.slot = stage;
  return finish(std::move(e));
}

// ---- values ----

ExprPtr unary(ir::OpKind op, DType result, ExprPtr a) {
  Expr e = make(ExprKind::Unary, result, {std::move(a)});
  e.op = op;
  return finish(std::move(e));
}

ExprPtr binary(ir::OpKind op, DType result, ExprPtr a, ExprPtr b) {
  return raw_binary(op, result, std::move(a), std::move(b));
}

ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b) {
  if (cond->is_const()) return cond->ival ? a : b;
  if (expr_equal(a, b)) return a;
  DType t = a->dtype;
  return finish(make(ExprKind::Select, t, {std::move(cond), std::move(a), std::move(b)}));
}

ExprPtr cast(DType to, ExprPtr a) {
  if (a->dtype == to) return a;
  return finish(make(ExprKind::Cast, to, {std::move(a)}));
}

ExprPtr random_uniform(DType dtype, ExprPtr counter, ExprPtr key) {
  return finish(make(ExprKind::Random, dtype, {std::move(counter), std::move(key)}));
}

ExprPtr random_key(ExprPtr key, uint64_t counter) {
  Expr e = make(ExprKind::RandomKey, DType::I64, {std::move(key)});
  e.ival = static_cast<int64_t>(counter);
  return finish(std::move(e));
}

// ---- index arithmetic ----

Linear linearize(const ExprPtr& e) {
  Linear l;
  std::function<void(const ExprPtr&, int64_t)> walk = [&](const ExprPtr& x, int64_t k) {
    if (x->kind == ExprKind::Const) {
      l.constant += k * x->ival;
      return;
    }
    if (x->kind == ExprKind::Binary && x->dtype == DType::I64) {
      if (x->op == ir::OpKind::Add) {
        walk(x->args[0], k);
        walk(x->args[1], k);
        return;
      }
      if (x->op == ir::OpKind::Sub) {
        walk(x->args[0], k);
        walk(x->args[1], -k);
        return;
      }
      if (x->op == ir::OpKind::Mul && x->args[1]->is_const()) {
        walk(x->args[0], k * x->args[1]->ival);
        return;
      }
    }
    l.terms.emplace_back(x, k);
  };
  walk(e, 1);
  return l;
}

namespace {

// Merges equal atoms and drops zero terms; sorts by hash.
void combine(Linear& l) {
  std::sort(l.terms.begin(), l.terms.end(), less_by_hash);
  std::vector<std::pair<ExprPtr, int64_t>> out;
  for (auto& t : l.terms) {
    bool merged = false;
    for (auto& o : out)
      if (o.first->hash == t.first->hash && expr_equal(o.first, t.first)) {
        o.second += t.second;
        merged = true;
        break;
      }
    if (!merged) out.push_back(t);
  }
  std::erase_if(out, [](const auto& t) { return t.second == 0; });
  l.terms = std::move(out);
}

// x = s*floor(x/s) + mod(x,s) and mod(x, s*n) = s*mod(floor(x/s), n) + mod(x, s): finds
// one such pair in the terms and rewrites it; returns whether it did.
bool recombine_once(Linear& l) {
  for (size_t i = 0; i < l.terms.size(); ++i) {
    const auto& [m, c] = l.terms[i];
    if (m->kind != ExprKind::IndexMod) continue;
    const ExprPtr& x = m->args[0];
    int64_t s = m->ival;
    for (size_t j = 0; j < l.terms.size(); ++j) {
      if (j == i) continue;
      const auto& [d, cd] = l.terms[j];
      if (cd != c * s) continue;
      if (d->kind == ExprKind::IndexDiv && d->ival == s && expr_equal(d->args[0], x)) {
        Linear inner = linearize(x);
        int64_t coef = c;
        std::vector<std::pair<ExprPtr, int64_t>> rest;
        for (size_t k = 0; k < l.terms.size(); ++k)
          if (k != i && k != j) rest.push_back(l.terms[k]);
        for (auto& t : inner.terms) rest.emplace_back(t.first, t.second * coef);
        l.constant += inner.constant * coef;
        l.terms = std::move(rest);
        return true;
      }
      if (d->kind == ExprKind::IndexMod && d->args[0]->kind == ExprKind::IndexDiv &&
          d->args[0]->ival == s && expr_equal(d->args[0]->args[0], x)) {
        int64_t n = d->ival;
        ExprPtr merged = imod(x, s * n);
        std::vector<std::pair<ExprPtr, int64_t>> rest;
        for (size_t k = 0; k < l.terms.size(); ++k)
          if (k != i && k != j) rest.push_back(l.terms[k]);
        Linear ml = linearize(merged);
        for (auto& t : ml.terms) rest.emplace_back(t.first, t.second * c);
        l.constant += ml.constant * c;
        l.terms = std::move(rest);
        return true;
      }
    }
  }
  return false;
}

}  // namespace

ExprPtr from_linear(Linear l) {
  combine(l);
  while (recombine_once(l)) combine(l);
  ExprPtr acc;
  for (auto& [atom, coef] : l.terms) {
    ExprPtr term =
        coef == 1 ? atom : raw_binary(ir::OpKind::Mul, DType::I64, atom, index_const(coef));
    acc = acc ? raw_binary(ir::OpKind::Add, DType::I64, acc, term) : term;
  }
  if (!acc) return index_const(l.constant);
  if (l.constant != 0) acc = raw_binary(ir::OpKind::Add, DType::I64, acc, index_const(l.constant));
  return acc;
}

ExprPtr iadd(ExprPtr a, ExprPtr b) {
  if (a->is_const() && b->is_const()) return index_const(a->ival + b->ival);
  Linear la = linearize(a), lb = linearize(b);
  la.constant += lb.constant;
  la.terms.insert(la.terms.end(), lb.terms.begin(), lb.terms.end());
  return from_linear(std::move(la));
}

ExprPtr iadd(ExprPtr a, int64_t b) { return iadd(std::move(a), index_const(b)); }

ExprPtr isub(ExprPtr a, ExprPtr b) { return iadd(std::move(a), imul(std::move(b), -1)); }

ExprPtr imul(ExprPtr a, int64_t k) {
  if (k == 0) return index_const(0);
  if (k == 1) return a;
  Linear l = linearize(a);
  l.constant *= k;
  for (auto& t : l.terms) t.second *= k;
  return from_linear(std::move(l));
}

namespace {

// The largest g > 1 dividing k and every coefficient of `l`'s terms (1 when none does):
// a multiple of g plus the constant, as the indices of vector lanes are.
int64_t common_factor(const Linear& l, int64_t k) {
  if (l.terms.empty()) return 1;
  int64_t g = k;
  for (const auto& t : l.terms) g = std::gcd(g, t.second);
  return g < 0 ? -g : g;
}

// (l - (l.constant mod g)) / g, for g dividing every coefficient of l.
ExprPtr divided(Linear l, int64_t g) {
  l.constant = floordiv(l.constant, g);
  for (auto& t : l.terms) t.second /= g;
  return from_linear(std::move(l));
}

// l as d y + s with d > 1 dividing k and 0 <= s < d: y from the terms whose coefficients d
// divides, s from the others and the constant's remainder. A flat index split into rows
// and columns and merged again, (768 m + 192 b + c) / (768 * 8192) with b < 4 and c < 192,
// is m / 8192: floor((d y + s) / k) = floor(y / (k / d)) and
// (d y + s) mod k = d (y mod (k / d)) + s. The largest such d, or d = 0 when there is none.
struct Split {
  int64_t d = 0;
  ExprPtr y, s;
};
Split split_below(const Linear& l, int64_t k) {
  Split best;
  for (const auto& term : l.terms) {
    const int64_t d = std::gcd(term.second, k);
    if (d <= best.d || d <= 1 || d >= k) continue;
    Linear y, s;
    y.constant = floordiv(l.constant, d);
    s.constant = floormod(l.constant, d);
    for (const auto& t : l.terms)
      (t.second % d == 0 ? y : s)
          .terms.emplace_back(t.first, t.second % d == 0 ? t.second / d : t.second);
    ExprPtr small = from_linear(std::move(s));
    if (small->lo >= 0 && small->hi < d) best = {d, from_linear(std::move(y)), small};
  }
  return best;
}

}  // namespace

ExprPtr idiv(ExprPtr a, int64_t k) {
  if (k <= 0) throw CompileError("KernelIR: index division by a non-positive constant");
  if (k == 1) return a;
  if (a->is_const()) return index_const(floordiv(a->ival, k));
  Linear l = linearize(a);
  Linear q, r;
  q.constant = floordiv(l.constant, k);
  r.constant = l.constant - q.constant * k;
  for (auto& t : l.terms) {
    if (t.second % k == 0)
      q.terms.emplace_back(t.first, t.second / k);
    else
      r.terms.push_back(t);
  }
  const int64_t g = common_factor(r, k);
  ExprPtr rest = from_linear(r);
  ExprPtr inner;
  if (floordiv(rest->lo, k) == floordiv(rest->hi, k) && rest->lo != kMin && rest->hi != kMax) {
    inner = index_const(floordiv(rest->lo, k));
  } else if (rest->kind == ExprKind::IndexDiv) {
    // floor(floor(x / a) / k) = floor(x / (a k)) for positive a, k.
    inner = idiv(rest->args[0], rest->ival * k);
  } else if (g > 1) {
    // rest = g y + c with 0 <= c < g and g | k: floor(rest / k) = floor(y / (k / g)).
    inner = idiv(divided(r, g), k / g);
  } else if (Split sp = split_below(r, k); sp.d > 0) {
    inner = idiv(sp.y, k / sp.d);
  } else {
    Expr e = make(ExprKind::IndexDiv, DType::I64, {rest});
    e.ival = k;
    inner = finish(std::move(e));
  }
  return iadd(from_linear(std::move(q)), inner);
}

ExprPtr imod(ExprPtr a, int64_t k) {
  if (k <= 0) throw CompileError("KernelIR: index modulo by a non-positive constant");
  if (k == 1) return index_const(0);
  if (a->is_const()) return index_const(floormod(a->ival, k));
  Linear l = linearize(a);
  Linear r;
  r.constant = floormod(l.constant, k);
  for (auto& t : l.terms) {
    int64_t c = floormod(t.second, k);
    if (c != 0) r.terms.emplace_back(t.first, c);
  }
  const int64_t g = common_factor(r, k);
  ExprPtr rest = from_linear(r);
  if (rest->lo >= 0 && rest->hi < k) return rest;
  if (rest->kind == ExprKind::IndexMod && rest->ival % k == 0) return imod(rest->args[0], k);
  // rest = g y + c with 0 <= c < g and g | k: rest mod k = g (y mod (k / g)) + c.
  if (g > 1) return iadd(imul(imod(divided(r, g), k / g), g), floormod(r.constant, g));
  if (Split sp = split_below(r, k); sp.d > 0) return iadd(imul(imod(sp.y, k / sp.d), sp.d), sp.s);
  Expr e = make(ExprKind::IndexMod, DType::I64, {rest});
  e.ival = k;
  return finish(std::move(e));
}

ExprPtr imin(ExprPtr a, ExprPtr b) {
  if (a->hi <= b->lo) return a;
  if (b->hi <= a->lo) return b;
  return raw_binary(ir::OpKind::Min, DType::I64, std::move(a), std::move(b));
}

ExprPtr imax(ExprPtr a, ExprPtr b) {
  if (a->lo >= b->hi) return a;
  if (b->lo >= a->hi) return b;
  return raw_binary(ir::OpKind::Max, DType::I64, std::move(a), std::move(b));
}

ExprPtr iclamp(ExprPtr a, int64_t lo, int64_t hi) {
  return imin(imax(std::move(a), index_const(lo)), index_const(hi));
}

ExprPtr ilt(ExprPtr a, ExprPtr b) {
  if (a->hi < b->lo) return const_bool(true);
  if (a->lo >= b->hi) return const_bool(false);
  return raw_binary(ir::OpKind::Lt, DType::Bool, std::move(a), std::move(b));
}

ExprPtr ige(ExprPtr a, ExprPtr b) {
  if (a->lo >= b->hi) return const_bool(true);
  if (a->hi < b->lo) return const_bool(false);
  return raw_binary(ir::OpKind::Ge, DType::Bool, std::move(a), std::move(b));
}

ExprPtr land(ExprPtr a, ExprPtr b) {
  if (!a) return b;
  if (!b) return a;
  if (a->is_const()) return a->ival ? b : a;
  if (b->is_const()) return b->ival ? a : b;
  return raw_binary(ir::OpKind::And, DType::Bool, std::move(a), std::move(b));
}

ExprPtr linear_index(const std::vector<ExprPtr>& idx, const std::vector<int64_t>& shape) {
  ExprPtr flat = index_const(0);
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    flat = iadd(flat, imul(idx[d], stride));
    stride *= shape[d];
  }
  return flat;
}

std::vector<ExprPtr> delinearize(ExprPtr flat, const std::vector<int64_t>& shape) {
  std::vector<ExprPtr> out(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    out[d] = shape[d] <= 1 ? index_const(0) : imod(idiv(flat, stride), shape[d]);
    stride *= std::max<int64_t>(shape[d], 1);
  }
  return out;
}

Stride stride_along(const ExprPtr& index, int v) {
  if (!index->depends_on_var(v)) return {true, 0};
  Linear l = linearize(index);
  Stride s{true, 0};
  for (auto& [atom, coef] : l.terms) {
    if (!atom->depends_on_var(v)) continue;
    if (atom->kind == ExprKind::Var && atom->slot == v)
      s.stride += coef;
    else
      return {false, 0};
  }
  return s;
}

int count_div_mod(const ExprPtr& e) {
  std::unordered_set<const Expr*> seen;
  int n = 0;
  std::function<void(const Expr*)> walk = [&](const Expr* x) {
    if (!seen.insert(x).second) return;
    if (x->kind == ExprKind::IndexDiv || x->kind == ExprKind::IndexMod) ++n;
    for (const ExprPtr& a : x->args) walk(a.get());
  };
  walk(e.get());
  return n;
}

ExprPtr with_args(const ExprPtr& x, std::vector<ExprPtr> args) {
  switch (x->kind) {
    case ExprKind::IndexDiv: return idiv(args[0], x->ival);
    case ExprKind::IndexMod: return imod(args[0], x->ival);
    case ExprKind::Select: return select(args[0], args[1], args[2]);
    case ExprKind::Binary:
      if (x->dtype == DType::I64 && x->op == ir::OpKind::Add) return iadd(args[0], args[1]);
      if (x->dtype == DType::I64 && x->op == ir::OpKind::Sub) return isub(args[0], args[1]);
      if (x->dtype == DType::I64 && x->op == ir::OpKind::Mul && args[1]->is_const())
        return imul(args[0], args[1]->ival);
      if (x->dtype == DType::I64 && x->op == ir::OpKind::Min) return imin(args[0], args[1]);
      if (x->dtype == DType::I64 && x->op == ir::OpKind::Max) return imax(args[0], args[1]);
      if (x->dtype == DType::Bool && x->op == ir::OpKind::Lt && args[0]->dtype == DType::I64)
        return ilt(args[0], args[1]);
      if (x->dtype == DType::Bool && x->op == ir::OpKind::Ge && args[0]->dtype == DType::I64)
        return ige(args[0], args[1]);
      if (x->dtype == DType::Bool && x->op == ir::OpKind::And) return land(args[0], args[1]);
      break;
    default: break;
  }
  Expr c = *x;
  c.args = std::move(args);
  c.var_mask = c.stage_mask = 0;
  return finish(std::move(c));
}

ExprPtr substitute(const ExprPtr& e, const std::vector<ExprPtr>& subst) {
  std::unordered_map<const Expr*, ExprPtr> memo;
  uint64_t mask = 0;
  for (size_t v = 0; v < subst.size(); ++v)
    if (subst[v]) mask |= 1ull << std::min<size_t>(v, 63);
  std::function<ExprPtr(const ExprPtr&)> go = [&](const ExprPtr& x) -> ExprPtr {
    if (!(x->var_mask & mask)) return x;
    auto it = memo.find(x.get());
    if (it != memo.end()) return it->second;
    ExprPtr r;
    if (x->kind == ExprKind::Var) {
      r = x->slot < static_cast<int>(subst.size()) && subst[x->slot] ? subst[x->slot] : x;
    } else {
      std::vector<ExprPtr> args;
      for (const ExprPtr& a : x->args) args.push_back(go(a));
      r = with_args(x, std::move(args));
    }
    memo.emplace(x.get(), r);
    return r;
  };
  return go(e);
}

ExprPtr replace_subexpr(const ExprPtr& e, const ExprPtr& from, const ExprPtr& to) {
  std::unordered_map<const Expr*, ExprPtr> memo;
  std::function<ExprPtr(const ExprPtr&)> go = [&](const ExprPtr& x) -> ExprPtr {
    if (x->hash == from->hash && expr_equal(x, from)) return to;
    if (x->args.empty()) return x;
    auto it = memo.find(x.get());
    if (it != memo.end()) return it->second;
    std::vector<ExprPtr> args;
    bool changed = false;
    for (const ExprPtr& a : x->args) {
      args.push_back(go(a));
      changed |= args.back() != a;
    }
    ExprPtr r = changed ? with_args(x, std::move(args)) : x;
    memo.emplace(x.get(), r);
    return r;
  };
  return go(e);
}

}  // namespace kiln::codegen
