// Counters of what the graph passes changed, in the manner of LLVM's STATISTIC. A pass file
// declares one counter per kind of change,
//
//   Statistic num_merged("cse", "nodes merged");
//
// and bumps it with `++num_merged` or `num_merged += n`. A counter keeps a process-wide
// total; while a StatisticScope is alive on the calling thread (the pass manager opens one
// around each pass) the counts also go to that scope, so compilations running on other
// threads never mix their reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::passes {

class Statistic {
 public:
  // `pass` and `description` must outlive the counter (string literals do).
  Statistic(std::string_view pass, std::string_view description)
      : pass_(pass), description_(description) {}
  Statistic(const Statistic&) = delete;
  Statistic& operator=(const Statistic&) = delete;

  Statistic& operator+=(int64_t n);
  Statistic& operator++() { return *this += 1; }

  std::string_view pass() const { return pass_; }
  std::string_view description() const { return description_; }
  // Everything counted since the process started.
  int64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  std::string_view pass_;
  std::string_view description_;
  std::atomic<int64_t> total_{0};
};

// One counter's count within a scope; prints as "cse: 3 nodes merged".
struct StatisticCount {
  std::string pass;
  std::string description;
  int64_t count = 0;
  std::string str() const;
};

// Collects the counts bumped on this thread while it is alive. Scopes nest: a count goes
// to every open scope of the thread.
class StatisticScope {
 public:
  StatisticScope();
  ~StatisticScope();
  StatisticScope(const StatisticScope&) = delete;
  StatisticScope& operator=(const StatisticScope&) = delete;

  // The non-zero counts, in the order the counters were first bumped.
  std::vector<StatisticCount> counts() const;

 private:
  friend class Statistic;
  StatisticScope* outer_;
  std::vector<std::pair<const Statistic*, int64_t>> counts_;
};

}  // namespace kiln::passes
