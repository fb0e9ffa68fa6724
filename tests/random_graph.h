// The one random-graph generator of the tests: seeded graphs of elementwise ops, views,
// reductions and their broadcast back, casts, comparisons, selects and constants, built by
// trying random moves and keeping those the IR verifier accepts. The devices run them
// against the reference evaluator (tests/runtime/cpu/random_graph_test.cpp,
// tests/runtime/opencl/random_graph_test.cpp); the passes check that they keep the values
// bit for bit (tests/passes/random_graph_test.cpp). A profile chooses what is drawn:
//
//   for_devices(max_dim): f32 parameters of random shapes (1 to max_dim per dimension),
//     ops whose values stay tame (so that a device's rounding stays within the tolerance
//     of a chain), any view or reduction;
//   for_passes(): parameters of f32, i32 and bool of one shape, constants 0, -0, 1, -1, 2,
//     0.5 (dense or broadcast from a scalar) that the rewrites look for, repeated
//     subexpressions, chains of views that cancel or compose, chains of casts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ir/error.h"
#include "tests/differential.h"

namespace kiln::testing {

struct RandomGraphProfile {
  std::vector<DType> param_dtypes;  // one parameter per entry (more for devices, see below)
  Shape fixed_shape;                // every value's shape, when not empty
  int64_t max_dim = 9;              // random shapes: rank 1 to 3, 1 to max_dim per dimension
  int min_ops = 3, max_ops = 12;
  bool rewrites = false;  // special constants, cancelling views, logic and casts

  static RandomGraphProfile for_devices(int64_t max_dim) {
    RandomGraphProfile p;
    p.param_dtypes = {DType::F32};
    p.max_dim = max_dim;
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

  Shape random_shape() {
    if (!p_.fixed_shape.empty()) return p_.fixed_shape;
    Shape s;
    const size_t rank = 1 + below(3);
    for (size_t d = 0; d < rank; ++d)
      s.push_back(1 + static_cast<int64_t>(below(static_cast<size_t>(p_.max_dim))));
    return s;
  }

  void make_params() {
    if (p_.rewrites) {
      for (DType t : p_.param_dtypes) values_.push_back(b_.param({t, p_.fixed_shape}));
      return;
    }
    // One to three parameters, most of one shape.
    const Shape base = random_shape();
    const size_t n = 1 + below(3);
    for (size_t i = 0; i < n; ++i)
      values_.push_back(b_.param(
          {p_.param_dtypes[i % p_.param_dtypes.size()], i > 0 && coin() ? random_shape() : base}));
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

  NodePtr device_move() {
    NodePtr x = pick_any();
    const Type& t = x->type;
    const int64_t rank = t.rank();
    switch (below(14)) {
      case 0:
      case 1: {
        static constexpr OpKind kOps[] = {OpKind::Neg, OpKind::Abs,   OpKind::Tanh, OpKind::Sigmoid,
                                          OpKind::Sin, OpKind::Floor, OpKind::Erf,  OpKind::Sqrt};
        return b_.add(kOps[below(std::size(kOps))], {x});
      }
      case 2:
      case 3:
      case 4: {
        static constexpr OpKind kOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Max,
                                          OpKind::Min};
        NodePtr y = pick(t);
        return b_.add(kOps[below(std::size(kOps))], {x, y ? y : x});
      }
      case 5: return reduction(x, coin());
      case 6: {  // broadcast along a new leading dimension
        Shape s = t.shape;
        s.insert(s.begin(), 1);
        if (s.size() > 4) return nullptr;
        auto r = b_.add(OpKind::Reshape, {x}, {}, Type{t.dtype, s});
        s[0] = 2 + static_cast<int64_t>(below(3));
        return b_.add(OpKind::Broadcast, {r}, {}, Type{t.dtype, s});
      }
      case 7: {
        std::vector<int64_t> perm(static_cast<size_t>(rank));
        for (int64_t d = 0; d < rank; ++d) perm[static_cast<size_t>(d)] = d;
        std::shuffle(perm.begin(), perm.end(), rng_);
        return b_.add(OpKind::Permute, {x}, {perm});
      }
      case 8: {
        if (coin()) return b_.add(OpKind::Flip, {x}, {std::vector<int64_t>{random_axis(rank)}});
        std::vector<int64_t> start, step;
        Shape out;
        for (int64_t n : t.shape) {
          start.push_back(static_cast<int64_t>(below(static_cast<size_t>(n))));
          step.push_back(coin() ? 1 : -1);
          out.push_back(step.back() > 0 ? n - start.back() : start.back() + 1);
        }
        return b_.add(OpKind::Slice, {x}, {start, step}, Type{t.dtype, out});
      }
      case 9: {
        std::vector<int64_t> low, high;
        for (int64_t d = 0; d < rank; ++d) {
          low.push_back(static_cast<int64_t>(below(2)));
          high.push_back(static_cast<int64_t>(below(3)));
        }
        return b_.add(OpKind::Pad, {x}, {low, high, 0.5});
      }
      case 10: return b_.add(OpKind::Reshape, {x}, {}, Type{t.dtype, {t.numel()}});
      case 11: {  // select on a comparison
        NodePtr y = pick(t);
        if (!y) return nullptr;
        return b_.add(OpKind::Select, {b_.add(OpKind::Lt, {x, y}), y, x});
      }
      case 12: {  // times a scalar constant
        auto s = filled_buffer({t.dtype, {}}, 0.25 * static_cast<double>(below(9)));
        return b_.add(OpKind::Mul, {x, broadcast_to(b_.constant(s), t.shape)});
      }
      default: return b_.add(OpKind::Concat, {x, x}, {random_axis(rank)});
    }
  }

  int64_t random_axis(int64_t rank) {
    return static_cast<int64_t>(below(static_cast<size_t>(std::max<int64_t>(rank, 1))));
  }

  // A reduction over one axis (kept), and with `back` the input minus it broadcast back.
  NodePtr reduction(NodePtr x, bool back) {
    const Type& t = x->type;
    static constexpr OpKind kOps[] = {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin};
    auto r = b_.add(kOps[below(std::size(kOps))], {x},
                    {std::vector<int64_t>{random_axis(t.rank())}, true});
    if (!back) return r;
    return b_.add(OpKind::Sub, {x, b_.add(OpKind::Broadcast, {r}, {}, t)});
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
};

}  // namespace kiln::testing
