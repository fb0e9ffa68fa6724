// onnx::load: models read, mapped onto kiln ops and run; initializers inline and in
// external data files, dynamic input shapes, named calls, and the errors for what kiln does
// not implement and for malformed or invalid models.
#include <gtest/gtest.h>
#include <kiln/onnx.h>

#include <filesystem>
#include <fstream>

#include "tests/expect_error.h"
#include "tests/onnx/model_builder.h"

namespace kiln {
namespace {

using testing::expect_error;
using testing::OnnxModelBuilder;

// x0 + x1 over float inputs of `shape`.
OnnxModelBuilder add_model(const std::vector<int64_t>& shape, int64_t opset = 13) {
  OnnxModelBuilder b(opset);
  b.input("x0", shape).input("x1", shape);
  b.node("Add", {"x0", "x1"}, {"y"}, "n0");
  b.output("y");
  return b;
}

TEST(OnnxImport, RunsAnAdd) {
  onnx::Model model = onnx::load_bytes(add_model({2, 3}).bytes());
  EXPECT_EQ(model.input_names(), (std::vector<std::string>{"x0", "x1"}));
  EXPECT_EQ(model.output_names(), (std::vector<std::string>{"y"}));
  EXPECT_EQ(model.opset(), 13);
  Tensor a = from_data<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_data<float>({10, 20, 30, 40, 50, 60}, {2, 3});
  std::vector<Tensor> y = model(std::vector<Tensor>{a, b});
  EXPECT_EQ(y.at(0).to_vector<float>(), (std::vector<float>{11, 22, 33, 44, 55, 66}));
  // By name.
  auto named = model.call({{"x0", a}, {"x1", b}});
  EXPECT_EQ(named.at("y").to_vector<float>(), (std::vector<float>{11, 22, 33, 44, 55, 66}));
  expect_error<ShapeError>([&] { model.call({{"x0", a}}); }, {"input 'x1' is not given"});
  expect_error<ShapeError>(
      [&] {
        model.call({{"x0", a}, {"x1", b}, {"z", a}});
      },
      {"'z' is not an input"});
}

TEST(OnnxImport, InitializersBecomeConstantsAndLargeOnesBoundParameters) {
  OnnxModelBuilder b;
  std::vector<float> w(32);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i);
  b.input("x", {32}).initializer("w", {32}, w);
  b.node("Mul", {"x", "w"}, {"y"});
  b.output("y");
  onnx::Model model = onnx::load_bytes(b.bytes());
  EXPECT_EQ(model.input_names(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(model.function().inputs().size(), 1u);  // w is bound, not an input
  std::vector<Tensor> y = model(std::vector<Tensor>{full({32}, 2.0f)});
  EXPECT_EQ(y[0].to_vector<float>()[31], 62.0f);
}

TEST(OnnxImport, ReadsExternalData) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "kiln_onnx_external_test";
  fs::create_directories(dir);
  std::vector<float> w = {1, 2, 3, 4};
  {
    std::ofstream out(dir / "weights.bin", std::ios::binary);
    float pad = 0;
    out.write(reinterpret_cast<const char*>(&pad), sizeof pad);  // offset 4
    out.write(reinterpret_cast<const char*>(w.data()), 16);
  }
  // x + w, w an f32[n] initializer in `location` from `offset`, `length` bytes.
  auto model_with = [&](const std::string& location, const std::string& offset,
                        const std::string& length = "16", int64_t n = 4) {
    OnnxModelBuilder b;
    b.input("x", {n});
    auto* t = b.graph().add_initializer();
    t->set_name("w");
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_dims(n);
    t->set_data_location(::onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair<std::string, std::string>{"location", location},
                        {"offset", offset},
                        {"length", length}}) {
      auto* kv = t->add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    }
    b.node("Add", {"x", "w"}, {"y"});
    b.output("y");
    return b.bytes();
  };
  onnx::Model m = onnx::load_bytes(model_with("weights.bin", "4"), {}, dir.string());
  EXPECT_EQ(m(std::vector<Tensor>{zeros({4})})[0].to_vector<float>(), w);
  expect_error<IOError>(
      [&] { onnx::load_bytes(model_with("../weights.bin", "4"), {}, dir.string()); },
      {"initializer 'w'", "not a path inside the model's directory"});
  expect_error<IOError>([&] { onnx::load_bytes(model_with("weights.bin", "8"), {}, dir.string()); },
                        {"initializer 'w'", "holds 20 bytes"});
  expect_error<IOError>([&] { onnx::load_bytes(model_with("missing.bin", "0"), {}, dir.string()); },
                        {"missing.bin"});
  // An empty tensor whose external data is empty (once a null copy the fuzzer found).
  onnx::Model empty = onnx::load_bytes(model_with("weights.bin", "0", "0", 0), {}, dir.string());
  EXPECT_EQ(empty(std::vector<Tensor>{zeros({0})})[0].size(), 0);
  fs::remove_all(dir);
}

TEST(OnnxImport, DynamicDimensionsTakeTheCallersShape) {
  OnnxModelBuilder b;
  b.input("x", {-1, 3}, ::onnx::TensorProto::FLOAT, "batch").input("z", {-1, 3});
  b.node("Add", {"x", "z"}, {"y"});
  b.output("y");
  expect_error<UnsupportedError>(
      [&] { onnx::load_bytes(b.bytes()); },
      {"graph input 'x'", "dynamic dimension ('batch')", "--input-shape x="});
  onnx::LoadOptions options;
  options.input_shapes = {{"x", {5, 3}}, {"z", {5, 3}}};
  onnx::Model m = onnx::load_bytes(b.bytes(), options);
  EXPECT_EQ(m.input_types()[0].shape, (Shape{5, 3}));
  options.input_shapes["x"] = {5, 4};
  expect_error<ShapeError>([&] { onnx::load_bytes(b.bytes(), options); },
                           {"graph input 'x'", "[5,4]", "does not match the model's [?,3]"});
  options.input_shapes = {{"x", {5, 3}}, {"z", {5, 3}}, {"w", {1}}};
  expect_error<ShapeError>([&] { onnx::load_bytes(b.bytes(), options); },
                           {"'w', which is not an input"});
}

TEST(OnnxImport, UnsupportedFeaturesNameTheNodeAndWhat) {
  expect_error<UnsupportedError>(
      [] {
        OnnxModelBuilder b;
        b.input("x", {2});
        b.node("NoSuchOp", {"x"}, {"y"}, "n0");
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (NoSuchOp): op type NoSuchOp is not supported"});
  expect_error<UnsupportedError>(
      [] {
        OnnxModelBuilder b = add_model({2});
        b.graph().mutable_node(0)->set_domain("com.example");
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (Add)", "domain 'com.example'"});
  expect_error<UnsupportedError>(
      [] {
        OnnxModelBuilder b = add_model({2});
        OnnxModelBuilder::attr(*b.graph().mutable_node(0), "frobnicate", 1);
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (Add)", "attribute 'frobnicate' is not supported"});
  expect_error<UnsupportedError>(
      [] {
        OnnxModelBuilder b = add_model({2});
        auto* a = b.graph().mutable_node(0)->add_attribute();
        a->set_name("then_branch");
        a->set_type(::onnx::AttributeProto::GRAPH);
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (Add)", "subgraph", "control flow"});
  expect_error<UnsupportedError>(
      [] {
        OnnxModelBuilder b;
        b.input("x", {2}, ::onnx::TensorProto::STRING);
        b.node("Identity", {"x"}, {"y"});
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"graph input 'x'", "STRING", "no kiln dtype"});
  expect_error<UnsupportedError>([] { onnx::load_bytes(add_model({2}, 0).bytes()); },
                                 {"opset 0", "1 to 17"});
  expect_error<UnsupportedError>([] { onnx::load_bytes(add_model({2}, 18).bytes()); },
                                 {"opset 18"});
}

TEST(OnnxImport, InvalidModelsAreErrors) {
  expect_error<Error>(
      [] {
        OnnxModelBuilder b;
        b.input("x", {2});
        b.node("Add", {"x", "later"}, {"y"}, "n0");
        b.node("Neg", {"x"}, {"later"}, "n1");
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (Add)", "input 'later'", "made by an earlier node"});
  expect_error<Error>(
      [] {
        OnnxModelBuilder b;
        b.input("x", {2});
        b.node("Add", {"x"}, {"y"}, "n0");
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"node 'n0' (Add)", "input 1 is required but missing"});
  expect_error<Error>(
      [] {
        OnnxModelBuilder b = add_model({2});
        b.output("nowhere");
        onnx::load_bytes(b.bytes());
      },
      {"graph output 'nowhere' is made by no node"});
  expect_error<IOError>([] { onnx::load_bytes(::onnx::ModelProto().SerializeAsString()); },
                        {"no graph"});
}

// Sizes the fuzzer found (fuzz/corpus/onnx/regress-*): each is an Error naming the node.
TEST(OnnxImport, SizesOutOfRangeAreErrors) {
  expect_error<Error>(
      [] {
        OnnxModelBuilder b;
        b.input("x", {4}).initializer_i64("s", {3}, {int64_t{1} << 40, int64_t{1} << 40, 16});
        b.node("Reshape", {"x", "s"}, {"y"}, "r");
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"node 'r' (Reshape)", "more elements than int64 counts"});
  expect_error<Error>(
      [] {
        onnx::load_bytes(testing::one_node_model("MaxPool", 13, {{4, 4}}, [](auto& n) {
          OnnxModelBuilder::attr(n, "kernel_shape", std::vector<int64_t>{2});
        }));
      },
      {"node 'n0' (MaxPool)", "rank 3 or more"});
  expect_error<Error>(
      [] {
        onnx::load_bytes(testing::one_node_model("MaxPool", 13, {{1, 1, 4, 4}}, [](auto& n) {
          OnnxModelBuilder::attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
          OnnxModelBuilder::attr(n, "strides", std::vector<int64_t>{0, 1});
        }));
      },
      {"node 'n0' (MaxPool)", "between 1 and 2^20"});
  expect_error<Error>(
      [] {
        OnnxModelBuilder b(17);
        b.input("x", {1, 4, 1}).initializer_i64("n", {0}, {});
        b.node("DFT", {"x", "n"}, {"y"}, "d");
        b.output("y");
        onnx::load_bytes(b.bytes());
      },
      {"node 'd' (DFT)", "fewer values than the op needs"});
}

TEST(OnnxImport, TruncatedOrMissingFilesAreIOErrors) {
  std::string bytes = add_model({2, 3}).bytes();
  for (size_t cut : {bytes.size() / 2, bytes.size() - 1, size_t{3}})
    EXPECT_THROW(onnx::load_bytes(bytes.substr(0, cut)), Error) << cut;
  expect_error<IOError>([] { onnx::load("/nonexistent/model.onnx"); }, {"/nonexistent/model.onnx"});
  expect_error<IOError>([] { onnx::read_tensor_bytes("\xff\xff\xff", "t.pb"); },
                        {"t.pb", "not a valid ONNX TensorProto"});
}

TEST(OnnxImport, TensorProtoDataMustFillItsShape) {
  ::onnx::TensorProto t;
  OnnxModelBuilder::fill(t, "t", {2, 2}, {1, 2, 3});
  expect_error<IOError>([&] { onnx::read_tensor_bytes(t.SerializeAsString(), "t.pb"); },
                        {"t.pb", "12 bytes", "needs 16"});
  OnnxModelBuilder::fill(t, "t", {}, {});
  t.clear_dims();
  t.add_dims(-3);
  expect_error<IOError>([&] { onnx::read_tensor_bytes(t.SerializeAsString(), "t.pb"); },
                        {"negative"});
}

TEST(OnnxImport, InputNamesBecomeIdentifiers) {
  OnnxModelBuilder b;
  b.input("input.1", {2}).input("0", {2});
  b.node("Add", {"input.1", "0"}, {"out:0"});
  b.output("out:0");
  onnx::Model m = onnx::load_bytes(b.bytes());
  EXPECT_EQ(m.input_names(), (std::vector<std::string>{"input.1", "0"}));
  EXPECT_EQ(m.function().inputs()[0]->name, "input_1");
  EXPECT_EQ(m.function().inputs()[1]->name, "x0");
  EXPECT_EQ(m.output_names(), (std::vector<std::string>{"out:0"}));
}

}  // namespace
}  // namespace kiln
