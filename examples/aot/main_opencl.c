/* The ahead-of-time example, OpenCL target: a plain C program compiled with the bundle
 * kiln-aot made (model_cl.c, model_cl.h) and linked with -lOpenCL only. It runs the model
 * on the first OpenCL GPU, else the first device (PoCL in the test suite) and compares with the
 * JIT's outputs.
 *
 *   aot_example_opencl DIR */
#include <stdio.h>

#include "model_cl.h"
#include "npy_read.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: aot_example_opencl DIR\n");
    return 2;
  }
  static float x[MODEL_CL_X_COUNT], probs[MODEL_CL_OUT0_COUNT], mean[MODEL_CL_OUT1_COUNT];
  static float want_probs[MODEL_CL_OUT0_COUNT], want_mean[MODEL_CL_OUT1_COUNT];
  if (read_f32_npy(argv[1], "x.npy", x, MODEL_CL_X_COUNT) ||
      read_f32_npy(argv[1], "expected0.npy", want_probs, MODEL_CL_OUT0_COUNT) ||
      read_f32_npy(argv[1], "expected1.npy", want_mean, MODEL_CL_OUT1_COUNT))
    return 1;
  int error = 0;
  model_cl_state* state = model_cl_create(NULL, &error);
  if (!state) {
    fprintf(stderr, "model_cl_create failed: OpenCL error %d\n", error);
    return 1;
  }
  /* Twice: a state is reusable. */
  int status = model_cl_run_on(state, x, probs, mean);
  if (status == 0) status = model_cl_run_on(state, x, probs, mean);
  model_cl_destroy(state);
  if (status != 0) {
    fprintf(stderr, "model_cl_run_on failed: OpenCL error %d\n", status);
    return 1;
  }
  double e0 = max_error(probs, want_probs, MODEL_CL_OUT0_COUNT);
  double e1 = max_error(mean, want_mean, MODEL_CL_OUT1_COUNT);
  printf("probs[0][0..3] = %.6f %.6f %.6f %.6f\n", probs[0], probs[1], probs[2], probs[3]);
  printf("largest difference from the JIT: probs %.3g, mean %.3g\n", e0, e1);
  return e0 <= 1e-4 && e1 <= 1e-4 ? 0 : 1;
}
