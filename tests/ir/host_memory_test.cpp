// The host allocator behind every Buffer: large blocks are 2 MiB aligned and come back for
// reuse, small ones go to malloc, the cache keeps to its limit, a block is never handed to
// two threads at once, and a Buffer is zeroed unless asked not to be.
#include "ir/host_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

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

TEST(HostMemoryPool, SmallBlocksAreNotCached) {
  HostMemoryPool pool;
  {
    auto block = pool.take(1000);
    EXPECT_TRUE(aligned(block, 64));
  }
  EXPECT_EQ(pool.cached_bytes(), 0u);
  auto empty = pool.take(0);
  EXPECT_NE(empty.get(), nullptr);
}

TEST(HostMemoryPool, KeepsToItsLimit) {
  HostMemoryPool none(0);
  { auto block = none.take(kLarge); }
  EXPECT_EQ(none.cached_bytes(), 0u);
  HostMemoryPool one(kLarge);
  { auto a = one.take(kLarge), b = one.take(kLarge); }
  EXPECT_EQ(one.cached_bytes(), kLarge);  // the second came back over the limit: freed
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

}  // namespace
}  // namespace kiln
