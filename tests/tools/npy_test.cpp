// .npy reading and writing: the exact bytes NumPy writes, every dtype, hand-made files in
// the layouts NumPy may produce (big-endian, Fortran order, version 2.0), and malformed
// files.
#include <cstring>

#include "frontend/files.h"
#include "tools_test_util.h"

namespace kiln::testing {
namespace {

// An .npy file as NumPy 1.x writes it: version 1.0, header padded to 64 bytes with spaces
// and a newline.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string magic = "\x93NUMPY";
  magic += static_cast<char>(major);
  magic += '\0';
  size_t len_size = major == 1 ? 2 : 4;
  std::string header = dict;
  size_t total = magic.size() + len_size + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return magic + le_bytes(header.size(), static_cast<int>(len_size)) + header + data;
}

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

TEST(Npy, WritesTheBytesNumPyWrites) {
  ScratchDir dir;
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  write_npy(dir / "a.npy", *from_data(v, {2, 3}).node()->buffer);
  std::string want =
      npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32_bytes(v));
  EXPECT_EQ(slurp(dir / "a.npy"), want);
  // The header length NumPy writes for this array is 118: data starts at byte 128.
  EXPECT_EQ(want.size(), 128u + 24u);
}

TEST(Npy, ShapeSpellingsOfRankZeroAndOne) {
  ScratchDir dir;
  auto scalar = std::make_shared<Buffer>(Type{DType::I64, {}});
  scalar->as<int64_t>()[0] = 7;
  write_npy(dir / "s.npy", *scalar);
  EXPECT_THAT(slurp(dir / "s.npy"), ::testing::HasSubstr("'shape': (), }"));
  auto vec = std::make_shared<Buffer>(Type{DType::U8, {3}});
  write_npy(dir / "v.npy", *vec);
  EXPECT_THAT(slurp(dir / "v.npy"), ::testing::HasSubstr("'descr': '|u1'"));
  EXPECT_THAT(slurp(dir / "v.npy"), ::testing::HasSubstr("'shape': (3,), }"));
}

TEST(Npy, EveryNumPyDtypeRoundTrips) {
  ScratchDir dir;
  for (DType t : kAllDTypes) {
    if (t == DType::BF16) continue;
    auto b = std::make_shared<Buffer>(Type{t, {2, 5}});
    for (size_t i = 0; i < b->nbytes(); ++i)
      b->data()[i] = static_cast<std::byte>(t == DType::Bool ? i % 2 : i * 7 + 1);
    std::string path = dir / (std::string(dtype_name(t)) + ".npy");
    write_npy(path, *b);
    BufferPtr back = read_npy(path);
    EXPECT_EQ(back->type(), b->type()) << dtype_name(t);
    EXPECT_EQ(std::memcmp(back->data(), b->data(), b->nbytes()), 0) << dtype_name(t);
  }
}

TEST(Npy, DescrOfEachDtype) {
  ScratchDir dir;
  std::vector<std::pair<DType, std::string>> want = {
      {DType::Bool, "|b1"}, {DType::I8, "|i1"},  {DType::U8, "|u1"},
      {DType::I32, "<i4"},  {DType::I64, "<i8"}, {DType::F16, "<f2"},
      {DType::F32, "<f4"},  {DType::F64, "<f8"}, {DType::C64, "<c8"}};
  for (auto& [t, descr] : want) {
    write_npy(dir / "x.npy", Buffer(Type{t, {1}}));
    EXPECT_THAT(slurp(dir / "x.npy"), ::testing::HasSubstr("'descr': '" + descr + "'"));
  }
}

TEST(Npy, TensorApiRoundTrip) {
  ScratchDir dir;
  Tensor x = from_data({1.5f, -2.0f, 3.25f, 0.0f}, {2, 2}) * 2.0f;
  save_npy(dir / "x.npy", x);
  Tensor y = load_npy(dir / "x.npy");
  EXPECT_EQ(y.type().str(), "f32[2,2]");
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3.0f, -4.0f, 6.5f, 0.0f}));
  Tensor c = from_data(std::vector<complex64>{{1, 2}, {-3, 0.5f}}, {2});
  save_npy(dir / "c.npy", c);
  EXPECT_EQ(load_npy(dir / "c.npy").to_vector<complex64>(),
            (std::vector<complex64>{{1, 2}, {-3, 0.5f}}));
}

TEST(Npy, Bf16IsRefusedAndLeavesNoFile) {
  ScratchDir dir;
  Tensor x = cast(from_data({1.0f, 2.0f}, {2}), DType::BF16);
  expect_error<DTypeError>([&] { save_npy(dir / "x.npy", x); },
                           {"NumPy has no bfloat16", "bf16[2]", "cast it to f32", "safetensors"});
  expect_error<DTypeError>(
      [&] {
        write_npy(dir / "x.npy", Buffer(Type{DType::BF16, {2}}));
      },
      {"bfloat16"});
  EXPECT_TRUE(dir.files().empty());
}

