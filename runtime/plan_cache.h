// PlanCache: what the driver (runtime/driver.h) compiled a graph to for one device, kept
// for the next eval of the same computation. Keyed by the exact structural hash of the
// graph (ir/hash.h: parameter types, ops, attributes, wiring, and the data of the small
// inline constants), so two graphs with one key compute the same function of their inputs; a
// repeated eval then skips the graph passes, scheduling and lowering. Graphs that differ
// only in a scalar's value get plans of their own (their kernels are shared all the
// same: the kernel caches ignore scalar values). Bounded; the least recently used plan
// goes first. Thread safe. Tests: tests/runtime/cpu/device_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "codegen/program.h"
#include "ir/graph.h"

namespace kiln::runtime {

// A graph after the graph passes with the program it compiled to: the program reads
// constants and scalars from the graph's nodes, so the two live together.
struct CompiledGraph {
  ir::Graph graph;
  codegen::Program program;
};

class PlanCache {
 public:
  // Rewrites its graph (the graph passes) and returns the program.
  using Compile = std::function<codegen::Program(ir::Graph& graph)>;

  explicit PlanCache(size_t capacity) : capacity_(capacity) {}

  // The plan of `graph`: the cached one (counted in Stats::plans_reused), else a copy of
  // `graph` compiled by `compile` and remembered.
  std::shared_ptr<const CompiledGraph> get(const ir::Graph& graph, const Compile& compile);
  // The plan cached for the graph whose structural hash (ir/hash.h) is `key`, counted in
  // Stats::plans_reused; null when there is none. For callers that hash a graph without
  // building it (frontend/evaluate.cpp).
  std::shared_ptr<const CompiledGraph> find(uint64_t key);

  size_t size();

 private:
  using Entry = std::pair<uint64_t, std::shared_ptr<const CompiledGraph>>;
  void insert(uint64_t key, std::shared_ptr<const CompiledGraph> plan);

  const size_t capacity_;
  std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace kiln::runtime
