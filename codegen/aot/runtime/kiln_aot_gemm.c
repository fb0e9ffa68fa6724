/* kiln_aot_gemm: the blocked, packed matrix product of an ahead-of-time object, around the
 * pack, epilogue and micro-kernels that kiln-aot emits for it (the JIT's driver is
 * kernels/cpu/gemm.h, which this follows in its plain form: every panel packed by the pack
 * kernels, a convolution's input too, where the JIT copies runs or reads windows in place).
 *
 * For each batch, in blocks of NC columns and KC values of k: B's panels of NR columns are
 * packed once (in parallel), then tasks (blocks of MC rows, or, for few rows, ranges of
 * B's panels) pack their rows of A into panels of MR rows and run the micro-kernel over
 * every pair of panels, accumulating into the output (when the epilogue only stores it)
 * or into a scratch matrix, which the epilogue kernel then reads, row by row. */
#include <stdlib.h>
#include <string.h>

#include "kiln_aot_runtime.h"

enum { kMaxRows = 480, kMaxColumns = 3072 };

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* One block of columns and depth of one batch, as its tasks see it. */
struct block {
  const int64_t* s;
  const struct kiln_aot_gemm_kernels* f;
  uint8_t** buffers;
  const uint64_t* scalars;
  int64_t batch, jc, nc, pc, kc;
  int64_t mc, chunks; /* rows per task, ranges of panels per block of rows */
  uint8_t* c;         /* the accumulator matrix of the batch, row stride N */
  uint8_t* packed_b;  /* the block's panels of B, KC x NR each */
  int failed;         /* a task could not allocate its panels of A */
};

/* A pack or epilogue kernel's arguments: the launch's buffers and scalars, then the extra
 * buffer and the slots batch, k0 and m0 / n0. */
struct args {
  uint8_t* buffers[KILN_AOT_GEMM_MAX_ARGS + 1];
  uint64_t scalars[KILN_AOT_GEMM_MAX_ARGS + 3];
};

static void set_args(struct args* a, const struct block* b, uint8_t* extra, int64_t mn0) {
  const int64_t nb = b->s[KILN_GEMM_BUFFERS], ns = b->s[KILN_GEMM_SCALARS];
  memcpy(a->buffers, b->buffers, (size_t)nb * sizeof(uint8_t*));
  a->buffers[nb] = extra;
  if (ns) memcpy(a->scalars, b->scalars, (size_t)ns * sizeof(uint64_t));
  a->scalars[ns] = (uint64_t)b->batch;
  a->scalars[ns + 1] = (uint64_t)b->pc;
  a->scalars[ns + 2] = (uint64_t)mn0;
}

static void pack_b_panels(void* ctx, int64_t p0, int64_t p1) {
  const struct block* b = (const struct block*)ctx;
  const int64_t* s = b->s;
  const int64_t nr = s[KILN_GEMM_NR], esize = s[KILN_GEMM_ESIZE];
  struct args a;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = b->jc + p * nr;
    set_args(&a, b, b->packed_b + p * s[KILN_GEMM_KC] * nr * esize, n0);
    if (n0 + nr <= s[KILN_GEMM_N])
      b->f->pack_b(a.buffers, a.scalars, 0, b->kc * s[KILN_GEMM_B_ITEMS]);
    else
      b->f->pack_b_tail(a.buffers, a.scalars, 0, b->kc * s[KILN_GEMM_B_TAIL_ITEMS]);
  }
}

/* c (+)= the rows x cols of an MR x NR product of a panel of A and one of B. */
static void tile(const struct block* b, const uint8_t* pa, const uint8_t* pb, uint8_t* c,
                 int64_t rows, int64_t cols) {
  const int64_t* s = b->s;
  const int64_t mr = s[KILN_GEMM_MR], nr = s[KILN_GEMM_NR], n = s[KILN_GEMM_N];
  const int64_t accumulate = b->pc > 0;
  if (cols == nr && rows == mr) {
    b->f->micro(b->kc, pa, pb, nr, c, n, accumulate);
  } else if (cols == nr && rows == s[KILN_GEMM_MR_TAIL]) {
    b->f->micro_tail(b->kc, pa, pb, nr, c, n, accumulate);
  } else { /* the last panel's columns: through a tile of its own */
    double t[KILN_AOT_GEMM_MAX_TILE];
    b->f->micro(b->kc, pa, pb, nr, t, nr, 0);
    for (int64_t i = 0; i < rows; ++i) {
      if (s[KILN_GEMM_ESIZE] == 8) {
        double* out = (double*)c + i * n;
        for (int64_t j = 0; j < cols; ++j) out[j] = (accumulate ? out[j] : 0) + t[i * nr + j];
      } else {
        float* out = (float*)c + i * n;
        const float* ft = (const float*)t;
        for (int64_t j = 0; j < cols; ++j) out[j] = (accumulate ? out[j] : 0) + ft[i * nr + j];
      }
    }
  }
}

