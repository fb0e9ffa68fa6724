// PlanCache: what a device compiled a graph to, kept for the next eval of the same
// computation. Keyed by the exact structural hash of the graph the device is handed
// (ir/hash.h: parameter types, ops, attributes, wiring, and the data of the small inline
// constants), so two graphs with one key compute the same function of their inputs; a
// repeated eval then skips the graph passes, scheduling and lowering. Graphs that differ
// only in a scalar's value get plans of their own (their kernels are shared all the
// same: the kernel caches ignore scalar values). Bounded; the least recently used plan
// goes first. Thread safe. Tests: tests/cpu/device_test.cpp.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace kiln::runtime {

template <class Plan>
class PlanCache {
 public:
  explicit PlanCache(size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const Plan> find(uint64_t key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void insert(uint64_t key, std::shared_ptr<const Plan> plan) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(plan);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(plan));
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void clear() {
    std::lock_guard lock(mutex_);
    order_.clear();
    index_.clear();
  }

 private:
  using Entry = std::pair<uint64_t, std::shared_ptr<const Plan>>;
  const size_t capacity_;
  std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<uint64_t, typename std::list<Entry>::iterator> index_;
};

}  // namespace kiln::runtime
