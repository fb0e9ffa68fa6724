// Statistic counters and the per-thread scopes that collect them.
#include "passes/statistic.h"

namespace kiln::passes {

namespace {
thread_local StatisticScope* innermost_scope = nullptr;
}  // namespace

Statistic& Statistic::operator+=(int64_t n) {
  if (n == 0) return *this;
  total_.fetch_add(n, std::memory_order_relaxed);
  for (StatisticScope* scope = innermost_scope; scope; scope = scope->outer_) {
    auto it = scope->counts_.begin();
    while (it != scope->counts_.end() && it->first != this) ++it;
    if (it == scope->counts_.end())
      scope->counts_.emplace_back(this, n);
    else
      it->second += n;
  }
  return *this;
}

std::string StatisticCount::str() const {
  return pass + ": " + std::to_string(count) + " " + description;
}

StatisticScope::StatisticScope() : outer_(innermost_scope) { innermost_scope = this; }

StatisticScope::~StatisticScope() { innermost_scope = outer_; }

std::vector<StatisticCount> StatisticScope::counts() const {
  std::vector<StatisticCount> out;
  for (const auto& [stat, count] : counts_)
    if (count != 0)
      out.push_back({std::string(stat->pass()), std::string(stat->description()), count});
  return out;
}

}  // namespace kiln::passes
