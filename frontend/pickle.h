// A restricted unpickler for PyTorch checkpoints (the data.pkl of a torch.save zip). It
// runs no code: it understands the opcodes of pickle protocols 2 to 5 that torch.save
// emits, plain values (None, bools, ints, floats, strings, bytes, lists, tuples, dicts,
// sets), collections.OrderedDict, the storages of persistent ids
// ('storage', torch.FloatStorage, key, location, numel) and the tensors of
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter; any other global is refused with
// an error naming it. Values live in one arena and refer to each other by index, so a
// pickle whose containers refer to themselves is harmless. Not part of the public API.
// Tests: tests/tools/checkpoint_test.cpp; fuzzed by fuzz/checkpoint.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "ir/shape.h"

namespace kiln::frontend {

// A storage type of torch (torch.FloatStorage...): its kiln dtype and the element size in
// the file. torch.ShortStorage (int16) has no kiln dtype and is widened to i32 on reading.
struct TorchStorageType {
  const char* name;  // "FloatStorage"
  DType dtype;
  size_t file_size;
};

struct PickleValue {
  enum class Kind : uint8_t {
    None,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    List,
    Tuple,
    Dict,
    Storage,
    Tensor,
    Global
  };
  Kind kind = Kind::None;
  int64_t integer = 0;  // Bool, Int; Storage: its index in Unpickled::storages
  double number = 0;
  std::string text;             // String, Bytes; Global: "module.name"
  std::vector<uint32_t> items;  // List, Tuple; Dict: key, value, key, value...
  // Tensor: a view of a storage. Global of a storage type: its index in the table.
  uint32_t storage = 0;
  int64_t offset = 0;
  Shape shape;
  std::vector<int64_t> strides;
};

struct TorchStorage {
  std::string key;  // the entry data/<key>
  const TorchStorageType* type = nullptr;
  int64_t numel = 0;
};

struct Unpickled {
  std::vector<PickleValue> values;
  uint32_t root = 0;
  std::vector<TorchStorage> storages;
};

// Reads one pickle; IOError naming `what` for malformed input, anything outside the
// subset, and every global other than the few above.
Unpickled unpickle_checkpoint(std::span<const std::byte> bytes, const std::string& what);

}  // namespace kiln::frontend
