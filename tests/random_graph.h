// The one random-graph generator of the tests: seeded graphs of elementwise ops, views,
// reductions and their broadcast back, casts, comparisons, selects and constants, built by
// trying random moves and keeping those the IR verifier accepts. The devices run them
// against the reference evaluator (tests/runtime/random_graph_differential_test.cpp); the
// passes check that they keep the values bit for bit (tests/passes/random_graph_test.cpp).
// A profile chooses what is drawn:
//
//   for_devices(): parameters of every dtype and random shapes (rank 0 to 4, dimensions
//     0 to 6, mostly one shape, others broadcast to it), every op of the op table that
//     the verifier accepts on the operands drawn (ir::all_ops(), by category: unary,
//     binary, select, casts, reductions, scans, every movement op but
//     optimization_barrier (an identity, which the differential suite covers), gather and
//     scatter_add, matmul, iota and random_uniform). So that a device's rounding stays
//     within a tolerance, ops whose result jumps with a rounding difference (floor,
//     comparisons, argmax, casts to integers, division...) take only float values computed
//     exactly (parameters and what moves, selects or rounds them; GraphNoise below);
//   for_passes(): parameters of f32, i32 and bool of one shape, constants 0, -0, 1, -1, 2,
//     0.5 (dense or broadcast from a scalar) that the rewrites look for, repeated
//     subexpressions, chains of views that cancel or compose, chains of casts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/error.h"
#include "ir/op.h"
#include "tests/differential.h"

namespace kiln::testing {

// The rounding a value of a graph carries: none for a value every device computes exactly
// as the reference does (parameters, constants, iota, and what moves, selects, compares or
// rounds exact values), else the least precise dtype a rounding went through. A result is
// compared with the accumulated tolerance of that dtype, and the generator gives a noisy
// value only to ops whose result moves about as little as their operands (continuous()).
class GraphNoise {
 public:
  static bool continuous(OpKind op, DType t) {
    if (!is_inexact(t)) return true;
    switch (ir::op_category(op)) {
      case ir::OpCategory::Movement:
      case ir::OpCategory::Contraction:
      case ir::OpCategory::Ternary: return true;
      case ir::OpCategory::Scan: return true;
      default: break;
    }
    switch (op) {
      case OpKind::Neg:
      case OpKind::Abs:
      case OpKind::Tanh:
      case OpKind::Sigmoid:
      case OpKind::Erf:
      case OpKind::Real:
      case OpKind::Imag:
      case OpKind::Conj:
      case OpKind::Add:
      case OpKind::Sub:
      case OpKind::Mul:
      case OpKind::Max:
      case OpKind::Min:
      case OpKind::Complex:
      case OpKind::ReduceSum:
      case OpKind::ReduceProd:
      case OpKind::ReduceMax:
      case OpKind::ReduceMin:
      case OpKind::Gather:
      case OpKind::ScatterAdd: return true;
      default: return false;
    }
  }

  std::optional<DType> of(const NodePtr& n) {
    if (auto it = memo_.find(n.get()); it != memo_.end()) return it->second;
    std::optional<DType> noise;
    for (const NodePtr& o : n->operands) noise = coarsest(noise, of(o));
    if (!keeps_exact(*n)) noise = coarsest(noise, n->type.dtype);
    memo_[n.get()] = noise;
    return noise;
  }

  // The bound of comparing result `n` with the reference's.
  Tolerance tolerance(const NodePtr& n) {
    const DType t = n->type.dtype;
    std::optional<DType> noise = of(n);
    if (!noise || !is_inexact(t)) return tolerance_for(t);
    return accumulated_tolerance(*coarsest(noise, t), 32);
  }

 private:
  // Whether `n` computes exact values from exact operands.
  static bool keeps_exact(const ir::Node& n) {
    const DType t = n.type.dtype;
    if (!is_inexact(t)) return true;
    switch (n.info().category) {
      case ir::OpCategory::Source: return n.op != OpKind::RandomUniform;
      case ir::OpCategory::Movement:
      case ir::OpCategory::Ternary: return true;
      case ir::OpCategory::Cast: {
        // From i32 or i64: values up to 2^63, which the devices' transcendental functions
        // need not reduce as the reference does; treated as computed.
        const DType from = n.operands[0]->type.dtype;
        return from != DType::I32 && from != DType::I64;
      }
      default: break;
    }
    switch (n.op) {
      case OpKind::Neg:
      case OpKind::Max:
      case OpKind::Min:
      case OpKind::Floor:
      case OpKind::Ceil:
      case OpKind::Round:
      case OpKind::Sign:
      case OpKind::Real:
      case OpKind::Imag:
      case OpKind::Conj:
      case OpKind::ReduceMax:
      case OpKind::ReduceMin:
      case OpKind::Gather: return true;
      case OpKind::Abs: return !is_complex(n.operands[0]->type.dtype);
      default: return false;
    }
  }

