/* kiln_aot_parallel_for: the work items of one kernel launch split into contiguous chunks,
 * one per thread, the calling thread taking the first. Threads are started per launch:
 * simple, and cheap next to the kernels a model is made of. Any failure to start a thread
 * runs its chunk on the calling thread instead, so a launch always completes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "kiln_aot_runtime.h"

enum { kMaxThreads = 256 };

struct chunk {
  void (*fn)(void* ctx, int64_t begin, int64_t end);
  void* ctx;
  int64_t begin, end;
};

static void* run_chunk(void* arg) {
  struct chunk* c = (struct chunk*)arg;
  c->fn(c->ctx, c->begin, c->end);
  return NULL;
}

static int threads_from_env(void) {
  const char* s = getenv("KILN_AOT_THREADS");
  if (s && *s) {
    long v = strtol(s, NULL, 10);
    if (v > 0) return v > kMaxThreads ? kMaxThreads : (int)v;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) return 1;
  return cores > kMaxThreads ? kMaxThreads : (int)cores;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_threads = 1;
static void init_threads(void) { g_threads = threads_from_env(); }

int kiln_aot_threads(void) {
  pthread_once(&g_once, init_threads);
  return g_threads;
}

void kiln_aot_parallel_tasks(void (*fn)(void* ctx, int64_t begin, int64_t end), void* ctx,
                             int64_t n, int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t tasks = n / grain + (n % grain != 0);
  int64_t threads = kiln_aot_threads();
  if (tasks < threads) threads = tasks;
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
  struct chunk chunks[kMaxThreads];
  pthread_t ids[kMaxThreads];
  int started[kMaxThreads];
  for (int64_t t = 0; t < threads; ++t) {
    chunks[t].fn = fn;
    chunks[t].ctx = ctx;
    chunks[t].begin = n * t / threads;
    chunks[t].end = n * (t + 1) / threads;
    started[t] = 0;
  }
  for (int64_t t = 1; t < threads; ++t)
    started[t] = pthread_create(&ids[t], NULL, run_chunk, &chunks[t]) == 0;
  run_chunk(&chunks[0]);
  for (int64_t t = 1; t < threads; ++t) {
    if (started[t])
      pthread_join(ids[t], NULL);
    else
      run_chunk(&chunks[t]);
  }
}

/* A kernel launch as tasks: its buffers and scalars travel in the context. */
struct launch {
  kiln_aot_kernel kernel;
  uint8_t** buffers;
  const uint64_t* scalars;
};

static void run_items(void* ctx, int64_t begin, int64_t end) {
  const struct launch* l = (const struct launch*)ctx;
  l->kernel(l->buffers, l->scalars, begin, end);
}

void kiln_aot_parallel_for(kiln_aot_kernel kernel, uint8_t** buffers, const uint64_t* scalars,
                           int64_t n, int64_t grain) {
  struct launch l = {kernel, buffers, scalars};
  kiln_aot_parallel_tasks(run_items, &l, n, grain);
}
