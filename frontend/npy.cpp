// NumPy .npy files: a magic string, a version, a header (a Python dict literal with
// 'descr', 'fortran_order' and 'shape'), then the raw elements. Reading checks every
// field and the data size; writing produces what numpy.save writes for the same array.
#include <bit>
#include <cstring>
#include <optional>

#include "frontend/files.h"
#include "ir/verifier.h"
#include "kiln/io.h"

namespace kiln {

namespace {

static_assert(std::endian::native == std::endian::little,
              "kiln's buffers are little-endian; .npy writing assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// NumPy's descr for each kiln dtype; empty for bf16, which NumPy lacks.
std::string_view descr_of(DType t) {
  switch (t) {
    case DType::Bool: return "|b1";
    case DType::I8: return "|i1";
    case DType::U8: return "|u1";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::F16: return "<f2";
    case DType::BF16: return "";
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::C64: return "<c8";
  }
  return "";
}

struct Descr {
  DType dtype;
  bool big_endian;
};

Descr parse_descr(const std::string& descr, const std::string& what) {
  auto unsupported = [&]() {
    return DTypeError(what + ": NumPy dtype '" + descr +
                      "' has no kiln dtype (kiln reads bool, int8, uint8, int32, int64, float16, "
                      "float32, float64 and complex64)");
  };
  if (descr.size() < 3) throw unsupported();
  char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw unsupported();
  std::string_view kind = std::string_view(descr).substr(1);
  for (DType t : kAllDTypes) {
    std::string_view d = descr_of(t);
    if (d.empty() || d.substr(1) != kind) continue;
    // A one-byte type has no byte order; a wider one may be of either.
    return {t, order == '>' && dtype_size(t) > 1};
  }
  throw unsupported();
}

// A reader of the header's Python literal: {'key': value, ...} with string, bool and
// tuple-of-integer values, as numpy.lib.format writes and reads it.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  std::string descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;

  void parse() {
    expect('{');
    skip_space();
    while (peek() != '}') {
      std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
      } else if (key == "fortran_order") {
        fortran_order = boolean();
      } else if (key == "shape") {
        shape = tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        fail("expected ',' or '}'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the dictionary");
    if (descr.empty()) fail("no 'descr'");
    if (!fortran_order) fail("no 'fortran_order'");
    if (!shape) fail("no 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw IOError(what_ + ": malformed .npy header (" + why + " at offset " + std::to_string(pos_) +
                  "): " + std::string(s_));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a string");
    size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape out;
    skip_space();
    while (peek() != ')') {
      int64_t v = 0;
      bool any = false;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10) fail("dimension too large");
        v = v * 10 + (peek() - '0');
        ++pos_;
        any = true;
      }
      if (!any) fail("expected a dimension");
      out.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        fail("expected ',' or ')'");
      }
    }
    ++pos_;
    return out;
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint64_t read_le(const std::byte* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reverses the bytes of each `width`-byte word in place.
void swap_words(std::byte* data, size_t bytes, size_t width) {
  for (size_t i = 0; i + width <= bytes; i += width)
    for (size_t a = i, b = i + width - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
}

// Copies column-major (Fortran order) elements into row-major order.
void fortran_to_row_major(const std::byte* src, std::byte* dst, const Shape& shape, size_t width) {
  int rank = static_cast<int>(shape.size());
  int64_t n = numel(shape);
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < n; ++i) {  // i walks the row-major output
    int64_t src_pos = 0, stride = 1;
    for (int d = 0; d < rank; ++d) {
      src_pos += index[d] * stride;
      stride *= shape[d];
    }
    std::memcpy(dst + i * width, src + src_pos * width, width);
    for (int d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

std::string shape_literal(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

}  // namespace

BufferPtr decode_npy(std::span<const std::byte> bytes, const std::string& what) {
  if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    throw IOError(what + ": not an .npy file (it does not start with \\x93NUMPY)");
  int major = static_cast<int>(bytes[6]);
  if (major < 1 || major > 3)
    throw IOError(what + ": .npy format version " + std::to_string(major) + "." +
                  std::to_string(static_cast<int>(bytes[7])) +
                  " is not supported (kiln reads 1.0 to 3.0)");
  size_t len_size = major == 1 ? 2 : 4;
  size_t prefix = kMagicSize + 2 + len_size;
  if (bytes.size() < prefix)
    throw IOError(what + ": truncated .npy file (" + std::to_string(bytes.size()) +
                  " bytes, shorter than its preamble)");
  uint64_t header_len = read_le(bytes.data() + kMagicSize + 2, static_cast<int>(len_size));
  if (header_len > bytes.size() - prefix)
    throw IOError(what + ": truncated .npy file (the header needs " + std::to_string(header_len) +
                  " bytes, only " + std::to_string(bytes.size() - prefix) + " follow)");
  std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  HeaderParser parser(header, what);
  parser.parse();
  Descr descr = parse_descr(parser.descr, what);
  Type type{descr.dtype, *parser.shape};
  try {
    ir::verify_type(type, "the array");
  } catch (const VerifyError& e) {
    throw IOError(what + ": .npy shape " + shape_literal(type.shape) +
                  " is not usable: " + e.what());
  }
  size_t data_at = prefix + header_len;
  size_t have = bytes.size() - data_at;
  if (have != type.nbytes())
    throw IOError(what + ": " + (have < type.nbytes() ? "truncated" : "malformed") +
                  " .npy file: " + type.str() + " needs " + std::to_string(type.nbytes()) +
                  " data bytes, the file has " + std::to_string(have));
  auto buffer = std::make_shared<Buffer>(type);
  size_t width = dtype_size(type.dtype);
  const std::byte* src = bytes.data() + data_at;
  if (*parser.fortran_order && type.rank() > 1)
    fortran_to_row_major(src, buffer->data(), type.shape, width);
  else if (type.nbytes() > 0)
    std::memcpy(buffer->data(), src, type.nbytes());
  // A complex64 element is two floats, each swapped on its own.
  if (descr.big_endian)
    swap_words(buffer->data(), type.nbytes(), type.dtype == DType::C64 ? 4 : width);
  if (type.dtype == DType::Bool) {
    const uint8_t* p = buffer->as<uint8_t>();
    for (int64_t i = 0; i < type.numel(); ++i)
      if (p[i] > 1)
        throw IOError(what + ": malformed .npy file: bool element " + std::to_string(i) +
                      " holds " + std::to_string(p[i]) + " (only 0 and 1 are booleans)");
  }
  return buffer;
}

namespace {

void check_npy_dtype(const Type& type) {
  if (descr_of(type.dtype).empty())
    throw DTypeError("npy: NumPy has no bfloat16, so a " + type.str() +
                     " array cannot be written as .npy; cast it to f32 first, or save it as "
                     "safetensors (which has BF16)");
}

// Everything before the data: magic, version, header length and the padded header.
std::string npy_preamble(const Type& type) {
  check_npy_dtype(type);
  std::string dict = "{'descr': '" + std::string(descr_of(type.dtype)) +
                     "', 'fortran_order': False, 'shape': " + shape_literal(type.shape) + ", }";
  // numpy.save pads with spaces and a newline so that the data starts 64-byte aligned, and
  // uses version 2.0 (a 4-byte length) only when the header does not fit 16 bits.
  auto padded = [&](size_t prefix) {
    size_t total = prefix + dict.size() + 1;
    return dict.size() + (64 - total % 64) % 64 + 1;
  };
  size_t len_size = padded(kMagicSize + 4) <= 65535 ? 2 : 4;
  size_t header_len = padded(kMagicSize + 2 + len_size);
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(len_size == 2 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < len_size; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xff);
  return out + dict;
}

}  // namespace

std::string encode_npy(const Buffer& buffer) {
  std::string out = npy_preamble(buffer.type());
  out.append(reinterpret_cast<const char*>(buffer.data()), buffer.nbytes());
  return out;
}

BufferPtr read_npy(const std::string& path) {
  frontend::MappedFile file = frontend::MappedFile::open(path);
  return decode_npy(file.bytes(), path);
}

void write_npy(const std::string& path, const Buffer& buffer) {
  std::string preamble = npy_preamble(buffer.type());
  frontend::AtomicFile file(path);
  file.write(preamble);
  file.write(buffer.data(), buffer.nbytes());
  file.commit();
}

Tensor load_npy(const std::string& path, Loc loc) {
  return Tensor(ir::make_constant(read_npy(path), loc));
}

void save_npy(const std::string& path, const Tensor& x, Loc loc) {
  check_npy_dtype(x.type());  // before the sync: a bf16 tensor cannot be saved anyway
  eval({x}, loc);
  write_npy(path, *x.node()->buffer);
}

}  // namespace kiln
