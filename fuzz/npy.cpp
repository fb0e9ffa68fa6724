// Fuzz target: .npy decoding (kiln::decode_npy, what read_npy runs on a mapped file). Any
// bytes either decode or throw a kiln::Error. An array that decodes must survive
// encode_npy -> decode_npy with its type and bytes unchanged.
#include <cstring>

#include "fuzz_target.h"
#include "kiln/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::fuzz::run_input([&] {
    kiln::BufferPtr first = kiln::decode_npy(kiln::fuzz::as_bytes(data, size), "input.npy");
    std::string encoded = kiln::encode_npy(*first);
    kiln::BufferPtr second = kiln::decode_npy(
        {reinterpret_cast<const std::byte*>(encoded.data()), encoded.size()}, "encoded.npy");
    if (second->type() != first->type() ||
        std::memcmp(second->data(), first->data(), first->nbytes()) != 0)
      kiln::fuzz::finding("encode_npy -> decode_npy changed a " + first->type().str() + " array");
  });
  return 0;
}
