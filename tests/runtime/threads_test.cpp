// Evaluation from many threads on the device under test (docs/threads.md is the contract):
// eight threads evaluate one lazy tensor together, different outputs of one graph that share
// lazy intermediates (some evaluating the intermediates too, some several outputs at once),
// and graphs of their own, round after round; every value is checked against the reference
// evaluator's, computed before the threads start. Before the evaluation of a node happened
// once, these crashed (double free, "mul: expects 2 operand(s), got 0") or read garbage.
//
// Compiled into one test program per built device, like runtime/differential_test.cpp:
// test_runtime ("reference"), test_runtime_cpu ("cpu"), test_runtime_opencl ("opencl"); the
// tests' names start with KILN_TEST_DEVICE_ID. KILN_TEST_THREAD_ROUNDS overrides the number
// of rounds (the TSan run of docs/threads.md uses fewer).
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <barrier>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/devices.h"
#include "tests/tolerance.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

#define KILN_THREADS_CONCAT(a, b) a##b
#define KILN_THREADS_SUITE(id) KILN_THREADS_CONCAT(id, Threads)
#define THREADS_TEST(name) TEST(KILN_THREADS_SUITE(KILN_TEST_DEVICE_ID), name)

namespace kiln::testing {
namespace {

constexpr int kThreads = 8;

int rounds(int normal) {
  if (const char* v = std::getenv("KILN_TEST_THREAD_ROUNDS"); v && std::atoi(v) > 0)
    return std::atoi(v);
  return normal;
}

// What the threads of a test found wrong, reported by the test's own thread.
class Failures {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (list_.size() < 10) list_.push_back(what);
    ++count_;
  }
  // Checks `got` (a value read back after an eval) against the reference's `want`.
  void check(const BufferPtr& got, const BufferPtr& want, Tolerance tol, const std::string& what) {
    if (!got) return add(what + ": no value after eval");
    ::testing::AssertionResult r = buffers_close(*got, *want, tol);
    if (!r) add(what + ": " + r.message());
  }
  void expect_none() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const std::string& f : list_) all += "\n" + f;
    EXPECT_EQ(count_, 0) << all;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
  int count_ = 0;
};

