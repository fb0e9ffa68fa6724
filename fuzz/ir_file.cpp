// Fuzz target: IR files with their side data file (kiln::load_ir). The input is split at
// the first kDataSeparator line: the text before it is model.kir, the bytes after it are
// model.kir.data (a safetensors file, found through a `// data: model.kir.data` line);
// without a separator there is no data file. fuzz/README.md shows how seeds are built.
#include "fuzz_target.h"
#include "kiln/io.h"

namespace {

constexpr std::string_view kDataSeparator = "\n//==== kiln-fuzz: data file follows ====\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = kiln::fuzz::as_text(data, size);
  size_t split = input.find(kDataSeparator);
  std::string path = kiln::fuzz::write_scratch("model.kir", input.substr(0, split));
  if (split == std::string_view::npos)
    kiln::fuzz::remove_scratch("model.kir.data");
  else
    kiln::fuzz::write_scratch("model.kir.data", input.substr(split + kDataSeparator.size()));
  kiln::fuzz::run_input([&] {
    kiln::IrFunction function = kiln::load_ir(path);
    function.graph_with_constants();
  });
  return 0;
}
