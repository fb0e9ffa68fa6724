// Dense convolutions that the CPU GEMM (kernels/cpu/gemm.h) runs with an AffineB
// (codegen/gemm_kernels.h: B packed by copying runs of a row with zeros around them) and,
// for NCHW, with the images as batches written directly; stride-1 NCHW convs padded on
// both axes read B in place as a WindowB. Each case asserts which path it takes, then
// compares with the reference evaluator. The cases put the padding on every border,
// cross rows of the output inside a panel of B, leave partial panels and row tails of A
// (c_out not a multiple of MR), use strides, dilation, asymmetric padding, groups,
// channels-last views, f64, fused epilogues, depths of one and two blocks of k, and
// batches of 1 and 3 (each batch's panels over the threads) and 6 (whole batches per
// thread); the form of a conv's weight gradient, computed transposed; and the 3x3 convs
// that run as Winograd F(2x2, 3x3) (kernels/cpu/gemm_winograd.cpp), which the window
// cases turn off (KILN_CPU_WINOGRAD=0) to test the windows.
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <string>
#include <vector>

#include "frontend/builder.h"
#include "frontend/evaluate.h"
#include "kernels/cpu/gemm.h"
#include "runtime/driver.h"
#include "tests/runtime/cpu/cpu_test_util.h"
#include "tests/runtime/scoped_env.h"

