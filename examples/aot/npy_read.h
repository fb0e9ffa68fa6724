/* Reading the example's .npy files from C: version 1.0 files of little-endian float32, as
 * kiln::save_npy writes them. Enough for the example; kiln's own reader (kiln/io.h) checks
 * every field. */
#ifndef KILN_EXAMPLE_NPY_READ_H
#define KILN_EXAMPLE_NPY_READ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads `count` floats from DIR/NAME into `out`; 0 on success. */
static int read_f32_npy(const char* dir, const char* name, float* out, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  unsigned char pre[10];
  int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY\x01", 7) == 0;
  if (ok) {
    long header = pre[8] | (pre[9] << 8);
    char dict[512] = {0};
    ok = header < (long)sizeof dict && fread(dict, 1, (size_t)header, f) == (size_t)header &&
         strstr(dict, "'<f4'") != NULL && fread(out, sizeof(float), count, f) == count;
  }
  fclose(f);
  if (!ok) fprintf(stderr, "%s is not an .npy file of %zu float32 values\n", path, count);
  return ok ? 0 : 1;
}

/* The largest |got - want| / (1 + |want|); huge when got holds a NaN. */
static double max_error(const float* got, const float* want, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    if (got[i] != got[i]) return 1e30;
    double d = (double)got[i] - (double)want[i];
    double scale = 1.0 + (want[i] < 0 ? -(double)want[i] : (double)want[i]);
    if (d < 0) d = -d;
    if (d / scale > worst) worst = d / scale;
  }
  return worst;
}

#endif
