// KernelIR: one kernel is a loop nest over an iteration space, split into parallel outer
// loops and a sequence of stages run inside each outer iteration:
//
//   for outer vars (parallel, split across threads):
//     stage 0: Reduce  for inner vars: acc = combine(acc, value)      -> StageValue 0
//     stage 1: Reduce  ...may read StageValue 0...                    -> StageValue 1
//     stage 2: Loop    for inner vars: store buffer[index] = value    (may read both)
//
// A Scan stage keeps a running accumulator and stores it at each step. Movement ops are
// already index arithmetic inside the expressions (codegen/expr.h); scalar values the
// program may change between runs are kernel arguments (Arg), so the kernel's structure
// and hash do not depend on them. KernelIR knows nothing of LLVM or OpenCL: both render
// it. The printer's text is what the kernel cache hashes. Tests: tests/codegen/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/expr.h"

namespace kiln::codegen {

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min, ArgMax, ArgMin };

std::string_view reduce_op_name(ReduceOp op);

// A loop variable `var` over [0, extent), or over [begin, end) when those are set (chunks
// of a split reduction); `extent` then still bounds the range, for the index simplifier.
struct Loop {
  int var = 0;
  int64_t extent = 0;
  ExprPtr begin, end;
};

struct Store {
  int buffer = 0;
  ExprPtr index;  // i64 element index
  ExprPtr value;  // converted to the buffer's dtype on store
  ExprPtr guard;  // optional: the store happens only where it is true
  // Set by choose_streaming_stores (codegen/choose_streaming_stores.h) for a SIMD backend:
  // the alignment (bytes) of the non-temporal vector stores it may use; 0: plain stores.
  int64_t stream_alignment = 0;
};

enum class StageKind : uint8_t {
  Reduce,  // folds `value` over the loops into an accumulator; StageValue(this) after it;
           // its `stores` (if any) run at every iteration
  Loop,    // runs `stores` at every iteration of its loops (no loops: once)
  Scan,    // one loop; folds `value` in order and runs `stores` after each step, where
           // StageValue(this) is the running value
};

struct Stage {
  StageKind kind = StageKind::Loop;
  std::vector<Loop> loops;
  // Reduce and Scan.
  ReduceOp op = ReduceOp::Sum;
  DType acc_dtype = DType::F32;  // the accumulator's dtype (and the stage value's)
  ExprPtr value;
  ExprPtr position;  // ArgMax/ArgMin: the candidate's position along the reduced axis
  // Loop and Scan.
  std::vector<Store> stores;
  // Iterations must run one at a time in order (a read-modify-write of the same buffer).
  bool sequential = false;
  // Reduce: set by choose_pairwise_sums (codegen/choose_pairwise_sums.h) for long float
  // sums: each accumulator adds about this many values into a block, and blocks combine as
  // the tree of a pairwise sum; 0: one running accumulator. Printed, as the code differs.
  int pairwise_block = 0;
};

enum class VectorMode : uint8_t {
  None,   // scalar code
  Outer,  // the last outer loop, in blocks of lanes; every stage runs once per block
  Inner,  // the innermost loop of each stage that has loops (not sequential ones)
};

struct BufferParam {
  DType dtype = DType::F32;
  int64_t numel = 0;
  bool read = false;
  bool written = false;
  // A row buffer private to each running instance of the kernel (not passed in; local
  // buffers come after all others). Made only when LowerOptions::row_cache_bytes allows.
  bool local = false;
};

// How a device that runs kernels as groups of work-items (OpenCL) runs this kernel.
enum class GroupShape : uint8_t {
  Map,    // a work-item per outer iteration (or per `lanes` consecutive ones); stages' loops
          // run inside the work-item
  Row,    // a work-group per outer iteration: loop stages are split across the group and
          // reductions combined as a tree in local memory
  Split,  // few outer iterations with long rows: each Reduce stage is a partial pass over
          // many work-groups and a final pass per outer iteration
  Gemm,   // a contraction (Kernel::contraction) as a tiled GEMM: a work-group per output
          // tile of GroupMapping::gemm, its epilogue fused (kernels/opencl/gemm.h)
  Fft,    // a transform (Kernel::spectral) as Stockham passes over rows in local memory,
          // its prologue and epilogue fused (kernels/opencl/fft.h)
};
std::string_view group_shape_name(GroupShape shape);

