// conv1d and conv2d: option handling (stride, padding forms, causal, dilation, groups,
// bias, channels-last layouts) on values worked out by hand, the IR they build, and every
// error message.
#include "test_util.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::expect_f32;

// [n = 1, c = 1, l = 5]: 1..5.
Tensor x15() { return from_data({1.f, 2.f, 3.f, 4.f, 5.f}, {1, 1, 5}); }
// A difference kernel [1, 0, -1].
Tensor diff3() { return from_data({1.f, 0.f, -1.f}, {1, 1, 3}); }

TEST(Conv, OneDimensionalOptions) {
  // out[o] = x[o] - x[o + 2].
  expect_f32(conv1d(x15(), diff3()), {1, 1, 3}, {-2, -2, -2});
  // Padded [0, 1, 2, 3, 4, 5, 0] with stride 2: windows (0, 1, 2), (2, 3, 4), (4, 5, 0).
  expect_f32(conv1d(x15(), diff3(), {.stride = {2}, .padding = 1}), {1, 1, 3}, {-2, -2, 4});
  // (low, high) = (0, 2): windows end at 5, 0 and 0, 0.
  expect_f32(conv1d(x15(), diff3(), {.padding = {{0, 2}}}), {1, 1, 5}, {-2, -2, -2, 4, 5});
  // Causal with dilation 2: out[t] = x[t - 2] + 10 x[t].
  Tensor w = from_data({1.f, 10.f}, {1, 1, 2});
  expect_f32(conv1d(x15(), w, {.padding = ConvPadding::causal(), .dilation = {2}}), {1, 1, 5},
             {10, 20, 31, 42, 53});
}

TEST(Conv, GroupsBiasAndLayouts) {
  // Channels [1, 2, 3] and [4, 5, 6]; depthwise kernels [1, 1] and [1, -1]; bias 100, 200.
  Tensor x = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {1, 2, 3});
  Tensor w = from_data({1.f, 1.f, 1.f, -1.f}, {2, 1, 2});
  Tensor bias = from_data({100.f, 200.f}, {2});
  expect_f32(conv1d(x, w, {.groups = 2, .bias = bias}), {1, 2, 2}, {103, 105, 199, 199});
  // The same data channels last: x [1, 3, 2] holds (1, 4), (2, 5), (3, 6); the result is
  // [1, 2, 2] with the channels last too.
  Tensor x_nlc = transpose(x, {0, 2, 1});
  expect_f32(conv1d(x_nlc, w, {.groups = 2, .bias = bias, .layout = ConvLayout::ChannelsLast}),
             {1, 2, 2}, {103, 199, 105, 199});
  // Mixed dtypes promote: i32 input, f32 weight.
  expect_f32(conv1d(from_data({1, 2, 3}, {1, 1, 3}), from_data({0.5f}, {1, 1, 1})), {1, 1, 3},
             {0.5, 1, 1.5});
}

TEST(Conv, TwoDimensional) {
  // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, 1]]: x[i, j] + x[i + 1, j + 1].
  Tensor x = from_data({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f}, {1, 1, 3, 3});
  Tensor w = from_data({1.f, 0.f, 0.f, 1.f}, {1, 1, 2, 2});
  expect_f32(conv2d(x, w), {1, 1, 2, 2}, {6, 8, 12, 14});
  // Padding 1 all round, stride 2: windows of the padded 5x5 grid at (0, 0), (0, 2),
  // (2, 0), (2, 2) give pad + x[0, 0], pad + x[0, 2], pad + x[2, 0] and x[1, 1] + x[2, 2].
  expect_f32(conv2d(x, w, {.stride = {2}, .padding = 1}), {1, 1, 2, 2}, {1, 3, 7, 14});
  // Per-dimension pairs: no rows of padding, one column on the right; dilation 2 down.
  expect_f32(conv2d(x, from_data({1.f, 1.f}, {1, 1, 2, 1}),
                    {.padding = {{0, 0}, {0, 1}}, .dilation = {2, 1}}),
             {1, 1, 1, 4}, {8, 10, 12, 0});
}

