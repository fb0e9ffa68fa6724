/* kiln_aot_gemm: the blocked, packed matrix product of an ahead-of-time object, around the
 * pack, epilogue and micro-kernels that kiln-aot emits for it (the JIT's driver is
 * kernels/cpu/gemm.h, which this follows in its plain form: every panel packed; a
 * convolution's input (an affine read of B) by copies of runs along the last variable of n
 * with zeros around them, where the JIT also reads windows in place).
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
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* B as an affine read under bounds (codegen/gemm_kernels.h, AffineB), as kiln-aot lays it
 * out at sizes[sizes[KILN_GEMM_AFFINE_B]]: vars, buffer, offset, guards, coef[vars], then
 * per guard lo, hi, coef[vars], then the batch, n and k variable sets, each a count and
 * (variable, extent) pairs, outermost first. */
struct affine {
  int64_t vars, buffer, offset, guards;
  const int64_t* coef;
  const int64_t* guard; /* guard g at guard + g * (2 + vars) */
  const int64_t* sets[3];
};
enum { kBatchSet, kNSet, kKSet };

static struct affine affine_of(const int64_t* s) {
  struct affine a;
  const int64_t* p = s + s[KILN_GEMM_AFFINE_B];
  a.vars = p[0];
  a.buffer = p[1];
  a.offset = p[2];
  a.guards = p[3];
  a.coef = p + 4;
  a.guard = a.coef + a.vars;
  p = a.guard + a.guards * (2 + a.vars);
  for (int i = 0; i < 3; ++i) {
    a.sets[i] = p;
    p += 1 + 2 * p[0];
  }
  return a;
}

/* values[v] of the set's variables for its flat index (the innermost variable last). */
static void set_vars(int64_t* values, const int64_t* set, int64_t flat) {
  for (int64_t i = set[0]; i-- > 0;) {
    values[set[1 + 2 * i]] = flat % set[2 + 2 * i];
    flat /= set[2 + 2 * i];
  }
}

/* sum coef[v] * values[v] over the set's variables. */
static int64_t dot(const int64_t* coef, const int64_t* values, const int64_t* set) {
  int64_t sum = 0;
  for (int64_t i = 0; i < set[0]; ++i) sum += coef[set[1 + 2 * i]] * values[set[1 + 2 * i]];
  return sum;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); }
static int64_t ceil_div_signed(int64_t a, int64_t b) { return -floor_div(-a, b); }

/* Narrows [*ja, *jb) to the j with lo <= x + step * j < hi. */
static void keep_in_bounds(int64_t x, int64_t step, int64_t lo, int64_t hi, int64_t* ja,
                           int64_t* jb) {
  if (step == 0) {
    if (x < lo || x >= hi) *jb = *ja;
  } else if (step > 0) {
    *ja = max64(*ja, ceil_div_signed(lo - x, step));
    *jb = min64(*jb, ceil_div_signed(hi - x, step));
  } else { /* lo <= x + s j < hi  <=>  1 - hi <= -x - s j < 1 - lo */
    keep_in_bounds(-x, -step, 1 - hi, 1 - lo, ja, jb);
  }
}

