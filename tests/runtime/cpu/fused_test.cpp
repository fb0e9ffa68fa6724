// Fused computations on the CPU device: row kernels (softmax, layer_norm, log_softmax)
// against the reference, kernel launch counts, and scalars that change without a
// recompile.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include "codegen/aot/emit_source.h"
#include "frontend/evaluate.h"
#include "passes/pipeline.h"
#include "runtime/driver.h"
#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

Tensor data(const Shape& s, uint64_t seed, DType t = DType::F32) {
  BufferPtr b = random_buffer({DType::F32, s}, seed);
  std::vector<float> v(b->as<float>(), b->as<float>() + numel(s));
  return from_data(v, s, t);
}

// Rows of n values: the bound of a dtype's sums of n terms.
void check(const std::vector<Tensor>& ts, int64_t n, const std::string& what) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : ts) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  expect_matches_reference(cpu(), ex.graph, ex.inputs, accumulated_tolerance(ts[0].dtype(), n),
                           what);
}

TEST(CpuFused, SoftmaxLayerNormLogSoftmax) {
  for (const Shape& s : std::vector<Shape>{{7, 33}, {64, 1024}, {3, 1}, {1, 5000}, {2, 3, 17}}) {
    Tensor x = data(s, 1);
    Tensor w = data({s.back()}, 2);
    Tensor b = data({s.back()}, 3);
    check({softmax(x)}, s.back(), "softmax " + shape_str(s));
    check({log_softmax(x)}, s.back(), "log_softmax " + shape_str(s));
    check({layer_norm(x, -1, w, b)}, s.back(), "layer_norm " + shape_str(s));
    check({softmax(x, 0)}, s[0], "softmax axis 0 " + shape_str(s));
  }
  Tensor h = data({9, 130}, 4, DType::F16);
  check({softmax(h)}, 130, "softmax f16");
  check({layer_norm(h)}, 130, "layer_norm f16");
}

TEST(CpuFused, RowKernelWithTwoResults) {
  Tensor x = data({12, 77}, 5);
  Tensor m = kiln::max(x, {1}, true);
  check({softmax(x), m, sum(x, {1})}, 77, "softmax with its max");
}

