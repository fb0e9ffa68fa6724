// save_ir / load_ir: the text written for a small graph, large constants in the side file,
// the loaded callable's values and argument checks, and broken files.
#include "ir/printer.h"
#include "tools_test_util.h"

namespace kiln::testing {
namespace {

TEST(SaveIr, WritesTheGraphWithNamedInputs) {
  ScratchDir dir;
  Tensor x = zeros({2, 3});
  Tensor b = from_data({1.0f, 2.0f, 3.0f}, {3});
  Tensor y = x * 2.0f + b;
  save_ir(dir / "m.kir", {y}, {.inputs = {{"x", x}}, .function_name = "affine"});
  std::string want =
      "// kiln IR (kiln::save_ir).\n"
      "func @affine(%x: f32[2,3]) -> (f32[2,3]) {\n"
      "  %0 = constant dense<2.0> : f32[]\n"
      "  %1 = reshape %0 : f32[1,1]\n"
      "  %2 = broadcast %1 : f32[2,3]\n"
      "  %3 = mul %x, %2 : f32[2,3]\n"
      "  %4 = constant dense<[1.0, 2.0, 3.0]> : f32[3]\n"
      "  %5 = reshape %4 : f32[1,3]\n"
      "  %6 = broadcast %5 : f32[2,3]\n"
      "  %7 = add %3, %6 : f32[2,3]\n"
      "  return %7\n"
      "}\n";
  EXPECT_EQ(slurp(dir / "m.kir"), want);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"m.kir"});
}

TEST(SaveIr, LoadedFunctionComputesTheSameValues) {
  ScratchDir dir;
  Tensor x = zeros({2, 3});
  Tensor y = x * 2.0f + from_data({1.0f, 2.0f, 3.0f}, {3});
  save_ir(dir / "m.kir", {y, sum(y, 1)}, {.inputs = {{"x", x}}});
  IrFunction f = load_ir(dir / "m.kir");
  ASSERT_EQ(f.inputs().size(), 1u);
  EXPECT_EQ(f.inputs()[0]->name, "x");
  std::vector<Tensor> out = f({from_data({0.f, 1.f, 2.f, 3.f, 4.f, 5.f}, {2, 3})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].is_evaluated());  // lazy until asked
  // 2x + [1, 2, 3] by hand.
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{1, 4, 7, 7, 10, 13}));
  EXPECT_EQ(out[1].to_vector<float>(), (std::vector<float>{12, 30}));
}

TEST(SaveIr, LargeConstantsGoToTheDataFile) {
  ScratchDir dir;
  std::vector<float> wv(64);
  for (int i = 0; i < 64; ++i) wv[i] = static_cast<float>(i);
  Tensor w = from_data(wv, {8, 8});
  Tensor x = ones({2, 8});
  Tensor y = matmul(x, w);
  save_ir(dir / "mlp.kir", {y}, {.inputs = {{"x", x}}});
  EXPECT_EQ(dir.files(), (std::vector<std::string>{"mlp.kir", "mlp.kir.data"}));
  std::string text = slurp(dir / "mlp.kir");
  EXPECT_THAT(text, ::testing::HasSubstr("// data: mlp.kir.data\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("func @main(%x: f32[2,8], %data0: f32[8,8])"));
  auto data = read_safetensors(dir / "mlp.kir.data");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data.at("data0")->as<float>()[9], 9.0f);

  IrFunction f = load_ir(dir / "mlp.kir");
  EXPECT_EQ(f.inputs().size(), 1u);
  ASSERT_EQ(f.bound().size(), 2u);
  EXPECT_TRUE(f.bound()[1] != nullptr);
  // Row sums of column j of w: sum_i (8i + j) = 224 + 8j.
  std::vector<float> want;
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 8; ++j) want.push_back(224.0f + 8.0f * j);
  EXPECT_EQ(f({ones({2, 8})})[0].to_vector<float>(), want);
  // The graph with the data as constants has one parameter left.
  ir::Graph g = f.graph_with_constants();
  EXPECT_EQ(g.params.size(), 1u);
  EXPECT_EQ(g.nodes.front()->op, ir::OpKind::Constant);
}

TEST(SaveIr, EvaluatedValuesAreSavedAsData) {
  ScratchDir dir;
  Tensor v = arange(20, DType::F32);
  eval(v);
  Tensor y = v + 1.0f;
  save_ir(dir / "e.kir", {y}, {.inputs = {}, .inline_limit = 4});
  IrFunction f = load_ir(dir / "e.kir");
  EXPECT_TRUE(f.inputs().empty());
  std::vector<float> want;
  for (int i = 0; i < 20; ++i) want.push_back(i + 1.0f);
  EXPECT_EQ(f({})[0].to_vector<float>(), want);
}

