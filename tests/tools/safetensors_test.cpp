// safetensors reading and writing: the exact bytes of a small file, every kiln dtype,
// memory-mapped access, hand-made files from other writers, and malformed files.
#include <cstring>

#include "tools_test_util.h"

namespace kiln::testing {
namespace {

std::string st_file(const std::string& header, const std::string& data) {
  return le_bytes<uint64_t>(header.size()) + header + data;
}

BufferPtr f32_buffer(const Shape& shape, const std::vector<float>& v) {
  auto b = std::make_shared<Buffer>(Type{DType::F32, shape});
  std::memcpy(b->data(), v.data(), v.size() * 4);
  return b;
}

TEST(Safetensors, WritesTheExpectedBytes) {
  ScratchDir dir;
  auto a = f32_buffer({2}, {1.0f, 2.0f});
  auto b = std::make_shared<Buffer>(Type{DType::I64, {}});
  b->as<int64_t>()[0] = -3;
  write_safetensors(dir / "t.safetensors", {{"a", a}, {"b", b}}, {{"format", "pt"}});
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data = std::string(reinterpret_cast<const char*>(a->data()), 8) +
                     std::string(reinterpret_cast<const char*>(b->data()), 8);
  EXPECT_EQ(slurp(dir / "t.safetensors"), st_file(header, data));
}

TEST(Safetensors, EveryKilnDtypeRoundTrips) {
  ScratchDir dir;
  std::vector<std::pair<std::string, BufferPtr>> tensors;
  for (DType t : kAllDTypes) {
    auto b = std::make_shared<Buffer>(Type{t, {3, 2}});
    for (size_t i = 0; i < b->nbytes(); ++i)
      b->data()[i] = static_cast<std::byte>(t == DType::Bool ? (i + 1) % 2 : i * 5 + 3);
    tensors.emplace_back(std::string("t_") + std::string(dtype_name(t)), b);
  }
  write_safetensors(dir / "all.safetensors", tensors);
  auto back = read_safetensors(dir / "all.safetensors");
  ASSERT_EQ(back.size(), tensors.size());
  for (auto& [name, b] : tensors) {
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_EQ(back[name]->type(), b->type()) << name;
    EXPECT_EQ(std::memcmp(back[name]->data(), b->data(), b->nbytes()), 0) << name;
  }
  SafetensorsFile file = SafetensorsFile::open(dir / "all.safetensors");
  EXPECT_EQ(file.find("t_bf16")->dtype_name, "BF16");
  EXPECT_EQ(file.find("t_f16")->dtype_name, "F16");
  EXPECT_EQ(file.find("t_c64")->dtype_name, "C64");
  EXPECT_EQ(file.find("t_bool")->dtype_name, "BOOL");
}

TEST(Safetensors, MappedAccessPointsIntoTheFile) {
  ScratchDir dir;
  write_safetensors(dir / "m.safetensors", {{"w", f32_buffer({2, 2}, {1, 2, 3, 4})}},
                    {{"note", "hello"}});
  SafetensorsFile file = SafetensorsFile::open(dir / "m.safetensors");
  ASSERT_EQ(file.entries().size(), 1u);
  const auto& e = file.entries()[0];
  EXPECT_EQ(e.name, "w");
  EXPECT_EQ(e.dtype, DType::F32);
  EXPECT_EQ(e.shape, (Shape{2, 2}));
  ASSERT_EQ(e.bytes.size(), 16u);
  float third;
  std::memcpy(&third, e.bytes.data() + 8, 4);
  EXPECT_EQ(third, 3.0f);
  EXPECT_EQ(file.metadata().at("note"), "hello");
  EXPECT_EQ(file.find("nope"), nullptr);
  expect_error<IOError>([&] { file.buffer("nope"); }, {"no tensor named 'nope'"});
}

TEST(Safetensors, TensorApi) {
  ScratchDir dir;
  Tensor w = arange(6, DType::F32) + 1.0f;
  Tensor h = cast(from_data({0.5f, -1.0f}, {2}), DType::BF16);
  save_safetensors(dir / "p.safetensors", {{"w", reshape(w, {2, 3})}, {"h", h}});
  auto loaded = load_safetensors(dir / "p.safetensors");
  EXPECT_EQ(loaded.at("w").type().str(), "f32[2,3]");
  EXPECT_EQ(loaded.at("w").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(loaded.at("h").type().str(), "bf16[2]");
  EXPECT_EQ(loaded.at("h").to_vector<float>(), (std::vector<float>{0.5f, -1.0f}));
}

TEST(Safetensors, ReadsOtherWritersFiles) {
  ScratchDir dir;
  // Key order, spacing and padding as another writer might choose; a dtype kiln lacks
  // (I16) is listed and refused only when read.
  std::string header = R"({ "y": {"shape": [1], "dtype": "I16", "data_offsets": [4, 6]},)"
                       R"(  "x": {"data_offsets": [0, 4], "dtype": "F32", "shape": [1]} }    )";
  std::string data = std::string("\x00\x00\x80\x3f", 4) + std::string("\x07\x00", 2);
  spit(dir / "o.safetensors", st_file(header, data));
  SafetensorsFile file = SafetensorsFile::open(dir / "o.safetensors");
  ASSERT_EQ(file.entries().size(), 2u);
  EXPECT_EQ(file.entries()[0].name, "x");  // in the order of the data
  EXPECT_EQ(file.buffer("x")->as<float>()[0], 1.0f);
  EXPECT_FALSE(file.find("y")->supported);
  expect_error<DTypeError>([&] { file.buffer("y"); }, {"tensor 'y' has dtype I16"});
  expect_error<DTypeError>([&] { read_safetensors(dir / "o.safetensors"); }, {"I16"});
}

TEST(Safetensors, EmptyTensorsMayShareTheirOffset) {
  // An empty tensor's range [k, k] starts where a neighbour's data does (or ends); neither
  // order of the names may read as an overlap.
  ScratchDir dir;
  std::string data("\x00\x00\x80\x3f", 4);
  for (const char* header : {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                             R"("c":{"dtype":"I32","shape":[0,3],"data_offsets":[4,4]}})",
                             R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("c":{"dtype":"I32","shape":[0],"data_offsets":[0,0]}})"}) {
    spit(dir / "e.safetensors", st_file(header, data));
    auto tensors = read_safetensors(dir / "e.safetensors");
    ASSERT_EQ(tensors.size(), 3u) << header;
    int empty = 0;
    for (const auto& [name, buffer] : tensors) empty += buffer->type().numel() == 0;
    EXPECT_EQ(empty, 2) << header;
  }
}

TEST(Safetensors, MalformedFiles) {
  ScratchDir dir;
  auto with = [&](const std::string& bytes) {
    spit(dir / "m.safetensors", bytes);
    return dir / "m.safetensors";
  };
  auto open = [&](const std::string& bytes) { SafetensorsFile::open(with(bytes)); };
  std::string x4 = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string data8(8, '\0');
  open(st_file(x4, data8));  // the good file opens

  expect_error<IOError>([&] { open("abc"); }, {"m.safetensors", "truncated", "3 bytes"});
  expect_error<IOError>([&] { open(st_file(x4, data8).substr(0, 20)); },
                        {"truncated", "header needs"});
  expect_error<IOError>([&] { open(st_file(x4, data8.substr(0, 5))); },
                        {"truncated", "tensor 'x' ends at data byte 8", "holds 5 data bytes"});
  expect_error<IOError>([&] { open(le_bytes<uint64_t>(uint64_t{1} << 40) + "{}"); },
                        {"larger than the 100 MB"});
  expect_error<IOError>([&] { open(st_file("{\"x\": [1, 2", "")); }, {"not valid JSON"});
  expect_error<IOError>([&] { open(st_file("[1, 2]", "")); }, {"not a JSON object"});
  expect_error<IOError>([&] { open(st_file(R"({"x":{"dtype":"F32","shape":[2]}})", data8)); },
                        {"tensor 'x' has no \"data_offsets\""});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", data8)); },
      {"unknown dtype 'Q4'"});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8)); },
      {"\"shape\" holds -2"});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8)); },
      {"tensor 'x' (F32, 3 elements) needs 12 bytes", "[0, 8] span 8"});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8)); },
      {"negative range"});
  expect_error<IOError>(
      [&] {
        open(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                     data8));
      },
      {"overlaps another tensor"});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8)); },
      {"4 bytes that no tensor uses before tensor 'x'"});
  expect_error<IOError>(
      [&] { open(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data8)); },
      {"4 bytes after the last tensor's data"});
  expect_error<IOError>([&] { open(st_file(R"({"__metadata__":{"a":1}})", "")); },
                        {"__metadata__ value of 'a' is not a string"});
  expect_error<IOError>(
      [&] {
        SafetensorsFile::open(
            with(st_file(R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
                         std::string("\x01\x02", 2))))
            .buffer("b");
      },
      {"tensor 'b' holds 2 at element 1"});
}