  // The less precise of two roundings; non-inexact dtypes carry none.
  static std::optional<DType> coarsest(std::optional<DType> a, std::optional<DType> b) {
    auto rank = [](std::optional<DType> t) {
      if (!t || !is_inexact(*t)) return 0;
      switch (*t) {
        case DType::F64: return 1;
        case DType::F32: return 2;
        case DType::C64: return 3;
        case DType::F16: return 4;
        default: return 5;  // bf16
      }
    };
    if (rank(a) == 0 && rank(b) == 0) return std::nullopt;
    return rank(a) >= rank(b) ? a : b;
  }

  std::unordered_map<const ir::Node*, std::optional<DType>> memo_;
};

struct RandomGraphProfile {
  std::vector<DType> param_dtypes;  // one parameter per entry (more for devices, see below)
  Shape fixed_shape;                // every value's shape, when not empty
  int64_t max_dim = 6;              // random shapes: rank 0 to 4, 0 to max_dim per dimension
  int min_ops = 3, max_ops = 12;
  bool rewrites = false;  // special constants, cancelling views, logic and casts

  static RandomGraphProfile for_devices() {
    RandomGraphProfile p;
    // Drawn from with repeats: f32 most often.
    p.param_dtypes = {DType::F32, DType::F32,  DType::F32, DType::I32, DType::I32,
                      DType::F16, DType::Bool, DType::I64, DType::F64, DType::I8,
                      DType::U8,  DType::BF16, DType::C64};
    p.max_dim = 6;
    p.min_ops = 3;
    p.max_ops = 10;
    return p;
  }
  static RandomGraphProfile for_passes() {
    RandomGraphProfile p;
    p.param_dtypes = {DType::F32, DType::F32, DType::I32, DType::I32, DType::Bool};
    p.fixed_shape = {2, 3};
    p.min_ops = p.max_ops = 14;
    p.rewrites = true;
    return p;
  }
};

class RandomGraph {
 public:
  RandomGraph(uint64_t seed, RandomGraphProfile profile) : rng_(seed), p_(std::move(profile)) {}

  ir::Graph build() {
    make_params();
    const int ops =
        p_.min_ops + static_cast<int>(below(static_cast<size_t>(p_.max_ops - p_.min_ops + 1)));
    int made = 0;
    for (int tries = 0; made < ops && tries < 200; ++tries) {
      try {
        if (NodePtr n = move()) {
          values_.push_back(n);
          ++made;
        }
      } catch (const VerifyError&) {
        // Not well typed for these operands: try another move.
      }
    }
    b_.result(values_.back());
    if (p_.rewrites) {
      b_.result(values_[values_.size() - 2]);
      b_.result(pick_any());
    } else if (values_.size() > 3 && coin()) {
      b_.result(values_[values_.size() / 2]);
    }
    return b_.g;
  }

 private:
  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool coin() { return rng_() % 2 == 0; }

  void make_params() {
    if (p_.rewrites) {
      for (DType t : p_.param_dtypes) values_.push_back(b_.param({t, p_.fixed_shape}));
      return;
    }
    device_params();
  }

  NodePtr pick_any() { return values_[below(values_.size())]; }
  // A value of type t: usually one made already (the recent ones more often, so that
  // chains grow), else, for the passes, a fresh constant.
  NodePtr pick(const Type& t) {
    std::vector<NodePtr> same;
    for (const NodePtr& v : values_)
      if (v->type == t) same.push_back(v);
    if (p_.rewrites && (same.empty() || below(4) == 0)) return constant(t);
    if (same.empty()) return nullptr;
    if (p_.rewrites && coin()) return same.back();
    return same[below(same.size())];
  }
  DType numeric() { return coin() ? DType::F32 : DType::I32; }
  Type typed(DType t) { return {t, p_.fixed_shape}; }