/* One block of columns and depth of one batch, as its tasks see it. */
struct block {
  const int64_t* s;
  const struct kiln_aot_gemm_kernels* f;
  uint8_t** buffers;
  const uint64_t* scalars;
  int64_t batch, jc, nc, pc, kc;
  int64_t mc, chunks;      /* rows per task, ranges of panels per block of rows */
  uint8_t* c;              /* the accumulator matrix of the batch, row stride N */
  uint8_t* packed_b;       /* the block's panels of B, KC x NR each */
  const int64_t* affine_k; /* per value of k of the block: its part of an AffineB's index and
                            * of each guard's (1 + guards values) */
  int failed;              /* a task could not allocate its panels of A */
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

/* The panel of an AffineB at column n0: runs of its columns along the last variable of n,
 * each a strided copy of the buffer between the bounds its guards give it, zeros around
 * and past N. */
static void pack_affine_panel(const struct block* b, int64_t n0, uint8_t* dst) {
  const int64_t* s = b->s;
  const struct affine a = affine_of(s);
  const int64_t nr = s[KILN_GEMM_NR], esize = s[KILN_GEMM_ESIZE], n = s[KILN_GEMM_N];
  const int64_t* nset = a.sets[kNSet];
  const int64_t last = nset[1 + 2 * (nset[0] - 1)], last_extent = nset[2 + 2 * (nset[0] - 1)];
  const int64_t n_end = min64(n, n0 + nr), stride = a.coef[last], row = 1 + a.guards;
  int64_t values[KILN_AOT_GEMM_MAX_ARGS] = {0};
  int64_t at_g[KILN_AOT_GEMM_MAX_ARGS], step_g[KILN_AOT_GEMM_MAX_ARGS];
  set_vars(values, a.sets[kBatchSet], b->batch);
  const int64_t batch_at = a.offset + dot(a.coef, values, a.sets[kBatchSet]);
  const uint8_t* src = b->buffers[a.buffer];
  memset(dst, 0, (size_t)(b->kc * nr * esize));
  for (int64_t col = n0; col < n_end;) {
    set_vars(values, nset, col);
    const int64_t len = min64(n_end - col, last_extent - values[last]);
    const int64_t at = batch_at + dot(a.coef, values, nset);
    for (int64_t g = 0; g < a.guards; ++g) {
      const int64_t* gd = a.guard + g * (2 + a.vars);
      at_g[g] = dot(gd + 2, values, a.sets[kBatchSet]) + dot(gd + 2, values, nset);
      step_g[g] = gd[2 + last];
    }
    for (int64_t kk = 0; kk < b->kc; ++kk) {
      const int64_t* k = b->affine_k + kk * row;
      int64_t ja = 0, jb = len;
      for (int64_t g = 0; g < a.guards && ja < jb; ++g) {
        const int64_t* gd = a.guard + g * (2 + a.vars);
        keep_in_bounds(at_g[g] + k[1 + g], step_g[g], gd[0], gd[1], &ja, &jb);
      }
      uint8_t* out = dst + (kk * nr + (col - n0)) * esize;
      const uint8_t* from = src + (at + k[0]) * esize;
      if (stride == 1 && ja < jb)
        memcpy(out + ja * esize, from + ja * esize, (size_t)((jb - ja) * esize));
      else
        for (int64_t j = ja; j < jb; ++j)
          memcpy(out + j * esize, from + j * stride * esize, (size_t)esize);
    }
    col += len;
  }
}

/* The AffineB's part of the index and of each guard that k contributes, per value of k of
 * the block; null when it cannot be allocated. */
static int64_t* affine_k_table(const int64_t* s, int64_t pc, int64_t kc) {
  const struct affine a = affine_of(s);
  const int64_t row = 1 + a.guards;
  int64_t* table = malloc((size_t)(kc * row) * sizeof(int64_t));
  if (!table) return NULL;
  int64_t values[KILN_AOT_GEMM_MAX_ARGS] = {0};
  for (int64_t kk = 0; kk < kc; ++kk) {
    set_vars(values, a.sets[kKSet], pc + kk);
    int64_t* t = table + kk * row;
    t[0] = dot(a.coef, values, a.sets[kKSet]);
    for (int64_t g = 0; g < a.guards; ++g)
      t[1 + g] = dot(a.guard + g * (2 + a.vars) + 2, values, a.sets[kKSet]);
  }
  return table;
}

static void pack_b_panels(void* ctx, int64_t p0, int64_t p1) {
  const struct block* b = (const struct block*)ctx;
  const int64_t* s = b->s;
  const int64_t nr = s[KILN_GEMM_NR], esize = s[KILN_GEMM_ESIZE];
  struct args a;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = b->jc + p * nr;
    uint8_t* dst = b->packed_b + p * s[KILN_GEMM_KC] * nr * esize;
    if (b->affine_k) {
      pack_affine_panel(b, n0, dst);
      continue;
    }
    set_args(&a, b, dst, n0);
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
    for (b.jc = 0; b.jc < n && !b.failed; b.jc += nc_max) {
      b.nc = min64(nc_max, n - b.jc);
      for (b.pc = 0; b.pc < k && !b.failed; b.pc += kc_max) {
        b.kc = min64(kc_max, k - b.pc);
        int64_t* table = NULL;
        if (s[KILN_GEMM_AFFINE_B] && !(table = affine_k_table(s, b.pc, b.kc))) {
          b.failed = 1;
          continue;
        }
        b.affine_k = table;
        kiln_aot_parallel_tasks(pack_b_panels, &b, ceil_div(b.nc, nr), grain);
        kiln_aot_parallel_tasks(tasks, &b, row_blocks * b.chunks, grain);
        free(table);
      }
    }
    if (!direct) kiln_aot_parallel_tasks(epilogue_rows, &b, m, grain == 1 ? 1 : m);
  }
  free(scratch);
  free(b.packed_b);
  return b.failed;
}
