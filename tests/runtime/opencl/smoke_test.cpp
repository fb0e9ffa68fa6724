// First end-to-end checks of the OpenCL device: elementwise, reductions, softmax.
#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

TEST(OpenCLSmoke, Elementwise) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({37, 61}, DType::F32, 1);
  Tensor b = test_data({61}, DType::F32, 2);
  EXPECT_TRUE(matches_reference(*device, {maximum((x + b) * 1.5 - x * x, 0.0) + 0.25}));
}

TEST(OpenCLSmoke, Reductions) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({37, 1000}, DType::F32, 3);
  EXPECT_TRUE(matches_reference(*device, {sum(x, 1)}, accumulated_tolerance(DType::F32, 1000)));
  EXPECT_TRUE(matches_reference(*device, {sum(x)}, accumulated_tolerance(DType::F32, 37000)));
  EXPECT_TRUE(matches_reference(*device, {max(x, 0)}));
  EXPECT_TRUE(matches_reference(*device, {argmax(x, 1)}));
}

TEST(OpenCLSmoke, Softmax) {
  KILN_REQUIRE_OPENCL(device);
  Tensor x = test_data({33, 257}, DType::F32, 4);
  EXPECT_TRUE(matches_reference(*device, {softmax(x, -1)}, accumulated_tolerance(DType::F32, 257)));
}

}  // namespace
}  // namespace kiln::testing
