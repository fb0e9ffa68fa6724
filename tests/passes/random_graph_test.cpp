// Every pass, and the default pipeline, keeps the values of seeded random graphs bit for
// bit (NaN payloads aside). The graphs are built to hit the rewrites: constants 0, -0, 1,
// -1 (full or broadcast), repeated subexpressions, chains of views that cancel or compose,
// casts, comparisons and selects. A failure names the seed and prints both graphs.
#include <gtest/gtest.h>

#include <random>

#include "expr.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "pass_test_util.h"
#include "passes/pipeline.h"
#include "passes/statistic.h"

namespace kiln::passes {
namespace {

using namespace testing;
using ir::OpKind;

const Shape kShape = {2, 3};

class RandomGraph {
 public:
  explicit RandomGraph(uint64_t seed) : rng_(seed) {
    for (DType t : {DType::F32, DType::F32, DType::I32, DType::I32, DType::Bool})
      pool_.push_back(param("p" + std::to_string(pool_.size()), Type{t, kShape}));
  }

  ir::Graph build(int ops) {
    for (int k = 0; k < ops; ++k) pool_.push_back(next());
    std::vector<Expr> results = {pool_.back(), pool_[pool_.size() - 2], pick_any()};
    return graph_of(results);
  }

 private:
  std::mt19937_64 rng_;
  std::vector<Expr> pool_;

  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool coin() { return rng_() % 2 == 0; }

  Expr pick_any() { return pool_[below(pool_.size())]; }
  // A value of dtype t: usually one from the pool (the recent ones more often, so
  // chains grow), else a fresh constant.
  Expr pick(DType t) {
    std::vector<Expr> of_type;
    for (const Expr& e : pool_)
      if (e.node->type.dtype == t) of_type.push_back(e);
    if (of_type.empty() || below(4) == 0) return constant(t);
    if (coin()) return of_type.back();
    return of_type[below(of_type.size())];
  }
  Expr constant(DType t) {
    static constexpr double kValues[] = {0.0, -0.0, 1.0, -1.0, 2.0, 0.5};
    double v = kValues[below(std::size(kValues))];
    if (t == DType::Bool) v = coin();
    Type type{t, kShape};
    return coin() ? full(type, v) : splat(type, v);
  }
  DType numeric() { return coin() ? DType::F32 : DType::I32; }

  Expr next() {
    switch (below(9)) {
      case 0: {
        DType t = numeric();
        static constexpr OpKind kOps[] = {OpKind::Neg, OpKind::Abs, OpKind::Sign, OpKind::Floor};
        return unary(kOps[below(std::size(kOps))], pick(t));
      }
      case 1: {
        static constexpr OpKind kOps[] = {OpKind::Exp, OpKind::Round, OpKind::Neg};
        return unary(kOps[below(std::size(kOps))], pick(DType::F32));
      }
      case 2:
      case 3: {
        DType t = numeric();
        static constexpr OpKind kOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                          OpKind::Max, OpKind::Min, OpKind::Pow};
        Expr a = pick(t);
        return binary(kOps[below(std::size(kOps))], a, coin() ? a : pick(t));
      }
      case 4: {
        DType t = coin() ? DType::I32 : DType::Bool;
        static constexpr OpKind kOps[] = {OpKind::And, OpKind::Or, OpKind::Xor};
        Expr a = pick(t);
        return binary(kOps[below(std::size(kOps))], a, coin() ? a : pick(t));
      }
      case 5: {
        DType t = numeric();
        static constexpr OpKind kOps[] = {OpKind::Eq, OpKind::Ne, OpKind::Lt,
                                          OpKind::Le, OpKind::Gt, OpKind::Ge};
        Expr a = pick(t);
        Expr c = compare(kOps[below(std::size(kOps))], a, coin() ? a : pick(t));
        return coin() ? unary(OpKind::Not, c, DType::Bool) : c;
      }
      case 6: {
        DType t = numeric();
        Expr c = pick(DType::Bool);
        if (coin()) c = unary(OpKind::Not, c, DType::Bool);
        Expr a = pick(t);
        return select(c, a, coin() ? a : pick(t));
      }
      case 7: {
        static constexpr DType kTypes[] = {DType::F32, DType::F16, DType::I32, DType::I8};
        Expr a = pick(numeric());
        return cast(cast(a, kTypes[below(4)]), kTypes[below(4)]);
      }
      default: return views(pick(numeric()));
    }
  }