  // 0, -0, 1, -1, 2 or 0.5 of type t: a dense constant, or one of shape [1, 1] broadcast.
  NodePtr constant(const Type& t) {
    static constexpr double kValues[] = {0.0, -0.0, 1.0, -1.0, 2.0, 0.5};
    double v = kValues[below(std::size(kValues))];
    if (t.dtype == DType::Bool) v = coin();
    if (coin()) return b_.constant(filled_buffer(t, v));
    NodePtr one = b_.constant(filled_buffer({t.dtype, Shape(t.shape.size(), 1)}, v));
    return b_.add(OpKind::Broadcast, {one}, {}, t);
  }

  // A scalar (or one-element) value broadcast to `to`.
  NodePtr broadcast_to(NodePtr x, const Shape& to) {
    if (x->type.shape == to) return x;
    if (x->type.numel() != 1) return nullptr;
    auto r = b_.add(OpKind::Reshape, {x}, {}, Type{x->type.dtype, Shape(to.size(), 1)});
    return b_.add(OpKind::Broadcast, {r}, {}, Type{x->type.dtype, to});
  }

  NodePtr move() { return p_.rewrites ? rewrite_move() : device_move(); }

  // ---- The moves of the device profile.

  int64_t random_axis(int64_t rank) {
    return static_cast<int64_t>(below(static_cast<size_t>(std::max<int64_t>(rank, 1))));
  }

  DType any_dtype() { return p_.param_dtypes[below(p_.param_dtypes.size())]; }

  // Rank 0 to 4, each dimension 0 to max_dim (0 rarely).
  Shape device_shape() {
    Shape s;
    const size_t rank = below(5);
    for (size_t d = 0; d < rank; ++d)
      s.push_back(
          below(24) == 0 ? 0 : 1 + static_cast<int64_t>(below(static_cast<size_t>(p_.max_dim))));
    return s;
  }

  // `s` with some dimensions 1 (a shape that broadcasts to s), or with fewer leading ones.
  Shape broadcastable(Shape s) {
    for (int64_t& d : s)
      if (coin()) d = 1;
    if (!s.empty() && coin()) s.erase(s.begin());
    return s;
  }

  void device_params() {
    const Shape base = device_shape();
    const size_t n = 1 + below(3);
    for (size_t i = 0; i < n; ++i) {
      Shape s = base;
      if (i > 0 && below(3) == 0) s = coin() ? broadcastable(base) : device_shape();
      values_.push_back(b_.param({any_dtype(), s}));
    }
  }

  bool noisy(const NodePtr& x) { return noise_.of(x).has_value(); }

  // `x` (of the same rank or lower, each dimension equal or 1) broadcast to `to`.
  NodePtr expand(NodePtr x, const Shape& to) {
    if (x->type.shape == to) return x;
    Shape lifted(to.size() - x->type.shape.size(), 1);
    lifted.insert(lifted.end(), x->type.shape.begin(), x->type.shape.end());
    if (lifted != x->type.shape) x = b_.add(OpKind::Reshape, {x}, {}, Type{x->type.dtype, lifted});
    return b_.add(OpKind::Broadcast, {x}, {}, Type{x->type.dtype, to});
  }

  static bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const size_t lead = to.size() - from.size();
    for (size_t d = 0; d < from.size(); ++d)
      if (from[d] != 1 && from[d] != to[lead + d]) return false;
    return true;
  }

  // A second operand of type t: a value of type t, else one broadcast to t's shape, else
  // one of t's shape cast to t's dtype (when that cast is allowed), else nullptr.
  NodePtr operand_like(const Type& t) {
    std::vector<NodePtr> same, wide, cast;
    for (const NodePtr& v : values_) {
      if (v->type == t)
        same.push_back(v);
      else if (v->type.dtype == t.dtype && broadcasts_to(v->type.shape, t.shape))
        wide.push_back(v);
      else if (v->type.shape == t.shape && cast_allowed(v, t.dtype))
        cast.push_back(v);
    }
    if (!same.empty() && below(4) != 0) return same[below(same.size())];
    if (!wide.empty() && coin()) return expand(wide[below(wide.size())], t.shape);
    if (!cast.empty()) return b_.add(OpKind::Cast, {cast[below(cast.size())]}, {}, t);
    if (!same.empty()) return same[below(same.size())];
    if (!wide.empty()) return expand(wide[below(wide.size())], t.shape);
    return nullptr;
  }

