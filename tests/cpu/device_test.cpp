// The CPU device's place in the runtime: registered as "cpu" and the default device, its
// input checks, and the thread pool it launches kernels on.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "runtime/cpu/thread_pool.h"
#include "tests/cpu/differential.h"

namespace kiln::testing {
namespace {

TEST(CpuDevice, IsRegisteredAndTheDefault) {
  EXPECT_EQ(runtime::make_device("cpu")->name(), "cpu");
  if (!std::getenv("KILN_DEVICE")) {
    EXPECT_EQ(runtime::default_device()->name(), "cpu");
  }
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
    EXPECT_NE(std::string(e.what()).find("takes 1 inputs"), std::string::npos) << e.what();
  }
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

TEST(ThreadPool, SmallRangesRunOnTheCaller) {
  runtime::cpu::ThreadPool pool(4);
  std::thread::id caller = std::this_thread::get_id(), ran;
  pool.parallel_for(5, 100, [&](int64_t, int64_t) { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, caller);
}

}  // namespace
}  // namespace kiln::testing
