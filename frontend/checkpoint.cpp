// Checkpoint reading (kiln/checkpoint.h): the format by content, PyTorch's zip layout
// (<archive>/data.pkl, <archive>/data/<key> per storage, <archive>/byteorder), .npz
// archives, and the search for the mapping of tensors inside a nested pickle.
#include "kiln/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "frontend/checkpoint_pickle.h"
#include "frontend/files.h"
#include "frontend/zip_archive.h"

namespace kiln {

namespace {

using frontend::PickleValue;
using frontend::TorchStorage;
using frontend::Unpickled;
using frontend::ZipArchive;
using Kind = PickleValue::Kind;

// How deep the search for tensors goes into nested dicts; a pickle may nest without end, a
// checkpoint's mapping sits a few levels down.
constexpr int kMaxNesting = 16;

// The keys under which checkpoints keep their tensors, in the order they are tried.
constexpr std::string_view kNestingKeys[] = {
    "state_dict", "model_state_dict", "state", "model", "module", "net", "params", "weights"};

// The walks over nested dicts visit each dict once: a pickle can make a dict hold itself,
// or the same dict under many keys at every level, and a walk that followed every path
// would take time exponential in the nesting.
class DictWalk {
 public:
  explicit DictWalk(const Unpickled& p) : p_(p), seen_(p.values.size(), false) {}

  // The tensors of a dict, by dotted name, nested dicts included.
  void collect(uint32_t dict, const std::string& prefix, int depth,
               std::vector<std::pair<std::string, uint32_t>>& out) {
    if (depth > kMaxNesting || seen_[dict]) return;
    seen_[dict] = true;
    const auto& items = p_.values[dict].items;
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      const PickleValue& key = p_.values[items[i]];
      std::string name;
      if (key.kind == Kind::String)
        name = key.text;
      else if (key.kind == Kind::Int)
        name = std::to_string(key.integer);
      else
        continue;
      const PickleValue& value = p_.values[items[i + 1]];
      if (value.kind == Kind::Tensor) out.emplace_back(prefix + name, items[i + 1]);
      if (value.kind == Kind::Dict) collect(items[i + 1], prefix + name + ".", depth + 1, out);
    }
  }

  // The dict that holds the tensors: `dict` itself when it holds any, else the first that
  // the nesting keys lead to (depth first, in the order of kNestingKeys); `path` becomes
  // the keys followed. nullopt when there is none.
  std::optional<uint32_t> find_mapping(uint32_t dict, std::string& path, int depth) {
    if (depth > kMaxNesting || seen_[dict]) return std::nullopt;
    seen_[dict] = true;
    const auto& items = p_.values[dict].items;
    for (size_t i = 1; i < items.size(); i += 2)
      if (p_.values[items[i]].kind == Kind::Tensor) return dict;
    for (std::string_view nesting : kNestingKeys) {
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        const PickleValue& key = p_.values[items[i]];
        if (key.kind != Kind::String || key.text != nesting ||
            p_.values[items[i + 1]].kind != Kind::Dict)
          continue;
        std::string sub = path.empty() ? std::string(nesting) : path + "." + std::string(nesting);
        if (auto found = find_mapping(items[i + 1], sub, depth + 1)) {
          path = sub;
          return found;
        }
      }
    }
    return std::nullopt;
  }

 private:
  const Unpickled& p_;
  std::vector<bool> seen_;
};

