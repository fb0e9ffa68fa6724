// Run statistics and strict mode: host syncs counted per call site, SyncError naming the
// site in strict mode, AllowSyncGuard, KILN_STRICT, and the counters devices add to.
#include "runtime/stats.h"

#include <gtest/gtest.h>

#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "ir/error.h"
#include "runtime/device.h"
#include "tests/runtime/eval_test_util.h"
#include "tests/runtime/scoped_env.h"

namespace kiln::test {
namespace {

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_stats(); }
  ScopedEnv strict_{"KILN_STRICT", nullptr};
};

TEST_F(StatsTest, HostSyncsAreCountedPerCallSite) {
  std::source_location a = std::source_location::current();
  for (int i = 0; i < 3; ++i) runtime::record_host_sync(a, "item");
  std::source_location b = std::source_location::current();
  runtime::record_host_sync(b, "to_vector");
  runtime::record_host_sync(a, "to_vector");  // same place, another kind: another site
  Stats s = stats();
  EXPECT_EQ(s.host_syncs, 5);
  ASSERT_EQ(s.sync_sites.size(), 3u);
  EXPECT_EQ(s.sync_sites[0].line, static_cast<int>(a.line()));
  EXPECT_EQ(s.sync_sites[0].what, "item");
  EXPECT_EQ(s.sync_sites[0].count, 3);
  EXPECT_NE(s.sync_sites[0].file.find("stats_test.cpp"), std::string::npos);
  EXPECT_NE(s.sync_sites[0].function.find("HostSyncsAreCountedPerCallSite"), std::string::npos);
  EXPECT_EQ(s.sync_sites[1].line, static_cast<int>(b.line()));
  EXPECT_EQ(s.sync_sites[1].count, 1);
  EXPECT_EQ(s.sync_sites[2].what, "to_vector");

  std::string report = s.str();
  EXPECT_NE(report.find("host syncs: 5"), std::string::npos) << report;
  EXPECT_NE(report.find("stats_test.cpp:" + std::to_string(a.line())), std::string::npos) << report;
  EXPECT_NE(report.find("item x3"), std::string::npos) << report;

  reset_stats();
  EXPECT_EQ(stats().host_syncs, 0);
  EXPECT_TRUE(stats().sync_sites.empty());
}

TEST_F(StatsTest, StrictGuardMakesSyncsThrowWithTheCallSite) {
  StrictSyncGuard strict;
  EXPECT_TRUE(strict_syncs_enabled());
  std::source_location here = std::source_location::current();
  expect_error<SyncError>(
      [&] { runtime::record_host_sync(here, "item<float>"); },
      {"strict mode", "item<float>", "stats_test.cpp:" + std::to_string(here.line()),
       "StrictGuardMakesSyncsThrowWithTheCallSite", "AllowSyncGuard"});
  EXPECT_EQ(stats().host_syncs, 0);  // a refused sync did not happen
}

TEST_F(StatsTest, AllowGuardPermitsSyncsInStrictMode) {
  StrictSyncGuard strict;
  {
    AllowSyncGuard allow;
    EXPECT_FALSE(strict_syncs_enabled());
    EXPECT_NO_THROW(runtime::record_host_sync(std::source_location::current(), "item"));
    {
      StrictSyncGuard inner;  // the innermost guard wins
      EXPECT_THROW(runtime::record_host_sync(std::source_location::current(), "item"), SyncError);
    }
    EXPECT_NO_THROW(runtime::record_host_sync(std::source_location::current(), "item"));
  }
  EXPECT_THROW(runtime::record_host_sync(std::source_location::current(), "item"), SyncError);
  EXPECT_EQ(stats().host_syncs, 2);
}

TEST_F(StatsTest, KilnStrictEnvironment) {
  {
    ScopedEnv env("KILN_STRICT", "1");
    EXPECT_TRUE(strict_syncs_enabled());
    expect_error<SyncError>(
        [] { runtime::record_host_sync(std::source_location::current(), "eval"); },
        {"eval", "stats_test.cpp", "KILN_STRICT"});
    AllowSyncGuard allow;
    EXPECT_NO_THROW(runtime::record_host_sync(std::source_location::current(), "eval"));
  }
  {
    ScopedEnv env("KILN_STRICT", "0");
    EXPECT_FALSE(strict_syncs_enabled());
    EXPECT_NO_THROW(runtime::record_host_sync(std::source_location::current(), "eval"));
  }
  EXPECT_FALSE(strict_syncs_enabled());
  EXPECT_EQ(stats().host_syncs, 2);
}

TEST_F(StatsTest, GuardsBelongToOneThread) {
  StrictSyncGuard strict;
  bool threw = true;
  std::thread other([&] {
    try {
      runtime::record_host_sync(std::source_location::current(), "item");
      threw = false;
    } catch (const SyncError&) {
    }
  });
  other.join();
  EXPECT_FALSE(threw);
}

TEST_F(StatsTest, CountingIsThreadSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 1000; ++i) {
        runtime::record_host_sync(std::source_location::current(), "item");
        runtime::add_stats([](Stats& s) { ++s.launches; });
      }
    });
  for (auto& t : threads) t.join();
  Stats s = stats();
  EXPECT_EQ(s.host_syncs, 4000);
  EXPECT_EQ(s.launches, 4000);
  ASSERT_EQ(s.sync_sites.size(), 1u);
  EXPECT_EQ(s.sync_sites[0].count, 4000);
}

TEST_F(StatsTest, DevicesAddTheirCounters) {
  runtime::add_stats([](Stats& s) {
    s.kernels_compiled += 2;
    s.cache_hits_memory += 3;
    s.cache_hits_disk += 1;
    s.compile_seconds += 0.25;
  });
  Stats s = stats();
  EXPECT_EQ(s.kernels_compiled, 2);
  EXPECT_EQ(s.cache_hits_memory, 3);
  EXPECT_EQ(s.cache_hits_disk, 1);
  EXPECT_DOUBLE_EQ(s.compile_seconds, 0.25);
  std::string report = s.str();
  EXPECT_NE(report.find("kernels compiled: 2"), std::string::npos) << report;
  EXPECT_NE(report.find("3 memory, 1 disk"), std::string::npos) << report;
}

TEST_F(StatsTest, ReferenceDeviceCountsItsWork) {
  auto device = runtime::make_device("reference");
  auto a = cst(buf(DType::F32, {256}, std::vector<double>(256, 1)));
  auto b = node(ir::OpKind::Exp, {a}, {}, Type{DType::F32, {256}});
  auto c = node(ir::OpKind::ReduceSum, {b}, {std::vector<int64_t>{0}, false}, Type{DType::F32, {}});
  auto g = graph_of({c});
  device->run(g, {});
  device->run(g, {});
  Stats s = stats();
  EXPECT_EQ(s.graphs_run, 2);
  EXPECT_EQ(s.nodes_evaluated, 4);
  EXPECT_EQ(s.bytes_allocated, 2 * (256 * 4 + 4));
  EXPECT_GT(s.run_seconds, 0);
  EXPECT_EQ(s.kernels_compiled, 0);
  EXPECT_NE(s.str().find("graphs run: 2"), std::string::npos);
}

}  // namespace
}  // namespace kiln::test
