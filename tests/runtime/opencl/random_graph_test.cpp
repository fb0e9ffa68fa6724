// Seeded random graphs on the OpenCL device against the reference evaluator: chains of
// elementwise ops, views (permute, slice, flip, pad, concat, broadcast), reductions and
// their broadcast back, casts and selects, made through the frontend. A failure prints the
// seed and the graph's IR text (the reproducer). KILN_RANDOM_GRAPHS sets how many graphs
// to run (default 40: PoCL compiles slowly, so CI runs a few and a developer many).
#include <cstdlib>
#include <random>

#include "ir/printer.h"
#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

class RandomGraph {
 public:
  explicit RandomGraph(uint64_t seed) : rng_(seed) {}

  std::vector<Tensor> build() {
    Shape base = random_shape();
    int params = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < params; ++i)
      values_.push_back(test_data(i > 0 && rng_() % 2 ? random_shape() : base, DType::F32, rng_()));
    int ops = 3 + static_cast<int>(rng_() % 8);
    for (int tries = 0; ops > 0 && tries < 100; ++tries) {
      try {
        values_.push_back(random_op());
        --ops;
      } catch (const Error&) {
        // Not well typed for these operands: try another op.
      }
    }
    std::vector<Tensor> out;
    out.push_back(values_.back());
    if (values_.size() > 4 && rng_() % 2) out.push_back(values_[values_.size() / 2]);
    return out;
  }

 private:
  Shape random_shape() {
    Shape s;
    int rank = 1 + static_cast<int>(rng_() % 3);
    for (int d = 0; d < rank; ++d) s.push_back(1 + static_cast<int64_t>(rng_() % 40));
    return s;
  }
  Tensor pick() { return values_[rng_() % values_.size()]; }
  int axis(const Tensor& x) {
    return static_cast<int>(rng_() % static_cast<uint64_t>(std::max(1, x.ndim())));
  }

  Tensor random_op() {
    Tensor x = pick();
    if (x.ndim() == 0) x = reshape(x, {1});
    switch (rng_() % 13) {
      case 0: return tanh(x);
      case 1: return exp(-abs(x)) * 2.0;
      case 2: return x + pick();
      case 3: return maximum(x, pick()) - x * 0.5;
      case 4: {  // a reduction, maybe broadcast back (softmax-like rows)
        int a = axis(x);
        Tensor r = rng_() % 2 ? sum(x, a, true) : max(x, a, true);
        return rng_() % 2 ? r : x - r;
      }
      case 5: {
        std::vector<int> perm(static_cast<size_t>(x.ndim()));
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
        std::shuffle(perm.begin(), perm.end(), rng_);
        return permute(x, perm);
      }
      case 6: {
        int a = axis(x);
        int64_t n = x.shape(a);
        return slice(x, a, static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)), std::nullopt,
                     rng_() % 2 ? 1 : 2);
      }
      case 7: return flip(x, {axis(x)});
      case 8: {
        std::vector<std::pair<int64_t, int64_t>> pads;
        for (int d = 0; d < x.ndim(); ++d)
          pads.push_back({static_cast<int64_t>(rng_() % 2), static_cast<int64_t>(rng_() % 3)});
        return pad(x, pads, 0.5);
      }
      case 9: return concatenate({x, x * 2.0}, axis(x));
      case 10: return where(x > 0.0, x, pick() * 0.25);
      case 11:
        return cast(cast(x * 8.0, DType::I32), DType::F32) + cast(cast(x, DType::F16), DType::F32);
      default: {
        Shape s = x.shape();
        s.insert(s.begin(), 2);
        if (s.size() > 4) return sqrt(abs(x));
        return broadcast_to(reshape(x, Shape(s.begin() + 1, s.end())), s) * 1.5;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<Tensor> values_;
};

TEST(OpenCLRandomGraphs, MatchTheReference) {
  KILN_REQUIRE_OPENCL(device);
  int count = 40;
  if (const char* env = std::getenv("KILN_RANDOM_GRAPHS")) count = std::atoi(env);
  for (int seed = 1; seed <= count; ++seed) {
    std::vector<Tensor> outs = RandomGraph(static_cast<uint64_t>(seed)).build();
    auto r = matches_reference(*device, outs, Tolerance{1e-4, 1e-5});
    if (!r) {
      std::vector<ir::NodePtr> roots;
      for (const Tensor& t : outs) roots.push_back(t.node());
      ADD_FAILURE() << "seed " << seed << ": " << r.message() << "\nreproducer:\n"
                    << ir::print_graph(frontend::extract_graph(roots, false).graph);
      break;  // one reproducer is enough
    }
  }
}

}  // namespace
}  // namespace kiln::testing
