// kiln-ir end to end: golden outputs for a few graphs (the optimized IR, the schedule, the
// shape of the emitted code, the Graphviz text), runs on given inputs checked against
// values computed by hand, errors with positions and exit codes, and --split-input-file
// over the multi-case IR golden files of tests/ir/.
//
// Goldens live in tests/tools/golden/: NAME.kir is the input, NAME.MODE.expected the
// output of one mode. After an intended change (to a pass, the scheduler, a renderer), run
// the test with KILN_UPDATE_GOLDENS=1 to rewrite the .expected files, then read the diff.
#include <sys/wait.h>

#include <cstring>
#include <regex>

#include "tools_test_util.h"

namespace kiln::testing {
namespace {

const std::string kTool = std::string(KILN_BINARY_DIR) + "/tools/kiln-ir";
const std::string kGolden = std::string(KILN_SOURCE_DIR) + "/tests/tools/golden/";

ToolRun run_tool(const std::string& args) { return run_program(kTool, args); }

// The lines that give emitted code its shape: kernel headers, launches, signatures; the
// kernels' hash names (which change with any KernelIR change) become kiln_<hash>.
std::string code_shape(const std::string& text) {
  static const std::regex hash("kiln_[0-9a-f]{16}");
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    bool keep = line.rfind("// kernel ", 0) == 0 || line.rfind("//   launch", 0) == 0 ||
                line.rfind("__kernel ", 0) == 0 || line.rfind("; kernel ", 0) == 0 ||
                line.rfind("define ", 0) == 0;
    if (keep) out += std::regex_replace(line, hash, "kiln_<hash>") + "\n";
  }
  return out;
}

struct Golden {
  std::string name, mode, args;
  bool shape_only = false;
};
void PrintTo(const Golden& g, std::ostream* os) { *os << g.name << " " << g.mode; }

std::string golden_name(const ::testing::TestParamInfo<Golden>& info) {
  return info.param.name + "_" + info.param.mode;
}

class KilnIrGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(KilnIrGolden, MatchesExpected) {
  if (!std::filesystem::exists(kTool)) GTEST_SKIP() << "kiln-ir was not built (needs CLI11)";
  const Golden& g = GetParam();
#ifndef KILN_HAS_LLVM
  if (g.mode == "llvm") GTEST_SKIP() << "no LLVM backend in this build";
#endif
  ToolRun r = run_tool(kGolden + g.name + ".kir " + g.args);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string got = g.shape_only ? code_shape(r.out) : r.out;
  std::string path = kGolden + g.name + "." + g.mode + ".expected";
  const char* update = std::getenv("KILN_UPDATE_GOLDENS");
  if (update && std::string(update) == "1") {
    spit(path, got);
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " is missing; run with KILN_UPDATE_GOLDENS=1";
  EXPECT_EQ(got, slurp(path)) << "kiln-ir " << g.name << ".kir " << g.args;
}

INSTANTIATE_TEST_SUITE_P(
    Tools, KilnIrGolden,
    ::testing::Values(Golden{"softmax", "ir", ""}, Golden{"softmax", "schedule", "--schedule"},
                      Golden{"softmax", "opencl", "--emit=opencl", true}, Golden{"mlp", "ir", ""},
                      Golden{"mlp", "schedule", "--schedule"},
                      Golden{"mlp", "llvm", "--emit=llvm", true},
                      Golden{"scatter", "schedule", "--schedule"},
                      Golden{"scatter", "opencl", "--emit=opencl", true},
                      Golden{"views", "schedule", "--schedule"},
                      Golden{"views", "opencl", "--emit=opencl", true},
                      Golden{"views", "dot", "--dot"}, Golden{"fftconv", "schedule", "--schedule"}),
    golden_name);

class KilnIr : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTool)) GTEST_SKIP() << "kiln-ir was not built (needs CLI11)";
  }
};

TEST_F(KilnIr, EveryScheduleEndsWithItsKernelCount) {
  // Counted by hand from the graphs: softmax is one row kernel, views one elementwise
  // kernel; mlp has the matmul with its epilogue and the row sum.
  for (auto [name, kernels] :
       std::vector<std::pair<std::string, int>>{{"softmax", 1}, {"views", 1}, {"mlp", 2}}) {
    ToolRun r = run_tool(kGolden + name + ".kir --schedule");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::EndsWith("kernels: " + std::to_string(kernels) + "\n")) << name;
  }
}