TEST(Safetensors, DeeplyNestedValuesAreRefusedWithoutPrintingThem) {
  // A million nested lists where a dimension belongs: the message once printed the value,
  // recursing once per level until the stack overflowed.
  ScratchDir dir;
  const size_t depth = 1'000'000;
  std::string header = R"({"x":{"dtype":"F32","shape":[)" + std::string(depth, '[') +
                       std::string(depth, ']') + R"(],"data_offsets":[0,0]}})";
  spit(dir / "deep.safetensors", st_file(header, ""));
  expect_error<IOError>([&] { SafetensorsFile::open(dir / "deep.safetensors"); },
                        {"tensor 'x': \"shape\" holds a list, not a non-negative integer"});
  spit(dir / "obj.safetensors",
       st_file(R"({"x":{"dtype":"F32","shape":[{"a":1}],"data_offsets":[0,0]}})", ""));
  expect_error<IOError>([&] { SafetensorsFile::open(dir / "obj.safetensors"); },
                        {"\"shape\" holds an object"});
}

TEST(Safetensors, TooLargeShapesNameTheFilesDType) {
  ScratchDir dir;
  auto open = [&](const std::string& dtype, const std::string& shape) {
    std::string header =
        R"({"x":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[0,8]}})";
    spit(dir / "big.safetensors", st_file(header, std::string(8, '\0')));
    SafetensorsFile::open(dir / "big.safetensors");
  };
  // Too many elements for any dtype: the message names F32, not a stand-in byte dtype.
  expect_error<IOError>(
      [&] { open("F32", "[4294967296,4294967296]"); },
      {"tensor 'x' (F32[4294967296,4294967296]) is too large", "overflows int64"});
  // Elements that fit int64 but whose bytes do not.
  expect_error<IOError>([&] { open("F32", "[2147483648,1073741824]"); },
                        {"tensor 'x' (F32[2147483648,1073741824]) is too large"});
  // A dtype kiln lacks is sized by its own element size too.
  expect_error<IOError>([&] { open("U64", "[2147483648,1073741824]"); },
                        {"tensor 'x' (U64[2147483648,1073741824]) is too large"});
  expect_error<IOError>([&] { open("F32", "[1,1,1,1,1,1,1,1,2]"); },
                        {"tensor 'x' (F32[1,1,1,1,1,1,1,1,2]) has rank 9", "maximum 8"});
}

TEST(Safetensors, BadWritesLeaveNoFile) {
  ScratchDir dir;
  auto a = f32_buffer({1}, {1});
  expect_error<IOError>(
      [&] {
        write_safetensors(dir / "d.safetensors", {{"a", a}, {"a", a}});
      },
      {"two tensors are named 'a'"});
  expect_error<IOError>(
      [&] {
        write_safetensors(dir / "d.safetensors", {{"__metadata__", a}});
      },
      {"reserved"});
  EXPECT_TRUE(dir.files().empty());
}

}  // namespace
}  // namespace kiln::testing