namespace kiln::testing {
namespace {

struct Case {
  std::string name;
  int dims;  // 1 or 2
  Shape x, w;
  ConvOptions options;
  DType dtype = DType::F32;
  bool relu_bias = false;   // a bias and relu fused after the conv (not a direct output)
  bool direct = true;       // whether the GEMM writes the output itself
  bool transposed = false;  // whether the GEMM computes the transposed product (n: c_out)
  bool window = false;      // whether B is a WindowB (read in place)
  int64_t pitch = 0;        // the WindowB's row pitch, where given
  size_t shifts = 0;        // and its copies of the planes per column shift
  bool winograd = false;    // whether it runs as Winograd F(2x2, 3x3)
};

Tensor data(DType dtype, const Shape& shape, uint64_t seed) {
  return frontend::constant(random_buffer({dtype, shape}, seed, Values::Small), Loc::current());
}

Tensor conv_of(const Case& c) {
  Tensor x = data(c.dtype, c.x, 1), w = data(c.dtype, c.w, 2);
  Tensor y = c.dims == 1 ? conv1d(x, w, c.options) : conv2d(x, w, c.options);
  if (!c.relu_bias) return y;
  Shape b(y.shape().size(), 1);
  b[1] = c.w[0];
  return relu(add(y, data(c.dtype, b, 3)));
}

void check(const Case& c) {
  SCOPED_TRACE(c.name);
  std::vector<ir::NodePtr> roots = {conv_of(c).node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  codegen::Program p = runtime::compile_graph(ex.graph, cpu());
  // The conv's kernel (channels-last layouts may add a copy).
  std::optional<codegen::GemmKernels> gemm;
  int num_vars = 0;
  for (const codegen::Kernel& k : p.kernels)
    if (!gemm) {
      gemm = kernels::cpu::host_gemm_kernels(k);
      num_vars = k.num_vars;
    }
  ASSERT_TRUE(gemm) << "not a GEMM";
  EXPECT_EQ(!kernels::cpu::winograd_taps(*gemm, num_vars).empty(), c.winograd) << "Winograd";
  // Transposed, B is the cotangent, read by the pack kernel, and C^T goes through the
  // epilogue.
  EXPECT_EQ(gemm->b_affine.has_value(), !c.transposed) << "whether B is packed by copies";
  EXPECT_EQ(gemm->direct_output, c.direct && !c.transposed);
  if (c.transposed) {
    EXPECT_EQ(gemm->contraction.n.size(), c.w[0]);
  }
  EXPECT_EQ(gemm->a_window.has_value(), c.transposed) << "whether A is a WindowA";
  EXPECT_EQ(gemm->b_window.has_value(), c.window);
  if (c.pitch) {
    ASSERT_TRUE(gemm->b_window);
    EXPECT_EQ(gemm->b_window->cols, c.pitch) << "the row pitch";
    EXPECT_EQ(gemm->b_window->shifts.size(), c.shifts) << "the copies per column shift";
  }
  // Images are batches only where each leaves at least a panel of B's columns (a window
  // reads no panels).
  if (gemm->contraction.batch.size() > 1 && !c.window) {
    EXPECT_GE(gemm->contraction.n.size(), gemm->tile.nr);
  }
  int64_t terms = 1;
  for (size_t d = 1; d < c.w.size(); ++d) terms *= c.w[d];
  expect_matches_reference(cpu(), ex.graph, ex.inputs, accumulated_tolerance(c.dtype, terms + 1),
                           c.name);
}

const ConvLayout kLast = ConvLayout::ChannelsLast;

TEST(CpuConvGemm, PaddedDenseConvs) {
  // Not windows: rows or columns strided, padding on one axis only, channels-last.
  const std::vector<Case> cases = {
      // 9 x 13 outputs: a panel of B (16 to 48 columns) spans rows; c_out 17 leaves a tail.
      {"stride (2, 1), batch 1",
       2,
       {1, 8, 17, 13},
       {17, 8, 3, 3},
       {.stride = {2, 1}, .padding = 1}},
      {"stride (2, 1), batch 3",
       2,
       {3, 8, 17, 13},
       {17, 8, 3, 3},
       {.stride = {2, 1}, .padding = 1}},
      {"stride 2, asymmetric padding",
       2,
       {3, 5, 15, 12},
       {11, 5, 3, 3},
       {.stride = {2}, .padding = {{2, 0}, {1, 3}}}},
      {"stride (1, 3), dilation (2, 1)",
       2,
       {1, 7, 12, 20},
       {19, 7, 3, 2},
       {.stride = {1, 3}, .padding = {{2, 2}, {1, 1}}, .dilation = {2, 1}}},
      {"conv1d, stride 2, padding 3", 1, {3, 16, 100}, {24, 16, 7}, {.stride = {2}, .padding = 3}},
      {"f64", 2, {3, 6, 17, 11}, {13, 6, 3, 3}, {.stride = {2, 1}, .padding = 1}, DType::F64},
      // More rows than kPrivateBRows: the tasks share a packed block of B.
      {"c_out 130", 2, {2, 8, 19, 9}, {130, 8, 3, 3}, {.stride = {2, 1}, .padding = 1}},
      {"bias and relu",
       2,
       {3, 8, 17, 13},
       {17, 8, 3, 3},
       {.stride = {2, 1}, .padding = 1},
       DType::F32,
       true,
       false},
      // Channels-last: B's columns are strided in the input (the output is transposed by a
      // kernel of its own).
      {"NHWC", 2, {3, 9, 13, 8}, {17, 8, 3, 3}, {.padding = 1, .layout = kLast}},
  };
  for (const Case& c : cases) check(c);
}

// Stride-1 convolutions padded on both axes (or conv1d): B is a WindowB, each batch's
// planes copied once with their padding and read in place at per-tap offsets.
TEST(CpuConvGemm, WindowConvs) {
  std::vector<Case> cases = {
      // A panel of virtual columns (48) spans rows of 13: a copy of the planes per
      // column shift (3) makes every virtual column an output.
      {"3x3 pad 1, batch 1", 2, {1, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}},
      {"3x3 pad 1, batch 3", 2, {3, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}},
      {"3x3 pad 1, batch 6", 2, {6, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}},
      {"5x5 pad 2, wider than a panel", 2, {2, 6, 7, 61}, {9, 6, 5, 5}, {.padding = 2}},
      {"asymmetric padding, dilation 2",
       2,
       {2, 5, 12, 15},
       {11, 5, 3, 3},
       {.padding = {{2, 0}, {1, 3}}, .dilation = {2}}},
      {"conv1d, padding 3", 1, {3, 16, 50}, {24, 16, 7}, {.padding = 3}},
      {"f64", 2, {3, 6, 9, 11}, {13, 6, 3, 3}, {.padding = 1}, DType::F64},
      {"c_out 130", 2, {2, 8, 10, 9}, {130, 8, 3, 3}, {.padding = 1}},
      // 196 outputs: 4 panels and 4 columns, computed in half vectors.
      {"14 x 14, c_out 19", 2, {3, 8, 14, 14}, {19, 8, 3, 3}, {.padding = 1}},
      {"c_out 4: half a panel of A", 2, {2, 8, 9, 13}, {4, 8, 3, 3}, {.padding = 1}},
      {"K = 720: two blocks of k", 2, {2, 80, 6, 7}, {16, 80, 3, 3}, {.padding = 1}},
      {"2 x 2 images: a third of the columns dropped",
       2,
       {2, 32, 2, 2},
       {16, 32, 3, 3},
       {.padding = 1}},
      {"bias and relu", 2, {3, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}, DType::F32, true, false},
      {"bias and relu, batch 6",
       2,
       {6, 8, 9, 13},
       {17, 8, 3, 3},
       {.padding = 1},
       DType::F32,
       true,
       false},
  };
  // 9 column shifts are too many for copies: the rows, which read W + 8 columns, share
  // their border zeros at a pitch of W + 4, and a panel's virtual columns drop 4 per row.
  cases.push_back(
      {"1x9 pad (1, 4)", 2, {2, 4, 6, 20}, {5, 4, 3, 9}, {.padding = {{1, 1}, {4, 4}}}});
  cases.back().pitch = 24;
  // An output wider than its input: its planes' rows are copied one by one (those of a
  // conv as wide as its input, as one run per plane).
  cases.push_back(
      {"3x3 pad (1, 1) x (2, 1)", 2, {2, 5, 8, 11}, {7, 5, 3, 3}, {.padding = {{1, 1}, {2, 1}}}});
  cases.back().pitch = 12;
  cases.back().shifts = 3;
  // Copies per shift: 3 (3x3), 3 (dilation 2, padding 1 and 3), 7 (conv1d, 7 taps).
  cases[0].pitch = 13;
  cases[0].shifts = 3;
  cases[4].pitch = 15;
  cases[4].shifts = 3;
  cases[5].pitch = 50;
  cases[5].shifts = 7;
  // 3x3 taps over 8 planes or more (all but the dilated, 5x5, 1x9, conv1d and f64 ones)
  // would run as Winograd convolutions.
  for (size_t i : {0, 1, 2, 7, 8, 9, 10, 11, 12, 13}) cases[i].winograd = true;
  const test::ScopedEnv windows("KILN_CPU_WINOGRAD", "0");
  for (Case& c : cases) {
    c.window = true;
    check(c);
  }
  // Padding on the columns only: each output row is a batch of a one-row window whose
  // planes are (channel, tap row); [image][row][c_out][column] is not the output's order.
  Case rows{"5x5, padding (0, 2)", 2, {2, 6, 11, 61}, {9, 6, 5, 5}, {.padding = {{0, 0}, {2, 2}}}};
  rows.direct = false;
  rows.window = true;
  check(rows);
}

// The form of a conv's weight gradient (frontend/autodiff_rules.cpp): the input's channels
// as the batch, the output's cotangent as a kernel as large as the image, so the result's
// taps are a few columns per channel, and k runs along the image rows. The GEMM computes
// the transposed product (taps x c_out), whose A's rows are those runs; with a long k
// (16 x 16 images of 16 channels) its threads split k.
TEST(CpuConvGemm, WeightGradientForm) {
  const std::vector<Case> cases = {
      {"3x3 taps, 5 channels", 2, {5, 3, 9, 13}, {17, 3, 9, 13}, {.padding = 1}},
      {"3x3 taps, 8 channels: two panels", 2, {8, 4, 14, 14}, {9, 4, 14, 14}, {.padding = 1}},
      {"one channel", 2, {1, 6, 12, 12}, {10, 6, 12, 12}, {.padding = 1}},
      {"f64", 2, {5, 3, 9, 13}, {17, 3, 9, 13}, {.padding = 1}, DType::F64},
      {"a long k: split over the threads", 2, {2, 16, 16, 16}, {8, 16, 16, 16}, {.padding = 1}},
  };
  for (Case c : cases) {
    c.transposed = true;
    check(c);
  }
  // A conv1d's is a window: its one row of outputs drops no columns.
  Case conv1d{"conv1d", 1, {6, 4, 40}, {11, 4, 40}, {.padding = 2}};
  conv1d.window = true;
  check(conv1d);
}

// 3x3 stride-1 convs over 8 planes or more: Winograd F(2x2, 3x3), in chunks of tiles
// (2 x 2 outputs) that cross rows of tiles and images. The cases leave half tiles (odd
// outputs), partial vectors of tiles (rows of 7 tiles, of 31), rows of A past c_out,
// planes past a block of k (520), and one tile per image; bias and relu go through the
// epilogue. Those that are not 3x3 stride-1 windows of f32 over 8 planes do not run so.
TEST(CpuConvGemm, WinogradConvs) {
  std::vector<Case> cases = {
      {"9 x 13, c_out 17", 2, {1, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}},
      {"14 x 14, 32 -> 64, batch 3", 2, {3, 32, 14, 14}, {64, 32, 3, 3}, {.padding = 1}},
      {"asymmetric padding", 2, {2, 9, 12, 15}, {11, 9, 3, 3}, {.padding = {{2, 0}, {1, 3}}}},
      {"5 x 61 outputs", 2, {2, 8, 5, 61}, {5, 8, 3, 3}, {.padding = 1}},
      {"56 x 56, batch 2", 2, {2, 16, 56, 56}, {24, 16, 3, 3}, {.padding = 1}},
      {"2 x 2 images: one tile each", 2, {5, 32, 2, 2}, {16, 32, 3, 3}, {.padding = 1}},
      {"520 planes: two blocks", 2, {1, 520, 4, 5}, {8, 520, 3, 3}, {.padding = 1}},
      {"bias and relu", 2, {3, 8, 9, 13}, {17, 8, 3, 3}, {.padding = 1}, DType::F32, true, false},
  };
  for (Case& c : cases) {
    c.window = true;
    c.winograd = true;
    check(c);
  }
  const std::vector<Case> others = {
      {"7 planes", 2, {2, 7, 9, 13}, {17, 7, 3, 3}, {.padding = 1}},
      {"dilation 2", 2, {2, 8, 12, 15}, {11, 8, 3, 3}, {.padding = 2, .dilation = {2}}},
      {"5x5", 2, {2, 8, 9, 13}, {9, 8, 5, 5}, {.padding = 2}},
      {"f64", 2, {2, 8, 9, 11}, {13, 8, 3, 3}, {.padding = 1}, DType::F64},
  };
  for (Case c : others) {
    c.window = true;
    check(c);
  }
}

}  // namespace
}  // namespace kiln::testing
