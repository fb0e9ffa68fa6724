// Structural hashing of graphs: equal for graphs that print identically once values are
// renamed (same parameter types in order, same body ops in order with the same types,
// attributes, operand wiring and constant data, same results in order), whatever the
// graph's, parameters' and values' names. Source locations are ignored. The kernel cache
// keys compiled code by it. Tests: tests/ir/hash_test.cpp.
#pragma once

#include <cstdint>

#include "ir/graph.h"

namespace kiln::ir {

struct HashOptions {
  // Rank-0 constants contribute their type but not their value, for caches that pass
  // scalars to kernels as arguments (so `x * 2` and `x * 3` share one kernel).
  bool ignore_scalar_constant_values = false;
};

uint64_t structural_hash(const Graph& graph, const HashOptions& options = {});

}  // namespace kiln::ir
