// Fuzz target: checkpoint reading (kiln::read_checkpoint: the zip container, the
// restricted unpickler, views copied out of storages, .npz). The first byte picks what the
// rest is: even, a whole file, written to a scratch file and read; odd, a PyTorch
// data.pkl alone, whose storages read as zeros, so that runs reach the unpickler without
// first having to build a zip around it. Anything but a kiln::Error is a finding.
#include "kiln/checkpoint.h"

#include "frontend/checkpoint_pickle.h"
#include "fuzz_target.h"

namespace {

// Inputs are at most 8 KB; an input that asks for more than this is refused (as a file
// over CheckpointOptions' caps would be) instead of filling memory.
constexpr uint64_t kMaxBytes = uint64_t{64} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    std::string path =
        kiln::fuzz::write_scratch("input.pt", kiln::fuzz::as_text(data + 1, size - 1));
    kiln::CheckpointOptions options;
    options.max_entry_bytes = options.max_total_bytes = kMaxBytes;
    kiln::fuzz::run_input([&] { kiln::read_checkpoint(path, options); });
    return 0;
  }
  auto zeros = [](const kiln::frontend::TorchStorage&, uint64_t bytes) {
    return std::vector<std::byte>(bytes);
  };
  kiln::fuzz::run_input([&] {
    kiln::frontend::checkpoint_from_pickle(kiln::fuzz::as_bytes(data + 1, size - 1), "data.pkl",
                                           data[0] & 2, kMaxBytes, zeros);
  });
  return 0;
}
