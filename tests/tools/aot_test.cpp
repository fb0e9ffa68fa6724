// kiln-aot end to end, for both targets: each graph below is compiled, linked into a C
// program generated here (it reads the inputs, calls <name>_run, writes the outputs), run,
// and its outputs compared with the reference evaluator's on the same random inputs. The
// graphs cover fusion groups of every kind (Fourier transforms as their DFT loop nests;
// matrix products and convolutions through the run-time library's GEMM on the CPU), dtypes
// (integers, bool, f64, c64), the out-of-line math, random numbers, and outputs that no kernel
// writes (an input returned, a value returned twice, a constant, an empty array).
#include <kiln/inspect.h>
#include <sys/wait.h>

#include <cmath>
#include <cstring>

#include "tests/tolerance.h"
#include "tools_test_util.h"

namespace kiln::testing {
namespace {

// A sanitized build's run-time library needs the sanitizer run-time in the programs too.
#ifndef KILN_C_LINK_FLAGS
#define KILN_C_LINK_FLAGS ""
#endif

const std::string kAot = std::string(KILN_BINARY_DIR) + "/tools/kiln-aot";
const std::string kGolden = std::string(KILN_SOURCE_DIR) + "/tests/tools/golden/";

struct Case {
  std::string name;
  std::string ir;     // IR text, or '@' and a golden file's name
  bool gemm = false;  // the CPU object runs its products through kiln_aot_gemm
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  return {
      {"softmax", "@softmax.kir"},
      {"mlp", "@mlp.kir"},  // 4096 multiply-adds: a loop nest (codegen/contraction.h)
      {"scatter", "@scatter.kir"},
      {"views", "@views.kir"},
      {"fftconv", "@fftconv.kir"},
      {"mixed",
       "func @mixed(%a: i32[4,6], %b: i32[4,6], %f: f64[4,6]) -> (i32[4,6], i32[4,6], "
       "i32[4,6], bool[4,6], f64[4,6], i64[4], f32[4,6]) {\n"
       "  %0 = div %a, %b : i32[4,6]\n"
       "  %1 = mod %a, %b : i32[4,6]\n"
       "  %2 = pow %a, %b : i32[4,6]\n"
       "  %3 = lt %a, %b : bool[4,6]\n"
       "  %4 = exp %f : f64[4,6]\n"
       "  %5 = argmax %f {axes = [1], keepdims = false} : i64[4]\n"
       "  %6 = cast %a : f32[4,6]\n"
       "  return %0, %1, %2, %3, %4, %5, %6\n"
       "}\n"},
      {"complex",
       "func @complex(%re: f32[16], %im: f32[16]) -> (c64[16], f32[16]) {\n"
       "  %0 = complex %re, %im : c64[16]\n"
       "  %1 = exp %0 : c64[16]\n"
       "  %2 = mul %1, %0 : c64[16]\n"
       "  %3 = abs %2 : f32[16]\n"
       "  return %2, %3\n"
       "}\n"},
      {"passthrough",
       "func @passthrough(%x: f32[3], %e: f32[0,4]) -> (f32[3], f32[3], f32[3], f32[0,4], f32[4]) "
       "{\n"
       "  %0 = neg %x : f32[3]\n"
       "  %1 = constant dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]\n"
       "  return %x, %0, %0, %e, %1\n"
       "}\n"},
      // Products through the runtime's GEMM: tails of rows and columns, a bias and tanh in the
      // epilogue, blocks of rows shared by threads (150 x 70 x 64), a batch written in place, f64
      // deeper than a packed panel with fewer rows than the micro-kernel's, and more columns than
      // one block.
      {"gemm_epilogue",
       "func @gemm_epilogue(%x: f32[37,70], %w: f32[70,53], %b: f32[53]) -> (f32[37,53]) {\n"
       "  %0 = matmul %x, %w : f32[37,53]\n"
       "  %1 = reshape %b : f32[1,53]\n"
       "  %2 = broadcast %1 : f32[37,53]\n"
       "  %3 = add %0, %2 : f32[37,53]\n"
       "  %4 = tanh %3 : f32[37,53]\n"
       "  return %4\n"
       "}\n",
       true},
      {"gemm_row_blocks",
       "func @gemm_row_blocks(%a: f32[150,64], %b: f32[64,70]) -> (f32[150,70]) {\n"
       "  %0 = matmul %a, %b : f32[150,70]\n"
       "  %1 = exp %0 : f32[150,70]\n"
       "  return %1\n"
       "}\n",
       true},
      {"gemm_batched",
       "func @gemm_batched(%a: f32[3,17,33], %b: f32[3,33,29]) -> (f32[3,17,29]) {\n"
       "  %0 = matmul %a, %b : f32[3,17,29]\n"
       "  return %0\n"
       "}\n",
       true},
      {"gemm_deep_f64",
       "func @gemm_deep_f64(%a: f64[5,1100], %b: f64[1100,40]) -> (f64[5,40]) {\n"
       "  %0 = matmul %a, %b : f64[5,40]\n"
       "  return %0\n"
       "}\n",
       true},
      {"gemm_wide",
       "func @gemm_wide(%a: f32[20,96], %b: f32[96,3100]) -> (f32[20,3100]) {\n"
       "  %0 = matmul %a, %b : f32[20,3100]\n"
       "  %1 = neg %0 : f32[20,3100]\n"
       "  return %1\n"
       "}\n",
       true},
      // Convolutions, their input an affine read packed by copies: padded stride 1 (a
      // window, in the JIT), strided, f64 conv1d, dilated with uneven padding, channels-last
      // (strided runs); and a weight gradient's product (windows along k, packed by pack_b).
      {"conv_same",
       "func @conv_same(%x: f32[2,16,12,12], %w: f32[32,16,3,3]) -> (f32[2,32,12,12]) {\n"
       "  %0 = conv %x, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], "
       "pad_high = [1, 1], groups = 1} : f32[2,32,12,12]\n"
       "  %1 = tanh %0 : f32[2,32,12,12]\n"
       "  return %1\n"
       "}\n",
       true},
      {"conv_strided",
       "func @conv_strided(%x: f32[2,16,13,13], %w: f32[24,16,3,3]) -> (f32[2,24,6,6]) {\n"
       "  %0 = conv %x, %w {stride = [2, 2], dilation = [1, 1], pad_low = [0, 0], "
       "pad_high = [0, 0], groups = 1} : f32[2,24,6,6]\n"
       "  return %0\n"
       "}\n",
       true},
      {"conv1d_f64",
       "func @conv1d_f64(%x: f64[3,16,100], %w: f64[24,16,7]) -> (f64[3,24,50]) {\n"
       "  %0 = conv %x, %w {stride = [2], dilation = [1], pad_low = [3], pad_high = [3], "
       "groups = 1} : f64[3,24,50]\n"
       "  return %0\n"
       "}\n",
       true},
      {"conv_dilated",
       "func @conv_dilated(%x: f32[1,7,12,20], %w: f32[19,7,3,2]) -> (f32[1,19,12,7]) {\n"
       "  %0 = conv %x, %w {stride = [1, 3], dilation = [2, 1], pad_low = [2, 1], "
       "pad_high = [2, 1], groups = 1} : f32[1,19,12,7]\n"
       "  return %0\n"
       "}\n",
       true},
      {"conv_channels_last",
       "func @conv_channels_last(%x: f32[2,10,10,8], %w: f32[16,8,3,3]) -> (f32[2,16,10,10]) {\n"
       "  %0 = permute %x {perm = [0, 3, 1, 2]} : f32[2,8,10,10]\n"
       "  %1 = conv %0, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], "
       "pad_high = [1, 1], groups = 1} : f32[2,16,10,10]\n"
       "  return %1\n"
       "}\n",
       true},
      {"conv_weight_gradient_form",
       "func @conv_weight_gradient_form(%x: f32[5,3,9,13], %w: f32[17,3,9,13]) -> "
       "(f32[5,17,3,3]) {\n"
       "  %0 = conv %x, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], "
       "pad_high = [1, 1], groups = 1} : f32[5,17,3,3]\n"
       "  return %0\n"
       "}\n",
       true},
      {"random",
       "func @random(%x: f32[64]) -> (f32[64], f32[64]) {\n"
       "  %0 = random_uniform {key = 42, derive = []} : f32[64]\n"
       "  %1 = add %x, %0 : f32[64]\n"
       "  %2 = iota {axis = 0} : f32[64]\n"
       "  %3 = cumsum %2 {axis = 0} : f32[64]\n"
       "  return %1, %3\n"
       "}\n"},
  };
}

int run(const std::string& cmd) {
  int raw = std::system(cmd.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// A C program calling <name>_run on in<i>.bin and writing out<i>.bin, in the current
// directory. Exit status 77 means "no OpenCL device".
std::string harness(const std::string& name, const ir::Graph& g) {
  std::string c = "#include <stdio.h>\n#include <stdlib.h>\n#include \"" + name + ".h\"\n";
  c += "static void* load(const char* path, size_t n) {\n"
       "  void* p = calloc(1, n ? n : 1);\n  FILE* f = fopen(path, \"rb\");\n"
       "  if (!p || !f || fread(p, 1, n, f) != n) exit(3);\n  fclose(f);\n  return p;\n}\n";
  c += "static void save(const char* path, const void* p, size_t n) {\n"
       "  FILE* f = fopen(path, \"wb\");\n  if (!f || fwrite(p, 1, n, f) != n) exit(4);\n"
       "  fclose(f);\n}\n";
  c += "int main(void) {\n";
  std::string args;
  std::string release;  // every buffer is freed before main returns (LeakSanitizer)
  for (size_t i = 0; i < g.params.size(); ++i) {
    std::string n = std::to_string(g.params[i]->type.nbytes());
    c += "  void* in" + std::to_string(i) + " = load(\"in" + std::to_string(i) + ".bin\", " + n +
         ");\n";
    args += (args.empty() ? "" : ", ") + std::string("in") + std::to_string(i);
    release += "  free(in" + std::to_string(i) + ");\n";
  }
  for (size_t i = 0; i < g.results.size(); ++i) {
    std::string n = std::to_string(g.results[i]->type.nbytes());
    c += "  void* out" + std::to_string(i) + " = calloc(1, " + n + " ? " + n + " : 1);\n";
    args += (args.empty() ? "" : ", ") + std::string("out") + std::to_string(i);
    release += "  free(out" + std::to_string(i) + ");\n";
  }
  c += "  int status = " + name + "_run(" + args + ");\n";
  for (size_t i = 0; i < g.results.size(); ++i)
    c += "  if (status == 0) save(\"out" + std::to_string(i) + ".bin\", out" + std::to_string(i) +
         ", " + std::to_string(g.results[i]->type.nbytes()) + ");\n";
  c += release;
  c += "  if (status == -1001 || status == -1) return 77;\n";
  c += "  if (status != 0) { fprintf(stderr, \"run failed: %d\\n\", status); return 1; }\n";
  return c + "  return 0;\n}\n";
}

// Integers and bools exactly; floats within tests/tolerance.h's bound for short sums (the
// compiled kernels sum in another order than the reference, and call the same math
// functions).
void expect_near(const Buffer& got, const Buffer& want, const std::string& what) {
  EXPECT_TRUE(buffers_close(got, want, accumulated_tolerance(want.dtype(), 16))) << what;
}

enum class Target { Cpu, OpenCL };

void check_case(const Case& c, Target target) {
  ScratchDir dir;
  std::string kir = c.ir[0] == '@' ? kGolden + c.ir.substr(1) : dir / "model.kir";
  if (c.ir[0] != '@') spit(kir, c.ir);
  ir::Graph g = load_ir(kir).graph_with_constants();
  std::vector<BufferPtr> inputs = inspect::run_inputs(g, {}, {}, 5);
  std::vector<BufferPtr> want = runtime::ReferenceDevice().run(g, inputs);
  for (size_t i = 0; i < inputs.size(); ++i)
    spit(dir / ("in" + std::to_string(i) + ".bin"),
         std::string(reinterpret_cast<const char*>(inputs[i]->data()), inputs[i]->nbytes()));

  std::string tgt = target == Target::Cpu ? "cpu" : "opencl";
  ASSERT_EQ(run(kAot + " " + kir + " --target " + tgt + " --name m -o " + dir.path().string() +
                " > " + (dir / "aot.log") + " 2>&1"),
            0)
      << slurp(dir / "aot.log");
  if (target == Target::Cpu) {
    EXPECT_EQ(slurp(dir / "m.o").find("kiln_aot_gemm") != std::string::npos, c.gemm)
        << "whether the object calls kiln_aot_gemm";
  }
  spit(dir / "main.c", harness("m", g));
  std::string cc = std::string(KILN_C_COMPILER) + " -std=c11 -O1 -o " + (dir / "prog") + " " +
                   (dir / "main.c") + " -I" + dir.path().string();
  if (target == Target::Cpu) {
    cc += " " + (dir / "m.o") + " " + KILN_AOT_RUNTIME_LIB + " " KILN_C_LINK_FLAGS " -lm -lpthread";
  } else {
#ifdef KILN_OPENCL_LIBRARY
    cc += " " + (dir / "m.c") + " -I" + KILN_OPENCL_INCLUDE + " " + KILN_OPENCL_LIBRARY;
#endif
  }
  ASSERT_EQ(run(cc + " > " + (dir / "cc.log") + " 2>&1"), 0) << cc << "\n" << slurp(dir / "cc.log");
  int status = run("cd " + dir.path().string() + " && ./prog > run.log 2>&1");
  if (status == 77) GTEST_SKIP() << "no OpenCL device";
  ASSERT_EQ(status, 0) << slurp(dir / "run.log");
  for (size_t r = 0; r < want.size(); ++r) {
    std::string bytes = slurp(dir / ("out" + std::to_string(r) + ".bin"));
    ASSERT_EQ(bytes.size(), want[r]->nbytes()) << c.name << " output " << r;
    Buffer got(want[r]->type());
    if (!bytes.empty()) std::memcpy(got.data(), bytes.data(), bytes.size());
    expect_near(got, *want[r], c.name + " output " + std::to_string(r));
  }
}

class AotCpu : public ::testing::TestWithParam<Case> {};
class AotOpenCL : public ::testing::TestWithParam<Case> {};

TEST_P(AotCpu, MatchesTheReference) {
#ifndef KILN_HAS_LLVM
  GTEST_SKIP() << "no LLVM backend in this build";
#endif
  if (!std::filesystem::exists(kAot)) GTEST_SKIP() << "kiln-aot was not built (needs CLI11)";
  check_case(GetParam(), Target::Cpu);
}

TEST_P(AotOpenCL, MatchesTheReference) {
#ifndef KILN_OPENCL_LIBRARY
  GTEST_SKIP() << "no OpenCL library in this build";
#endif
  if (!std::filesystem::exists(kAot)) GTEST_SKIP() << "kiln-aot was not built (needs CLI11)";
  check_case(GetParam(), Target::OpenCL);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Tools, AotCpu, ::testing::ValuesIn(cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Tools, AotOpenCL, ::testing::ValuesIn(cases()), case_name);

TEST(KilnAot, Errors) {
  if (!std::filesystem::exists(kAot)) GTEST_SKIP() << "kiln-aot was not built (needs CLI11)";
  ScratchDir dir;
  std::string softmax = kGolden + "softmax.kir";
  auto status = [&](const std::string& args) {
    return run(kAot + " " + args + " > " + (dir / "log") + " 2>&1");
  };
  EXPECT_EQ(status(softmax + " --target gpu -o " + (dir / "o")), 2);
  EXPECT_EQ(status(softmax + " --target cpu"), 2);  // no -o
  EXPECT_EQ(status(softmax + " --target opencl --name 9lives -o " + (dir / "o")), 1);
  EXPECT_THAT(slurp(dir / "log"), ::testing::HasSubstr("'9lives' is not a C identifier"));
#ifdef KILN_HAS_LLVM
  EXPECT_EQ(status(softmax + " --target cpu --cpu pentium9 -o " + (dir / "o")), 1);
  EXPECT_THAT(slurp(dir / "log"), ::testing::HasSubstr("unknown CPU 'pentium9'"));
  EXPECT_THAT(slurp(dir / "log"), ::testing::Not(::testing::HasSubstr("not a recognized")));
#endif
  spit(dir / "bad.kir", "func @f(%x: f32[2]) -> (f32[2]) {\n  return %y\n}\n");
  EXPECT_EQ(status((dir / "bad.kir") + " --target opencl -o " + (dir / "o")), 1);
  EXPECT_THAT(slurp(dir / "log"), ::testing::HasSubstr("bad.kir:2:10: error: "));
  EXPECT_EQ(status(kGolden + "scatter.kir --target opencl --opencl-no-fp64 -o " + (dir / "o")), 1);
  EXPECT_THAT(slurp(dir / "log"), ::testing::HasSubstr("cl_khr_fp64"));
  EXPECT_FALSE(std::filesystem::exists(dir / "o"));
}

TEST(KilnAot, CpuHeaderDocumentsTheBuffers) {
#ifndef KILN_HAS_LLVM
  GTEST_SKIP() << "no LLVM backend in this build";
#endif
  if (!std::filesystem::exists(kAot)) GTEST_SKIP() << "kiln-aot was not built (needs CLI11)";
  ScratchDir dir;
  ASSERT_EQ(run(kAot + " " + kGolden + "mlp.kir --target cpu --cpu x86-64-v3 -o " +
                dir.path().string() + " > /dev/null"),
            0);
  EXPECT_EQ(dir.files(), (std::vector<std::string>{"mlp.h", "mlp.o"}));
  std::string h = slurp(dir / "mlp.h");
  EXPECT_THAT(h, ::testing::HasSubstr("CPU x86-64-v3"));
  EXPECT_THAT(h, ::testing::HasSubstr("int mlp_run(const float* x, const float* w, const float* b, "
                                      "float* out0, float* out1);"));
  EXPECT_THAT(h, ::testing::HasSubstr("x (input, %x): f32[8,16], row-major, 128 float"));
  EXPECT_THAT(h, ::testing::HasSubstr("out1 (output, %7): f32[8], row-major, 8 float"));
  EXPECT_THAT(h, ::testing::HasSubstr("#define MLP_OUT0_COUNT 256"));
  EXPECT_THAT(h, ::testing::HasSubstr("size_t mlp_workspace_size(void);"));
}

}  // namespace
}  // namespace kiln::testing