// Reverses the bytes of each `width`-byte word.
void swap_words(std::byte* data, size_t bytes, size_t width) {
  for (size_t i = 0; i + width <= bytes; i += width)
    for (size_t a = i, b = i + width - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
}

// Copies a (possibly strided) view out of its storage into a new row-major buffer.
BufferPtr copy_view(const PickleValue& view, const frontend::TorchStorageType& type,
                    const std::vector<std::byte>& storage) {
  auto out = std::make_shared<Buffer>(Type{type.dtype, view.shape}, Buffer::Init::Uninitialized);
  size_t width = type.file_size, out_width = dtype_size(type.dtype);
  int rank = static_cast<int>(view.shape.size());
  // Most tensors of a checkpoint are contiguous: one copy.
  bool contiguous = width == out_width;
  int64_t expected = 1;
  for (int d = rank - 1; d >= 0 && contiguous; expected *= view.shape[d--])
    contiguous = view.shape[d] == 1 || view.strides[d] == expected;
  if (contiguous) {
    if (out->nbytes() > 0)
      std::memcpy(out->data(), storage.data() + static_cast<size_t>(view.offset) * width,
                  out->nbytes());
    return out;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t n = numel(view.shape);
  std::byte* dst = out->data();
  for (int64_t i = 0; i < n; ++i) {
    int64_t at = view.offset;
    for (int d = 0; d < rank; ++d) at += index[d] * view.strides[d];
    const std::byte* src = storage.data() + static_cast<size_t>(at) * width;
    if (width == out_width) {
      std::memcpy(dst + i * out_width, src, width);
    } else {  // int16 widened to int32
      int16_t v;
      std::memcpy(&v, src, sizeof v);
      int32_t wide = v;
      std::memcpy(dst + i * out_width, &wide, sizeof wide);
    }
    for (int d = rank - 1; d >= 0; --d) {
      if (++index[d] < view.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

Checkpoint read_pytorch(ZipArchive& zip, const ZipArchive::Entry& pickle,
                        const CheckpointOptions& options) {
  const std::string& what = zip.what();
  std::string dir = pickle.name.substr(0, pickle.name.size() - std::string("data.pkl").size());
  bool big_endian = false;
  if (const auto* order = zip.find(dir + "byteorder")) {
    std::vector<std::byte> b = zip.read(*order);
    std::string text(reinterpret_cast<const char*>(b.data()), b.size());
    if (text != "little" && text != "big")
      throw IOError(what + ": the checkpoint's byteorder is '" + text + "' (not little or big)");
    big_endian = text == "big";
  }
  std::vector<std::byte> pkl = zip.read(pickle);
  auto read_storage = [&](const frontend::TorchStorage& s, uint64_t bytes) {
    const auto* entry = zip.find(dir + "data/" + s.key);
    if (!entry)
      throw IOError(what + ": storage '" + s.key + "' has no entry " + dir + "data/" + s.key);
    if (entry->size != bytes)
      throw IOError(what + ": storage '" + s.key + "' (torch." + s.type->name + ", " +
                    std::to_string(s.numel) + " elements) needs " + std::to_string(bytes) +
                    " bytes, its entry holds " + std::to_string(entry->size));
    return zip.read(*entry);
  };
  return frontend::checkpoint_from_pickle(pkl, what + " (" + pickle.name + ")", big_endian,
                                          options.max_total_bytes, read_storage);
}

Checkpoint read_npz(ZipArchive& zip) {
  Checkpoint out;
  out.format = CheckpointFormat::Npz;
  for (const auto& entry : zip.entries()) {
    std::string name = entry.name.substr(0, entry.name.size() - 4);  // checked: ends in .npy
    std::vector<std::byte> bytes = zip.read(entry);
    out.tensors[name] = decode_npy(bytes, zip.what() + " (" + entry.name + ")");
  }
  return out;
}

Checkpoint read_zip(std::span<const std::byte> bytes, const std::string& what,
                    const CheckpointOptions& options) {
  ZipArchive zip(bytes, what, {options.max_entry_bytes, options.max_total_bytes});
  // torch.save puts everything in one folder named after the file: <archive>/data.pkl.
  const ZipArchive::Entry* pickle = nullptr;
  bool all_npy = true;  // an empty archive is what np.savez() of no arrays writes
  for (const auto& e : zip.entries()) {
    size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash + 1) == "data.pkl") pickle = &e;
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) all_npy = false;
  }
  if (pickle) {
    std::string dir = pickle->name.substr(0, pickle->name.size() - 8);
    if (zip.find(dir + "constants.pkl"))
      throw IOError(what +
                    ": a TorchScript archive (torch.jit.save), not a torch.save "
                    "checkpoint; save the model's state_dict() with torch.save");
    return read_pytorch(zip, *pickle, options);
  }
  if (all_npy) return read_npz(zip);
  throw IOError(what +
                ": a zip archive that is neither a PyTorch checkpoint (no "
                "<archive>/data.pkl) nor an .npz (not every entry is an .npy file)");
}

bool looks_like_safetensors(std::span<const std::byte> bytes) {
  if (bytes.size() < 9) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  return n > 0 && n <= bytes.size() - 8 && static_cast<char>(bytes[8]) == '{';
}

}  // namespace

Checkpoint frontend::checkpoint_from_pickle(std::span<const std::byte> pkl, const std::string& what,
                                            bool big_endian, uint64_t max_bytes,
                                            const StorageReader& read) {
  Unpickled p = unpickle_checkpoint(pkl, what);
  Checkpoint out;
  out.format = CheckpointFormat::PyTorch;
  std::vector<std::pair<std::string, uint32_t>> tensors;
  const PickleValue& root = p.values[p.root];
  if (root.kind == Kind::Tensor) {
    tensors.emplace_back("", p.root);  // torch.save(tensor): one unnamed tensor
  } else if (root.kind == Kind::Dict) {
    // The mapping the nesting keys lead to; else every tensor of the nested dicts.
    std::optional<uint32_t> mapping = DictWalk(p).find_mapping(p.root, out.found_under, 0);
    if (!mapping) out.found_under.clear();
    DictWalk(p).collect(mapping.value_or(p.root), "", 0, tensors);
  }
  if (tensors.empty())
    throw IOError(what +
                  ": the checkpoint holds no tensors in a dict (kiln reads state_dicts "
                  "and checkpoints that nest one)");
  // DataParallel's wrapper puts "module." before every name; it is never part of a model's.
  const std::string wrapper = "module.";
  while (std::all_of(tensors.begin(), tensors.end(), [&](const auto& t) {
    return t.first.rfind(wrapper, 0) == 0 && t.first.size() > wrapper.size();
  }))
    for (auto& t : tensors) t.first.erase(0, wrapper.size());

  // Views with stride 0 can make a few stored bytes into many; what the tensors take
  // counts against the same cap as what the storages inflate to.
  uint64_t produced = 0;
  auto spend = [&](uint64_t bytes, const std::string& for_what) {
    if (bytes > max_bytes - std::min(produced, max_bytes))
      throw IOError(what + ": " + for_what + " would take the bytes read past the limit of " +
                    std::to_string(max_bytes));
    produced += bytes;
  };
  // A storage is read once however many views share it, and dropped after its last view,
  // so that a checkpoint takes about its own size again while it is read, not twice that.
  std::map<uint32_t, std::vector<std::byte>> storages;
  std::map<uint32_t, size_t> views_left;
  for (const auto& [name, index] : tensors) ++views_left[p.values[index].storage];
  for (const auto& [name, index] : tensors) {
    const PickleValue& view = p.values[index];
    const TorchStorage& s = p.storages[view.storage];
    auto it = storages.find(view.storage);
    if (it == storages.end()) {
      uint64_t want = static_cast<uint64_t>(s.numel) * s.type->file_size;
      if (s.numel > 0 && want / s.type->file_size != static_cast<uint64_t>(s.numel))
        throw IOError(what + ": storage '" + s.key + "' is too large");
      spend(want, "storage '" + s.key + "'");
      std::vector<std::byte> bytes = read(s, want);
      // A complex element is two floats, each swapped on its own.
      if (big_endian)
        swap_words(bytes.data(), bytes.size(), s.type->dtype == DType::C64 ? 4 : s.type->file_size);
      it = storages.emplace(view.storage, std::move(bytes)).first;
    }
    Type type{s.type->dtype, view.shape};
    spend(type.nbytes(), "tensor '" + name + "' (" + type.str() + ")");
    BufferPtr buffer = copy_view(view, *s.type, it->second);
    if (--views_left[view.storage] == 0) storages.erase(it);
    frontend::check_bools(*buffer, what + ": tensor '" + name + "'");
    if (!out.tensors.emplace(name, buffer).second)
      throw IOError(what + ": two tensors are named '" + name + "'");
    if (s.type->file_size != dtype_size(s.type->dtype)) out.file_dtypes[name] = "i16";
  }
  return out;
}

std::string_view checkpoint_format_name(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::PyTorch: return "pytorch";
    case CheckpointFormat::Npz: return "npz";
    case CheckpointFormat::Safetensors: return "safetensors";
  }
  return "";
}

Checkpoint read_checkpoint(const std::string& path, const CheckpointOptions& options) {
  frontend::MappedFile file = frontend::MappedFile::open(path);
  std::span<const std::byte> bytes = file.bytes();
  if (ZipArchive::looks_like_zip(bytes)) return read_zip(bytes, path, options);
  // torch < 1.6 wrote a bare pickle stream (protocol 2) that starts with a magic number.
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80 &&
      static_cast<uint8_t>(bytes[1]) == 2)
    throw IOError(path +
                  ": a PyTorch checkpoint in the legacy format of torch < 1.6, which kiln "
                  "does not read; load it with torch and save it again with torch.save");
  if (looks_like_safetensors(bytes)) {
    Checkpoint out;
    out.format = CheckpointFormat::Safetensors;
    out.tensors = read_safetensors(path);
    return out;
  }
  throw IOError(path + ": not a checkpoint kiln can read (" + std::to_string(bytes.size()) +
                " bytes): expected a PyTorch zip checkpoint, an .npz or a safetensors file");
}

std::map<std::string, Tensor> load_checkpoint_tensors(const std::string& path,
                                                      const CheckpointOptions& options, Loc loc) {
  std::map<std::string, Tensor> out;
  for (auto& [name, buffer] : read_checkpoint(path, options).tensors)
    out.emplace(name, Tensor(ir::make_constant(buffer, loc)));
  return out;
}

}  // namespace kiln
