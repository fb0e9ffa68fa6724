// Fuzz target: ONNX models (kiln::onnx::load_bytes: the protobuf, initializers and their
// external data, each node through its rule, the shape subgraphs folded at import). The
// input is the model's bytes; external data files are looked for in the scratch
// directory, which holds one, weights.bin (256 bytes counting up), so that the seed naming
// it (corpus/onnx/external-data) reaches that reader. Anything but a kiln::Error is a
// finding. Without ONNX import in the build the target accepts every input unread.
#include "fuzz_target.h"
#ifdef KILN_HAS_ONNX
#include "kiln/onnx.h"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef KILN_HAS_ONNX
  static const bool weights_written = [] {
    std::string weights(256, '\0');
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>(i);
    kiln::fuzz::write_scratch("weights.bin", weights);
    return true;
  }();
  (void)weights_written;
  kiln::fuzz::run_input([&] {
    kiln::onnx::Model model =
        kiln::onnx::load_bytes(kiln::fuzz::as_text(data, size), {}, kiln::fuzz::scratch_dir());
    model.input_types();
    model.function().graph_with_constants();
  });
#else
  (void)data, (void)size;
#endif
  return 0;
}