TEST(Conv, BuildsOneConvNodeAndViewsForLayouts) {
  Tensor x = zeros({2, 8, 6}), w = zeros({4, 8, 3});
  std::string ir = print_ir(conv1d(x, w, {.stride = {2}, .padding = {{1, 2}}}));
  EXPECT_NE(ir.find("conv %"), std::string::npos) << ir;
  EXPECT_NE(ir.find("stride = [2], dilation = [1], pad_low = [1], pad_high = [2], groups = 1"),
            std::string::npos)
      << ir;
  // Channels last: permutes around the conv, no copy op.
  std::string last = print_ir(conv1d(zeros({2, 6, 8}), w, {.layout = ConvLayout::ChannelsLast}));
  EXPECT_NE(last.find("permute"), std::string::npos) << last;
}

TEST(Conv, Errors) {
  Tensor x = zeros({1, 4, 10}), w = zeros({6, 2, 3});
  expect_error<ShapeError>(
      [&] {
        conv1d(zeros({4, 10}), w);
      },
      {"conv1d", "input f32[4,10]", "rank 3", "[n, c_in, l]"});
  expect_error<ShapeError>([&] { conv2d(x, w); }, {"conv2d", "input f32[1,4,10]", "rank 4"});
  expect_error<ShapeError>(
      [&] {
        conv1d(x, zeros({6, 2}));
      },
      {"conv1d", "weight f32[6,2]", "rank 3"});
  expect_error<ShapeError>(
      [&] { conv1d(x, w, {.groups = 3}); },
      {"conv1d", "input f32[1,4,10] and weight f32[6,2,3]", "not divisible by groups 3"});
  expect_error<ShapeError>([&] { conv1d(x, w, {.groups = 0}); }, {"conv1d", "groups", "got 0"});
  expect_error<ShapeError>([&] { conv1d(x, w); },
                           {"conv1d", "f32[1,4,10]", "f32[6,2,3]", "c_in / groups = 4, got 2"});
  expect_error<ShapeError>([&] { conv1d(x, w, {.padding = -1, .groups = 2}); },
                           {"conv1d", "padding (-1, -1)", "negative"});
  expect_error<ShapeError>(
      [&] {
        conv1d(x, w, {.padding = {{0, 1}, {1, 1}}, .groups = 2});
      },
      {"conv1d", "2 (low, high) pairs", "give one, or 1"});
  expect_error<ShapeError>([&] { conv1d(x, w, {.stride = {0}, .groups = 2}); },
                           {"conv1d", "stride [0]", "at least 1"});
  expect_error<ShapeError>(
      [&] {
        conv1d(x, w, {.dilation = {1, 1}, .groups = 2});
      },
      {"conv1d", "dilation [1,1]", "one value or 1"});
  expect_error<ShapeError>(
      [&] { conv1d(x, w, {.dilation = {5}, .groups = 2}); },
      {"conv1d", "f32[1,4,10]", "the kernel spans 11", "dilation 5", "padded input's 10"});
  expect_error<ShapeError>(
      [&] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 2, 2}), {.padding = ConvPadding::causal()});
      },
      {"conv2d", "causal padding is for 1-D"});
  expect_error<ShapeError>(
      [&] {
        conv1d(x, zeros({6, 2, 0}), {.groups = 2});
      },
      {"conv1d", "weight f32[6,2,0]", "empty kernel"});
  expect_error<ShapeError>([&] { conv1d(x, w, {.groups = 2, .bias = zeros({4})}); },
                           {"conv1d", "bias f32[4]", "[c_out] = [6]"});
  // Channels last reads the channels from the last dim, and the message shows that layout.
  expect_error<ShapeError>(
      [&] {
        conv1d(zeros({1, 10}), w, {.layout = ConvLayout::ChannelsLast});
      },
      {"conv1d", "[n, l, c_in]"});
}

}  // namespace
}  // namespace kiln
