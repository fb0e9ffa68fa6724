// Checkpoint reading (kiln/checkpoint.h): the committed fixtures of
// tests/fixtures/checkpoints/ (written by make_fixtures.py with torch 1.13; every value
// follows from the tensor's name, see the script), archives and pickles made here byte by
// byte for each way a file can be malformed or unsafe, and match_and_load onto a module.
#include <kiln/checkpoint.h>
#include <zlib.h>

#include <cstring>

#include "tools_test_util.h"

namespace kiln::testing {
namespace {

using namespace std::string_literals;

const std::string kFixtures = std::string(KILN_SOURCE_DIR) + "/tests/fixtures/checkpoints/";

std::vector<float> floats(const Buffer& b) {
  std::vector<float> out(static_cast<size_t>(b.type().numel()));
  if (b.dtype() == DType::F32) std::memcpy(out.data(), b.data(), b.nbytes());
  for (size_t i = 0; i < out.size(); ++i) {
    if (b.dtype() == DType::F16) out[i] = f16_to_float(b.as<uint16_t>()[i]);
    if (b.dtype() == DType::BF16) out[i] = bf16_to_float(b.as<uint16_t>()[i]);
    if (b.dtype() == DType::F64) out[i] = static_cast<float>(b.as<double>()[i]);
  }
  return out;
}

template <class T>
std::vector<int64_t> ints(const Buffer& b) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < b.type().numel(); ++i) out.push_back(b.as<T>()[i]);
  return out;
}

std::vector<float> arange(int n, float scale = 1, float shift = 0) {
  std::vector<float> out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<float>(i) * scale + shift);
  return out;
}

