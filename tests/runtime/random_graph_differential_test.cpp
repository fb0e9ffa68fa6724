// Seeded random graphs (tests/random_graph.h, the device profile: parameters of every dtype,
// every op of the op table, shapes with empty and size-1 dimensions and broadcasts) on the
// device under test against the reference evaluator, thousands per run.
//
// The graphs run in batches: the graphs of a batch side by side make one graph, compiled
// and run at once, so that a batch pays the fixed costs of a compile and a run once (and
// its kernels compile together). Only a batch that differs runs its graphs one by one, to
// find the graph that differs; that graph is shrunk (tests/shrink.h), and the failure
// prints its seed and the reproducer as IR text.
//
// Compiled into each device's test program with the differential suite (kiln_test's
// DEVICE in tests/CMakeLists.txt). The run is split into shards (tests of their own, so
// that ctest runs them side by side); the device decides the default sizes (see
// kPlans). Environment: KILN_RANDOM_GRAPHS sets the graphs per shard,
// KILN_RANDOM_GRAPHS_BATCH the graphs per batch, KILN_RANDOM_GRAPHS_SEED the first seed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "runtime/stats.h"
#include "tests/random_graph.h"
#include "tests/shrink.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

namespace kiln::testing {
namespace {

// Shards, graphs per shard and graphs per batch, per device.
struct Plan {
  const char* device;
  int shards, graphs, batch;
};
constexpr Plan kPlans[] = {
    {"reference", 1, 300, 50},  // the generator and the harness, against themselves
    {"cpu", 4, 2250, 100},
    {"opencl", 4, 250, 125},
};

Plan plan() {
  Plan p{KILN_TEST_DEVICE, 1, 100, 20};
  for (const Plan& q : kPlans)
    if (std::string(KILN_TEST_DEVICE).rfind(q.device, 0) == 0) p = q;
  auto env = [](const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
  };
  p.graphs = env("KILN_RANDOM_GRAPHS", p.graphs);
  p.batch = std::max(1, env("KILN_RANDOM_GRAPHS_BATCH", p.batch));
  return p;
}

uint64_t first_seed() {
  const char* v = std::getenv("KILN_RANDOM_GRAPHS_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : 1;
}

// One graph of the run, with its inputs, the reference's results and their bounds.
struct Drawn {
  uint64_t seed;
  ir::Graph graph;
  std::vector<BufferPtr> inputs, want;
  std::vector<Tolerance> tols;
};

Drawn draw(uint64_t seed) {
  Drawn d{seed, RandomGraph(seed, RandomGraphProfile::for_devices()).build(), {}, {}, {}};
  d.inputs = random_inputs(d.graph, seed);
  GraphNoise noise;
  for (const NodePtr& r : d.graph.results) d.tols.push_back(noise.tolerance(r));
  return d;
}

// Why `got` (from result `first` on) differs from `want`, or empty when it does not.
std::string difference(const std::vector<BufferPtr>& got, size_t first,
                       const std::vector<BufferPtr>& want, const std::vector<Tolerance>& tols) {
  if (got.size() < first + want.size()) return "too few results";
  for (size_t r = 0; r < want.size(); ++r)
    if (auto ok = buffers_close(*got[first + r], *want[r], tols[r]); !ok)
      return "result " + std::to_string(r) + ": " + ok.message();
  return "";
}

// Why `device` fails on `graph`: it throws, or differs from the reference by more than the
// bounds of GraphNoise; empty when it does not (or the reference does not define the
// graph). The shrinker's predicate.
std::string failure(runtime::Device& device, const ir::Graph& graph,
                    const std::vector<BufferPtr>& inputs) {
  std::vector<BufferPtr> want;
  try {
    want = runtime::evaluate(graph, inputs);
  } catch (const Error&) {
    return "";
  }
  GraphNoise noise;
  std::vector<Tolerance> tols;
  for (const NodePtr& r : graph.results) tols.push_back(noise.tolerance(r));
  try {
    return difference(run_on(device, graph, inputs), 0, want, tols);
  } catch (const std::exception& e) {
    return device.name() + " threw: " + e.what();
  }
}

// Reports the graph of `seed` that fails on `device`, shrunk.
void report(runtime::Device& device, const Drawn& d, const std::string& why) {
  Reproducer small = shrink({d.graph, d.inputs}, [&](const ir::Graph& g, const auto& in) {
    return !failure(device, g, in).empty();
  });
  ADD_FAILURE() << "random graph seed " << d.seed << " (" << body_size(d.graph)
                << " nodes; KILN_RANDOM_GRAPHS_SEED=" << d.seed
                << " KILN_RANDOM_GRAPHS=1 reruns it): " << why << "\nshrunk to "
                << body_size(small.graph)
                << " nodes: " << failure(device, small.graph, small.inputs) << "\n"
                << reproducer_text(small);
}

// The graphs of `batch` side by side as one graph, with their inputs.
Reproducer side_by_side(std::vector<Drawn>& batch) {
  Reproducer all;
  for (Drawn& d : batch) {
    for (size_t i = 0; i < d.graph.params.size(); ++i) {
      d.graph.params[i]->name = "p" + std::to_string(all.graph.params.size());
      all.graph.params.push_back(d.graph.params[i]);
      all.inputs.push_back(d.inputs[i]);
    }
    all.graph.nodes.insert(all.graph.nodes.end(), d.graph.nodes.begin(), d.graph.nodes.end());
    all.graph.results.insert(all.graph.results.end(), d.graph.results.begin(),
                             d.graph.results.end());
  }
  return all;
}

// Runs a batch; returns false after reporting a failure.
bool run_batch(runtime::Device& device, std::vector<Drawn>& batch) {
  if (batch.empty()) return true;
  Reproducer all = side_by_side(batch);
  bool same = true;
  try {
    std::vector<BufferPtr> got = run_on(device, all.graph, all.inputs);
    size_t first = 0;
    for (const Drawn& d : batch) {
      same = same && difference(got, first, d.want, d.tols).empty();
      first += d.want.size();
    }
  } catch (const std::exception&) {
    same = false;
  }
  if (same) return true;
  // One by one, from fresh copies (the batch renamed the parameters).
  for (const Drawn& d : batch) {
    Drawn fresh = draw(d.seed);
    if (std::string why = failure(device, fresh.graph, fresh.inputs); !why.empty()) {
      report(device, fresh, why);
      return false;
    }
  }
  ADD_FAILURE() << "the graphs of seeds " << batch.front().seed << " to " << batch.back().seed
                << " pass one by one but not as one graph of " << body_size(all.graph)
                << " nodes: " << failure(device, all.graph, all.inputs);
  return false;
}

class RandomGraphs : public ::testing::TestWithParam<int> {};

TEST_P(RandomGraphs, MatchTheReference) {
  const Plan p = plan();
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  const auto start = std::chrono::steady_clock::now();
  const kiln::Stats before = kiln::stats();
  const uint64_t first = first_seed() + static_cast<uint64_t>(GetParam()) * p.graphs;
  int undefined = 0, nodes = 0;
  std::vector<Drawn> batch;
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(p.graphs); ++seed) {
    Drawn d = draw(seed);
    nodes += static_cast<int>(body_size(d.graph));
    try {
      d.want = runtime::evaluate(d.graph, d.inputs);
    } catch (const Error&) {
      // Not defined on the reference: the device must still not crash on it.
      ++undefined;
      try {
        run_on(*device, d.graph, d.inputs);
      } catch (const Error&) {
      }
      continue;
    }
    batch.push_back(std::move(d));
    if (static_cast<int>(batch.size()) == p.batch || seed + 1 == first + p.graphs) {
      if (!run_batch(*device, batch)) return;
      batch.clear();
    }
  }
  if (!run_batch(*device, batch)) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const kiln::Stats after = kiln::stats();
  std::printf(
      "%d random graphs (seeds %llu to %llu, %d nodes, %d undefined on the reference) "
      "on %s in %.1f s: %lld kernels compiled, %lld found in the cache, %lld launches\n",
      p.graphs, static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(first + p.graphs - 1), nodes, undefined,
      device->name().c_str(), seconds,
      static_cast<long long>(after.kernels_compiled - before.kernels_compiled),
      static_cast<long long>(after.cache_hits_memory + after.cache_hits_disk -
                             before.cache_hits_memory - before.cache_hits_disk),
      static_cast<long long>(after.launches - before.launches));
  RecordProperty("graphs", p.graphs);
}

// With KILN_TEST_COUNT_KERNELS=1, the program ends by printing how many kernels it compiled
// and launched, whatever tests ran (tests/runtime/opencl/run_oclgrind.cmake reports the
// kernels oclgrind checked from it).
class CountKernels : public ::testing::Environment {
 public:
  void TearDown() override {
    const kiln::Stats s = kiln::stats();
    std::printf("kernels compiled: %lld, launches: %lld\n",
                static_cast<long long>(s.kernels_compiled), static_cast<long long>(s.launches));
  }
};
[[maybe_unused]] const bool kCountKernels = [] {
  const char* v = std::getenv("KILN_TEST_COUNT_KERNELS");
  if (v && std::string(v) == "1") ::testing::AddGlobalTestEnvironment(new CountKernels);
  return true;
}();

// The indirection expands KILN_TEST_DEVICE_ID before gtest pastes it into names.
#define KILN_INSTANTIATE(prefix, suite, values) INSTANTIATE_TEST_SUITE_P(prefix, suite, values)
KILN_INSTANTIATE(KILN_TEST_DEVICE_ID, RandomGraphs, ::testing::Range(0, plan().shards));

}  // namespace
}  // namespace kiln::testing