TEST(CpuFused, SoftmaxSplitIntoTwoKernelsWhenRowsAreLarge) {
  Tensor x = data({3, 700}, 6);
  std::vector<ir::NodePtr> roots = {softmax(x).node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  std::vector<BufferPtr> want = runtime::evaluate(ex.graph, ex.inputs);
  ir::Graph g = ex.graph;
  passes::optimize_graph(g);
  passes::ScheduleOptions small;
  small.max_row_bytes = 512;
  codegen::Program p = codegen::build_program(g, cpu().lower_options(), small);
  EXPECT_EQ(p.launches.size(), 2u);
  std::vector<BufferPtr> got = runtime::run_program(cpu(), p, ex.inputs);
  EXPECT_TRUE(buffers_close(*got[0], *want[0], accumulated_tolerance(DType::F32, 700)));
}

TEST(CpuFused, LaunchCounts) {
  Tensor x = data({64, 128}, 7);
  Tensor bias = data({128}, 8);
  Tensor chain = tanh(maximum(subtract(exp(multiply(add(x, bias), 0.5f)), x), 0.25f));
  auto count = [](const std::vector<Tensor>& ts) {
    std::vector<ir::NodePtr> roots;
    for (const Tensor& t : ts) roots.push_back(t.node());
    frontend::Extraction ex = frontend::extract_graph(roots, false);
    return launches_of(ex.graph, ex.inputs);
  };
  EXPECT_EQ(count({chain}), 1);
  EXPECT_EQ(count({sum(exp(add(x, x)), {1})}), 1);
  EXPECT_LE(count({softmax(x)}), 2);
  EXPECT_LE(count({layer_norm(x, -1, bias, bias)}), 2);
}

TEST(CpuFused, ChangingAScalarDoesNotRecompile) {
  Tensor x = data({16, 100}, 9);
  auto run = [&](float s) {
    Tensor y = exp(multiply(x, s));
    std::vector<ir::NodePtr> roots = {y.node()};
    frontend::Extraction ex = frontend::extract_graph(roots, false);
    std::vector<BufferPtr> want = runtime::evaluate(ex.graph, ex.inputs);
    std::vector<BufferPtr> got = cpu().run(ex.graph, ex.inputs);
    EXPECT_TRUE(buffers_close(*got[0], *want[0])) << "scale " << s;
  };
  run(0.75f);
  Stats before = stats();
  run(-1.25f);
  run(3.5f);
  Stats after = stats();
  EXPECT_EQ(after.kernels_compiled, before.kernels_compiled);
  EXPECT_EQ(after.cache_hits_disk, before.cache_hits_disk);
  EXPECT_GE(after.cache_hits_memory - before.cache_hits_memory, 2);
}

// Rows narrower than the vector (or with a partial last vector) run as vectors whose lanes
// past the row are switched off, and loads every 2nd to 4th element as one load and a
// shuffle: a 2 x 2 max-pool over 28- and 14-wide planes (the CNN's), odd widths, and
// strided slices, in several dtypes.
// Kernels whose loads gather (channels-first buffers read channels-last) walk the loop the
// loads run along (codegen/choose_outer_walk.h): with a batch loop around it, partial
// vectors of the last loop, and thread ranges that start mid-walk.
TEST(CpuFused, GatheringKernelsWalkAnotherLoop) {
  for (const Shape& s : std::vector<Shape>{{2, 100, 300}, {3, 77, 1024}, {1, 4096, 40}}) {
    Tensor a = data({s[0], s[2], s[1]}, 11), b = data({s[0], s[2], s[1]}, 12);
    Tensor x = data(s, 13);
    Tensor y = swapaxes(a, 1, 2) + swapaxes(b, 1, 2) * relu(x);
    check({y}, 1, "walk " + shape_str(s));
    frontend::Extraction ex = frontend::extract_graph({y.node()}, false);
    auto prepared = runtime::prepare(cpu(), ex.graph, ex.inputs);
    ASSERT_EQ(prepared->program().kernels.size(), 1u);
    EXPECT_GE(prepared->program().kernels[0].walk_outer, 0) << shape_str(s);
  }
}

// A gated product of the halves of [L, 4, B] read as [L, 4 B]: the last loop is split at B
// (codegen/split_divided_loop.h), with B a multiple of the lanes or not.
TEST(CpuFused, HalvesOfAMergedDimension) {
  for (int64_t b : {48, 96, 100, 1536}) {
    Tensor u = data({4, 33, b}, 14);
    Tensor m = reshape(swapaxes(u, 0, 1), {33, 4 * b});
    Tensor y = slice(m, 1, 0, 2 * b) * erf(slice(m, 1, 2 * b, 4 * b));
    check({y}, 1, "halves " + std::to_string(b));
    // Blocks of whole vectors (48, 96, 1536): the last loop [2 b] became [2, b].
    frontend::Extraction ex = frontend::extract_graph({y.node()}, false);
    auto prepared = runtime::prepare(cpu(), ex.graph, ex.inputs);
    ASSERT_EQ(prepared->program().kernels.size(), 1u);
    EXPECT_EQ(prepared->program().kernels[0].outer.size(), b % 16 == 0 ? 3u : 2u) << b;
  }
}

TEST(CpuFused, PartialVectorsAndStridedLoads) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::F16}) {
    for (int64_t w : {28, 14, 6, 34}) {
      Tensor x = data({3, 5, 4, w}, 7, t);
      Tensor pooled = kiln::max(reshape(x, {3, 5, 2, 2, w / 2, 2}), {3, 5});
      check({pooled}, 1,
            "2 x 2 max-pool of width " + std::to_string(w) + " " + std::string(dtype_name(t)));
      check({relu(pooled + data({3, 5, 2, w / 2}, 8, t))}, 1, "pool, then add and relu");
    }
    Tensor y = data({6, 37}, 9, t);
    for (int64_t step : {2, 3, 4, 5})
      check({slice(y, 1, 1, std::nullopt, step) * 2}, 1,
            "every " + std::to_string(step) + "th of 37");
    check({slice(y, 1, 0, 36, 2) + slice(y, 1, 1, 37, 2)}, 1, "even plus odd columns");
    // A pool of 3 taps at a stride of 2 (as ONNX's MaxPool imports): three phases, two of
    // them one load.
    Tensor z = data({20, 16, 50}, 10, t);
    std::vector<Tensor> taps;
    for (int64_t c : {0, 1, 2}) taps.push_back(reshape(slice(z, 2, c, c + 47, 2), {20, 16, 24, 1}));
    check({kiln::max(concatenate(taps, 3), {3})}, 1, "3 taps at a stride of 2");
  }
  // Rows of whole vectors: the taps of a 2 x 2 pool read each lane's two columns whole, one
  // plain load for both (emit_kernel.cpp, load_whole_strides), no masked load. The even
  // columns of 32 x 64 (the last read is the buffer's last but one) read whole too; those of
  // 32 x 63 would reach past the buffer's end, so they are read masked.
  Tensor x = data({2, 4, 4, 64}, 10);
  Tensor pooled = kiln::max(reshape(x, {2, 4, 2, 2, 32, 2}), {3, 5});
  auto masked = [](const Tensor& t) {
    frontend::Extraction ex = frontend::extract_graph({t.node()}, false);
    return codegen::aot::llvm_ir(ex.graph).find("llvm.masked.load") != std::string::npos;
  };
  EXPECT_FALSE(masked(pooled));
  EXPECT_FALSE(masked(slice(data({32, 64}, 9), 1, 0, 64, 2) * 2));
  EXPECT_TRUE(masked(slice(data({32, 63}, 9), 1, 0, 63, 2) * 2));
}

