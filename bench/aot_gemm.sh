#!/usr/bin/env bash
# bench/aot_gemm.sh [BUILD_DIR] [N]: sgemm N^3 (default 2048), the same product with a
# bias and tanh in its epilogue, and the conv2d workload (batch 8, 64 -> 64 channels,
# 56 x 56, 3 x 3, padding 1), compiled ahead of time (kiln-aot --target cpu) and run from a
# C program, beside the JIT's prepared sgemm and conv2d and the FMA peak (kiln_bench) in
# the same run. The C program prints the median of 10 runs after 2 warm-ups.
set -euo pipefail
build=${1:-build}
n=${2:-2048}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat > "$dir/sgemm.kir" <<EOF
func @sgemm(%a: f32[$n,$n], %b: f32[$n,$n]) -> (f32[$n,$n]) {
  %0 = matmul %a, %b : f32[$n,$n]
  return %0
}
EOF
cat > "$dir/epilogue.kir" <<EOF
func @epilogue(%a: f32[$n,$n], %b: f32[$n,$n], %bias: f32[$n]) -> (f32[$n,$n]) {
  %0 = matmul %a, %b : f32[$n,$n]
  %1 = reshape %bias : f32[1,$n]
  %2 = broadcast %1 : f32[$n,$n]
  %3 = add %0, %2 : f32[$n,$n]
  %4 = tanh %3 : f32[$n,$n]
  return %4
}
EOF
cat > "$dir/conv.kir" <<EOF
func @conv(%x: f32[8,64,56,56], %w: f32[64,64,3,3]) -> (f32[8,64,56,56]) {
  %0 = conv %x, %w {stride = [1, 1], dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 1} : f32[8,64,56,56]
  return %0
}
EOF
for model in sgemm epilogue conv; do
  "$build/tools/kiln-aot" "$dir/$model.kir" --target cpu --name "$model" -o "$dir"
done

cat > "$dir/main.c" <<EOF
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sgemm.h"
#include "epilogue.h"
#include "conv.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}
static float* filled(size_t count, float scale) {
  float* p = aligned_alloc(64, count * sizeof(float));
  for (size_t i = 0; i < count; ++i) p[i] = scale * (float)((i * 7919) % 1000) / 1000.0f;
  return p;
}
int main(void) {
  const size_t n = $n, nn = n * n;
  const size_t image = 8 * 64 * 56 * 56, taps = 64 * 64 * 9;
  float *a = filled(nn, 1.0f), *b = filled(nn, 0.01f), *bias = filled(n, 1.0f),
        *c = filled(nn, 0.0f), *x = filled(image, 1.0f), *w = filled(taps, 0.01f),
        *y = filled(image, 0.0f);
  const char* names[] = {"sgemm", "sgemm + bias + tanh", "conv2d 8 x 64->64 x 56^2, 3x3"};
  const double flops[] = {2.0 * n * nn, 2.0 * n * nn, 2.0 * image * 64 * 9};
  for (int model = 0; model < 3; ++model) {
    double t[10];
    for (int r = -2; r < 10; ++r) {
      double t0 = now();
      int status = model == 0   ? sgemm_run(a, b, c)
                   : model == 1 ? epilogue_run(a, b, bias, c)
                                : conv_run(x, w, y);
      if (status != 0) return 1;
      if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, 10, sizeof t[0], cmp);
    double s = (t[4] + t[5]) / 2;
    printf("kiln-aot %s (n = %zu): %.2f ms, %.1f GFLOP/s\n", names[model], n, s * 1e3,
           flops[model] / s / 1e9);
  }
  free(a); free(b); free(bias); free(c); free(x); free(w); free(y);
  return 0;
}
EOF
cc -O2 -std=c11 -I"$dir" -o "$dir/prog" "$dir/main.c" "$dir/sgemm.o" "$dir/epilogue.o" "$dir/conv.o" \
  "$build/codegen/aot/runtime/libkiln_aot_runtime.a" -lm -lpthread
"$dir/prog"
"$build/bench/kiln_bench" --workload sgemm --dims "$n,$n,$n" --impl kiln_exec --reps 10
"$build/bench/kiln_bench" --workload conv2d --impl kiln_exec --reps 10
"$build/bench/kiln_bench" --workload peak