TEST_F(KilnIr, RunsOnGivenInputsAndSavesOutputs) {
  ScratchDir dir;
  // views: out[i][j] = a[j][i] * (j == 0 ? c[5 - i][1] : 1).
  std::vector<float> a(24), c(12);
  for (int i = 0; i < 24; ++i) a[i] = static_cast<float>(i);
  for (int i = 0; i < 12; ++i) c[i] = static_cast<float>(100 + i);
  write_npy(dir / "a.npy", *from_data(a, {4, 6}).node()->buffer);
  write_npy(dir / "c.npy", *from_data(c, {6, 2}).node()->buffer);
  ToolRun r = run_tool(kGolden + "views.kir --run --device reference --inputs " + (dir / "a.npy") +
                       " " + (dir / "c.npy") + " --save-outputs " + (dir / "outs"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("device: reference"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("output 0 (%3): f32[6,4]"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("host syncs: 1"));
  BufferPtr out = read_npy(dir / "outs/out0.npy");
  ASSERT_EQ(out->type().str(), "f32[6,4]");
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) {
      float want = a[j * 6 + i] * (j == 0 ? c[(5 - i) * 2 + 1] : 1.0f);
      EXPECT_EQ(out->as<float>()[i * 4 + j], want) << i << "," << j;
    }
}

TEST_F(KilnIr, RandomInputsAreSeeded) {
  ToolRun a = run_tool(kGolden + "softmax.kir --run --device reference --seed 7");
  ToolRun b = run_tool(kGolden + "softmax.kir --run --device reference --seed 7");
  ASSERT_EQ(a.status, 0) << a.err;
  auto outputs = [](const std::string& s) {
    return s.substr(s.find("output 0"), s.find("time:") - s.find("output 0"));
  };
  EXPECT_EQ(outputs(a.out), outputs(b.out));
  // Softmax rows sum to 1: 4 rows of 256 give a mean of 1/256.
  EXPECT_THAT(a.out, ::testing::HasSubstr("mean 0.00390625"));
}

TEST_F(KilnIr, RunReportsStatistics) {
  ToolRun r = run_tool(kGolden + "mlp.kir --run --repeat 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("then 2 runs: best"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("host syncs: 3"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("kiln_ir.cpp"));  // the call site of the syncs
  EXPECT_THAT(r.out, ::testing::HasSubstr("graphs run: 3"));
}

TEST_F(KilnIr, PassOptions) {
  ToolRun r = run_tool(kGolden +
                       "mlp.kir --passes=canonicalize,dce --print-ir-after-all "
                       "--verify-each --time-passes");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("// IR after canonicalize (round 1, unchanged)"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("// IR after dce (round 1, "));
  EXPECT_THAT(r.out, ::testing::HasSubstr("canonicalize             1"));  // the timing table
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("cse")));
  // mlp's scalar zero is folded into a [1,1] constant and the old one removed: only those
  // two passes change the graph.
  ToolRun change = run_tool(kGolden + "mlp.kir --print-ir-after-change");
  ASSERT_EQ(change.status, 0) << change.err;
  EXPECT_THAT(change.out, ::testing::HasSubstr("// IR after fold_constants (round 1, changed)"));
  EXPECT_THAT(change.out, ::testing::HasSubstr("// IR after dce (round 1, changed)"));
  EXPECT_THAT(change.out, ::testing::Not(::testing::HasSubstr("// IR after canonicalize")));
  ToolRun both = run_tool(kGolden + "mlp.kir --print-ir-after-change --print-ir-after-all");
  EXPECT_EQ(both.status, 2);
}

TEST_F(KilnIr, ErrorsNamePositionsAndFail) {
  ScratchDir dir;
  spit(dir / "bad.kir",
       "func @f(%x: f32[2]) -> (f32[2]) {\n"
       "  %0 = add %x, %x : f32[3]\n"
       "  return %0\n"
       "}\n");
  ToolRun r = run_tool(dir / "bad.kir");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith(dir / "bad.kir" + ":2:3: error: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("add"));
  EXPECT_TRUE(r.out.empty());

  spit(dir / "bad2.kir", "func @f(%x: f31[2]) -> () {\n  return\n}\n");
  r = run_tool(dir / "bad2.kir");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("bad2.kir:1:13: error: unknown dtype 'f31'"));

  r = run_tool(dir / "missing.kir");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("cannot open"));
  r = run_tool(kGolden + "mlp.kir --passes=nope");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("unknown pass 'nope'"));
  r = run_tool(kGolden + "mlp.kir --emit=cuda");
  EXPECT_EQ(r.status, 2);
  r = run_tool(kGolden + "mlp.kir --device cpu");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("needs --run, --schedule or --dot"));
  r = run_tool(kGolden + "mlp.kir --run --device nonesuch");
  EXPECT_EQ(r.status, 1);
  r = run_tool(kGolden + "mlp.kir --run --inputs " + kGolden + "mlp.kir");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("not an .npy file"));
}

