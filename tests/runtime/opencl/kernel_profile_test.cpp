// KILN_OPENCL_PROFILE (runtime/opencl/kernel_profile.h): a device made with it set times
// each launch; the table names the kernels with what they compute, counts the launches, and
// its shares add up.
#include <cstdlib>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

TEST(OpenCLKernelProfile, CountsAndTimesEachKernel) {
  KILN_REQUIRE_OPENCL(d);
  ::setenv("KILN_OPENCL_PROFILE", "1", 1);
  auto profiled = std::make_shared<runtime::opencl::OpenCLDevice>(d->info(), d->target());
  ::unsetenv("KILN_OPENCL_PROFILE");
  Tensor a = test_data({64, 48}, DType::F32, 1), b = test_data({48, 32}, DType::F32, 2);
  for (int i = 0; i < 3; ++i) {
    Tensor y = relu(matmul(a, b)) + static_cast<float>(i + 1);  // one kernel, scalar argument
    eval(profiled, {y});
  }
  std::string table = profiled->profile_report();
  EXPECT_NE(table.find("kiln OpenCL kernel profile"), std::string::npos) << table;
  EXPECT_NE(table.find("(gemm 1 x 64 x 32 x 48)"), std::string::npos) << table;
  EXPECT_NE(table.find("         3 "), std::string::npos) << table;  // three launches
  // Without the variable, no profile.
  auto plain = std::make_shared<runtime::opencl::OpenCLDevice>(d->info(), d->target());
  eval(plain, {matmul(a, b)});
  EXPECT_EQ(plain->profile_report(), "");
}

}  // namespace
}  // namespace kiln::testing
