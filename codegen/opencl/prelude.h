// The helper functions generated OpenCL kernels call (kiln_*): integer floor division
// and modulo, integer powers, float modulo, f16/bf16 rounding, round-to-odd conversions,
// Philox random numbers and complex arithmetic. A program includes only the sections its
// kernels need, so that a device without cl_khr_fp64 never sees double code.
#pragma once

#include <string>

namespace kiln::codegen::opencl {

struct PreludeNeeds {
  bool fp64 = false;     // f64 values: the extension pragma and the double helpers
  bool complex = false;  // c64 values
};

std::string prelude(const PreludeNeeds& needs);

}  // namespace kiln::codegen::opencl
