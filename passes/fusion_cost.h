// fusion_cost: the cost model that keeps a fused kernel bounded, whatever the graph.
//
// The scheduler inlines every value that is not stored into the kernel that reads it, so
// without a bound a 1,000,000-op elementwise chain is one kernel of 1,000,000 ops, which
// LLVM and the OpenCL compilers take hours over. cap_fusion walks the body once, in order,
// and gives every value that is not stored two costs of the expression a kernel would
// inline for it:
//   - ops: its code size (transcendental ops count kExpensiveOp, every other op 1), where
//     a value read twice counts twice: that is the recompute of a shared subexpression
//     (row kernels recompute it in each stage's loop, views at each distinct index);
//   - leaves: the loads and scalar arguments it reads, the values a kernel keeps live at
//     once (a proxy for register pressure, and what bounds a kernel's argument list).
// Where a value would exceed either limit, its costliest operands (the value under their
// views, not a view of it) are stored instead, until it fits. Each stored value becomes the
// root of a kernel of its own, within the limits. Graphs under the limits are untouched.
// A product (matmul, conv) costs its readers one op and one load: a GEMM computes it, and
// its factors' expressions are that GEMM's prologues, never inlined into its readers.
// Requires a body in topological order. Tests: tests/passes/fusion_cost_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

struct FusionLimits {
  int64_t max_ops = 512;
  int64_t max_leaves = 96;
};

// The cost of a transcendental op against 1 for the others: what its inline expansion
// costs in instructions, roughly.
inline constexpr int64_t kExpensiveOp = 8;

struct FusionCut {
  const ir::Node* node = nullptr;
  std::string reason;
};

// The values to store so that no inlined expression exceeds `limits`, in body order.
// `stored` says which values are stored already (parameters, constants with data, values
// the scheduler materializes); `inlined_leaf` which values a kernel reads as a scalar
// argument rather than computing (single-element constants).
std::vector<FusionCut> cap_fusion(const ir::Graph& graph,
                                  const std::function<bool(const ir::Node*)>& stored,
                                  const std::function<bool(const ir::Node*)>& inlined_leaf,
                                  const FusionLimits& limits);

}  // namespace kiln::passes
