// kiln-ckpt end to end: `info` on committed fixtures (tests/fixtures/checkpoints/), and
// every error a clear message with exit status 1 (2 for a bad command line), never a crash.
#include "tools_test_util.h"

namespace kiln::testing {
namespace {

const std::string kTool = std::string(KILN_BINARY_DIR) + "/tools/kiln-ckpt";
const std::string kFixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/checkpoints/";

ToolRun run_tool(const std::string& args) { return run_program(kTool, args); }

TEST(KilnCkpt, InfoOfAComposerCheckpoint) {
  ToolRun r = run_tool("info " + kFixtures + "composer.pt");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "file: " + kFixtures + "composer.pt\n" +
                       "format: pytorch\n"
                       "tensors found under: state.model\n"
                       "name               dtype  shape  bytes\n"
                       "model.fc.bias      f32    [3]    12\n"
                       "model.fc.weight    f32    [3,4]  48\n"
                       "model.norm.bias    f32    [4]    16\n"
                       "model.norm.weight  f32    [4]    16\n"
                       "total: 4 tensors, 23 parameters, 92 bytes\n");
}

TEST(KilnCkpt, InfoNamesWidenedDtypes) {
  ToolRun r = run_tool("info " + kFixtures + "dtypes.pt");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("i16   i32    [2,3]  24  (i16 in the file)\n"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("bf16  bf16   [2,3]  12\n"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("total: 9 tensors, 54 parameters, 186 bytes\n"));
  r = run_tool("info " + kFixtures + "compressed.npz");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("format: npz\n"));
}

TEST(KilnCkpt, ErrorsExitWithOne) {
  struct Case {
    std::string file, message;
  };
  for (const Case& c :
       {Case{"malicious.pt", "checkpoint refers to global 'posix.system': not allowed"},
        Case{"truncated.pt", "truncated or corrupt"}, Case{"legacy.pt", "legacy format"},
        Case{"escape.npz", "'..' component"}, Case{"liar.npz", "declares 153 bytes"},
        Case{"make_fixtures.py", "not a checkpoint kiln can read"},
        Case{"absent.pt", "cannot open"}}) {
    ToolRun r = run_tool("info " + kFixtures + c.file);
    EXPECT_EQ(r.status, 1) << c.file;
    EXPECT_EQ(r.out, "") << c.file;
    EXPECT_THAT(r.err, ::testing::StartsWith("kiln-ckpt: error: ")) << c.file;
    EXPECT_THAT(r.err, ::testing::HasSubstr(kFixtures + c.file)) << c.file;
    EXPECT_THAT(r.err, ::testing::HasSubstr(c.message)) << c.file;
  }
}

TEST(KilnCkpt, BadCommandLines) {
  EXPECT_EQ(run_tool("").status, 2);
  EXPECT_EQ(run_tool("info").status, 2);
  EXPECT_EQ(run_tool("list " + kFixtures + "plain.pt").status, 2);
  EXPECT_EQ(run_tool("--help").status, 0);
}

}  // namespace
}  // namespace kiln::testing