  // Casts to integers or bool take exact values only (a rounding difference before them
  // would move the result by a whole unit); nothing is cast to c64, whose infinities and
  // NaN the devices and the reference treat differently.
  bool cast_allowed(const NodePtr& x, DType to) {
    if (to == DType::C64) return false;
    return is_inexact(to) || !noisy(x);
  }

  // An op of `category` that accepts dtype t, or nullopt. Complex products are left out:
  // over a few dozen values they overflow, and complex infinities differ between the
  // reference's C99 rules (Annex G) and the kernels' formulas.
  std::optional<OpKind> op_of(ir::OpCategory category, DType t) {
    std::vector<OpKind> ops;
    for (const ir::OpInfo& info : ir::all_ops()) {
      const bool product = info.kind == OpKind::ReduceProd || info.kind == OpKind::CumProd;
      if (info.category == category && ir::op_accepts(info.kind, t) && !(product && is_complex(t)))
        ops.push_back(info.kind);
    }
    if (ops.empty()) return std::nullopt;
    return ops[below(ops.size())];
  }

  NodePtr device_move() {
    NodePtr x = pick_any();
    const Type& t = x->type;
    const int64_t rank = t.rank();
    using Ints = std::vector<int64_t>;
    switch (below(20)) {
      case 0:
      case 1:
      case 2: {
        auto op = op_of(ir::OpCategory::Unary, t.dtype);
        if (!op || (noisy(x) && !GraphNoise::continuous(*op, t.dtype))) return nullptr;
        return b_.add(*op, {x});
      }
      case 3:
      case 4:
      case 5: {
        auto op = op_of(ir::OpCategory::Binary, t.dtype);
        if (!op) return nullptr;
        NodePtr y = operand_like(t);
        if (!y) y = x;
        if ((noisy(x) || noisy(y)) && !GraphNoise::continuous(*op, t.dtype)) return nullptr;
        return b_.add(*op, {x, y});
      }
      case 6: {  // select on a condition of x's shape
        NodePtr c = operand_like({DType::Bool, t.shape});
        NodePtr y = operand_like(t);
        if (!c || !y) return nullptr;
        return b_.add(OpKind::Select, {c, x, y});
      }
      case 7: {
        const DType to = any_dtype();
        if (!cast_allowed(x, to)) return nullptr;
        return b_.add(OpKind::Cast, {x}, {}, Type{to, t.shape});
      }
      case 8:
      case 9: {
        auto op = op_of(ir::OpCategory::Reduce, t.dtype);
        if (!op || (noisy(x) && !GraphNoise::continuous(*op, t.dtype))) return nullptr;
        Ints axes;
        for (int64_t d = 0; d < rank; ++d)
          if (coin()) axes.push_back(d);
        if ((*op == OpKind::ArgMax || *op == OpKind::ArgMin) && rank > 0)
          axes = {random_axis(rank)};
        const bool keep = coin();
        NodePtr r = b_.add(*op, {x}, {axes, keep});
        // With kept dimensions, often the input minus the reduction broadcast back.
        if (keep && r->type.dtype == t.dtype && ir::op_accepts(OpKind::Sub, t.dtype) && coin())
          return b_.add(OpKind::Sub, {x, b_.add(OpKind::Broadcast, {r}, {}, t)});
        return r;
      }
      case 10: {
        auto op = op_of(ir::OpCategory::Scan, t.dtype);
        if (!op || rank == 0) return nullptr;
        return b_.add(*op, {x}, {random_axis(rank)});
      }
      case 11: return reshaped(x);
      case 12: {
        if (below(3) == 0) {  // along a new leading dimension
          Shape s = t.shape;
          s.insert(s.begin(), static_cast<int64_t>(below(4)));
          if (s.size() > 5) return nullptr;
          return expand(x, s);
        }
        Shape s = t.shape;
        for (int64_t& d : s)
          if (d == 1) d = static_cast<int64_t>(below(5));
        return expand(x, s);
      }
      case 13: {
        Ints perm(static_cast<size_t>(rank));
        for (int64_t d = 0; d < rank; ++d) perm[static_cast<size_t>(d)] = d;
        std::shuffle(perm.begin(), perm.end(), rng_);
        return b_.add(OpKind::Permute, {x}, {perm});
      }
      case 14: {
        if (coin()) {
          Ints axes;
          for (int64_t d = 0; d < rank; ++d)
            if (coin()) axes.push_back(d);
          return b_.add(OpKind::Flip, {x}, {axes});
        }
        Ints start, step;
        Shape out;
        for (int64_t n : t.shape) {
          const int64_t by = coin() ? 1 : 2;
          step.push_back(coin() ? by : -by);
          start.push_back(n == 0 ? 0 : static_cast<int64_t>(below(static_cast<size_t>(n))));
          const int64_t left = n == 0 ? 0 : step.back() > 0 ? n - start.back() : start.back() + 1;
          const int64_t most = (left + by - 1) / by;
          out.push_back(static_cast<int64_t>(below(static_cast<size_t>(most) + 1)));
        }
        return b_.add(OpKind::Slice, {x}, {start, step}, Type{t.dtype, out});
      }
      case 15: {
        Ints low, high;
        for (int64_t d = 0; d < rank; ++d) {
          low.push_back(static_cast<int64_t>(below(3)));
          high.push_back(static_cast<int64_t>(below(3)));
        }
        return b_.add(OpKind::Pad, {x}, {low, high, is_inexact(t.dtype) ? 0.5 : 1.0});
      }
      case 16: {
        if (rank == 0) return nullptr;
        const int64_t axis = random_axis(rank);
        std::vector<NodePtr> parts{x};
        for (const NodePtr& v : values_) {
          bool fits = v->type.dtype == t.dtype && v->type.rank() == rank;
          for (int64_t d = 0; fits && d < rank; ++d)
            fits = d == axis ||
                   v->type.shape[static_cast<size_t>(d)] == t.shape[static_cast<size_t>(d)];
          if (fits && coin()) parts.push_back(v);
        }
        if (parts.size() == 1) parts.push_back(x);
        return b_.add(OpKind::Concat, parts, {axis});
      }
      case 17: return indexed(x);
      case 18: {  // matmul with a new parameter
        if (rank < 2) return nullptr;
        Shape s = t.shape;
        s[s.size() - 2] = s.back();
        s.back() = 1 + static_cast<int64_t>(below(static_cast<size_t>(p_.max_dim)));
        return b_.add(OpKind::MatMul, {x, b_.param({t.dtype, s})});
      }
      default: {  // a source: iota or random_uniform, of another shape and dtype
        Shape s = coin() ? t.shape : device_shape();
        if (coin())
          return b_.add(OpKind::Iota, {}, {random_axis(static_cast<int64_t>(s.size()))},
                        Type{any_dtype(), s});
        return b_.add(OpKind::RandomUniform, {},
                      {static_cast<int64_t>(below(1000)), std::vector<int64_t>{}},
                      Type{any_dtype(), s});
      }
    }
  }

