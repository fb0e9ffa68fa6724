// Out-of-line scalar functions that generated kernels call where an inline vector version
// is not worth it or would not match the reference bit for bit: f64 transcendentals (libm),
// f32 unary ops without an inline version, pow and atan2, integer pow, and the c64
// functions (C99 complex). Each takes the op as its ir::OpKind number; the JIT resolves
// the symbols to their one C implementation (codegen/aot/runtime/kiln_aot_builtins.c).
// Vector lanes call them one at a time. Tests: tests/codegen/scalar_builtins_test.cpp and
// tests/runtime/differential_test.cpp (every op, every dtype).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// The functions are declared once, in the AOT run-time library's C header (c64 results in
// out[0] (real) and out[1] (imaginary)).
#include "codegen/aot/runtime/kiln_aot_runtime.h"

namespace kiln::codegen::llvm_backend {

// (symbol name, address) of every builtin, for the JIT's symbol table.
std::vector<std::pair<std::string, void*>> builtin_symbols();

}  // namespace kiln::codegen::llvm_backend
