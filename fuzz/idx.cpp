// Fuzz target: IDX decoding (kiln::decode_idx, what read_idx runs on a file's bytes after
// inflating gzip). Any bytes either decode or throw a kiln::Error. An array that decodes
// holds exactly the bytes after its header, in the host's order.
#include "fuzz_target.h"
#include "kiln/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::fuzz::run_input([&] {
    kiln::BufferPtr b = kiln::decode_idx(kiln::fuzz::as_bytes(data, size), "input.idx");
    const size_t header = 4 + 4 * static_cast<size_t>(b->type().shape.size());
    if (header + b->nbytes() != size)
      kiln::fuzz::finding("decode_idx read a " + b->type().str() + " array from " +
                          std::to_string(size) + " bytes");
  });
  return 0;
}
