// schedule: partitions a graph into fusion groups, each of which becomes one kernel (two
// for scatter_add) on every backend.
//
// A group is rooted at a value that must be materialized (a graph result, or a boundary
// below) and inlines everything it reads that is not materialized: elementwise ops,
// casts, movement ops (as index arithmetic), iota, random, gather. Its iteration space is
// a shape S with a set of row axes A. Reductions over A of an S-shaped value fuse in as
// stages; when their result is broadcast back over A and used elementwise again (softmax,
// layer_norm), the whole row computation is one kernel. A value is materialized (a
// "boundary") only where it must be; every boundary carries the reason, logged at debug
// level:
//   - graph results;
//   - reductions over other axes or shapes than the group's rows, or read through a view;
//   - scans and scatter_add (their own kernels), and matmul operands that are more than
//     memory read through views, casts and a few cheap elementwise ops (a matmul reads
//     each operand element many times; a GEMM evaluates such a prologue as it packs);
//   - a second product, or any other reduction, in a group with a matmul: its kernel is a
//     library GEMM (codegen/contraction.h), which computes one product and its epilogue;
//   - expensive values recomputed per broadcast copy, and reductions that several groups
//     would each recompute;
//   - values where a kernel would exceed the fusion limits (passes/fusion_cost.h).
// Groups with the same S and A where one reads the other's output are merged, within the
// fusion limits. Every walk is iterative and the work is linear in the graph's size for
// bounded groups: graphs of a million nodes schedule without deep recursion.
// Requires a verified graph; guarantees groups in dependency order, each output stored by
// exactly one group. Tests: tests/codegen/schedule_test.cpp.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "passes/fusion_cost.h"

namespace kiln::passes {

enum class GroupKind : uint8_t {
  Pointwise,  // elementwise work, rows reductions and their broadcast-back, matmul
  Scan,       // one cumsum / cumprod along `axes[0]`
  Scatter,    // one scatter_add: a copy of the base, then the accumulation
};

struct FusionGroup {
  GroupKind kind = GroupKind::Pointwise;
  Shape shape;                // the iteration space S
  std::vector<int64_t> axes;  // the row axes A, sorted (reduced axes; empty for plain maps)
  std::vector<const ir::Node*> outputs;  // values this group stores, topological order
  std::vector<const ir::Node*> nodes;    // values it computes (outputs included), topological
  std::vector<const ir::Node*> inputs;   // materialized values it reads
};

struct Boundary {
  const ir::Node* node = nullptr;
  std::string reason;
};

struct Schedule {
  std::vector<FusionGroup> groups;   // in dependency order
  std::vector<Boundary> boundaries;  // every materialized value computed by a group
};

struct ScheduleOptions {
  // A row (the elements one outer iteration of a row kernel touches) at most this large
  // keeps reductions and their broadcast-back in one kernel; larger rows materialize the
  // reductions in a kernel of their own.
  int64_t max_row_bytes = int64_t{1} << 20;
  // How large one fused kernel may grow (passes/fusion_cost.h); merging groups keeps to
  // it too.
  FusionLimits limits;
  // Elementwise ops a matmul's operand may compute as the product reads it (a scale, a
  // shift, a gate); an operand of more is stored first. 0: views and casts only, for a
  // device whose GEMM copies plain loads asynchronously (codegen::LowerOptions).
  int max_operand_prologue_ops = 8;
};

Schedule schedule(const ir::Graph& graph, const ScheduleOptions& options = {});

// Whether `node` never needs a kernel or a buffer of its own when read: a constant with a
// single element, which kernels take as a scalar argument.
bool is_scalar_constant(const ir::Node& node);

// A readable summary: one line per group with its kind, shape, axes, outputs and size,
// then the boundaries with their reasons.
std::string print_schedule(const ir::Graph& graph, const Schedule& schedule);

}  // namespace kiln::passes