// A pad's, a conv border's and a concatenation's reads are guarded and clamped; where the
// guard holds the clamp changes nothing, so they run as one vector load with the other lanes
// off, not a gather: pads on either side of odd and vector-sized rows, concatenations, in
// several dtypes, and the borders of a depthwise 3x3 conv, against the reference; and the
// generated code has no gather.
TEST(CpuFused, PaddedReadsAreMaskedVectorLoads) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::F16}) {
    for (int64_t w : {1, 13, 16, 37}) {
      Tensor x = data({5, w}, 11, t);
      check({pad(x, {{0, 0}, {3, 20}}) * 2}, 1, "pad of width " + std::to_string(w));
      check({pad(x, {{1, 2}, {17, 0}}, 3) + 1}, 1, "2-D pad, value 3");
      // Two padded reads in one kernel, at different places (a pad beside its flip).
      Tensor p = pad(x, {{2, 1}, {0, 5}});
      check({minimum(p, flip(p, {0}))}, 1, "pad beside its flip");
      // A concatenation's operands: each read where the select over the offsets takes it.
      Tensor y = data({5, w + 3}, 15, t), z = data({5, 2}, 16, t);
      check({concatenate({x, y}, 1) * 2}, 1, "concat of two, width " + std::to_string(w));
      check({concatenate({z, x, y, z}, 1) + 1}, 1, "concat of four");
      check({concatenate({x, -x}, 0) * 2}, 1, "concat along rows");
    }
  }
  for (int64_t w : {56, 37}) {
    Tensor x = data({2, 8, 20, w}, 12), k = data({8, 1, 3, 3}, 13);
    check({conv2d(x, k, {.padding = 1, .groups = 8})}, 9,
          "depthwise 3x3 over width " + std::to_string(w));
  }
  Tensor x = data({64, 1000}, 14), y = data({64, 1048}, 17);
  for (const Tensor& r : {-pad(x, {{0, 0}, {24, 1024}}), -concatenate({x, y}, 1)}) {
    frontend::Extraction ex = frontend::extract_graph({r.node()}, false);
    const std::string ir = codegen::aot::llvm_ir(ex.graph);
    EXPECT_NE(ir.find("llvm.masked.load"), std::string::npos);
    EXPECT_EQ(ir.find("llvm.masked.gather"), std::string::npos) << ir;
  }
}

}  // namespace
}  // namespace kiln::testing