namespace split {

const std::string kSeparator = "// -----";

size_t count_separators(const std::string& text) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line == kSeparator;
  return n;
}

// The expected output of each case of a golden file: its CHECK lines' text.
std::string expected_outputs(const std::string& file) {
  std::istringstream in(slurp(file));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line == kSeparator) out += line + "\n";
    if (line.rfind("// CHECK:", 0) == 0) {
      std::string text = line.substr(9);
      out += (text.starts_with(' ') ? text.substr(1) : text) + "\n";
    }
  }
  return out;
}

// The passes a golden file of tests/ir/ runs (its `// PASSES:` line, else its folder's
// pass, "pipeline" being the default pipeline), as kiln-ir arguments.
std::string passes_argument(const std::filesystem::path& file) {
  std::istringstream in(slurp(file.string()));
  std::string first;
  std::getline(in, first);
  std::string list = file.parent_path().filename().string();
  if (first.rfind("// PASSES:", 0) == 0) {
    list = first.substr(10);
    list.erase(0, list.find_first_not_of(' '));
  }
  return list == "pipeline" || list == "default" ? "" : " --passes " + list;
}

}  // namespace split

// Every multi-case golden file of tests/ir/ goes through --split-input-file as it is: one
// output per case, in order, separated as the input is, each equal to its case's CHECK
// lines.
TEST_F(KilnIr, SplitInputFileRunsTheGoldenFilesAsTheyAre) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(KILN_SOURCE_DIR) + "/tests/ir")) {
    if (entry.path().extension() != ".kir") continue;
    const std::string file = entry.path().string();
    SCOPED_TRACE(file);
    ToolRun r = run_tool("--split-input-file " + file + split::passes_argument(entry.path()));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(split::count_separators(r.out), split::count_separators(slurp(file)));
    EXPECT_EQ(r.out, split::expected_outputs(file));
    ++files;
  }
  EXPECT_GT(files, 5);
}

// A failing case is reported with its number and the file's own line, and the other cases
// still run; the exit status says that one failed.
TEST_F(KilnIr, SplitInputFileReportsAFailingCaseAndRunsTheOthers) {
  ScratchDir dir;
  spit(dir / "cases.kir",
       "func @a(%x: f32[2]) -> (f32[2]) {\n"
       "  %0 = neg %x : f32[2]\n"
       "  return %0\n"
       "}\n"
       "// -----\n"
       "func @b(%x: f32[2]) -> (f32[2]) {\n"
       "  %0 = add %x, %x : f32[3]\n"
       "  return %0\n"
       "}\n"
       "// -----\n"
       "func @c(%x: f32[2]) -> (f32[2]) {\n"
       "  return %x\n"
       "}\n");
  ToolRun r = run_tool("--split-input-file --passes dce " + (dir / "cases.kir"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("case 2 of 3: " + (dir / "cases.kir") + ":7:3: error: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("1 of 3 cases failed"));
  EXPECT_EQ(split::count_separators(r.out), 2u);
  EXPECT_THAT(r.out, ::testing::HasSubstr("func @a("));
  EXPECT_THAT(r.out, ::testing::HasSubstr("func @c("));
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("func @b(")));

  // Without the flag the same file is one (malformed) function.
  r = run_tool("--passes dce " + (dir / "cases.kir"));
  EXPECT_EQ(r.status, 1);
}

}  // namespace
}  // namespace kiln::testing
