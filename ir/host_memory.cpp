// HostMemoryPool: size-keyed free lists of aligned, huge-page-advised blocks.
#include "ir/host_memory.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>
#include <string>

#include "ir/error.h"

namespace kiln {

namespace {

constexpr size_t kHuge = size_t{2} << 20;

uint8_t* allocate(size_t bytes) {
  size_t align = bytes >= kHuge ? kHuge : 64;
  size_t rounded = (bytes + align - 1) / align * align;
  if (rounded == 0) rounded = align;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, rounded));
  if (!p) throw DeviceError("out of host memory allocating " + std::to_string(bytes) + " bytes");
#ifdef MADV_HUGEPAGE
  if (align == kHuge) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace

std::shared_ptr<uint8_t> HostMemoryPool::take(size_t bytes, bool* fresh) {
  uint8_t* p = nullptr;
  size_t size = bytes;
  if (bytes >= kPooled) {
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
  if (!p) p = allocate(bytes);
  return std::shared_ptr<uint8_t>(p, [this, size](uint8_t* q) { give_back(q, size); });
}

void HostMemoryPool::give_back(uint8_t* p, size_t bytes) {
  if (bytes >= kPooled) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + bytes <= cache_limit_) {
      free_.emplace(bytes, p);
      cached_ += bytes;
      return;
    }
  }
  std::free(p);
}

size_t HostMemoryPool::cached_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

HostMemoryPool::~HostMemoryPool() {
  for (auto& [bytes, p] : free_) std::free(p);
}

HostMemoryPool& HostMemoryPool::global() {
  // Never destroyed: blocks may come back from static destructors.
  static auto* pool = [] {
    size_t limit = kDefaultCacheLimit;
    if (const char* env = std::getenv("KILN_HOST_CACHE_MB"); env && *env) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(env, &end, 10);
      if (end && *end == '\0') limit = static_cast<size_t>(mb) << 20;
    }
    return new HostMemoryPool(limit);
  }();
  return *pool;
}

}  // namespace kiln
