// lower_group: turns one fusion group (passes/schedule.h) into KernelIR kernels.
//
// Every value the group computes becomes an expression evaluated at an index: elementwise
// ops map operands at the same index, movement ops rewrite the index (reshape through the
// linear index, pad and concat as guarded, clamped reads), reductions of the group's rows
// become Reduce stages, and materialized values are loads. Single-element constants and
// random keys become scalar arguments. Adjacent loop dimensions are merged where that
// removes (or adds no) index division, so contiguous data is walked by one loop.
// Tests: tests/codegen/lower_group_test.cpp.
#pragma once

#include <vector>

#include "codegen/kernel_ir.h"
#include "ir/node.h"
#include "passes/schedule.h"

namespace kiln::codegen {

// Where a kernel's buffer comes from: a value of the graph, or a temporary of its group.
struct BufferSource {
  const ir::Node* node = nullptr;
  int temp = -1;
};

// Where a kernel's scalar argument comes from: the value of a single-element constant, or
// the key of a random_uniform node.
struct ScalarSource {
  const ir::Node* node = nullptr;
};

struct TempBuffer {
  DType dtype = DType::F32;
  int64_t numel = 0;
};

struct LoweredKernel {
  Kernel kernel;
  std::vector<BufferSource> buffers;  // one per kernel buffer that is not local
  std::vector<ScalarSource> scalars;  // one per kernel.scalars
};

struct LoweredGroup {
  std::vector<LoweredKernel> kernels;  // run in this order
  std::vector<TempBuffer> temps;
};

struct LowerOptions {
  bool merge_loops = true;  // merge adjacent dimensions when it removes index division
  int vector_lanes = 16;    // lanes of the widest vector of f32, for the vectorization choice
  int threads = 1;          // threads the outer loops are split across
  // Largest per-instance row buffer a kernel may use to keep an expensive row value from
  // one stage for the next (0: never; backends without private memory leave it 0).
  int64_t row_cache_bytes = 0;
  // The schedule's max_operand_prologue_ops for this device (build_program takes the
  // smaller of the two).
  int max_operand_prologue_ops = 8;
  // Whether outer-vectorized kernels whose loads gather may run another outer loop
  // consecutively (choose_outer_walk.h): what a CPU's caches want.
  bool walk_gathered_lines = false;
  // Whether the last outer loop of a flat map kernel is split where its indices divide it
  // (split_divided_loop.h): what vectors along it need to become loads instead of gathers.
  bool split_divided_loops = false;
};

LoweredGroup lower_group(const passes::FusionGroup& group, const LowerOptions& options = {});

// The 8-byte argument slot of a scalar source: integers and bool as int64, f16/bf16/f32
// as float bits, f64 as double bits, c64 as two floats (real in the low half); a random
// key as its int64.
uint64_t scalar_slot(const ScalarSource& source);

}  // namespace kiln::codegen
