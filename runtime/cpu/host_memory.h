// Host memory for the CPU device's intermediate buffers (memory-plan slots and group
// temporaries): blocks of at least 64-byte alignment, and for large blocks 2 MiB alignment
// with transparent huge pages requested (first touch of fresh pages dominates a run
// otherwise), recycled between runs instead of returned to the system. Thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace kiln::runtime::cpu {

class HostMemoryPool {
 public:
  // A block of at least `bytes` (contents undefined); it returns to the pool when the
  // last copy of the pointer is gone. `fresh` (optional) says whether it was newly
  // allocated rather than reused.
  std::shared_ptr<uint8_t> take(size_t bytes, bool* fresh = nullptr);

  // The bytes currently cached for reuse.
  size_t cached_bytes();

  static HostMemoryPool& global();

  // Blocks cached beyond this are freed instead.
  static constexpr size_t kCacheLimit = size_t{1} << 30;

 private:
  void give_back(uint8_t* p, size_t bytes);

  std::mutex mutex_;
  std::multimap<size_t, uint8_t*> free_;
  size_t cached_ = 0;
};

}  // namespace kiln::runtime::cpu
