// GemmTuner (kernels/opencl/gemm_tuner.h) on the test device: a tuned choice is written
// beside the kernel cache and reused by a second process without timing; a corrupt or
// stale entry is ignored and rewritten by the next tuning; the device tunes under KILN_TUNE.

#include "kernels/opencl/gemm_tuner.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "codegen/contraction.h"
#include "opencl_test_util.h"
#include "runtime/driver.h"

namespace kiln::testing {
namespace {

using codegen::GemmTile;
using kernels::opencl::GemmTuner;

// A GEMM kernel (64 x 40 x 48, f32).
codegen::Kernel gemm_kernel(runtime::Device& device) {
  Tensor y = matmul(test_data({64, 48}, DType::F32, 1), test_data({48, 40}, DType::F32, 2));
  std::vector<ir::NodePtr> roots{y.node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  codegen::Program p = runtime::compile_graph(ex.graph, device);
  codegen::Kernel k = p.kernels.at(0);
  k.contraction = codegen::find_contraction(k);
  return k;
}

std::string fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kiln_tuning_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

const GemmTile kSmall = {16, 16, 16, 2, 2}, kOther = {16, 32, 8, 2, 4};

std::string tile_env(const GemmTile& t) {
  return std::to_string(t.bm) + "," + std::to_string(t.bn) + "," + std::to_string(t.bk) + "," +
         std::to_string(t.tm) + "," + std::to_string(t.tn);
}

// Run by ATunedChoiceIsReusedByASecondProcess in a child process: with nothing in memory,
// the choice comes from the file, untimed.
TEST(OpenCLGemmTuner, SecondProcessReadsTheChoice) {
  const char* dir = std::getenv("KILN_TEST_TUNING_DIR");
  const char* want = std::getenv("KILN_TEST_TUNING_TILE");
  if (!dir || !want) GTEST_SKIP() << "run by ATunedChoiceIsReusedByASecondProcess";
  KILN_REQUIRE_OPENCL(device);
  codegen::Kernel k = gemm_kernel(*device);
  GemmTuner tuner(*device, dir);
  EXPECT_EQ(tile_env(tuner.choose(k, true)), want);
  EXPECT_EQ(tuner.timed_candidates(), 0);
}

TEST(OpenCLGemmTuner, ATunedChoiceIsReusedByASecondProcess) {
  KILN_REQUIRE_OPENCL(device);
  const std::string dir = fresh_dir("reuse");
  codegen::Kernel k = gemm_kernel(*device);
  GemmTuner tuner(*device, dir);
  const GemmTile chosen = tuner.tune(k, {kSmall, kOther});
  EXPECT_TRUE(chosen == kSmall || chosen == kOther);
  EXPECT_EQ(tuner.timed_candidates(), 2);
  ASSERT_TRUE(std::filesystem::exists(tuner.path_for(k)));
  const std::string command = "KILN_TEST_TUNING_DIR=" + dir +
                              " KILN_TEST_TUNING_TILE=" + tile_env(chosen) + " " +
                              std::filesystem::read_symlink("/proc/self/exe").string() +
                              " --gtest_filter=OpenCLGemmTuner."
                              "SecondProcessReadsTheChoice > " +
                              dir + "/child.log 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(dir + "/child.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("[  PASSED  ] 1 test"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST(OpenCLGemmTuner, ACorruptOrStaleEntryIsIgnoredAndRewritten) {
  KILN_REQUIRE_OPENCL(device);
  const std::string dir = fresh_dir("corrupt");
  codegen::Kernel k = gemm_kernel(*device);
  const GemmTile fallback = kernels::opencl::default_gemm_tile(*k.contraction, device->target());
  {
    GemmTuner tuner(*device, dir);
    tuner.tune(k, {kOther});
    // Corrupt: the bytes after the header changed.
    std::fstream f(tuner.path_for(k), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f << "zz";
  }
  {
    GemmTuner tuner(*device, dir);
    EXPECT_EQ(tuner.choose(k, false), fallback);  // ignored: the default, nothing timed
    EXPECT_EQ(tuner.timed_candidates(), 0);
  }
  {
    // Stale: a well-formed entry of tiles this device cannot run.
    runtime::DiskCache disk(dir, "KILNTUNE", GemmTuner::kFormatVersion, ".tune", "test");
    GemmTuner tuner(*device, dir);
    disk.write(tuner.key_of(k), "64 64 16 3 4 0.001\n");
    EXPECT_EQ(tuner.choose(k, false), fallback);
  }
  {
    // Tuning rewrites it.
    GemmTuner tuner(*device, dir, 1);
    const GemmTile tuned = tuner.choose(k, true);
    EXPECT_EQ(tuner.timed_candidates(), 1);
    GemmTuner again(*device, dir);
    EXPECT_EQ(again.choose(k, false), tuned);
    EXPECT_EQ(again.timed_candidates(), 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::testing
