// Host memory for every Buffer and for the CPU device's intermediates (memory-plan slots
// and group temporaries): blocks of at least 64-byte alignment, and for large blocks 2 MiB
// alignment with transparent huge pages requested, recycled instead of returned to the
// system (up to a limit). The first touch of fresh pages costs more than a
// streaming kernel's whole run over them; reuse is what keeps results fast. The limit may
// grow with the working set: a pool that keeps what the largest run so far held at once
// serves the next run of the same plan without fresh pages. Thread safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace kiln {

class HostMemoryPool {
 public:
  // Keeps at most `cache_limit` bytes of returned blocks for reuse, or, when `grow_to` is
  // larger, as many as were taken at once so far (the peak working set), up to `grow_to`.
  explicit HostMemoryPool(size_t cache_limit = kDefaultCacheLimit, size_t grow_to = 0)
      : cache_limit_(cache_limit), grow_to_(grow_to) {}
  // Frees the cached blocks; blocks still taken must not outlive the pool.
  ~HostMemoryPool();
  HostMemoryPool(const HostMemoryPool&) = delete;
  HostMemoryPool& operator=(const HostMemoryPool&) = delete;

  // A block of at least `bytes` (contents undefined); it returns to the pool when the
  // last copy of the pointer is gone. `fresh` (optional) says whether it was newly
  // allocated rather than reused. When the host cannot serve it (after the cached blocks
  // are given back), throws DeviceError naming the size and what to do.
  std::shared_ptr<uint8_t> take(size_t bytes, bool* fresh = nullptr);

  // Gives every cached block back to the system.
  void release_cache();

  // The bytes currently cached for reuse.
  size_t cached_bytes();

  // The bytes the pool keeps for reuse now (see the constructor).
  size_t cache_limit();

  // The process's pool, which every Buffer uses; it caches up to KILN_HOST_CACHE_MB MiB
  // when that is set (0 caches nothing), else 1024 MiB or the peak working set, up to half
  // the machine's memory.
  static HostMemoryPool& global();

  static constexpr size_t kDefaultCacheLimit = size_t{1} << 30;
  // Blocks of this size and larger are cached by size; smaller ones in size classes (64
  // bytes apart up to 1 KiB, then powers of two), at most kSmallKept of each.
  static constexpr size_t kPooled = size_t{64} << 10;
  static constexpr size_t kSmallKept = 256;

 private:
  void give_back(uint8_t* p, size_t bytes, bool small);  // small: taken from a size class
  uint8_t* allocate_fresh(size_t bytes);
  size_t limit_locked() const;

  const size_t cache_limit_, grow_to_;
  std::mutex mutex_;
  std::multimap<size_t, uint8_t*> free_;
  std::array<std::vector<uint8_t*>, 22> small_;  // by size class (host_memory.cpp)
  size_t cached_ = 0;
  size_t taken_ = 0, peak_taken_ = 0;  // pooled-size bytes handed out now, and at most
};

}  // namespace kiln
