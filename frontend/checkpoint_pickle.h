// The checkpoint a PyTorch data.pkl describes: what frontend/checkpoint.cpp makes of the
// unpickled values (frontend/pickle.h) once the zip is open, apart from the zip so that the
// fuzz target (fuzz/checkpoint.cpp) reaches it with storages of its own. Not part of the
// public API. Tests: tests/tools/checkpoint_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "frontend/pickle.h"
#include "kiln/checkpoint.h"

namespace kiln::frontend {

// The checkpoint a PyTorch pickle describes: its mapping of tensors found, each view
// copied out of its storage. `read` gives a storage's bytes (it is
// asked for each storage once, with the size its type and numel need); storages and
// tensors together may take at most `max_bytes`.
using StorageReader = std::function<std::vector<std::byte>(const TorchStorage&, uint64_t bytes)>;
Checkpoint checkpoint_from_pickle(std::span<const std::byte> pickle, const std::string& what,
                                  bool big_endian, uint64_t max_bytes, const StorageReader& read);

}  // namespace kiln::frontend
