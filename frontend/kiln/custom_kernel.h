// kiln::custom_kernel: a user's OpenCL kernel as a lazy op. You write only the body; kiln
// writes the signature from the named inputs and outputs, with each one's shape and
// strides available by name (x_shape[d], x_stride[d], x_rank, x_numel), and the template
// parameters as macros. The call builds graph nodes like any op: its inputs may be any lazy
// tensors, its outputs feed fused kernels, and it runs when a result is needed, compiled
// once per source, parameter values, shapes and device, and cached. On a GPU it runs on
// the OpenCL device; on the CPU devices through PoCL where it is installed, otherwise
// evaluation throws UnsupportedError. docs/gpu.md has an example.
//
//   auto y = kiln::custom_kernel({
//       .name = "conv3",
//       .source = R"(
//         const long c = get_global_id(1), i = get_global_id(0);
//         float acc = 0.0f;
//         for (int k = 0; k < TAPS; ++k) {
//           long j = i + k - TAPS / 2;
//           if (j >= 0 && j < x_shape[1]) acc += w[c * TAPS + k] * x[c * x_shape[1] + j];
//         }
//         y[c * x_shape[1] + i] = acc;)",
//       .inputs = {{"x", x}, {"w", w}},
//       .outputs = {{"y", x.shape(), DType::F32}},
//       .grid = {x.shape(1), x.shape(0)},
//       .params = {{"TAPS", "3"}}})[0];
#pragma once

#include <kiln/kiln.h>

#include <string>
#include <utility>
#include <vector>

namespace kiln {

// Every member has a default, so that designated initializers may leave any out.
struct KernelOutput {
  std::string name = {};
  Shape shape = {};
  DType dtype = DType::F32;
};

struct CustomKernel {
  std::string name = {};    // the OpenCL kernel's name (an identifier)
  std::string source = {};  // the body of the kernel
  std::vector<std::pair<std::string, Tensor>> inputs = {};  // at least one
  std::vector<KernelOutput> outputs = {};                   // at least one
  std::vector<int64_t> grid = {};                           // global work size: 1 to 3 dimensions
  std::vector<int64_t> local = {};  // work-group size, each dividing grid's; empty: the driver's
  std::vector<std::pair<std::string, std::string>> params = {};  // #define NAME VALUE
};

// The outputs of `kernel`, in its order. Throws kiln::Error subclasses for names that are
// not identifiers or repeat, missing inputs or outputs, and grids that do not fit.
std::vector<Tensor> custom_kernel(const CustomKernel& kernel, Loc loc = Loc::current());

}  // namespace kiln
