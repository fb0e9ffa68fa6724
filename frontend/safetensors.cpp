// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// (offsets relative to the end of the header), then the data. The header is parsed with
// nlohmann-json (Debian's nlohmann-json3-dev: header-only, maintained, and strict about
// malformed JSON, which is what a loader of untrusted files needs); the data is read
// through a memory map. Every byte range is checked against the file and the shape before
// any tensor is handed out.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "frontend/files.h"
#include "ir/verifier.h"
#include "kiln/io.h"

namespace kiln {

namespace {

using nlohmann::json;

// The official implementation refuses headers above 100 MB; so does kiln, which also keeps
// a corrupt length from asking for an absurd allocation.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeName {
  std::string_view name;
  size_t size;
  std::optional<DType> dtype;
};

// Every dtype the format defines, with its element size, and kiln's equivalent.
constexpr DTypeName kDTypeNames[] = {
    {"BOOL", 1, DType::Bool},    {"U8", 1, DType::U8},     {"I8", 1, DType::I8},
    {"I16", 2, std::nullopt},    {"U16", 2, std::nullopt}, {"F16", 2, DType::F16},
    {"BF16", 2, DType::BF16},    {"I32", 4, DType::I32},   {"U32", 4, std::nullopt},
    {"F32", 4, DType::F32},      {"F64", 8, DType::F64},   {"I64", 8, DType::I64},
    {"U64", 8, std::nullopt},    {"C64", 8, DType::C64},   {"F8_E5M2", 1, std::nullopt},
    {"F8_E4M3", 1, std::nullopt}};

const DTypeName* find_dtype_name(std::string_view name) {
  for (const DTypeName& d : kDTypeNames)
    if (d.name == name) return &d;
  return nullptr;
}

std::string_view name_of(DType t) {
  for (const DTypeName& d : kDTypeNames)
    if (d.dtype == t) return d.name;
  return "";
}

// A JSON value as an error message shows it: scalars as written, lists and objects by
// kind only. Printing a hostile header's nested value would recurse once per level, and a
// few hundred kilobytes of '[' overflow the stack.
std::string describe_json(const json& value) {
  if (value.is_array()) return "a list";
  if (value.is_object()) return "an object";
  return value.dump();
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

struct SafetensorsFile::State {
  frontend::MappedFile file;
  std::vector<Entry> entries;
  std::unordered_map<std::string, size_t> index;
  std::map<std::string, std::string> metadata;

  // Parses and checks the header of `file`; fills the rest.
  void parse_header();
};

void SafetensorsFile::State::parse_header() {
  State& state = *this;
  const std::string& path = state.file.path();
  std::span<const std::byte> bytes = state.file.bytes();
  auto malformed = [&](const std::string& why) {
    return IOError(path + ": malformed safetensors file: " + why);
  };
  if (bytes.size() < 8)
    throw IOError(path + ": truncated safetensors file (" + std::to_string(bytes.size()) +
                  " bytes; the header length alone takes 8)");
  uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes)
    throw malformed("the header length " + std::to_string(header_len) +
                    " is larger than the 100 MB the format allows");
  if (header_len > bytes.size() - 8)
    throw IOError(path + ": truncated safetensors file (the header needs " +
                  std::to_string(header_len) + " bytes, only " + std::to_string(bytes.size() - 8) +
                  " follow)");
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw malformed(std::string("the header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw malformed("the header is not a JSON object");

  std::span<const std::byte> data = bytes.subspan(8 + header_len);
  for (const auto& item : header.items()) {
    // Named references, not a structured binding: the lambda below uses `value`, and
    // clang before 16 cannot capture a structured binding.
    const std::string& name = item.key();
    const json& value = item.value();
    if (name == "__metadata__") {
      if (!value.is_object()) throw malformed("__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw malformed("__metadata__ value of '" + k + "' is not a string");
        state.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    std::string where = "tensor '" + name + "'";
    if (!value.is_object()) throw malformed(where + " is not an object");
    auto field = [&](const char* key) -> const json& {
      auto it = value.find(key);
      if (it == value.end()) throw malformed(where + " has no \"" + key + "\"");
      return *it;
    };
    const json& dtype = field("dtype");
    const json& shape = field("shape");
    const json& offsets = field("data_offsets");
    if (!dtype.is_string()) throw malformed(where + ": \"dtype\" is not a string");
    const DTypeName* d = find_dtype_name(dtype.get<std::string>());
    if (!d) throw malformed(where + " has unknown dtype '" + dtype.get<std::string>() + "'");
    if (!shape.is_array()) throw malformed(where + ": \"shape\" is not a list");
    SafetensorsFile::Entry e;
    e.name = name;
    e.dtype_name = std::string(d->name);
    e.supported = d->dtype.has_value();
    e.dtype = d->dtype.value_or(DType::U8);
    for (const json& dim : shape) {
      if (!dim.is_number_unsigned() || dim.get<uint64_t>() > uint64_t{INT64_MAX})
        throw malformed(where + ": \"shape\" holds " + describe_json(dim) +
                        ", not a non-negative integer");
      e.shape.push_back(dim.get<int64_t>());
    }
    // In the file's own element size, which dtypes kiln lacks have too, and named in the
    // file's own dtype name.
    if (static_cast<int>(e.shape.size()) > kMaxRank)
      throw malformed(where + " (" + e.dtype_name + shape_str(e.shape) + ") has rank " +
                      std::to_string(e.shape.size()) + ", more than kiln's maximum " +
                      std::to_string(kMaxRank));
    if (ir::size_overflows(e.shape, static_cast<int64_t>(d->size)))
      throw malformed(where + " (" + e.dtype_name + shape_str(e.shape) +
                      ") is too large: its size in bytes overflows int64");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw malformed(where + ": \"data_offsets\" is not a pair of non-negative integers");
    uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    uint64_t count = static_cast<uint64_t>(numel(e.shape));
    uint64_t want = count * d->size;
    if (begin > end || end - begin != want)
      throw malformed(
          where + " (" + e.dtype_name + ", " + std::to_string(count) + " elements) needs " +
          std::to_string(want) + " bytes, but its data_offsets [" + std::to_string(begin) + ", " +
          std::to_string(end) + "] span " +
          (begin > end ? std::string("a negative range") : std::to_string(end - begin)));
    if (end > data.size())
      throw IOError(path + ": truncated safetensors file: " + where + " ends at data byte " +
                    std::to_string(end) + ", but the file holds " + std::to_string(data.size()) +
                    " data bytes");
    e.bytes = data.subspan(begin, end - begin);
    state.entries.push_back(std::move(e));
  }
  // The data must be covered exactly: no overlaps (one byte read as two tensors) and no
  // gaps (bytes no tensor accounts for). An empty tensor starts where its neighbour does,
  // so at one offset the empty ones come first.
  std::sort(state.entries.begin(), state.entries.end(), [](const auto& a, const auto& b) {
    if (a.bytes.data() != b.bytes.data()) return a.bytes.data() < b.bytes.data();
    return a.bytes.size() < b.bytes.size();
  });
  const std::byte* at = data.data();
  for (const auto& e : state.entries) {
    if (e.bytes.data() < at) throw malformed("tensor '" + e.name + "' overlaps another tensor");
    if (e.bytes.data() > at)
      throw malformed("the data has " + std::to_string(e.bytes.data() - at) +
                      " bytes that no tensor uses before tensor '" + e.name + "'");
    at += e.bytes.size();
  }
  if (at != data.data() + data.size())
    throw malformed("the file has " + std::to_string(data.data() + data.size() - at) +
                    " bytes after the last tensor's data");
  for (size_t i = 0; i < state.entries.size(); ++i) state.index[state.entries[i].name] = i;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto state = std::make_shared<State>();
  state->file = frontend::MappedFile::open(path);
  state->parse_header();
  SafetensorsFile out;
  out.state_ = std::move(state);
  return out;
}

const std::string& SafetensorsFile::path() const { return state_->file.path(); }

const std::vector<SafetensorsFile::Entry>& SafetensorsFile::entries() const {
  return state_->entries;
}

const SafetensorsFile::Entry* SafetensorsFile::find(std::string_view name) const {
  auto it = state_->index.find(std::string(name));
  return it == state_->index.end() ? nullptr : &state_->entries[it->second];
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return state_->metadata;
}

BufferPtr SafetensorsFile::buffer(std::string_view name) const {
  const Entry* e = find(name);
  if (!e) throw IOError(path() + ": no tensor named '" + std::string(name) + "'");
  if (!e->supported)
    throw DTypeError(path() + ": tensor '" + e->name + "' has dtype " + e->dtype_name +
                     ", which kiln has no dtype for (kiln reads BOOL, U8, I8, I32, I64, F16, "
                     "BF16, F32, F64, C64)");
  auto b = std::make_shared<Buffer>(Type{e->dtype, e->shape});
  if (!e->bytes.empty()) std::memcpy(b->data(), e->bytes.data(), e->bytes.size());
  frontend::check_bools(*b, path() + ": tensor '" + e->name + "'");
  return b;
}

std::map<std::string, BufferPtr> read_safetensors(const std::string& path) {
  SafetensorsFile file = SafetensorsFile::open(path);
  std::map<std::string, BufferPtr> out;
  for (const auto& e : file.entries()) out[e.name] = file.buffer(e.name);
  return out;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, BufferPtr>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::unordered_set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, buffer] : tensors) {
    if (!buffer) throw IOError("write_safetensors: tensor '" + name + "' has no data");
    if (name == "__metadata__")
      throw IOError(
          "write_safetensors: '__metadata__' is reserved by the format; rename the "
          "tensor");
    if (!names.insert(name).second)
      throw IOError("write_safetensors: two tensors are named '" + name +
                    "'; names must be unique");
    uint64_t end = offset + buffer->nbytes();
    header[name] = {{"dtype", name_of(buffer->dtype())},
                    {"shape", buffer->shape()},
                    {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  // The data starts 8-byte aligned, as the official writer does, by padding with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::byte length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xff);
  frontend::AtomicFile file(path);
  file.write(length, sizeof length);
  file.write(text);
  for (const auto& [name, buffer] : tensors) file.write(buffer->data(), buffer->nbytes());
  file.commit();
}

std::map<std::string, Tensor> load_safetensors(const std::string& path, Loc loc) {
  std::map<std::string, Tensor> out;
  for (auto& [name, buffer] : read_safetensors(path))
    out.emplace(name, Tensor(ir::make_constant(buffer, loc)));
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, Loc loc) {
  std::vector<Tensor> values;
  for (const auto& [name, t] : tensors) values.push_back(t);
  eval(values, loc);
  std::vector<std::pair<std::string, BufferPtr>> buffers;
  for (const auto& [name, t] : tensors) buffers.emplace_back(name, t.node()->buffer);
  write_safetensors(path, buffers, metadata);
}

}  // namespace kiln