TEST(Npy, ReadsBigEndian) {
  ScratchDir dir;
  std::string data = std::string("\x00\x00\x01\x02", 4) + std::string("\xff\xff\xff\xfe", 4);
  spit(dir / "be.npy", npy_file("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", data));
  BufferPtr b = read_npy(dir / "be.npy");
  ASSERT_EQ(b->type().str(), "i32[2]");
  EXPECT_EQ(b->as<int32_t>()[0], 258);
  EXPECT_EQ(b->as<int32_t>()[1], -2);
  // complex64: each float swapped on its own. 1.0f is 3f800000, 2.0f is 40000000.
  std::string c = std::string("\x3f\x80\x00\x00\x40\x00\x00\x00", 8);
  spit(dir / "c.npy", npy_file("{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }", c));
  BufferPtr cb = read_npy(dir / "c.npy");
  EXPECT_EQ(cb->as<complex64>()[0], complex64(1.0f, 2.0f));
}

TEST(Npy, ReadsFortranOrder) {
  ScratchDir dir;
  // The 2x3 matrix [[1,2,3],[4,5,6]] in column-major order.
  std::string data = f32_bytes({1, 4, 2, 5, 3, 6});
  spit(dir / "f.npy", npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data));
  BufferPtr b = read_npy(dir / "f.npy");
  std::vector<float> got(b->as<float>(), b->as<float>() + 6);
  EXPECT_EQ(got, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Npy, ReadsVersion2AndDoubleQuotes) {
  ScratchDir dir;
  spit(dir / "v2.npy", npy_file("{\"shape\": (1,), \"fortran_order\": False, \"descr\": \"<f4\"}",
                                f32_bytes({9}), 2));
  BufferPtr b = read_npy(dir / "v2.npy");
  EXPECT_EQ(b->type().str(), "f32[1]");
  EXPECT_EQ(b->as<float>()[0], 9.0f);
}

TEST(Npy, MalformedFiles) {
  ScratchDir dir;
  std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string good = npy_file(ok_dict, f32_bytes({1, 2, 3, 4, 5, 6}));
  auto with = [&](const std::string& bytes) {
    spit(dir / "m.npy", bytes);
    return dir / "m.npy";
  };
  expect_error<IOError>([&] { read_npy(with(good.substr(0, good.size() - 4))); },
                        {"m.npy", "truncated", "f32[2,3] needs 24 data bytes, the file has 20"});
  expect_error<IOError>([&] { read_npy(with(good + "xx")); }, {"malformed", "the file has 26"});
  expect_error<IOError>([&] { read_npy(with(good.substr(0, 50))); },
                        {"truncated", "header needs 118 bytes"});
  expect_error<IOError>([&] { read_npy(with(good.substr(0, 4))); }, {"not an .npy file"});
  expect_error<IOError>([&] { read_npy(with("PK\x03\x04 not numpy")); }, {"not an .npy file"});
  std::string v9 = good;
  v9[6] = 9;
  expect_error<IOError>([&] { read_npy(with(v9)); }, {"version 9.0 is not supported"});
  expect_error<IOError>(
      [&] { read_npy(with(npy_file("{'descr': '<f4', 'fortran_order': False}", ""))); },
      {"malformed .npy header", "no 'shape'"});
  expect_error<IOError>([&] { read_npy(with(npy_file("{'descr': '<f4', 'shape': (2, 3", ""))); },
                        {"malformed .npy header"});
  expect_error<IOError>(
      [&] {
        read_npy(with(npy_file("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "")));
      },
      {"expected True or False"});
  expect_error<IOError>(
      [&] {
        read_npy(with(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "")));
      },
      {"expected a dimension"});
  expect_error<IOError>(
      [&] {
        read_npy(with(npy_file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
            "")));
      },
      {"is not usable"});
  expect_error<DTypeError>(
      [&] {
        read_npy(with(npy_file("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", "ab")));
      },
      {"NumPy dtype '<i2' has no kiln dtype"});
  expect_error<DTypeError>(
      [&] {
        read_npy(with(npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "")));
      },
      {"'|O'"});
  expect_error<IOError>(
      [&] {
        read_npy(with(
            npy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\x01\x05")));
      },
      {"bool element 1 holds 5"});
  expect_error<IOError>([&] { read_npy(dir / "missing.npy"); },
                        {"cannot open", "missing.npy", "No such file"});
}

TEST(Npy, FailedWriteLeavesNothingBehind) {
  ScratchDir dir;
  expect_error<IOError>(
      [&] {
        write_npy(dir / "no-such-dir/x.npy", Buffer(Type{DType::F32, {2}}));
      },
      {"cannot write", "no-such-dir/x.npy"});
  // An unfinished write: the temporary goes, the old file stays.
  spit(dir / "keep.npy", "old");
  {
    frontend::AtomicFile f(dir / "keep.npy");
    f.write("new bytes");
    EXPECT_EQ(dir.files().size(), 2u);  // the target and the temporary
  }
  EXPECT_EQ(dir.files(), std::vector<std::string>{"keep.npy"});
  EXPECT_EQ(slurp(dir / "keep.npy"), "old");
  write_npy(dir / "keep.npy", Buffer(Type{DType::U8, {0}}));
  EXPECT_EQ(dir.files(), std::vector<std::string>{"keep.npy"});
  EXPECT_EQ(read_npy(dir / "keep.npy")->type().str(), "u8[0]");
}

}  // namespace
}  // namespace kiln::testing
