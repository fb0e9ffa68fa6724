// Structural hashing of graphs: equal for graphs that print identically once values are
// renamed (same parameter types in order, same body ops in order with the same types,
// attributes, operand wiring and constant data, same results in order), whatever the
// graph's, parameters' and values' names. Source locations are ignored. The kernel cache
// keys compiled code by it. Tests: tests/ir/hash_test.cpp.
#pragma once

#include <cstdint>
#include <span>

#include "ir/graph.h"

namespace kiln::ir {

struct HashOptions {
  // Rank-0 constants contribute their type but not their value, for caches that pass
  // scalars to kernels as arguments (so `x * 2` and `x * 3` share one kernel).
  bool ignore_scalar_constant_values = false;
};

uint64_t structural_hash(const Graph& graph, const HashOptions& options = {});

// The same hash of a graph given as lists of plain pointers, as a walk over nodes it does
// not own sees it (the frontend hashes live histories so, before copying any): `params`
// add their types; `nodes` (operands before users, each operand among `params` or earlier
// `nodes`) their ops, types, wiring, attributes and constant data. Equal to the hash of the
// Graph with these lists.
uint64_t structural_hash(std::span<const Node* const> params, std::span<const Node* const> nodes,
                         std::span<const Node* const> results, const HashOptions& options = {});

}  // namespace kiln::ir
