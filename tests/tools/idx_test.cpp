// IDX reading: hand-made files of each type (big-endian elements), gzip-compressed ones,
// malformed and truncated files, and, where the dataset package is installed, the
// Fashion-MNIST test labels against their published class counts.
#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "tools_test_util.h"

namespace kiln::testing {
namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx_file(unsigned type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s + data;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, bytes.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Idx, ReadsEachTypeBigEndian) {
  ScratchDir dir;
  spit(dir / "u8", idx_file(0x08, {2, 3}, std::string("\x01\x02\x03\xfe\xff\x00", 6)));
  BufferPtr u8 = read_idx(dir / "u8");
  EXPECT_EQ(u8->type(), (Type{DType::U8, {2, 3}}));
  EXPECT_EQ(u8->as<uint8_t>()[3], 254);
  spit(dir / "i32", idx_file(0x0C, {2}, be32(7) + be32(0xfffffffe)));
  BufferPtr i32 = read_idx(dir / "i32");
  EXPECT_EQ(i32->dtype(), DType::I32);
  EXPECT_EQ(i32->as<int32_t>()[0], 7);
  EXPECT_EQ(i32->as<int32_t>()[1], -2);
  uint32_t bits;
  const float f = 1.5f;
  std::memcpy(&bits, &f, 4);
  spit(dir / "f32", idx_file(0x0D, {1}, be32(bits)));
  EXPECT_EQ(read_idx(dir / "f32")->as<float>()[0], 1.5f);
  const double d = -0.25;
  uint64_t dbits;
  std::memcpy(&dbits, &d, 8);
  spit(dir / "f64",
       idx_file(0x0E, {1},
                be32(static_cast<uint32_t>(dbits >> 32)) + be32(static_cast<uint32_t>(dbits))));
  EXPECT_EQ(read_idx(dir / "f64")->as<double>()[0], -0.25);
  spit(dir / "i8", idx_file(0x09, {1, 1, 2}, "\x80\x7f"));
  BufferPtr i8 = read_idx(dir / "i8");
  EXPECT_EQ(i8->type(), (Type{DType::I8, {1, 1, 2}}));
  EXPECT_EQ(i8->as<int8_t>()[0], -128);
  // As a tensor: the values survive an eval.
  Tensor t = load_idx(dir / "u8");
  EXPECT_EQ(cast(t, DType::F32).to_vector<float>(), (std::vector<float>{1, 2, 3, 254, 255, 0}));
}

TEST(Idx, ReadsGzipCompressedFiles) {
  ScratchDir dir;
  std::string data(3 * 28 * 28, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  spit(dir / "images.gz", gzip(idx_file(0x08, {3, 28, 28}, data)));
  BufferPtr b = read_idx(dir / "images.gz");
  EXPECT_EQ(b->type(), (Type{DType::U8, {3, 28, 28}}));
  EXPECT_EQ(std::memcmp(b->data(), data.data(), data.size()), 0);
}

TEST(Idx, MalformedFilesNameTheProblem) {
  ScratchDir dir;
  auto with = [&](const std::string& bytes) {
    spit(dir / "m.idx", bytes);
    return dir / "m.idx";
  };
  const std::string good = idx_file(0x08, {2, 3}, "abcdef");
  expect_error<IOError>([&] { read_idx(with(good.substr(0, good.size() - 2))); },
                        {"m.idx", "truncated", "promises 6 elements (6 bytes)", "holds 4 bytes"});
  expect_error<IOError>([&] { read_idx(with(good + "zz")); }, {"2 bytes follow the data"});
  expect_error<IOError>([&] { read_idx(with(good.substr(0, 7))); },
                        {"truncated in the header", "2 dimensions need 12 bytes"});
  expect_error<IOError>([&] { read_idx(with("PK\x03\x04")); }, {"not an IDX file"});
  expect_error<IOError>([&] { read_idx(with(idx_file(0x0A, {1}, "x"))); },
                        {"unknown IDX type code 0x0a"});
  expect_error<DTypeError>([&] { read_idx(with(idx_file(0x0B, {1}, "xx"))); },
                           {"int16", "has no kiln dtype"});
  const std::string packed = gzip(idx_file(0x08, {100, 100}, std::string(10000, 'x')));
  expect_error<IOError>([&] { read_idx(with(packed.substr(0, packed.size() / 2))); },
                        {"m.idx", "gzip stream is truncated"});
  std::string corrupt = packed;
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0x55);
  corrupt[13] = static_cast<char>(corrupt[13] ^ 0x55);
  expect_error<IOError>([&] { read_idx(with(corrupt)); }, {"m.idx", "gzip stream"});
  expect_error<IOError>([&] { read_idx(dir / "missing.idx"); }, {"missing.idx"});
}

TEST(Idx, FashionMnistTestLabelsWhereInstalled) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  BufferPtr labels = read_idx(path);
  ASSERT_EQ(labels->type(), (Type{DType::U8, {10000}}));
  // The test set has 1,000 images of each of the 10 classes.
  std::vector<int> count(10, 0);
  for (int64_t i = 0; i < 10000; ++i) {
    const uint8_t l = labels->as<uint8_t>()[i];
    ASSERT_LT(l, 10);
    ++count[l];
  }
  EXPECT_EQ(count, std::vector<int>(10, 1000));
  BufferPtr images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images->type(), (Type{DType::U8, {10000, 28, 28}}));
}

}  // namespace
}  // namespace kiln::testing
