// The host allocator behind every Buffer: large blocks are 2 MiB aligned and come back for
// reuse, small ones by size class, the cache keeps to its limit, a block is never handed to
// two threads at once, and a Buffer is zeroed unless asked not to be.
#include "ir/host_memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ir/error.h"
#include "ir/node.h"

namespace kiln {
namespace {

constexpr size_t kLarge = size_t{3} << 20;

bool aligned(const std::shared_ptr<uint8_t>& p, size_t to) {
  return reinterpret_cast<uintptr_t>(p.get()) % to == 0;
}

TEST(HostMemoryPool, LargeBlocksAreReusedAndHugePageAligned) {
  HostMemoryPool pool;
  bool fresh = false;
  uint8_t* first = nullptr;
  {
    auto block = pool.take(kLarge, &fresh);
    EXPECT_TRUE(fresh);
    EXPECT_TRUE(aligned(block, size_t{2} << 20));
    first = block.get();
  }
  EXPECT_EQ(pool.cached_bytes(), kLarge);
  auto again = pool.take(kLarge, &fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool.cached_bytes(), 0u);
  // A block twice as large as asked for is not handed out for a small request.
  again.reset();
  auto small = pool.take(kLarge / 4, &fresh);
  EXPECT_TRUE(fresh);
}

// Blocks under 64 KiB are kept in size classes: 64 bytes apart up to 1 KiB, then powers of
// two.
TEST(HostMemoryPool, SmallBlocksAreKeptBySizeClass) {
  HostMemoryPool pool;
  uint8_t* first = nullptr;
  {
    auto block = pool.take(1000);
    EXPECT_TRUE(aligned(block, 64));
    first = block.get();
  }
  EXPECT_EQ(pool.cached_bytes(), 1024u);
  bool fresh = true;
  auto again = pool.take(970, &fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool.cached_bytes(), 0u);
  pool.take(3000).reset();
  EXPECT_EQ(pool.cached_bytes(), 4096u);
  auto medium = pool.take(4096, &fresh);  // the block of 3000 bytes, which holds its class
  EXPECT_FALSE(fresh);
  std::memset(medium.get(), 1, 4096);  // the sanitizer builds check the block's size
  EXPECT_TRUE(aligned(medium, 64));
  EXPECT_NE(pool.take(2048, &fresh), nullptr);
  EXPECT_TRUE(fresh);  // the 2 KiB class is empty
  auto empty = pool.take(0);
  EXPECT_NE(empty.get(), nullptr);
  HostMemoryPool none(0);
  none.take(64).reset();
  EXPECT_EQ(none.cached_bytes(), 0u);
}

// A request of 32 to 64 KiB is of the last class, whose blocks are 64 KiB (kPooled): it
// comes back to that class, reused by the next such request, and the large blocks'
// accounting (the peak working set, hence the cache's limit) does not see it.
TEST(HostMemoryPool, TheLastClassIsReusedAndLeavesTheLimitAlone) {
  HostMemoryPool pool(kLarge, 3 * kLarge);
  uint8_t* first = nullptr;
  {
    auto block = pool.take(48 << 10);
    first = block.get();
  }
  EXPECT_EQ(pool.cached_bytes(), HostMemoryPool::kPooled);
  bool fresh = true;
  auto again = pool.take(40 << 10, &fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(again.get(), first);
  again.reset();
  EXPECT_EQ(pool.cache_limit(), kLarge);
}

TEST(HostMemoryPool, KeepsToItsLimit) {
  HostMemoryPool none(0);
  { auto block = none.take(kLarge); }
  EXPECT_EQ(none.cached_bytes(), 0u);
  HostMemoryPool one(kLarge);
  { auto a = one.take(kLarge), b = one.take(kLarge); }
  EXPECT_EQ(one.cached_bytes(), kLarge);  // the second came back over the limit: freed
}

// A pool that may grow keeps what the largest run held at once (up to its cap), so the
// next run of the same size touches no fresh pages.
TEST(HostMemoryPool, GrowsToThePeakWorkingSet) {
  HostMemoryPool pool(kLarge, 3 * kLarge);
  EXPECT_EQ(pool.cache_limit(), kLarge);
  { auto a = pool.take(kLarge), b = pool.take(kLarge), c = pool.take(kLarge); }
  EXPECT_EQ(pool.cache_limit(), 3 * kLarge);
  EXPECT_EQ(pool.cached_bytes(), 3 * kLarge);
  bool fresh = true;
  {
    auto a = pool.take(kLarge), b = pool.take(kLarge), c = pool.take(kLarge, &fresh);
    EXPECT_FALSE(fresh);
    auto d = pool.take(kLarge);  // beyond the cap: this one goes back to the system
  }
  EXPECT_EQ(pool.cache_limit(), 3 * kLarge);
  EXPECT_EQ(pool.cached_bytes(), 3 * kLarge);
}

TEST(HostMemoryPool, ThreadsNeverShareABlock) {
  HostMemoryPool pool(4 * kLarge);  // room for a few: threads reuse each other's blocks
  std::vector<std::thread> threads;
  std::vector<int> clobbered(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const size_t bytes = kLarge / (1 + (t + i) % 3);
        auto block = pool.take(bytes);
        std::memset(block.get(), t + 1, bytes);
        std::this_thread::yield();
        for (size_t at = 0; at < bytes; at += 4093)
          if (block.get()[at] != t + 1) ++clobbered[static_cast<size_t>(t)];
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(clobbered, std::vector<int>(8, 0));
  EXPECT_LE(pool.cached_bytes(), 4 * kLarge);
}

TEST(Buffer, ZeroedUnlessAskedNotToBe) {
  Type t{DType::F32, {1 << 20}};  // 4 MiB: a pooled block, reused below
  {
    Buffer dirty(t, Buffer::Init::Uninitialized);
    std::memset(dirty.data(), 0xff, dirty.nbytes());
  }
  Buffer zeroed(t);
  const float* v = zeroed.as<float>();
  for (int64_t i = 0; i < t.numel(); i += 4097) ASSERT_EQ(v[i], 0.0f) << i;
  EXPECT_EQ(v[t.numel() - 1], 0.0f);
}

// More than the machine has: refused with the size and what to do, before the allocator is
// asked.
TEST(HostMemoryPool, MoreThanTheMachineHasIsAnError) {
  HostMemoryPool pool;
  try {
    auto block = pool.take(size_t{1} << 50);
    FAIL() << "a 1 PiB block was allocated";
  } catch (const DeviceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("1125899906842624 bytes (1073741824 MiB) could not be allocated: the "
                        "machine has"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("evaluate a smaller batch"), std::string::npos) << what;
    EXPECT_NE(what.find("KILN_HOST_CACHE_MB (now 1024 MiB)"), std::string::npos) << what;
  }
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KILN_SANITIZED 1
#endif

// A size the machine could serve but the process may not (a memory limit, as a container or
// `ulimit -v` sets): the allocator fails, the pool gives its cache back and tries again,
// then throws. Run in a child process whose address space is limited.
TEST(Buffer, OutOfMemoryUnderALimitIsAnError) {
#ifdef KILN_SANITIZED
  GTEST_SKIP() << "sanitizer runtimes reserve address space and abort on failed allocations";
#else
  std::fflush(nullptr);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit limit{};
    getrlimit(RLIMIT_AS, &limit);
    // What the process maps now, plus 256 MiB.
    long pages = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f || std::fscanf(f, "%ld", &pages) != 1) _exit(2);
    std::fclose(f);
    limit.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                     (rlim_t{256} << 20);
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(3);
    try {
      Buffer big(Type{DType::F32, {int64_t{1} << 30}});  // 4 GiB
      _exit(4);
    } catch (const DeviceError& e) {
      const std::string what = e.what();
      const bool names_size =
          what.find("out of host memory for a value of f32[1073741824]: 4294967296 bytes") == 0;
      const bool says_what_to_do = what.find("evaluate a smaller batch") != std::string::npos &&
                                   what.find("KILN_HOST_CACHE_MB") != std::string::npos;
      if (!names_size || !says_what_to_do) {
        std::fprintf(stderr, "message: %s\n", what.c_str());
        _exit(5);
      }
      _exit(0);
    } catch (...) {
      _exit(6);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "4: allocated; 5: wrong message; 6: another exception";
#endif
}

}  // namespace
}  // namespace kiln
