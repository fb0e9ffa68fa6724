// Seeded random graphs: chains of elementwise ops, broadcasts, views, reductions (and
// their broadcast back), casts and selects, built by trying random ops and keeping those
// the verifier accepts; each graph runs on the CPU device and the reference evaluator. A
// failure prints the seed and the graph's IR text (the reproducer). KILN_RANDOM_GRAPHS
// sets how many graphs to try (default 2000).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "tests/cpu/differential.h"

namespace kiln::testing {
namespace {

using ir::OpKind;

class RandomGraph {
 public:
  explicit RandomGraph(uint64_t seed) : rng_(seed) {}

  ir::Graph build() {
    int params = 1 + static_cast<int>(rng_() % 3);
    Shape base = random_shape();
    for (int i = 0; i < params; ++i) {
      Shape s = base;
      if (i > 0 && rng_() % 2) s = random_shape();
      values_.push_back(b_.param({DType::F32, s}));
    }
    int ops = 3 + static_cast<int>(rng_() % 10);
    for (int tries = 0; ops > 0 && tries < 200; ++tries) {
      try {
        if (auto n = random_op()) {
          values_.push_back(n);
          --ops;
        }
      } catch (const VerifyError&) {
        // Not well typed: try another op.
      }
    }
    b_.result(values_.back());
    if (values_.size() > 3 && rng_() % 2) b_.result(values_[values_.size() / 2]);
    return b_.g;
  }

 private:
  Shape random_shape() {
    Shape s;
    int rank = 1 + static_cast<int>(rng_() % 3);
    for (int d = 0; d < rank; ++d) s.push_back(1 + static_cast<int64_t>(rng_() % 9));
    return s;
  }

  NodePtr pick() { return values_[rng_() % values_.size()]; }
  NodePtr pick_like(const Type& t) {
    std::vector<NodePtr> same;
    for (auto& v : values_)
      if (v->type == t) same.push_back(v);
    return same.empty() ? nullptr : same[rng_() % same.size()];
  }

  // A value of type `t` from `x` of another shape, by reshaping to a broadcastable rank.
  NodePtr broadcast_to(NodePtr x, const Shape& to) {
    if (x->type.shape == to) return x;
    if (x->type.numel() != 1) return nullptr;
    Shape ones(to.size(), 1);
    auto r = b_.add(OpKind::Reshape, {x}, {}, Type{x->type.dtype, ones});
    return b_.add(OpKind::Broadcast, {r}, {}, Type{x->type.dtype, to});
  }

  NodePtr random_op() {
    NodePtr x = pick();
    const Type& t = x->type;
    const int rank = t.rank();
    switch (rng_() % 14) {
      case 0:
      case 1: {
        static const OpKind unary[] = {OpKind::Neg, OpKind::Abs,   OpKind::Tanh, OpKind::Sigmoid,
                                       OpKind::Sin, OpKind::Floor, OpKind::Erf,  OpKind::Sqrt};
        return b_.add(unary[rng_() % std::size(unary)], {x});
      }
      case 2:
      case 3:
      case 4: {
        static const OpKind binary[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Max,
                                        OpKind::Min};
        NodePtr y = pick_like(t);
        if (!y) y = x;
        return b_.add(binary[rng_() % std::size(binary)], {x, y});
      }
      case 5: {  // reduce, maybe broadcast back
        std::vector<int64_t> axes = {static_cast<int64_t>(rng_() % rank)};
        static const OpKind red[] = {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin};
        auto r = b_.add(red[rng_() % std::size(red)], {x}, {axes, true});
        if (rng_() % 2) return r;
        auto back = b_.add(OpKind::Broadcast, {r}, {}, t);
        return b_.add(OpKind::Sub, {x, back});
      }
      case 6: {  // broadcast a new leading dimension
        Shape s = t.shape;
        s.insert(s.begin(), 1);
        if (s.size() > 4) return nullptr;
        auto r = b_.add(OpKind::Reshape, {x}, {}, Type{t.dtype, s});
        s[0] = 2 + static_cast<int64_t>(rng_() % 3);
        return b_.add(OpKind::Broadcast, {r}, {}, Type{t.dtype, s});
      }
      case 7: {  // permute
        std::vector<int64_t> perm(rank);
        for (int d = 0; d < rank; ++d) perm[d] = d;
        std::shuffle(perm.begin(), perm.end(), rng_);
        return b_.add(OpKind::Permute, {x}, {perm});
      }
      case 8: {  // flip or slice
        if (rng_() % 2)
          return b_.add(OpKind::Flip, {x},
                        {std::vector<int64_t>{static_cast<int64_t>(rng_() % rank)}});
        std::vector<int64_t> start(rank), step(rank);
        Shape out(rank);
        for (int d = 0; d < rank; ++d) {
          int64_t n = t.shape[d];
          start[d] = static_cast<int64_t>(rng_() % n);
          step[d] = rng_() % 2 ? 1 : -1;
          out[d] = step[d] > 0 ? n - start[d] : start[d] + 1;
        }
        return b_.add(OpKind::Slice, {x}, {start, step}, Type{t.dtype, out});
      }
      case 9: {  // pad
        std::vector<int64_t> low(rank), high(rank);
        for (int d = 0; d < rank; ++d)
          low[d] = static_cast<int64_t>(rng_() % 2), high[d] = static_cast<int64_t>(rng_() % 3);
        return b_.add(OpKind::Pad, {x}, {low, high, 0.5});
      }
      case 10: {  // reshape to flat or back
        return b_.add(OpKind::Reshape, {x}, {}, Type{t.dtype, {t.numel()}});
      }
      case 11: {  // select on a comparison
        NodePtr y = pick_like(t);
        if (!y) return nullptr;
        auto c = b_.add(OpKind::Lt, {x, y});
        return b_.add(OpKind::Select, {c, y, x});
      }
      case 12: {  // scalar constant
        auto s = std::make_shared<Buffer>(Type{t.dtype, {}});
        if (t.dtype == DType::F32) s->as<float>()[0] = 0.25f * static_cast<float>(rng_() % 9);
        auto c = b_.constant(s);
        auto bc = broadcast_to(c, t.shape);
        return b_.add(OpKind::Mul, {x, bc});
      }
      default: {  // concat with itself along a random axis
        return b_.add(OpKind::Concat, {x, x}, {static_cast<int64_t>(rng_() % rank)});
      }
    }
  }

  std::mt19937_64 rng_;
  GraphBuilder b_;
  std::vector<NodePtr> values_;
};

TEST(CpuRandomGraphs, MatchTheReference) {
  int count = 2000;
  if (const char* env = std::getenv("KILN_RANDOM_GRAPHS")) count = std::atoi(env);
  for (int seed = 1; seed <= count; ++seed) {
    ir::Graph g = RandomGraph(static_cast<uint64_t>(seed)).build();
    expect_matches_reference(g, static_cast<uint64_t>(seed), Values::Normal, {1e-5, 1e-5},
                             "seed " + std::to_string(seed));
    if (HasFailure()) break;  // one reproducer is enough
  }
}

}  // namespace
}  // namespace kiln::testing
