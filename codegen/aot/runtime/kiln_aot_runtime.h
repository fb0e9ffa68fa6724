/* The run-time library of kiln's ahead-of-time CPU objects (kiln-aot --target cpu): what
 * the generated code calls besides libc and libm. Plain C11 and pthreads, no LLVM.
 *  - kiln_aot_parallel_for: runs a kernel's work items, split over threads.
 *  - kiln_aot_gemm: the blocked matrix product of kernels with one (kiln_aot_gemm.c).
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

/* Runs fn(ctx, begin, end) over [0, n) in chunks of at least `grain` (one chunk per thread). */
void kiln_aot_parallel_tasks(void (*fn)(void* ctx, int64_t begin, int64_t end), void* ctx,
                             int64_t n, int64_t grain);

/* The number of threads: KILN_AOT_THREADS when set to a positive number, else the online
 * cores; read once. */
int kiln_aot_threads(void);

/* A kernel with a matrix product, as kiln-aot emits it: sizes[KILN_GEMM_*] and the
 * kernels below, run by kiln_aot_gemm in place of the kernel's loop nest. */
enum {
  KILN_GEMM_BATCH,        /* products in the batch */
  KILN_GEMM_M,            /* rows of A and C */
  KILN_GEMM_N,            /* columns of B and C */
  KILN_GEMM_K,            /* the depth */
  KILN_GEMM_MR,           /* the micro-kernel's rows of A */
  KILN_GEMM_NR,           /* its columns of B */
  KILN_GEMM_KC,           /* values of k per packed panel */
  KILN_GEMM_MR_TAIL,      /* rows of A's last panel */
  KILN_GEMM_ESIZE,        /* bytes of the accumulator type (4 or 8) */
  KILN_GEMM_BUFFERS,      /* the launch's buffers */
  KILN_GEMM_SCALARS,      /* the launch's scalars */
  KILN_GEMM_A_ITEMS,      /* work items of pack_a, of pack_a_tail, and per value of k of */
  KILN_GEMM_A_TAIL_ITEMS, /* pack_b and pack_b_tail */
  KILN_GEMM_B_ITEMS,
  KILN_GEMM_B_TAIL_ITEMS,
  KILN_GEMM_OUT_BUFFER,     /* the buffer C is written to directly, or -1 (the epilogue) */
  KILN_GEMM_EPILOGUE_LANES, /* columns per work item of the epilogue */
  KILN_GEMM_AFFINE_B,       /* where in sizes B's affine read is described, or 0 (then B's
                               panels are packed by pack_b) */
  KILN_GEMM_SIZES
};
#define KILN_AOT_GEMM_MAX_ARGS 64   /* buffers, scalars, loop variables or guards of a kernel */
#define KILN_AOT_GEMM_MAX_TILE 1024 /* MR x NR */

/* C[i][j] (+)= sum_k A[i][k] B[k][j] over one tile: codegen/llvm/emit_gemm.h. */
typedef void (*kiln_aot_micro_kernel)(int64_t k, const void* a, const void* b, int64_t ldb, void* c,
                                      int64_t ldc, int64_t accumulate);
struct kiln_aot_gemm_kernels {
  kiln_aot_kernel pack_a, pack_a_tail, pack_b, pack_b_tail, epilogue;
  kiln_aot_micro_kernel micro, micro_tail;
};

/* Runs a kernel with a matrix product on its launch's buffers and scalars; returns 0, or 1
 * when its packing memory cannot be allocated. */
int kiln_aot_gemm(const int64_t* sizes, const struct kiln_aot_gemm_kernels* kernels,
                  uint8_t** buffers, const uint64_t* scalars);

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
