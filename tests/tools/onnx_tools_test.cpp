// kiln-ir and kiln-aot on ONNX models (tools/model_file.h): the graph, the schedule and a
// run of a small model with a dynamic batch dimension given by --input-shape, the object
// file kiln-aot compiles from it run from C, and the errors (a dynamic dimension left
// unknown, a malformed --input-shape, --input-shape on an IR file, an op kiln lacks, a
// truncated file). The models are built here with ONNX's generated classes. A build
// without ONNX import checks that the tools refuse .onnx files saying why.
#include "tools_test_util.h"

#ifdef KILN_HAS_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace kiln::testing {
namespace {

const std::string kIr = std::string(KILN_BINARY_DIR) + "/tools/kiln-ir";
const std::string kAot = std::string(KILN_BINARY_DIR) + "/tools/kiln-aot";

#ifndef KILN_C_LINK_FLAGS
#define KILN_C_LINK_FLAGS ""
#endif

#ifdef KILN_HAS_ONNX

// y = op(x + b) for x: f32[N, 3] (N dynamic) and the initializer b = [1, -2, 3].
std::string add_model(const std::string& op = "Relu") {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(::onnx::TensorProto::FLOAT);
  b->add_dims(3);
  for (float v : {1.0f, -2.0f, 3.0f}) b->add_float_data(v);
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  auto* add = g->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("x");
  add->add_input("b");
  add->add_output("s");
  auto* act = g->add_node();
  act->set_op_type(op);
  act->set_name("act");
  act->add_input("s");
  act->add_output("y");
  g->add_output()->set_name("y");
  return m.SerializeAsString();
}

// The model written into `dir` as model.onnx.
std::string write_model(const ScratchDir& dir, const std::string& bytes = add_model()) {
  spit(dir / "model.onnx", bytes);
  return dir / "model.onnx";
}

class OnnxTools : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kIr)) GTEST_SKIP() << "the tools were not built (need CLI11)";
  }
};

TEST_F(OnnxTools, KilnIrPrintsTheGraphAtTheGivenShape) {
  ScratchDir dir;
  ToolRun r = run_program(kIr, write_model(dir) + " --input-shape x=2,3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("(%x: f32[2,3]) -> (f32[2,3])"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("max "));  // Relu
  r = run_program(kIr, "--schedule " + write_model(dir) + " --input-shape x=5,3");
  ASSERT_EQ(r.status, 0) << r.err;
  // Add and Relu fuse into one kernel over the given shape.
  EXPECT_THAT(r.out, ::testing::HasSubstr("kernel 0: pointwise over [5,3]"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("kernels: 1\n"));
}

TEST_F(OnnxTools, KilnIrRunsOnGivenInputs) {
  ScratchDir dir;
  save_npy(dir / "x.npy", from_data<float>({0, 0, 0, -5, 5, -5}, {2, 3}));
  ToolRun r = run_program(kIr, "--run " + write_model(dir) + " --input-shape x=2,3 --device " +
                                   "reference --inputs " + (dir / "x.npy") + " --save-outputs " +
                                   (dir / "out"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_npy(dir / "out/out0.npy").to_vector<float>(),
            (std::vector<float>{1, 0, 3, 0, 3, 0}));
}

TEST_F(OnnxTools, Errors) {
  ScratchDir dir;
  std::string model = write_model(dir);
  ToolRun r = run_program(kIr, model);
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("graph input 'x' has a dynamic dimension ('N')"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("--input-shape x="));
  for (const char* bad : {"x=2,", "=2,3", "x=2,a", "2"}) {
    r = run_program(kIr, model + " --input-shape " + bad);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_THAT(r.err, ::testing::HasSubstr("expected NAME=D0,D1,...")) << bad;
  }
  r = run_program(kIr, model + " --input-shape x=2,3 --input-shape x=4,3");
  EXPECT_THAT(r.err, ::testing::HasSubstr("input 'x' is given twice"));
  r = run_program(kIr, model + " --input-shape x=2,3 --input-shape y=2,3");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("'y', which is not an input of the model"));
  r = run_program(kIr, model + " --input-shape x=2,4");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("graph input 'x': the given shape [2,4]"));

  std::string kir = std::string(KILN_SOURCE_DIR) + "/tests/tools/golden/mlp.kir";
  r = run_program(kIr, kir + " --input-shape x=2,3");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("--input-shape needs an ONNX model (.onnx)"));
  r = run_program(kAot, kir + " --target cpu -o " + (dir / "o") + " --input-shape x=2,3");
  EXPECT_EQ(r.status, 2);

  spit(dir / "unique.onnx", add_model("Unique"));
  r = run_program(kIr, (dir / "unique.onnx") + " --input-shape x=2,3");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("node 'act' (Unique): op type Unique is not supported"));
  std::string bytes = add_model();
  spit(dir / "cut.onnx", bytes.substr(0, bytes.size() / 2));
  r = run_program(kAot, (dir / "cut.onnx") + " --input-shape x=2,3 --target cpu -o " + (dir / "o"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("kiln-aot: error: "));
  r = run_program(kIr, (dir / "cut.onnx") + " --input-shape x=2,3");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("cut.onnx: not a valid ONNX model"));
  EXPECT_FALSE(std::filesystem::exists(dir / "o"));
}

// The object file kiln-aot compiles from the model, called from C on x = [[0,0,0],
// [-5,5,-5]]: relu(x + b) row by row.
TEST_F(OnnxTools, KilnAotCompilesTheModel) {
#ifndef KILN_HAS_LLVM
  GTEST_SKIP() << "no LLVM backend in this build";
#endif
  ScratchDir dir;
  ToolRun r = run_program(
      kAot, write_model(dir) + " --target cpu --input-shape x=2,3 -o " + dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string header = slurp(dir / "model.h");
  EXPECT_THAT(header, ::testing::HasSubstr("int model_run(const float* x, float* out0);"));
  EXPECT_THAT(header, ::testing::HasSubstr("x (input, %x): f32[2,3]"));
  spit(dir / "main.c",
       "#include <stdio.h>\n#include \"model.h\"\n"
       "int main(void) {\n"
       "  float x[6] = {0, 0, 0, -5, 5, -5}, y[6];\n"
       "  if (model_run(x, y) != 0) return 1;\n"
       "  for (int i = 0; i < 6; ++i) printf(\"%g \", y[i]);\n"
       "  return 0;\n}\n");
  r = run_program(std::string(KILN_C_COMPILER),
                  "-std=c11 -o " + (dir / "prog") + " " + (dir / "main.c") + " -I" +
                      dir.path().string() + " " + (dir / "model.o") + " " + KILN_AOT_RUNTIME_LIB +
                      " " KILN_C_LINK_FLAGS " -lm -lpthread");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_program(dir / "prog", "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1 0 3 0 3 0 ");
  r = run_program(kAot,
                  write_model(dir) + " --target opencl --input-shape x=2,3 -o " + (dir / "cl"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "cl/model.c"));
}

#else  // no ONNX import in this build

TEST(OnnxTools, RefusedWithoutOnnxImport) {
  if (!std::filesystem::exists(kIr)) GTEST_SKIP() << "the tools were not built (need CLI11)";
  ScratchDir dir;
  spit(dir / "model.onnx", "not read");
  ToolRun r = run_program(kIr, dir / "model.onnx");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("built without ONNX import"));
}

#endif

}  // namespace
}  // namespace kiln::testing