  // A reshape: flattened, two neighbouring dimensions merged, one split, or a 1 inserted.
  NodePtr reshaped(const NodePtr& x) {
    Shape s = x->type.shape;
    switch (below(4)) {
      case 0: s = {x->type.numel()}; break;
      case 1:
        if (s.size() < 2) return nullptr;
        {
          const size_t d = below(s.size() - 1);
          s[d] *= s[d + 1];
          s.erase(s.begin() + static_cast<std::ptrdiff_t>(d) + 1);
        }
        break;
      case 2: {
        if (s.empty() || s.size() > 3) return nullptr;
        const size_t d = below(s.size());
        if (s[d] % 2 != 0) return nullptr;
        s[d] /= 2;
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(d), 2);
        break;
      }
      default:
        if (s.size() > 3) return nullptr;
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(below(s.size() + 1)), 1);
        break;
    }
    return b_.add(OpKind::Reshape, {x}, {}, Type{x->type.dtype, s});
  }

  // gather from x, or scatter_add into it, with new index (and update) parameters whose
  // values wrap or clamp by the ops' rules.
  NodePtr indexed(const NodePtr& x) {
    const Type& t = x->type;
    if (t.rank() == 0) return nullptr;
    const int64_t axis = random_axis(t.rank());
    Shape s = t.shape;
    s[static_cast<size_t>(axis)] = static_cast<int64_t>(below(5));
    NodePtr idx = b_.param({coin() ? DType::I32 : DType::I64, s});
    if (coin()) return b_.add(OpKind::Gather, {x, idx}, {axis});
    return b_.add(OpKind::ScatterAdd, {x, idx, b_.param({t.dtype, s})}, {axis});
  }

  // ---- The moves of the passes' profile.

  NodePtr rewrite_move() {
    switch (below(9)) {
      case 0: {
        static constexpr OpKind kOps[] = {OpKind::Neg, OpKind::Abs, OpKind::Sign, OpKind::Floor};
        return b_.add(kOps[below(std::size(kOps))], {pick(typed(numeric()))});
      }
      case 1: {
        static constexpr OpKind kOps[] = {OpKind::Exp, OpKind::Round, OpKind::Neg};
        return b_.add(kOps[below(std::size(kOps))], {pick(typed(DType::F32))});
      }
      case 2:
      case 3: {
        static constexpr OpKind kOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                          OpKind::Max, OpKind::Min, OpKind::Pow};
        Type t = typed(numeric());
        NodePtr a = pick(t);
        return b_.add(kOps[below(std::size(kOps))], {a, coin() ? a : pick(t)});
      }
      case 4: {
        static constexpr OpKind kOps[] = {OpKind::And, OpKind::Or, OpKind::Xor};
        Type t = typed(coin() ? DType::I32 : DType::Bool);
        NodePtr a = pick(t);
        return b_.add(kOps[below(std::size(kOps))], {a, coin() ? a : pick(t)});
      }
      case 5: {
        static constexpr OpKind kOps[] = {OpKind::Eq, OpKind::Ne, OpKind::Lt,
                                          OpKind::Le, OpKind::Gt, OpKind::Ge};
        Type t = typed(numeric());
        NodePtr a = pick(t);
        NodePtr c = b_.add(kOps[below(std::size(kOps))], {a, coin() ? a : pick(t)});
        return coin() ? b_.add(OpKind::Not, {c}) : c;
      }
      case 6: {
        NodePtr c = pick(typed(DType::Bool));
        if (coin()) c = b_.add(OpKind::Not, {c});
        Type t = typed(numeric());
        NodePtr a = pick(t);
        return b_.add(OpKind::Select, {c, a, coin() ? a : pick(t)});
      }
      case 7: {
        static constexpr DType kTypes[] = {DType::F32, DType::F16, DType::I32, DType::I8};
        NodePtr a = pick(typed(numeric()));
        const Shape& s = p_.fixed_shape;
        NodePtr once = b_.add(OpKind::Cast, {a}, {}, Type{kTypes[below(4)], s});
        return b_.add(OpKind::Cast, {once}, {}, Type{kTypes[below(4)], s});
      }
      default: return views(pick(typed(numeric())));
    }
  }

  // A chain of views that ends at the fixed shape [2, 3]: each step is undone by the next
  // one or composes with it.
  NodePtr views(NodePtr a) {
    const DType t = a->type.dtype;
    const Shape& s = p_.fixed_shape;
    using Ints = std::vector<int64_t>;
    switch (below(5)) {
      case 0: {
        auto p = b_.add(OpKind::Permute, {a}, {Ints{1, 0}});
        return b_.add(OpKind::Permute, {p}, {Ints{1, 0}});
      }
      case 1: {
        auto r = b_.add(OpKind::Reshape, {a}, {}, Type{t, {6}});
        r = b_.add(OpKind::Reshape, {r}, {}, Type{t, {3, 1, 2}});
        return b_.add(OpKind::Reshape, {r}, {}, Type{t, s});
      }
      case 2: {
        auto f = b_.add(OpKind::Flip, {a}, {Ints{1}});
        return b_.add(OpKind::Flip, {f}, {Ints{coin() ? 1 : 0}});
      }
      case 3: {
        // A reversing slice and a flip: they compose to the identity or a flip.
        auto r = b_.add(OpKind::Slice, {a}, {Ints{0, 2}, Ints{1, -1}}, Type{t, s});
        return b_.add(OpKind::Flip, {r}, {Ints{coin() ? 1 : 0}});
      }
      default: {
        auto m = b_.add(coin() ? OpKind::ReduceMax : OpKind::ReduceMin, {a}, {Ints{1}, true});
        auto w = b_.add(OpKind::Broadcast, {m}, {}, Type{t, s});
        return b_.add(OpKind::Broadcast, {w}, {}, Type{t, s});
      }
    }
  }

  std::mt19937_64 rng_;
  RandomGraphProfile p_;
  GraphBuilder b_;
  std::vector<NodePtr> values_;
  GraphNoise noise_;
};

}  // namespace kiln::testing
