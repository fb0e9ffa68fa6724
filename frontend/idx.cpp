// IDX files (the format of MNIST and Fashion-MNIST): two zero bytes, a type code, the
// number of dimensions, each dimension as a big-endian u32, then the elements, big-endian
// and row-major. Files compressed with gzip (as datasets ship them) are inflated with zlib
// first. Reading checks the header and that the data is exactly as long as it promises.
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "frontend/files.h"
#include "kiln/io.h"

namespace kiln {

namespace {

std::string hex_byte(unsigned v) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[(v >> 4) & 15] + digits[v & 15];
}

// The bytes of a gzip stream inflated; IOError naming the file for a truncated or corrupt
// stream.
std::string inflate_gzip(const std::string& packed, const std::string& what) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    throw IOError(what + ": zlib could not start inflating");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    const size_t done = out.size();
    out.resize(done + std::max<size_t>(1 << 20, packed.size() * 2));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + done);
    z.avail_out = static_cast<uInt>(out.size() - done);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // the input ended mid-stream
  }
  const std::string reason = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (rc == Z_STREAM_END) return out;
  if (rc == Z_BUF_ERROR || rc == Z_OK)
    throw IOError(what + ": the gzip stream is truncated (" + std::to_string(out.size()) +
                  " bytes inflated before it ends)");
  throw IOError(what + ": the gzip stream is corrupt" +
                (reason.empty() ? "" : " (" + reason + ")"));
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

DType idx_dtype(unsigned code, const std::string& what) {
  switch (code) {
    case 0x08: return DType::U8;
    case 0x09: return DType::I8;
    case 0x0C: return DType::I32;
    case 0x0D: return DType::F32;
    case 0x0E: return DType::F64;
    case 0x0B:
      throw DTypeError(what +
                       ": IDX type 0x0b (int16) has no kiln dtype (kiln reads uint8, "
                       "int8, int32, float32 and float64 IDX files)");
    default: throw IOError(what + ": unknown IDX type code " + hex_byte(code));
  }
}

}  // namespace

BufferPtr decode_idx(std::span<const std::byte> bytes, const std::string& what) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(bytes[i]); };
  if (bytes.size() < 4 || byte(0) != 0 || byte(1) != 0)
    throw IOError(what +
                  ": not an IDX file (it does not start with two zero bytes, a type "
                  "code and a rank)");
  const DType dtype = idx_dtype(byte(2), what);
  const size_t rank = byte(3), header = 4 + 4 * rank;
  if (bytes.size() < header)
    throw IOError(what + ": truncated in the header (" + std::to_string(rank) +
                  " dimensions need " + std::to_string(header) + " bytes, the file has " +
                  std::to_string(bytes.size()) + ")");
  Shape shape;
  int64_t numel = 1;
  for (size_t d = 0; d < rank; ++d) {
    const size_t at = 4 + 4 * d;
    const int64_t n =
        (int64_t{byte(at)} << 24) | (byte(at + 1) << 16) | (byte(at + 2) << 8) | byte(at + 3);
    if (n != 0 && numel > (int64_t{1} << 40) / n)
      throw IOError(what + ": dimensions too large for a buffer");
    numel *= n;
    shape.push_back(n);
  }
  const size_t size = dtype_size(dtype), data = bytes.size() - header;
  const size_t expected = static_cast<size_t>(numel) * size;
  if (data < expected)
    throw IOError(what + ": truncated: the header promises " + std::to_string(numel) +
                  " elements (" + std::to_string(expected) + " bytes), the file holds " +
                  std::to_string(data) + " bytes of data");
  if (data > expected)
    throw IOError(what + ": " + std::to_string(data - expected) +
                  " bytes follow the data the header describes");
  auto buffer = std::make_shared<Buffer>(Type{dtype, shape}, Buffer::Init::Uninitialized);
  std::byte* out = buffer->data();
  const std::byte* in = bytes.data() + header;
  for (size_t i = 0; i < expected; i += size)  // big-endian elements to the host's order
    for (size_t b = 0; b < size; ++b) out[i + b] = in[i + size - 1 - b];
  return buffer;
}

BufferPtr read_idx(const std::string& path) {
  std::string bytes = frontend::read_file(path);
  if (is_gzip(bytes)) bytes = inflate_gzip(bytes, path);
  return decode_idx(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), path);
}

Tensor load_idx(const std::string& path, Loc loc) {
  return Tensor(ir::make_constant(read_idx(path), loc));
}

}  // namespace kiln