// The tiles of a GEMM-shaped kernel on a work-group device: a work-group computes a
// bm x bn block of the output, stepping bk along the sum, each work-item a tm x tn block
// held in registers. All zero: not chosen (kernels/opencl/gemm.h checks and picks them).
struct GemmTile {
  int bm = 0, bn = 0, bk = 0, tm = 0, tn = 0;
  bool chosen() const { return bm > 0; }
  int work_items() const { return tm > 0 && tn > 0 ? (bm / tm) * (bn / tn) : 0; }
  bool operator==(const GemmTile&) const = default;
};

// The side of a tiled map kernel's tile (GroupMapping::tiled): a warp's 32 elements.
constexpr int kMapTile = 32;
// The work-items of a tiled map kernel's work-group.
constexpr int kMapTileGroup = 256;

// Set by map_to_work_groups (codegen/kernel_passes.h) for one device; it follows from the
// kernel and the device, so it is not part of the printed kernel (nor of its hash).
struct GroupMapping {
  GroupShape shape = GroupShape::Map;
  int lanes = 1;  // consecutive elements a work-item handles as one vector
  // Map: the index in `outer` of the loop that consecutive work-items walk (-1: the last
  // one, `lanes` elements a work-item; choose_map_order.h).
  int fast_outer = -1;
  // Map with fast_outer: work-groups take tiles of kMapTile x kMapTile elements of
  // (fast_outer, the last loop) and pass the stored values through local memory, so that
  // the loads walk fast_outer and the stores whole lines of the last loop (a transpose).
  bool tiled = false;
  int64_t group_size = 1;    // work-items per group
  int64_t split_groups = 1;  // Split: work-groups per outer iteration in a partial pass
  // Row: per stage, whether each work-item's share of the row is unrolled and held in
  // registers (rather than looped over).
  std::vector<bool> in_registers;
  // Per buffer: whether loads the lanes make at consecutive elements may become one vector
  // load (the buffer is not written by the kernel, so no lane's store can change it).
  std::vector<bool> vector_loads;
  // Gemm: the tiles.
  GemmTile gemm;
};

struct Contraction;  // codegen/contraction.h
struct Spectral;     // codegen/spectral.h

struct Kernel {
  std::string name;
  std::vector<Loop> outer;  // parallel: every outer iteration is independent
  std::vector<Stage> stages;
  std::vector<BufferParam> buffers;
  std::vector<DType> scalars;  // Arg slots
  int num_vars = 0;            // loop variables are numbered [0, num_vars)

  // Set by choose_vectorization (codegen/kernel_passes.h): which loop's consecutive
  // iterations become vector lanes.
  VectorMode vector_mode = VectorMode::None;
  // Vectors per vectorized iteration: the lanes a backend uses are its vector width times
  // this (several accumulators, longer contiguous runs per row of a column reduction).
  int vector_unroll = 1;
  // The backend's vector width is divided by this where the vectorized loop is short: a
  // row of 7 values runs in 8 lanes rather than 16.
  int vector_narrowing = 1;
  // Set by choose_outer_walk (codegen/choose_outer_walk.h) for outer vectorization: the
  // index in `outer` of the loop whose iterations run consecutively, each one a vector of
  // the last loop (a gather's lines are then read again at the next step); -1: the vectors
  // of the last loop run consecutively.
  int walk_outer = -1;
  // Set by map_to_work_groups, for devices that run work-groups.
  GroupMapping groups;
  // Set by match_contraction (codegen/contraction.h) when a library GEMM (kernels/) runs
  // the kernel; it follows from the kernel, so it is not printed (nor hashed).
  std::shared_ptr<const Contraction> contraction;
  // Set by lower_group on the DFT loop nest of an fft / rfft / irfft (codegen/spectral.h):
  // a library FFT runs the kernel where the backend has one. Not printed (nor hashed).
  std::shared_ptr<const Spectral> spectral;

  int64_t outer_count() const;
};

// The canonical text of a kernel: loops, stages and every expression node once, named by
// first use. Two kernels print alike exactly when they compute alike, whatever their
// names and argument values.
std::string print_kernel(const Kernel& kernel);

// 64-bit structural hash of print_kernel's text (FNV-1a).
uint64_t kernel_hash(const Kernel& kernel);
uint64_t fnv1a(std::string_view text, uint64_t seed = 0xcbf29ce484222325ull);

// Throws CompileError when the kernel breaks a KernelIR invariant (a variable used outside
// its loops, a StageValue read before its stage, a buffer index out of range...).
void verify_kernel(const Kernel& kernel);

}  // namespace kiln::codegen