static void tasks(void* ctx, int64_t t0, int64_t t1) {
  struct block* b = (struct block*)ctx;
  const int64_t* s = b->s;
  const int64_t mr = s[KILN_GEMM_MR], nr = s[KILN_GEMM_NR], kc_max = s[KILN_GEMM_KC];
  const int64_t m = s[KILN_GEMM_M], n = s[KILN_GEMM_N], esize = s[KILN_GEMM_ESIZE];
  const int64_t panels = ceil_div(b->nc, nr), panel_bytes = kc_max * mr * esize;
  uint8_t* packed_a = malloc((size_t)(ceil_div(b->mc, mr) * panel_bytes));
  if (!packed_a) {
    b->failed = 1;
    return;
  }
  struct args a;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t m0 = t / b->chunks * b->mc, m1 = min64(m, m0 + b->mc);
    const int64_t chunk = t % b->chunks;
    const int64_t p0 = panels * chunk / b->chunks, p1 = panels * (chunk + 1) / b->chunks;
    if (p0 == p1) continue;
    const int64_t a_panels = ceil_div(m1 - m0, mr);
    for (int64_t ip = 0; ip < a_panels; ++ip) {
      set_args(&a, b, packed_a + ip * panel_bytes, m0 + ip * mr);
      if (b->kc == kc_max)
        b->f->pack_a(a.buffers, a.scalars, 0, s[KILN_GEMM_A_ITEMS]);
      else
        b->f->pack_a_tail(a.buffers, a.scalars, 0, s[KILN_GEMM_A_TAIL_ITEMS]);
    }
    for (int64_t jp = p0; jp < p1; ++jp) {
      const int64_t n0 = b->jc + jp * nr, cols = min64(nr, n - n0);
      const uint8_t* pb = b->packed_b + jp * kc_max * nr * esize;
      for (int64_t ip = 0; ip < a_panels; ++ip) {
        const int64_t row = m0 + ip * mr;
        tile(b, packed_a + ip * panel_bytes, pb, b->c + (row * n + n0) * esize, min64(mr, m1 - row),
             cols);
      }
    }
  }
  free(packed_a);
}

/* The epilogue over rows [r0, r1) of the batch's accumulator matrix. */
static void epilogue_rows(void* ctx, int64_t r0, int64_t r1) {
  const struct block* b = (const struct block*)ctx;
  const int64_t* s = b->s;
  const int64_t row_items = ceil_div(s[KILN_GEMM_N], s[KILN_GEMM_EPILOGUE_LANES]);
  struct args a;
  set_args(&a, b, b->c, 0);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t first = (b->batch * s[KILN_GEMM_M] + r) * row_items;
    b->f->epilogue(a.buffers, b->scalars, first, first + row_items);
  }
}

int kiln_aot_gemm(const int64_t* s, const struct kiln_aot_gemm_kernels* f, uint8_t** buffers,
                  const uint64_t* scalars) {
  const int64_t m = s[KILN_GEMM_M], n = s[KILN_GEMM_N], k = s[KILN_GEMM_K];
  const int64_t mr = s[KILN_GEMM_MR], nr = s[KILN_GEMM_NR], esize = s[KILN_GEMM_ESIZE];
  const int64_t threads = kiln_aot_threads();
  struct block b;
  memset(&b, 0, sizeof b);
  b.s = s;
  b.f = f;
  b.buffers = buffers;
  b.scalars = scalars;
  const int64_t kc_max = min64(s[KILN_GEMM_KC], k);
  const int64_t nc_max = round_up(min64(n, kMaxColumns), nr);
  /* Blocks of rows, as many per thread; or, for few rows, all rows and ranges of panels. */
  if (threads == 1 || m >= 4 * mr * threads) {
    const int64_t blocks = round_up(ceil_div(m, kMaxRows), threads);
    b.mc = round_up(ceil_div(m, blocks), mr);
    b.chunks = 1;
  } else {
    b.mc = m;
    b.chunks = min64(ceil_div(nc_max, nr), 4 * threads);
  }
  const int64_t row_blocks = ceil_div(m, b.mc);
  /* A product of a few hundred thousand multiply-adds takes microseconds: starting threads
   * would cost more than they save. */
  const int64_t grain = m * n * k < ((int64_t)1 << 19) ? INT64_MAX : 1;
  const int direct = s[KILN_GEMM_OUT_BUFFER] >= 0;
  uint8_t* scratch = direct ? NULL : malloc((size_t)(m * n * esize));
  b.packed_b = malloc((size_t)(ceil_div(nc_max, nr) * s[KILN_GEMM_KC] * nr * esize));
  if ((!direct && !scratch) || !b.packed_b) {
    free(scratch);
    free(b.packed_b);
    return 1;
  }
  for (b.batch = 0; b.batch < s[KILN_GEMM_BATCH] && !b.failed; ++b.batch) {
    b.c = direct ? buffers[s[KILN_GEMM_OUT_BUFFER]] + b.batch * m * n * esize : scratch;
    for (b.jc = 0; b.jc < n; b.jc += nc_max) {
      b.nc = min64(nc_max, n - b.jc);
      for (b.pc = 0; b.pc < k; b.pc += kc_max) {
        b.kc = min64(kc_max, k - b.pc);
        kiln_aot_parallel_tasks(pack_b_panels, &b, ceil_div(b.nc, nr), grain);
        kiln_aot_parallel_tasks(tasks, &b, row_blocks * b.chunks, grain);
      }
    }
    if (!direct) kiln_aot_parallel_tasks(epilogue_rows, &b, m, grain == 1 ? 1 : m);
  }
  free(scratch);
  free(b.packed_b);
  return b.failed;
}
