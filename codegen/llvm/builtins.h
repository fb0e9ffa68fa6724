// Out-of-line scalar functions that generated kernels call where an inline vector version
// is not worth it or would not match the reference bit for bit: f64 transcendentals (libm),
// pow and atan2, integer pow, and the c64 functions (std::complex). Each takes the op as
// its ir::OpKind number; the JIT resolves the symbols to these definitions. Vector lanes
// call them one at a time. Tests: through tests/cpu/ (every op, every dtype).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" {
float kiln_f32_unary(int32_t op, float x);
float kiln_f32_binary(int32_t op, float a, float b);
double kiln_f64_unary(int32_t op, double x);
double kiln_f64_binary(int32_t op, double a, double b);
int64_t kiln_i64_pow(int64_t base, int64_t exponent);
// c64: results in out[0] (real) and out[1] (imaginary).
void kiln_c64_unary(int32_t op, float re, float im, float* out);
void kiln_c64_binary(int32_t op, float ar, float ai, float br, float bi, float* out);
}

namespace kiln::codegen::llvm_backend {

// (symbol name, address) of every builtin, for the JIT's symbol table.
std::vector<std::pair<std::string, void*>> builtin_symbols();

}  // namespace kiln::codegen::llvm_backend
