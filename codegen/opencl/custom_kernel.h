// The OpenCL program of a custom kernel (ir op `custom`, made by kiln::custom_kernel): the
// user wrote only the body; kiln writes the signature from the declared inputs and
// outputs, their shapes and strides as named constants, and the template parameters as
// macros:
//
//   #define TAPS 3                                  // params "TAPS=3"
//   __kernel void conv(__global const float* restrict x, ..., __global float* restrict y) {
//     const int x_rank = 2;
//     const long x_shape[2] = {4, 100}, x_stride[2] = {100, 1}, x_numel = 400;
//     ...                                           // the same for every input and output
//   #line 1 "conv"
//     <body>                                        // build-log lines count from here
//   }
//
// Buffers are contiguous, row-major, of the element types of scalar_ops.h's storage_type
// (bool as uchar, f16 as half: use vload_half / vstore_half, c64 as float2).
// Tests: tests/runtime/opencl/custom_kernel_test.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "codegen/opencl/target.h"
#include "ir/node.h"

namespace kiln::codegen::opencl {

struct CustomKernelSpec {
  std::string name;
  std::string body;
  std::vector<std::string> input_names, output_names;
  std::vector<Type> input_types, output_types;
  std::vector<int64_t> grid, local;  // local empty: the driver chooses
  std::vector<std::pair<std::string, std::string>> params;
};

// The spec of the kernel behind a custom node (its attributes and operand types). Throws
// VerifyError when the attributes do not describe a kernel.
CustomKernelSpec custom_kernel_spec(const ir::Node& node);

// The program source; UnsupportedError when it needs f64 and the target lacks cl_khr_fp64.
std::string custom_kernel_source(const CustomKernelSpec& spec, const OpenCLTarget& target);

// The ';'-separated lists the attributes hold, split.
std::vector<std::string> split_list(const std::string& text);

}  // namespace kiln::codegen::opencl
