// Helpers shared by the pass tests: random inputs rich in special values, exact comparison
// of results, and the check that a rewrite preserved a graph's values.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes::testing {

// One buffer per parameter of `graph`, filled from `seed`. Floats mix ordinary values with
// +-0, +-inf, NaN and +-1; integers mix small values with the dtype's extremes.
std::vector<BufferPtr> random_inputs(const ir::Graph& graph, uint64_t seed);

// Whether two buffers have the same type and elements bit for bit, except that a NaN
// equals any NaN (the passes may change a NaN's payload, never its NaN-ness).
::testing::AssertionResult same_values(const Buffer& expected, const Buffer& actual);

// Evaluates `before` and `after` with the reference evaluator on the same random inputs
// (`trials` seeds) and checks that every result is the same (as same_values says).
::testing::AssertionResult same_results(const ir::Graph& before, const ir::Graph& after,
                                        int trials = 8);

}  // namespace kiln::passes::testing
