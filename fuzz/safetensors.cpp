// Fuzz target: safetensors reading (kiln::SafetensorsFile, behind read_safetensors and
// load_safetensors). The input is written to a scratch file, opened, and every tensor is
// read; anything but a kiln::Error is a finding.
#include "fuzz_target.h"
#include "kiln/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path =
      kiln::fuzz::write_scratch("input.safetensors", kiln::fuzz::as_text(data, size));
  kiln::fuzz::run_input([&] {
    kiln::SafetensorsFile file = kiln::SafetensorsFile::open(path);
    for (const auto& entry : file.entries()) {
      // A tensor of a dtype kiln lacks throws DTypeError; the others must read.
      kiln::fuzz::run_input([&] { file.buffer(entry.name); });
    }
  });
  return 0;
}
