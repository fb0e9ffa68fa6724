// HostMemoryPool: size-keyed free lists of aligned, huge-page-advised blocks.
#include "ir/host_memory.h"

#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "ir/error.h"

namespace kiln {

namespace {

constexpr size_t kHuge = size_t{2} << 20;

// Fresh memory for a block, or nullptr when the system has none to give.
uint8_t* allocate(size_t bytes) {
  size_t align = bytes >= kHuge ? kHuge : 64;
  if (bytes > SIZE_MAX - align) return nullptr;
  size_t rounded = (bytes + align - 1) / align * align;
  if (rounded == 0) rounded = align;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, rounded));
  if (!p) return nullptr;
#ifdef MADV_HUGEPAGE
  if (align == kHuge) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

// The machine's memory and swap, in bytes (0 when unknown): no allocation above it can
// succeed, so it is refused before the allocator is asked (some allocators abort instead
// of failing on absurd sizes).
uint64_t machine_bytes() {
  struct sysinfo info {};
  if (sysinfo(&info) != 0) return 0;
  return (static_cast<uint64_t>(info.totalram) + info.totalswap) * info.mem_unit;
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

[[noreturn]] void out_of_memory(size_t bytes, const std::string& why, size_t cache_limit) {
  throw DeviceError(std::to_string(bytes) + " bytes (" + mib(bytes) +
                    ") could not be allocated: " + why +
                    "; evaluate a smaller batch (fewer or smaller tensors at once), or free " +
                    "tensors you no longer need; freed memory kiln keeps for reuse is limited " +
                    "by KILN_HOST_CACHE_MB (now " + mib(cache_limit) + ")");
}

// Blocks under kPooled: 64-byte classes up to 1 KiB (0..15), then powers of two (16..21).
size_t size_class(size_t bytes) {
  if (bytes <= 1024) return bytes == 0 ? 0 : (bytes - 1) / 64;
  return 16 + static_cast<size_t>(std::bit_width(bytes - 1)) - 11;
}
size_t class_bytes(size_t c) { return c < 16 ? 64 * (c + 1) : size_t{1024} << (c - 15); }

}  // namespace

std::shared_ptr<uint8_t> HostMemoryPool::take(size_t bytes, bool* fresh) {
  uint8_t* p = nullptr;
  size_t size = bytes;
  if (bytes < kPooled) {
    // Blocks under kPooled in size classes: aligned_alloc of a few kilobytes costs more
    // than a small product's packing or a scalar's whole life.
    const size_t c = size_class(bytes);
    size = class_bytes(c);
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<uint8_t*>& list = small_[c];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
      cached_ -= size;
    }
  } else if (bytes >= kPooled) {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest cached block that fits without wasting more than half of it.
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first <= 2 * bytes + 4096) {
      p = it->second;
      size = it->first;
      cached_ -= size;
      free_.erase(it);
    }
  }
  if (fresh) *fresh = p == nullptr;
  if (!p)
    p = allocate_fresh(size);  // a class's whole size: the block is reused for any of its class
  if (bytes >= kPooled) {
    std::lock_guard<std::mutex> lock(mutex_);
    taken_ += size;
    peak_taken_ = std::max(peak_taken_, taken_);
  }
  try {
    // The branch taken here decides where the block returns: a class's size may reach
    // kPooled (a request of 32 to 64 KiB), yet the block belongs to its class's list.
    const bool small = bytes < kPooled;
    return std::shared_ptr<uint8_t>(p,
                                    [this, size, small](uint8_t* q) { give_back(q, size, small); });
  } catch (const std::bad_alloc&) {  // the shared_ptr's control block; p is freed
    out_of_memory(bytes, "the host is out of memory", cache_limit());
  }
}

uint8_t* HostMemoryPool::allocate_fresh(size_t bytes) {
  static const uint64_t machine = machine_bytes();  // one system call per process
  if (machine > 0 && bytes > machine)
    out_of_memory(bytes, "the machine has " + mib(machine) + " of memory and swap", cache_limit());
  if (uint8_t* p = allocate(bytes)) return p;
  // The cached blocks may be what stands in the way: give them back and try once more.
  release_cache();
  if (uint8_t* p = allocate(bytes)) return p;
  out_of_memory(bytes, "the host is out of memory (or over the process's memory limit)",
                cache_limit());
}

void HostMemoryPool::release_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [bytes, p] : free_) std::free(p);
  free_.clear();
  for (std::vector<uint8_t*>& list : small_) {
    for (uint8_t* p : list) std::free(p);
    list.clear();
  }
  cached_ = 0;
  cached_ = 0;
}

void HostMemoryPool::give_back(uint8_t* p, size_t bytes, bool small) {
  if (small) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<uint8_t*>& list = small_[size_class(bytes)];
    if (list.size() < kSmallKept && cached_ + bytes <= limit_locked()) {
      list.push_back(p);
      cached_ += bytes;
      return;
    }
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    taken_ -= bytes;
    if (cached_ + bytes <= limit_locked()) {
      free_.emplace(bytes, p);
      cached_ += bytes;
      return;
    }
  }
  std::free(p);
}

size_t HostMemoryPool::limit_locked() const {
  return std::max(cache_limit_, std::min(peak_taken_, grow_to_));
}

size_t HostMemoryPool::cache_limit() {
  std::lock_guard<std::mutex> lock(mutex_);
  return limit_locked();
}

size_t HostMemoryPool::cached_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

HostMemoryPool::~HostMemoryPool() { release_cache(); }

HostMemoryPool& HostMemoryPool::global() {
  // Never destroyed: blocks may come back from static destructors.
  static auto* pool = [] {
    if (const char* env = std::getenv("KILN_HOST_CACHE_MB"); env && *env) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(env, &end, 10);
      if (end && *end == '\0') return new HostMemoryPool(static_cast<size_t>(mb) << 20);
    }
    struct sysinfo info {};
    const uint64_t ram =
        sysinfo(&info) == 0 ? static_cast<uint64_t>(info.totalram) * info.mem_unit : 0;
    return new HostMemoryPool(kDefaultCacheLimit, static_cast<size_t>(ram / 2));
  }();
  return *pool;
}

}  // namespace kiln
