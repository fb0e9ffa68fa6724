// The JIT's table of the out-of-line builtins of generated kernels (see builtins.h). The
// functions themselves are C, in codegen/aot/runtime/kiln_aot_builtins.c, compiled into
// libkiln as well as into the AOT run-time library, so JIT and AOT code call one
// implementation.
#include "codegen/llvm/builtins.h"

namespace kiln::codegen::llvm_backend {

std::vector<std::pair<std::string, void*>> builtin_symbols() {
  return {
      {"kiln_f32_unary", reinterpret_cast<void*>(&kiln_f32_unary)},
      {"kiln_f32_binary", reinterpret_cast<void*>(&kiln_f32_binary)},
      {"kiln_f64_unary", reinterpret_cast<void*>(&kiln_f64_unary)},
      {"kiln_f64_binary", reinterpret_cast<void*>(&kiln_f64_binary)},
      {"kiln_i64_pow", reinterpret_cast<void*>(&kiln_i64_pow)},
      {"kiln_c64_unary", reinterpret_cast<void*>(&kiln_c64_unary)},
      {"kiln_c64_binary", reinterpret_cast<void*>(&kiln_c64_binary)},
  };
}

}  // namespace kiln::codegen::llvm_backend
