// The CPU device's place in the runtime: registered as "cpu" and the default device, its
// input checks, and the thread pool it launches kernels on.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "runtime/cpu/cpu_device.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/driver.h"
#include "runtime/plan_cache.h"
#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

TEST(CpuDevice, IsRegisteredAndTheDefault) {
  EXPECT_EQ(runtime::make_device("cpu")->name(), "cpu");
  if (!std::getenv("KILN_DEVICE")) {
    EXPECT_EQ(runtime::default_device()->name(), "cpu");
  }
}

// KILN_CPU_PROFILE (runtime/kernel_times.h): a device made with it set times each launch;
// the table names the kernels with what they compute and counts the launches.
TEST(CpuDevice, ProfilesItsLaunchesWhenAsked) {
  ::setenv("KILN_CPU_PROFILE", "1", 1);
  auto profiled = std::make_shared<runtime::cpu::CpuDevice>();
  ::unsetenv("KILN_CPU_PROFILE");
  Tensor a = reshape(arange(256 * 192, DType::F32), {256, 192}) * 1e-4f;
  Tensor b = reshape(arange(192 * 128, DType::F32), {192, 128}) * 1e-4f;
  for (int i = 0; i < 3; ++i) {
    Tensor y = relu(matmul(a, b)) + static_cast<float>(i + 1);
    eval(profiled, {y});
  }
  const std::string table = profiled->profile_report();
  EXPECT_NE(table.find("kiln CPU kernel profile"), std::string::npos) << table;
  EXPECT_NE(table.find("(gemm 1 x 256 x 128 x 192)"), std::string::npos) << table;
  EXPECT_NE(table.find("         3 "), std::string::npos) << table;  // three launches
  // Without the variable, no profile.
  auto plain = std::make_shared<runtime::cpu::CpuDevice>();
  eval(plain, {matmul(a, b)});
  EXPECT_EQ(plain->profile_report(), "");
}

TEST(CpuDevice, RejectsInputsOfTheWrongType) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {4}});
  b.result(b.add(ir::OpKind::Neg, {x}));
  auto wrong = std::make_shared<Buffer>(Type{DType::F32, {5}});
  try {
    cpu().run(b.g, {wrong});
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32[5]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f32[4]"), std::string::npos) << e.what();
  }
  try {
    cpu().run(b.g, {});
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("takes 1 input(s)"), std::string::npos) << e.what();
  }
}

// out = x * s + x over 64 floats, with the scalar s as an inline constant.
ir::Graph scaled(float s) {
  GraphBuilder b;
  auto x = b.param({DType::F32, {64}});
  auto c = std::make_shared<Buffer>(Type{DType::F32, {}});
  c->as<float>()[0] = s;
  auto one = b.add(ir::OpKind::Reshape, {b.constant(c)}, {}, Type{DType::F32, {1}});
  auto bc = b.add(ir::OpKind::Broadcast, {one}, {}, Type{DType::F32, {64}});
  b.result(b.add(ir::OpKind::Add, {b.add(ir::OpKind::Mul, {x, bc}), x}));
  return b.g;
}

BufferPtr iota(float scale) {
  auto buf = std::make_shared<Buffer>(Type{DType::F32, {64}});
  for (int i = 0; i < 64; ++i) buf->as<float>()[i] = scale * static_cast<float>(i);
  return buf;
}

TEST(CpuDevice, ReusesThePlanOfAnIdenticalGraph) {
  runtime::cpu::CpuDevice device;
  device.run(scaled(3.0f), {iota(1.0f)});
  reset_stats();
  // The same computation on new inputs: the plan is reused, the values are the new ones.
  BufferPtr out = device.run(scaled(3.0f), {iota(2.0f)}).at(0);
  EXPECT_EQ(stats().plans_reused, 1);
  EXPECT_EQ(stats().kernels_compiled, 0);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(out->as<float>()[i], 8.0f * static_cast<float>(i)) << i;
  // Another scalar: a plan of its own with the right value, and still no compile.
  reset_stats();
  out = device.run(scaled(5.0f), {iota(1.0f)}).at(0);
  EXPECT_EQ(stats().plans_reused, 0);
  EXPECT_EQ(stats().kernels_compiled, 0);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(out->as<float>()[i], 6.0f * static_cast<float>(i)) << i;
}

TEST(PlanCache, DropsTheLeastRecentlyUsed) {
  int compiles = 0;
  auto compile = [&](ir::Graph& g) {
    ++compiles;
    return runtime::compile_graph(g, cpu());
  };
  runtime::PlanCache cache(2);
  cache.get(scaled(1.0f), compile);
  cache.get(scaled(2.0f), compile);
  cache.get(scaled(1.0f), compile);  // reused, and now the most recent
  EXPECT_EQ(compiles, 2);
  cache.get(scaled(3.0f), compile);  // drops scaled(2)
  EXPECT_EQ(cache.size(), 2u);
  cache.get(scaled(1.0f), compile);
  EXPECT_EQ(compiles, 3);
  cache.get(scaled(2.0f), compile);
  EXPECT_EQ(compiles, 4);
  runtime::PlanCache off(0);
  off.get(scaled(1.0f), compile);
  off.get(scaled(1.0f), compile);
  EXPECT_EQ(compiles, 6);
  EXPECT_EQ(off.size(), 0u);
}

TEST(PlanCache, ThreadsShareItsPlans) {
  // Eight threads over four graphs with room for two plans: lookups, compiles and evictions
  // interleave, and every plan handed out computes its own graph's function.
  runtime::PlanCache cache(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const float scale = static_cast<float>((t + i) % 4 + 1);
        auto plan =
            cache.get(scaled(scale), [](ir::Graph& g) { return runtime::compile_graph(g, cpu()); });
        BufferPtr out = runtime::run_program(cpu(), plan->program, {iota(1.0f)}).at(0);
        if (out->as<float>()[5] != (scale + 1.0f) * 5.0f) ++wrong;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 2u);
}

TEST(ThreadPool, EveryItemRunsOnce) {
  runtime::cpu::ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  for (int64_t n : {0, 1, 7, 1000, 100003}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(n, 10, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n << " " << i;
  }
}

TEST(ThreadPool, ACallWhileThePoolIsBusyRunsOnItsCaller) {
  runtime::cpu::ThreadPool pool(3);
  std::atomic<bool> started{false}, release{false};
  std::thread busy([&] {
    pool.parallel_for(1000, 1, [&](int64_t, int64_t) {
      started = true;
      while (!release) std::this_thread::yield();
    });
  });
  while (!started) std::this_thread::yield();
  std::vector<std::thread::id> ran;
  pool.parallel_for(1000, 1, [&](int64_t b, int64_t e) {
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 1000);
    ran.push_back(std::this_thread::get_id());
  });
  release = true;
  busy.join();
  EXPECT_EQ(ran, std::vector<std::thread::id>{std::this_thread::get_id()});
}

TEST(ThreadPool, SmallRangesRunOnTheCaller) {
  runtime::cpu::ThreadPool pool(4);
  std::thread::id caller = std::this_thread::get_id(), ran;
  pool.parallel_for(5, 100, [&](int64_t, int64_t) { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, caller);
}

}  // namespace
}  // namespace kiln::testing