// plain.pt's tensors (and bigendian.pt's, and composer.pt's under "model.").
void expect_plain(const std::map<std::string, BufferPtr>& t, const std::string& prefix = "") {
  ASSERT_EQ(t.size(), 4u);
  const Buffer& w = *t.at(prefix + "fc.weight");
  EXPECT_EQ(w.type(), (Type{DType::F32, {3, 4}}));
  EXPECT_EQ(floats(w), arange(12, 0.25f));
  EXPECT_EQ(floats(*t.at(prefix + "fc.bias")), (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(floats(*t.at(prefix + "norm.weight")), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(floats(*t.at(prefix + "norm.bias")), (std::vector<float>{0, 0, 0, 0}));
}

TEST(Checkpoint, ReadsAPlainStateDict) {
  Checkpoint c = read_checkpoint(kFixtures + "plain.pt");
  EXPECT_EQ(c.format, CheckpointFormat::PyTorch);
  EXPECT_EQ(c.found_under, "");
  expect_plain(c.tensors);
}

TEST(Checkpoint, ReadsPickleProtocol4) {
  expect_plain(read_checkpoint(kFixtures + "protocol4.pt").tensors);
}

TEST(Checkpoint, FindsComposersNestedModel) {
  Checkpoint c = read_checkpoint(kFixtures + "composer.pt");
  EXPECT_EQ(c.found_under, "state.model");
  expect_plain(c.tensors, "model.");
}

TEST(Checkpoint, SwapsABigEndianCheckpoint) {
  expect_plain(read_checkpoint(kFixtures + "bigendian.pt").tensors);
}

TEST(Checkpoint, ReadsEveryStorageType) {
  Checkpoint c = read_checkpoint(kFixtures + "dtypes.pt");
  std::vector<float> f = arange(6, 1, -2);
  std::vector<int64_t> i = {-2, -1, 0, 1, 2, 3};
  EXPECT_EQ(c.tensors.at("f16")->type(), (Type{DType::F16, {2, 3}}));
  EXPECT_EQ(floats(*c.tensors.at("f16")), f);
  EXPECT_EQ(c.tensors.at("bf16")->dtype(), DType::BF16);
  EXPECT_EQ(floats(*c.tensors.at("bf16")), f);
  EXPECT_EQ(floats(*c.tensors.at("f64")), f);
  EXPECT_EQ(ints<int64_t>(*c.tensors.at("i64")), i);
  EXPECT_EQ(ints<int32_t>(*c.tensors.at("i32")), i);
  // int16 has no kiln dtype: widened to i32, and said so.
  EXPECT_EQ(c.tensors.at("i16")->dtype(), DType::I32);
  EXPECT_EQ(ints<int32_t>(*c.tensors.at("i16")), i);
  EXPECT_EQ(c.file_dtypes, (std::map<std::string, std::string>{{"i16", "i16"}}));
  EXPECT_EQ(ints<int8_t>(*c.tensors.at("i8")), i);
  EXPECT_EQ(ints<uint8_t>(*c.tensors.at("u8")), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(c.tensors.at("mask")->type(), (Type{DType::Bool, {6}}));
  EXPECT_EQ(ints<uint8_t>(*c.tensors.at("mask")), (std::vector<int64_t>{1, 0, 1, 0, 1, 0}));
}

TEST(Checkpoint, CopiesViewsOutHonoringStrides) {
  // All views of base = arange(12).reshape(3, 4), which they share.
  Checkpoint c = read_checkpoint(kFixtures + "views.pt");
  EXPECT_EQ(c.tensors.at("transposed")->shape(), (Shape{4, 3}));
  EXPECT_EQ(floats(*c.tensors.at("transposed")),
            (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(floats(*c.tensors.at("sliced")), (std::vector<float>{4, 6, 8, 10}));
  EXPECT_EQ(floats(*c.tensors.at("row0")), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(floats(*c.tensors.at("row2")), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_EQ(floats(*c.tensors.at("expanded")), std::vector<float>(6, 4.0f));
}

TEST(Checkpoint, ReadsNpzStoredAndDeflated) {
  for (const char* name : {"weights.npz", "compressed.npz"}) {
    SCOPED_TRACE(name);
    Checkpoint c = read_checkpoint(kFixtures + name);
    EXPECT_EQ(c.format, CheckpointFormat::Npz);
    ASSERT_EQ(c.tensors.size(), 2u);
    EXPECT_EQ(c.tensors.at("a")->type(), (Type{DType::F32, {2, 3}}));
    EXPECT_EQ(floats(*c.tensors.at("a")), arange(6));
    EXPECT_EQ(ints<int64_t>(*c.tensors.at("b")), (std::vector<int64_t>{0, 1, 2, 3}));
  }
}

TEST(Checkpoint, ReadsSafetensorsByContent) {
  ScratchDir dir;
  auto a = std::make_shared<Buffer>(Type{DType::F32, {2}});
  a->as<float>()[1] = 5;
  write_safetensors(dir / "weights.pt", {{"a", a}});  // the name does not decide
  Checkpoint c = read_checkpoint(dir / "weights.pt");
  EXPECT_EQ(c.format, CheckpointFormat::Safetensors);
  EXPECT_EQ(floats(*c.tensors.at("a")), (std::vector<float>{0, 5}));
  EXPECT_EQ(load_checkpoint_tensors(dir / "weights.pt").at("a").type(), (Type{DType::F32, {2}}));
}

TEST(Checkpoint, RefusesCodeInAPickle) {
  expect_error<IOError>([] { read_checkpoint(kFixtures + "malicious.pt"); },
                        {"malicious.pt", "checkpoint refers to global 'posix.system': not allowed",
                         "never runs code"});
}

TEST(Checkpoint, FixtureErrors) {
  expect_error<IOError>([] { read_checkpoint(kFixtures + "legacy.pt"); },
                        {"legacy.pt", "legacy format of torch < 1.6", "save it again"});
  expect_error<IOError>([] { read_checkpoint(kFixtures + "truncated.pt"); },
                        {"truncated.pt", "truncated or corrupt"});
  expect_error<IOError>([] { read_checkpoint(kFixtures + "escape.npz"); },
                        {"escape.npz", "zip entry '../a.npy'", "'..' component"});
  expect_error<IOError>([] { read_checkpoint(kFixtures + "liar.npz"); },
                        {"liar.npz", "zip entry 'a.npy' declares 153 bytes but holds 152"});
  expect_error<IOError>([] { read_checkpoint(kFixtures + "make_fixtures.py"); },
                        {"make_fixtures.py", "not a checkpoint kiln can read",
                         "PyTorch zip checkpoint, an .npz or a safetensors file"});
  expect_error<IOError>([] { read_checkpoint(kFixtures + "absent.pt"); },
                        {"cannot open", "absent.pt"});
}

// ---------------------------------------------------------------------------------------
// Archives and pickles made here.

struct ZipEntry {
  std::string name, data;
  uint16_t method = 0;    // 0 stored, 8 deflated (data is then the raw stream)
  int64_t declared = -1;  // the uncompressed size written, when not data's size
  uint32_t crc = 0;       // with declared: the CRC written
};

std::string zip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    uint32_t crc =
        e.declared >= 0
            ? e.crc
            : static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(e.data.data()),
                                            static_cast<uInt>(e.data.size())));
    uint32_t size =
        e.declared >= 0 ? static_cast<uint32_t>(e.declared) : static_cast<uint32_t>(e.data.size());
    std::string common =
        le_bytes<uint16_t>(20) + le_bytes<uint16_t>(0) + le_bytes<uint16_t>(e.method) +
        le_bytes<uint16_t>(0) + le_bytes<uint16_t>(0x21) + le_bytes<uint32_t>(crc) +
        le_bytes<uint32_t>(static_cast<uint32_t>(e.data.size())) + le_bytes<uint32_t>(size) +
        le_bytes<uint16_t>(static_cast<uint16_t>(e.name.size())) + le_bytes<uint16_t>(0);
    central += le_bytes<uint32_t>(0x02014b50) + le_bytes<uint16_t>(20) + common +
               le_bytes<uint16_t>(0) + le_bytes<uint16_t>(0) + le_bytes<uint16_t>(0) +
               le_bytes<uint32_t>(0) + le_bytes<uint32_t>(static_cast<uint32_t>(out.size())) +
               e.name;
    out += le_bytes<uint32_t>(0x04034b50) + common + e.name + e.data;
  }
  uint32_t at = static_cast<uint32_t>(out.size());
  out += central;
  out += le_bytes<uint32_t>(0x06054b50) + le_bytes<uint16_t>(0) + le_bytes<uint16_t>(0) +
         le_bytes<uint16_t>(static_cast<uint16_t>(entries.size())) +
         le_bytes<uint16_t>(static_cast<uint16_t>(entries.size())) +
         le_bytes<uint32_t>(static_cast<uint32_t>(central.size())) + le_bytes<uint32_t>(at) +
         le_bytes<uint16_t>(0);
  return out;
}

std::string unicode(const std::string& s) {
  return "X" + le_bytes<uint32_t>(static_cast<uint32_t>(s.size())) + s;
}

std::string int_tuple(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v) out += "K" + std::string(1, static_cast<char>(x));
  return out + "t";
}

// The pickle of {'w': tensor}, as torch.save writes it, of a FloatStorage of `numel`
// elements under key '0'.
std::string tensor_pickle(int numel, int offset, const std::vector<int>& size,
                          const std::vector<int>& stride) {
  return std::string("\x80\x02}(") + unicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
         unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + "K" +
         std::string(1, static_cast<char>(numel)) + "tQK" +
         std::string(1, static_cast<char>(offset)) + int_tuple(size) + int_tuple(stride) + "\x89" +
         "ccollections\nOrderedDict\n)RtRu.";
}

std::string floats_bytes(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    float f = static_cast<float>(i);
    out.append(reinterpret_cast<const char*>(&f), 4);
  }
  return out;
}

Checkpoint read_bytes(const std::string& bytes, const CheckpointOptions& options = {}) {
  ScratchDir dir;
  spit(dir / "c.pt", bytes);
  return read_checkpoint(dir / "c.pt", options);
}

TEST(Checkpoint, AHandMadeCheckpointReads) {
  Checkpoint c = read_bytes(
      zip({{"a/data.pkl", tensor_pickle(6, 1, {2, 2}, {1, 2})}, {"a/data/0", floats_bytes(6)}}));
  EXPECT_EQ(floats(*c.tensors.at("w")), (std::vector<float>{1, 3, 2, 4}));
}

TEST(Checkpoint, AnEmptyZipIsAnEmptyNpz) {
  Checkpoint c = read_bytes(zip({}));
  EXPECT_EQ(c.format, CheckpointFormat::Npz);
  EXPECT_TRUE(c.tensors.empty());
}

TEST(Checkpoint, PickleErrors) {
  auto pickled = [](const std::string& pickle, int storage_floats = 6) {
    return zip({{"a/data.pkl", pickle}, {"a/data/0", floats_bytes(storage_floats)}});
  };
  auto fails = [](const std::string& bytes, const std::vector<std::string>& fragments) {
    expect_error<IOError>([&] { read_bytes(bytes); }, fragments);
  };
  fails(pickled(tensor_pickle(6, 3, {2, 2}, {2, 1})),
        {"a tensor view reaching element 6 of storage '0', which holds 6"});
  fails(pickled(tensor_pickle(6, 0, {6}, {1}), 5),
        {"storage '0' (torch.FloatStorage, 6 elements) needs 24 bytes, its entry holds 20"});
  fails(zip({{"a/data.pkl", tensor_pickle(6, 0, {6}, {1})}}), {"storage '0'", "no entry a/data/0"});
  // Protocol 4's STACK_GLOBAL names a callable as two strings on the stack.
  fails(pickled("\x80\x04\x8c\x08"
                "builtins\x8c\x04"
                "exec\x93."),
        {"checkpoint refers to global 'builtins.exec': not allowed"});
  fails(pickled("\x80\x02"
                "c__builtin__\neval\n."),
        {"checkpoint refers to global '__builtin__.eval': not allowed"});
  fails(pickled("\x80\x02I1\n."), {"malformed checkpoint pickle at byte 2", "opcode 0x49"});
  fails(pickled("\x80\x02}X\x10\x00\x00\x00"s + "ab"), {"truncated (needs 16 more bytes)"});
  fails(pickled("\x80\x02}q\x00h\x05."s), {"memo entry 5 was never stored"});
  fails(pickled("\x80\x02}}."), {"the pickle ends with 2 values on its stack"});
  fails(pickled("\x80\x02"
                "ccollections\nOrderedDict\nK\x01\x85R."),
        {"OrderedDict of something that is not a list of pairs"});
  fails(pickled("\x80\x02}."), {"holds no tensors"});
  // Dicts that hold themselves, or one dict under eight keys at each of 20 levels: the
  // search visits each dict once instead of 8^20 paths.
  fails(pickled("\x80\x02}q\x00"s + unicode("state") + "h\x00s."s), {"holds no tensors"});
  std::string diamond =
      "\x80\x02}q\x00"
      "0"s;  // each dict popped once memoized
  for (int level = 1; level <= 20; ++level) {
    diamond += "}(";
    for (const char* key : {"state", "model", "module", "state_dict", "a", "b", "c", "d"})
      diamond += unicode(key) + "h" + std::string(1, static_cast<char>(level - 1));
    diamond += "uq" + std::string(1, static_cast<char>(level)) + (level < 20 ? "0" : "");
  }
  fails(pickled(diamond + "."), {"holds no tensors"});
  fails(zip({{"a/constants.pkl", "x"}, {"a/data.pkl", "\x80\x02}."}}), {"TorchScript archive"});
  fails(zip({{"a/b.txt", "x"}}), {"neither a PyTorch checkpoint", "nor an .npz"});
}

TEST(Checkpoint, ZipBombsAreRefusedBeforeInflating) {
  auto fails = [](const std::string& bytes, const std::vector<std::string>& fragments,
                  const CheckpointOptions& options = {}) {
    expect_error<IOError>([&] { read_bytes(bytes, options); }, fragments);
  };
  // A deflated entry cannot grow more than 1032 times.
  fails(zip({{"a.npy", std::string(16, '\0'), 8, 1'000'000'000}}),
        {"zip entry 'a.npy' declares 1000000000 bytes from 16 compressed",
         "more than deflate can produce"});
  fails(zip({{"a.npy", std::string(16, '\0'), 0, 17}}),
        {"zip entry 'a.npy' is stored uncompressed but declares 17 bytes in 16"});
  CheckpointOptions small;
  small.max_entry_bytes = 100;
  fails(slurp(kFixtures + "weights.npz"), {"declares 152 bytes, more than the limit of 100"},
        small);
  // Stride-0 views make many elements of one stored float; they count too.
  small = {};
  small.max_total_bytes = 1000;
  fails(
      zip({{"a/data.pkl", tensor_pickle(1, 0, {200, 200}, {0, 0})}, {"a/data/0", floats_bytes(1)}}),
      {"tensor 'w' (f32[200,200]) would take the bytes read past the limit of 1000"}, small);
  small = {};
  small.max_total_bytes = 200;
  fails(slurp(kFixtures + "weights.npz"),
        {"zip entry 'b.npy' would take the bytes read past the limit of 200"}, small);
}

// ---------------------------------------------------------------------------------------
// match_and_load

// The module plain.pt is the state_dict of: fc = Linear(4, 3), norm = LayerNorm(4).
class Tiny : public nn::Module {
 public:
  explicit Tiny(DType dtype = DType::F32) {
    register_module("fc", std::make_shared<nn::Linear>(4, 3, Key(1), true, dtype));
    register_module("norm", std::make_shared<nn::LayerNorm>(Shape{4}, 1e-5, true, dtype));
  }
  Tensor forward(const Tensor& x, const nn::Scope&) const override { return x; }
};

std::vector<float> value_of(const nn::Module& m, const std::string& name) {
  return cast(m.state_dict().at(name), DType::F32).to_vector<float>();
}

TEST(MatchAndLoad, LoadsAPlainStateDict) {
  Tiny m;
  LoadReport r = match_and_load(m, kFixtures + "plain.pt");
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_EQ(r.loaded,
            (std::vector<std::string>{"fc.bias", "fc.weight", "norm.bias", "norm.weight"}));
  EXPECT_EQ(value_of(m, "fc.weight"), arange(12, 0.25f));
  EXPECT_EQ(value_of(m, "norm.weight"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(MatchAndLoad, FindsTheCommonPrefix) {
  Tiny m;
  LoadReport r = match_and_load(m, kFixtures + "composer.pt");
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_EQ(r.prefix_stripped, "model.");
  EXPECT_EQ(value_of(m, "fc.bias"), (std::vector<float>{-1, 0, 1}));
  // And the other way: the module's names carry a prefix the checkpoint's lack.
  auto inner = std::make_shared<Tiny>();
  Params ckpt = load_checkpoint_tensors(kFixtures + "plain.pt");
  struct Wrapper : nn::Module {
    explicit Wrapper(std::shared_ptr<Tiny> t) { register_module("bert", std::move(t)); }
    Tensor forward(const Tensor& x, const nn::Scope&) const override { return x; }
  } wrapper(inner);
  r = match_and_load(wrapper, ckpt);
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_EQ(r.prefix_added, "bert.");
  EXPECT_EQ(value_of(wrapper, "bert.norm.weight"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(MatchAndLoad, GivenPrefixesAndRenames) {
  Tiny m;
  MatchOptions o;
  o.auto_prefix = false;
  o.strip_prefixes = {"model."};
  o.rename = [](const std::string& n) -> std::optional<std::string> {
    if (n == "norm.bias") return std::nullopt;  // left out
    return n;
  };
  o.strict = false;
  LoadReport r = match_and_load(m, kFixtures + "composer.pt", o);
  EXPECT_EQ(r.loaded, (std::vector<std::string>{"fc.bias", "fc.weight", "norm.weight"}));
  EXPECT_EQ(r.missing, (std::vector<std::string>{"norm.bias"}));
  EXPECT_TRUE(r.unexpected.empty());
}

TEST(MatchAndLoad, ConvertsFloatingDtypes) {
  Tiny m(DType::F16);
  LoadReport r = match_and_load(m, kFixtures + "plain.pt");
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_EQ(r.converted.size(), 4u);
  EXPECT_EQ(r.converted[0], "fc.bias: f32 -> f16");
  EXPECT_EQ(m.state_dict().at("fc.weight").dtype(), DType::F16);
  EXPECT_EQ(value_of(m, "fc.weight"), arange(12, 0.25f));
}

TEST(MatchAndLoad, ReportsAndStrictModeThrows) {
  Params ckpt = load_checkpoint_tensors(kFixtures + "plain.pt");
  ckpt.erase("norm.bias");
  ckpt.insert_or_assign("fc.weight", zeros({4, 3}));
  ckpt.emplace("head.weight", zeros({2}));
  Tiny m;
  std::vector<float> before = value_of(m, "fc.weight");
  expect_error<IOError>([&] { match_and_load(m, ckpt); },
                        {"the checkpoint does not match the module", "loaded 2 tensors",
                         "missing from the checkpoint (1):\n  norm.bias",
                         "unexpected in the checkpoint (1):\n  head.weight",
                         "wrong shape or dtype (1):\n  fc.weight: the module has f32[3,4], the "
                         "checkpoint f32[4,3]"});
  EXPECT_EQ(value_of(m, "fc.weight"), before);  // nothing loaded
  MatchOptions lenient;
  lenient.strict = false;
  LoadReport r = match_and_load(m, ckpt, lenient);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.loaded, (std::vector<std::string>{"fc.bias", "norm.weight"}));
  EXPECT_EQ(value_of(m, "fc.bias"), (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(value_of(m, "fc.weight"), before);
}

}  // namespace
}  // namespace kiln::testing