  // A chain of views that ends at the original shape: each step is undone by the next
  // one or composes with it.
  Expr views(Expr a) {
    auto node = [](OpKind op, Expr x, std::vector<ir::AttrValue> attrs, Shape s) {
      return Expr{ir::make_node(op, {x.node}, std::move(attrs), Type{x.node->type.dtype, s})};
    };
    switch (below(5)) {
      case 0: {
        Expr t = node(OpKind::Permute, a, {std::vector<int64_t>{1, 0}}, {3, 2});
        return node(OpKind::Permute, t, {std::vector<int64_t>{1, 0}}, kShape);
      }
      case 1: {
        Expr r = node(OpKind::Reshape, a, {}, {6});
        r = node(OpKind::Reshape, r, {}, {3, 1, 2});
        return node(OpKind::Reshape, r, {}, kShape);
      }
      case 2: {
        Expr f = node(OpKind::Flip, a, {std::vector<int64_t>{1}}, kShape);
        return node(OpKind::Flip, f, {std::vector<int64_t>{coin() ? 1 : 0}}, kShape);
      }
      case 3: {
        // A reversing slice and a flip: they compose to the identity or a flip.
        Expr s = node(OpKind::Slice, a, {std::vector<int64_t>{0, 2}, std::vector<int64_t>{1, -1}},
                      kShape);
        return node(OpKind::Flip, s, {std::vector<int64_t>{coin() ? 1 : 0}}, kShape);
      }
      default: {
        Expr m =
            Expr{ir::make_node(coin() ? OpKind::ReduceMax : OpKind::ReduceMin, {a.node},
                               {std::vector<int64_t>{1}, true}, Type{a.node->type.dtype, {2, 1}})};
        Expr b = node(OpKind::Broadcast, m, {}, {2, 3});
        return node(OpKind::Broadcast, b, {}, kShape);
      }
    }
  }
};

constexpr int kGraphs = 150;
constexpr int kOpsPerGraph = 14;

// Runs `passes` over the random graphs; returns what they counted.
std::vector<StatisticCount> check_pass_list(const std::vector<Pass>& passes, bool repeat) {
  StatisticScope scope;
  PassOptions options;
  options.verify_each = true;
  if (repeat) options.max_rounds = 4;
  PassManager pm = pipeline_of(passes, options);
  for (int seed = 1; seed <= kGraphs; ++seed) {
    ir::Graph before = RandomGraph(static_cast<uint64_t>(seed)).build(kOpsPerGraph);
    ir::Graph after = before;
    try {
      pm.run(after);
    } catch (const Error& e) {
      ADD_FAILURE() << "seed " << seed << ": " << e.what() << "\n" << ir::print_graph(before);
      continue;
    }
    EXPECT_TRUE(same_results(before, after, 3)) << "graph seed " << seed;
  }
  return scope.counts();
}

TEST(RandomGraphs, EachPassKeepsTheValues) {
  for (const Pass& p : registered_passes()) {
    SCOPED_TRACE(p.name);
    check_pass_list({p}, false);
  }
}

TEST(RandomGraphs, TheDefaultPipelineKeepsTheValues) {
  auto all = registered_passes();
  std::vector<StatisticCount> counts = check_pass_list({all.begin(), all.end()}, true);
  // The generator must reach every pass, or the test above proves little.
  for (const Pass& p : all) {
    int64_t changes = 0;
    for (const StatisticCount& c : counts)
      if (c.pass == p.name) changes += c.count;
    EXPECT_GT(changes, 0) << p.name << " never changed a random graph";
  }
}

}  // namespace
}  // namespace kiln::passes
