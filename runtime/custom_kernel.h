// Running graphs that contain custom kernels (ir op `custom`, made by
// kiln::custom_kernel): the graph is cut around them. Everything a set of ready custom
// kernels reads is computed first, as one fused graph on the device; then the kernels run
// on an OpenCL device; then their outputs are inputs of what follows, again fused. The
// driver (runtime/driver.h) does this for every device that compiles graphs; the reference
// evaluator runs each custom node through run_custom_kernel. A kiln built without OpenCL, or
// a machine without an OpenCL platform, gives UnsupportedError naming the kernel.
// Tests: tests/runtime/opencl/custom_kernel_test.cpp.
#pragma once

#include <functional>
#include <vector>

#include "ir/eval/evaluator.h"
#include "ir/graph.h"
#include "ir/node.h"

namespace kiln::runtime {

// Runs one custom kernel: `node` is any of its output nodes, `operands` its inputs' values;
// returns every output of the kernel, in order.
using evaluator::CustomKernelRunner;
using SegmentRunner = std::function<std::vector<BufferPtr>(const ir::Graph& graph,
                                                           const std::vector<BufferPtr>& inputs)>;

// The process's runner (the OpenCL backend installs one when it is built).
void set_custom_kernel_runner(CustomKernelRunner runner);
std::vector<BufferPtr> run_custom_kernel(const ir::Node& node,
                                         const std::vector<BufferPtr>& operands);

bool has_custom_kernels(const ir::Graph& graph);

// The cut-around evaluation described above: segments through `segment`, kernels through
// `kernel`. Each kernel runs once for all its outputs. `inputs` are checked already.
std::vector<BufferPtr> run_with_custom_kernels(const ir::Graph& graph,
                                               const std::vector<BufferPtr>& inputs,
                                               const SegmentRunner& segment,
                                               const CustomKernelRunner& kernel);

}  // namespace kiln::runtime
