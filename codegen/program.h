// Program: a whole graph compiled to KernelIR, ready for any backend to run. It is the
// schedule (passes/schedule.h), each group lowered (lower_group.h), the buffers every
// launch uses (graph parameters, constants, results, intermediates, temporaries) and the
// memory plan that lets dead intermediates share memory (passes/memory_plan.h). Distinct
// kernels are kept once, keyed by their structural hash, so a graph that repeats a
// computation compiles it once. Tests: tests/codegen/fusion_test.cpp, lower_group_test.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/lower_group.h"
#include "ir/graph.h"
#include "passes/memory_plan.h"
#include "passes/schedule.h"

namespace kiln::codegen {

struct ProgramValue {
  enum class Kind : uint8_t {
    Parameter,     // graph input `param`
    Constant,      // data held by `node` (a constant or an already evaluated node)
    Result,        // a value the graph returns: a fresh buffer per run
    Intermediate,  // a value only kernels read: lives in memory-plan slot `slot`
    Temp,          // a group's scratch buffer: lives in slot `slot`
  };
  Kind kind = Kind::Intermediate;
  DType dtype = DType::F32;
  int64_t numel = 0;
  int param = -1;
  const ir::Node* node = nullptr;
  int slot = -1;

  int64_t nbytes() const { return numel * static_cast<int64_t>(dtype_size(dtype)); }
};

struct Launch {
  int kernel = 0;                     // index into Program::kernels
  std::vector<int> buffers;           // a Program value per kernel buffer
  std::vector<ScalarSource> scalars;  // a source per kernel scalar argument
};

struct Program {
  passes::Schedule schedule;
  std::vector<Kernel> kernels;  // distinct kernels
  std::vector<uint64_t> kernel_hashes;
  std::vector<ProgramValue> values;
  std::vector<Launch> launches;  // in order
  std::vector<int> results;      // a value per graph result
  passes::MemoryPlan memory;
};

// Compiles `graph` (already optimized by the graph passes) to a program.
Program build_program(const ir::Graph& graph, const LowerOptions& lower = {},
                      const passes::ScheduleOptions& schedule = {});

}  // namespace kiln::codegen
