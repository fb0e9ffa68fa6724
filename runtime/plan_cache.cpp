// PlanCache: an LRU list of compiled graphs indexed by structural hash.
#include "runtime/plan_cache.h"

#include "ir/clone.h"
#include "ir/hash.h"
#include "runtime/stats.h"

namespace kiln::runtime {

std::shared_ptr<const CompiledGraph> PlanCache::get(const ir::Graph& graph,
                                                    const Compile& compile) {
  const uint64_t key = ir::structural_hash(graph);
  if (auto plan = find(key)) return plan;
  auto fresh = std::make_shared<CompiledGraph>();
  fresh->graph = ir::clone_graph(graph);
  fresh->program = compile(fresh->graph);
  insert(key, fresh);
  return fresh;
}

size_t PlanCache::size() {
  std::lock_guard lock(mutex_);
  return order_.size();
}

std::shared_ptr<const CompiledGraph> PlanCache::find(uint64_t key) {
  std::shared_ptr<const CompiledGraph> plan;
  {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    plan = it->second->second;
  }
  add_stats([](Stats& st) { ++st.plans_reused; });
  return plan;
}

void PlanCache::insert(uint64_t key, std::shared_ptr<const CompiledGraph> plan) {
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

}  // namespace kiln::runtime