// Runs `rounds` rounds on kThreads threads. Before each round, setup(round) runs alone;
// then every thread runs body(thread, round), all released together so that they collide.
// An exception from a body is a failure of that thread and round.
void run_rounds(int rounds, Failures& failures, const std::function<void(int)>& setup,
                const std::function<void(int, int)>& body) {
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        if (t == 0) {
          try {
            setup(r);
          } catch (const std::exception& e) {
            failures.add("setup of round " + std::to_string(r) + ": " + e.what());
          }
        }
        sync.arrive_and_wait();
        try {
          body(t, r);
        } catch (const std::exception& e) {
          failures.add("thread " + std::to_string(t) + ", round " + std::to_string(r) + ": " +
                       e.what());
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

// Random values in [-1, 1) of `shape`, a new set per seed.
Tensor random_input(const Shape& shape, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return from_data(v, shape);
}

// An elementwise chain of `length` steps: long enough that extracting it and dropping its
// history take a while, the window in which evaluators used to collide.
Tensor chain(Tensor y, int length) {
  for (int i = 0; i < length; ++i) y = tanh(y * 0.9 + 0.05 * (i % 5 + 1));
  return y;
}

// The shared tensor of SameLazyTensor: a chain, then a row reduction broadcast back.
Tensor centered(const Tensor& x) {
  Tensor y = chain(x, 24);
  return y - mean(y, -1, /*keepdims=*/true);
}

// The value of `t` on the reference evaluator.
BufferPtr reference_value(const Tensor& t) {
  static const auto reference = runtime::make_device("reference");
  eval(reference, {t});
  return t.node()->buffer;
}

const Tolerance kChainTol = accumulated_tolerance(DType::F32, 64);

THREADS_TEST(SameLazyTensor) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  const Shape shape{16, 64};
  Failures failures;
  // The round's shared lazy tensor and its reference values.
  Tensor shared = zeros({1});
  BufferPtr want, want_sum;
  run_rounds(
      rounds(100), failures,
      [&](int r) {
        Tensor x = random_input(shape, static_cast<uint64_t>(r));
        want = reference_value(centered(x));
        want_sum = reference_value(sum(centered(x) * 2.0, -1));
        shared = centered(x);
      },
      [&](int t, int r) {
        DeviceGuard on(device);
        // Three reads each, in a different order per thread: the first ones collide in
        // extraction, the later ones with the other threads' stores.
        for (int step = 0; step < 3; ++step) {
          const int kind = (t + step) % 4;
          const std::string what = "thread " + std::to_string(t) + ", round " + std::to_string(r) +
                                   ", read " + std::to_string(kind);
          switch (kind) {
            case 0:  // eval, then the value on the node
              eval(device, {shared});
              failures.check(shared.node()->buffer, want, kChainTol, what);
              break;
            case 1: {  // to_vector
              std::vector<float> v = shared.to_vector<float>();
              auto got = std::make_shared<Buffer>(shared.type());
              std::copy(v.begin(), v.end(), got->as<float>());
              failures.check(got, want, kChainTol, what);
              break;
            }
            case 2: {  // a graph of its own on top of the shared tensor, lazy or evaluated
              Tensor s = sum(shared * 2.0, -1);
              eval(s);
              failures.check(s.node()->buffer, want_sum, kChainTol, what);
              break;
            }
            case 3: {  // asks and prints while the others evaluate, then reads one element
              (void)shared.is_evaluated();
              if (print_ir(shared).empty()) failures.add(what + ": no IR");
              auto got = std::make_shared<Buffer>(Type{DType::F32, {}});
              *got->as<float>() = slice(reshape(shared, {shared.size()}), 0, 0, 1).item<float>();
              auto first = std::make_shared<Buffer>(Type{DType::F32, {}});
              *first->as<float>() = want->as<float>()[0];
              failures.check(got, first, kChainTol, what);
              break;
            }
          }
        }
      });
  failures.expect_none();
}

THREADS_TEST(OutputsSharingLazyIntermediates) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  const Shape shape{8, 96};
  Failures failures;
  // Per round: a lazy intermediate h shared by kThreads outputs.
  Tensor h = zeros({1});
  std::vector<Tensor> outs;
  BufferPtr want_h;
  std::vector<BufferPtr> want_outs;
  auto output = [](const Tensor& h, int k) { return chain(h * (0.5 + 0.25 * k), 3 + k % 3); };
  run_rounds(
      rounds(60), failures,
      [&](int r) {
        Tensor x = random_input(shape, 1000 + static_cast<uint64_t>(r));
        Tensor ref_h = chain(x, 16);
        want_h = reference_value(ref_h);
        want_outs.clear();
        for (int k = 0; k < kThreads; ++k) want_outs.push_back(reference_value(output(ref_h, k)));
        h = chain(x, 16);
        outs.clear();
        for (int k = 0; k < kThreads; ++k) outs.push_back(output(h, k));
      },
      [&](int t, int r) {
        const std::string what = "thread " + std::to_string(t) + ", round " + std::to_string(r);
        const int next = (t + 1) % kThreads;
        if (t % 2 == 0) {  // its own output
          eval(device, {outs[static_cast<size_t>(t)]});
        } else {  // several at once, overlapping the next thread's, and the intermediate
          eval(device, {outs[static_cast<size_t>(t)], outs[static_cast<size_t>(next)], h});
          failures.check(h.node()->buffer, want_h, kChainTol, what + " (h)");
          failures.check(outs[static_cast<size_t>(next)].node()->buffer,
                         want_outs[static_cast<size_t>(next)], kChainTol,
                         what + " (output " + std::to_string(next) + ")");
        }
        failures.check(outs[static_cast<size_t>(t)].node()->buffer,
                       want_outs[static_cast<size_t>(t)], kChainTol,
                       what + " (output " + std::to_string(t) + ")");
      });
  failures.expect_none();
}

THREADS_TEST(PrivateGraphs) {
  KILN_TEST_DEVICE_OR_SKIP(device, KILN_TEST_DEVICE);
  const Shape shape{24, 40};
  Failures failures;
  Tensor x = random_input(shape, 7);  // an input every thread reads
  // Four graph structures, so that threads also compile different kernels at once.
  auto build = [&](int t, int r) {
    Tensor y = chain(x * (1.0 + 0.01 * r), 6 + t % 4);
    return t % 2 ? sum(y, 0) : matmul(y, transpose(y)) * (1.0 / 40);
  };
  run_rounds(
      rounds(60), failures, [](int) {},
      [&](int t, int r) {
        Tensor want = build(t, r);
        Tensor got = build(t, r);
        DeviceGuard on(device);
        got.to_vector<float>();
        failures.check(got.node()->buffer, reference_value(want),
                       accumulated_tolerance(DType::F32, 64),
                       "thread " + std::to_string(t) + ", round " + std::to_string(r));
      });
  failures.expect_none();
}

}  // namespace
}  // namespace kiln::testing
