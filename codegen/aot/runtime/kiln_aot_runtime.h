/* The run-time library of kiln's ahead-of-time CPU objects (kiln-aot --target cpu): what
 * the generated code calls besides libc and libm. Plain C11 and pthreads, no LLVM.
 *  - kiln_aot_parallel_for: runs a kernel's work items, split over threads.
 *  - the kernels' out-of-line math (kiln_aot_builtins.c): the one implementation, also
 *    compiled into libkiln for the JIT (codegen/llvm/builtins.h), so both give the same
 *    bits.
 * Built as libkiln_aot_runtime.a. Tests: examples/aot/ (run by CTest). */
#ifndef KILN_AOT_RUNTIME_H
#define KILN_AOT_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A generated kernel: runs work items [begin, end). */
typedef void (*kiln_aot_kernel)(uint8_t** buffers, const uint64_t* scalars, int64_t begin,
                                int64_t end);

/* Runs items [0, n) of `kernel`, in chunks of at least `grain` items, on up to
 * kiln_aot_threads() threads (the calling thread included). */
void kiln_aot_parallel_for(kiln_aot_kernel kernel, uint8_t** buffers, const uint64_t* scalars,
                           int64_t n, int64_t grain);

/* The number of threads: KILN_AOT_THREADS when set to a positive number, else the online
 * cores; read once. */
int kiln_aot_threads(void);

/* Out-of-line math of the kernels; `op` is the IR op's number in ir/ops.def. */
float kiln_f32_unary(int32_t op, float x);
float kiln_f32_binary(int32_t op, float a, float b);
double kiln_f64_unary(int32_t op, double x);
double kiln_f64_binary(int32_t op, double a, double b);
int64_t kiln_i64_pow(int64_t base, int64_t exponent);
void kiln_c64_unary(int32_t op, float re, float im, float* out);
void kiln_c64_binary(int32_t op, float ar, float ai, float br, float bi, float* out);

#ifdef __cplusplus
}
#endif

#endif