TEST(SaveIr, ArgumentChecks) {
  ScratchDir dir;
  Tensor x = zeros({2}, DType::I32);
  save_ir(dir / "f.kir", {x + 1}, {.inputs = {{"x", x}}});
  IrFunction f = load_ir(dir / "f.kir");
  expect_error<ShapeError>([&] { f({}); },
                           {"@main(%x: i32[2])", "called with 0 arguments, expects 1"});
  expect_error<DTypeError>([&] { f({zeros({2})}); }, {"(%x) is f32[2], expected i32[2]"});
  expect_error<ShapeError>([&] { f({zeros({3}, DType::I32)}); }, {"is i32[3], expected i32[2]"});
}

TEST(SaveIr, BadOptions) {
  ScratchDir dir;
  Tensor x = zeros({2});
  expect_error<Error>(
      [&] {
        save_ir(dir / "a.kir", {x}, {.inputs = {{"2x", x}}});
      },
      {"input name '2x' is not an identifier"});
  expect_error<Error>(
      [&] {
        save_ir(dir / "a.kir", {x}, {.inputs = {{"a", x}, {"b", x}}});
      },
      {"input 'b' is the same tensor"});
  expect_error<Error>([&] { save_ir(dir / "a.kir", {}); }, {"no outputs"});
  EXPECT_TRUE(dir.files().empty());
}

TEST(LoadIr, ParseErrorsNameFileLineAndColumn) {
  ScratchDir dir;
  spit(dir / "bad.kir",
       "func @main(%x: f32[2]) -> (f32[2]) {\n"
       "  %0 = frobnicate %x : f32[2]\n"
       "  return %0\n"
       "}\n");
  try {
    load_ir(dir / "bad.kir");
    ADD_FAILURE() << "expected a ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.column(), 8);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("unknown op 'frobnicate'"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bad.kir"));
  }
}

TEST(LoadIr, BrokenDataFiles) {
  ScratchDir dir;
  Tensor w = from_data(std::vector<float>(32, 1.0f), {32});
  Tensor x = zeros({32});
  save_ir(dir / "w.kir", {x + w}, {.inputs = {{"x", x}}});
  ASSERT_EQ(dir.files(), (std::vector<std::string>{"w.kir", "w.kir.data"}));
  std::string data = slurp(dir / "w.kir.data");
  spit(dir / "w.kir.data", data.substr(0, data.size() - 10));
  expect_error<IOError>([&] { load_ir(dir / "w.kir"); }, {"w.kir.data", "truncated"});
  std::filesystem::remove(dir / "w.kir.data");
  expect_error<IOError>([&] { load_ir(dir / "w.kir"); }, {"cannot open", "w.kir.data"});
  // A data file of another graph: wrong type, then a stray tensor.
  auto wrong = std::make_shared<Buffer>(Type{DType::F32, {31}});
  write_safetensors(dir / "w.kir.data", {{"data0", wrong}});
  expect_error<IOError>([&] { load_ir(dir / "w.kir"); },
                        {"tensor 'data0' is f32[31], but parameter %data0 of the IR is f32[32]"});
  auto right = std::make_shared<Buffer>(Type{DType::F32, {32}});
  write_safetensors(dir / "w.kir.data", {{"data0", right}, {"extra", right}});
  expect_error<IOError>([&] { load_ir(dir / "w.kir"); }, {"tensor 'extra' matches no parameter"});
}

TEST(LoadIr, DataFileMustBeNextToTheIrFile) {
  // A `// data:` line with a directory in it (found by fuzz/ir_file.cpp) would make the
  // reader open files anywhere: refused, even when the file it names is a valid data file.
  ScratchDir dir;
  std::filesystem::create_directory(dir / "sub");
  Tensor x = zeros({32});
  save_ir(dir / "w.kir", {x + from_data(std::vector<float>(32, 1.0f), {32})},
          {.inputs = {{"x", x}}});
  std::string text = slurp(dir / "w.kir");
  const std::string line = "// data: w.kir.data";
  ASSERT_NE(text.find(line), std::string::npos);
  for (const std::string& name : std::vector<std::string>{"../w.kir.data", dir / "w.kir.data"}) {
    std::string moved = text;
    moved.replace(moved.find(line), line.size(), "// data: " + name);
    spit(dir / "sub/w.kir", moved);
    expect_error<IOError>(
        [&] { load_ir(dir / "sub/w.kir"); },
        {"IR data file '" + name + "' is not a plain file name", "in the IR file's own directory"});
  }
}

}  // namespace
}  // namespace kiln::testing
