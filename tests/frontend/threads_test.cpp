// The guarantees of docs/threads.md that a device cannot show by its values alone: a node
// evaluated from several threads at once is computed once (the others wait for it), a failed
// evaluation is retried by a waiter, overlapping sets of tensors evaluated at once do not
// deadlock and each tensor is computed once, and reading a tensor (is_evaluated, print_ir,
// save_ir) while another thread evaluates it is safe. A slow counting device on top of the
// reference evaluator holds evaluations open long enough for the threads to collide. The
// same races on real devices, with values: tests/runtime/threads_test.cpp.
#include <atomic>
#include <barrier>
#include <chrono>
#include <thread>

#include "test_util.h"

namespace kiln {
namespace {

constexpr int kThreads = 8;

// The reference evaluator, slowed down, counting graphs and results; `fail_first` makes its
// first run throw.
class SlowDevice : public runtime::Device {
 public:
  explicit SlowDevice(bool fail_first = false) : fail_first_(fail_first) {}
  std::string name() const override { return "slow"; }
  std::vector<BufferPtr> run(const ir::Graph& graph,
                             const std::vector<BufferPtr>& inputs) override {
    const int run = runs++;
    results += static_cast<int>(graph.results.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fail_first_ && run == 0) throw DeviceError("slow: the first run fails");
    return reference_.run(graph, inputs);
  }
  std::atomic<int> runs{0}, results{0};

 private:
  bool fail_first_;
  runtime::ReferenceDevice reference_;
};

// Runs body(thread) on kThreads threads released together.
void on_threads(const std::function<void(int)>& body) {
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  for (std::thread& t : threads) t.join();
}

Tensor lazy_chain(int length) {
  Tensor y = from_data({1.f, 2.f, 3.f, 4.f}, {4});
  for (int i = 0; i < length; ++i) y = y * 1.5 - 1.0;
  return y;
}

std::vector<float> chain_values(int length) {
  std::vector<float> v{1, 2, 3, 4};
  for (int i = 0; i < length; ++i)
    for (float& x : v) x = x * 1.5f - 1.0f;
  return v;
}

TEST(Threads, SameTensorIsEvaluatedOnce) {
  auto device = std::make_shared<SlowDevice>();
  Tensor y = lazy_chain(10);
  std::vector<std::vector<float>> got(kThreads);
  on_threads([&](int t) {
    DeviceGuard on(device);
    got[static_cast<size_t>(t)] = y.to_vector<float>();
  });
  EXPECT_EQ(device->runs.load(), 1) << "the other threads wait for the one evaluation";
  for (const auto& v : got) EXPECT_EQ(v, chain_values(10));
  EXPECT_TRUE(y.is_evaluated());
  EXPECT_TRUE(y.node()->operands.empty());
}

TEST(Threads, FailedEvaluationIsRetriedByAWaiter) {
  auto device = std::make_shared<SlowDevice>(/*fail_first=*/true);
  Tensor y = lazy_chain(5);
  std::atomic<int> errors{0};
  std::vector<std::vector<float>> got(kThreads);
  on_threads([&](int t) {
    try {
      eval(device, {y});
      got[static_cast<size_t>(t)] = y.to_vector<float>();
    } catch (const DeviceError& e) {
      EXPECT_STREQ(e.what(), "slow: the first run fails");
      ++errors;
    }
  });
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(device->runs.load(), 2) << "one failed run, one retry";
  int read = 0;
  for (const auto& v : got) {
    if (v.empty()) continue;
    ++read;
    EXPECT_EQ(v, chain_values(5));
  }
  EXPECT_EQ(read, kThreads - 1);
}

TEST(Threads, OverlappingSetsEvaluateEachTensorOnce) {
  auto device = std::make_shared<SlowDevice>();
  Tensor base = lazy_chain(3);
  std::vector<Tensor> outs;
  for (int k = 0; k < kThreads; ++k) outs.push_back(base * static_cast<double>(k) + 1.0);
  // Thread t evaluates outputs t and t+1 (in both orders): each output is wanted by two
  // threads, and every thread waits on a neighbour's while holding its own.
  on_threads([&](int t) {
    const auto a = static_cast<size_t>(t), b = static_cast<size_t>((t + 1) % kThreads);
    if (t % 2)
      eval(device, {outs[a], outs[b]});
    else
      eval(device, {outs[b], outs[a]});
  });
  EXPECT_EQ(device->results.load(), kThreads) << "every output computed once";
  const std::vector<float> b = chain_values(3);
  for (int k = 0; k < kThreads; ++k) {
    std::vector<float> want;
    for (float v : b) want.push_back(v * static_cast<float>(k) + 1.0f);
    EXPECT_EQ(outs[static_cast<size_t>(k)].to_vector<float>(), want) << "output " << k;
  }
}

TEST(Threads, ReadersSeeAWholeGraphOrAValue) {
  auto device = std::make_shared<SlowDevice>();
  for (int round = 0; round < 20; ++round) {
    Tensor y = lazy_chain(30);
    on_threads([&](int t) {
      if (t == 0) {
        eval(device, {y});
        return;
      }
      // Either the lazy chain (its 30 steps of mul and sub) or the value, nothing between.
      const bool before = y.is_evaluated();
      const ir::Graph g = graph_of(y);
      if (before) {
        EXPECT_EQ(g.nodes.size(), 1u) << "an evaluated y is one inline constant";
      }
      EXPECT_TRUE(g.nodes.size() == 1 || g.nodes.size() >= 60) << g.nodes.size();
      EXPECT_FALSE(print_ir(y * 2.0).empty());
    });
    EXPECT_EQ(y.to_vector<float>(), chain_values(30));
  }
}

}  // namespace
}  // namespace kiln
