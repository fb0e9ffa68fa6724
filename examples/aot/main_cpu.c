/* The ahead-of-time example, CPU target: a plain C program linked with the object file
 * kiln-aot made (model.o, model.h) and libkiln_aot_runtime.a; no LLVM, no JIT, no C++.
 * It runs the model on the example's input and compares the outputs with the JIT's.
 *
 *   aot_example_cpu DIR      (DIR: where aot_example_model wrote x.npy and expected*.npy) */
#include <stdio.h>

#include "model.h"
#include "npy_read.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: aot_example_cpu DIR\n");
    return 2;
  }
  static float x[MODEL_X_COUNT], probs[MODEL_OUT0_COUNT], mean[MODEL_OUT1_COUNT];
  static float want_probs[MODEL_OUT0_COUNT], want_mean[MODEL_OUT1_COUNT];
  if (read_f32_npy(argv[1], "x.npy", x, MODEL_X_COUNT) ||
      read_f32_npy(argv[1], "expected0.npy", want_probs, MODEL_OUT0_COUNT) ||
      read_f32_npy(argv[1], "expected1.npy", want_mean, MODEL_OUT1_COUNT))
    return 1;
  int status = model_run(x, probs, mean);
  if (status != 0) {
    fprintf(stderr, "model_run failed: %d\n", status);
    return 1;
  }
  double e0 = max_error(probs, want_probs, MODEL_OUT0_COUNT);
  double e1 = max_error(mean, want_mean, MODEL_OUT1_COUNT);
  printf("probs[0][0..3] = %.6f %.6f %.6f %.6f\n", probs[0], probs[1], probs[2], probs[3]);
  printf("workspace: %zu bytes\n", model_workspace_size());
  printf("largest difference from the JIT: probs %.3g, mean %.3g\n", e0, e1);
  return e0 <= 1e-5 && e1 <= 1e-5 ? 0 : 1;
}
