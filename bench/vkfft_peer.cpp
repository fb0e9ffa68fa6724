// vkfft_peer: VkFFT (Debian's libvkfft-dev, its OpenCL back end) on the transform workloads
// of bench/compare --device opencl, the library issue 13 names as the one to measure kiln's
// own FFT kernels against. It runs on the first OpenCL GPU (else the first device), on the
// same inputs as opencl_bench (bench/workloads.cpp's make_input: fft of complex(x1, x2),
// rfft of x1), and prints one JSON line in opencl_bench's form, whose checksums bench/spectral.py
// compares with kiln's:
//
//   vkfft_peer --workload fft|rfft --dims ROWS,N [--reps 20]
//
// Each timed run appends the forward transform to the queue and waits for it, as kiln's
// prepared executable does. fft runs in place on interleaved complex rows; rfft runs out of
// place from the real rows into N / 2 + 1 complex values a row (VkFFT's R2C).
#define VKFFT_BACKEND 3
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <vkFFT.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads.h"

namespace {

using kiln::bench::checksum_of;
using kiln::bench::make_input;
using kiln::bench::parse_dims;

void check(cl_int status, const char* what) {
  if (status != CL_SUCCESS)
    throw std::runtime_error(std::string(what) + " failed (OpenCL status " +
                             std::to_string(status) + ")");
}

struct Cl {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  std::string name;

  Cl() {
    cl_uint count = 0;
    check(clGetPlatformIDs(0, nullptr, &count), "clGetPlatformIDs");
    std::vector<cl_platform_id> platforms(count);
    check(clGetPlatformIDs(count, platforms.data(), nullptr), "clGetPlatformIDs");
    for (cl_device_type type :
         {cl_device_type{CL_DEVICE_TYPE_GPU}, cl_device_type{CL_DEVICE_TYPE_ALL}})
      for (cl_platform_id p : platforms)
        if (!device && clGetDeviceIDs(p, type, 1, &device, nullptr) == CL_SUCCESS) platform = p;
    if (!device) throw std::runtime_error("no OpenCL device");
    char buf[256] = {};
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof buf - 1, buf, nullptr);
    name = buf;
    cl_int status = CL_SUCCESS;
    context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status);
    check(status, "clCreateContext");
    queue = clCreateCommandQueue(context, device, 0, &status);
    check(status, "clCreateCommandQueue");
  }
  ~Cl() {
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
  }
  cl_mem buffer(uint64_t bytes) {
    cl_int status = CL_SUCCESS;
    cl_mem m = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, nullptr, &status);
    check(status, "clCreateBuffer");
    return m;
  }
};

int run(const std::string& workload, int64_t rows, int64_t n, int reps) {
  const bool real = workload == "rfft";
  if (!real && workload != "fft") throw std::runtime_error("unknown workload " + workload);
  Cl cl;
  // Inputs as opencl_bench makes them: fft's rows are complex(x1, x2), rfft's x1.
  const std::vector<float> x1 = make_input(rows * n, 1);
  std::vector<float> in;
  if (real) {
    in = x1;
  } else {
    const std::vector<float> x2 = make_input(rows * n, 2);
    in.resize(static_cast<size_t>(2 * rows * n));
    for (size_t i = 0; i < x1.size(); ++i) in[2 * i] = x1[i], in[2 * i + 1] = x2[i];
  }
  const int64_t out_floats = real ? rows * (n / 2 + 1) * 2 : rows * n * 2;
  uint64_t in_bytes = in.size() * sizeof(float), out_bytes = out_floats * sizeof(float);
  cl_mem input = cl.buffer(in_bytes);
  cl_mem output = real ? cl.buffer(out_bytes) : input;
  check(clEnqueueWriteBuffer(cl.queue, input, CL_TRUE, 0, in_bytes, in.data(), 0, nullptr, nullptr),
        "clEnqueueWriteBuffer");

  VkFFTConfiguration config = {};
  config.FFTdim = 1;
  config.size[0] = static_cast<uint64_t>(n);
  config.numberBatches = static_cast<uint64_t>(rows);
  config.platform = &cl.platform;
  config.device = &cl.device;
  config.context = &cl.context;
  config.makeForwardPlanOnly = 1;
  if (real) {
    // Out of place: real rows in, N / 2 + 1 complex values a row out.
    config.performR2C = 1;
    config.isInputFormatted = 1;
    config.inputBuffer = &input;
    config.inputBufferSize = &in_bytes;
    config.inputBufferStride[0] = static_cast<uint64_t>(n);
    config.buffer = &output;
    config.bufferSize = &out_bytes;
  } else {
    config.buffer = &output;
    config.bufferSize = &out_bytes;
  }
  VkFFTApplication app = {};
  if (VkFFTResult r = initializeVkFFT(&app, config); r != VKFFT_SUCCESS)
    throw std::runtime_error("initializeVkFFT failed: VkFFTResult " + std::to_string(r));
  VkFFTLaunchParams launch = {};
  launch.commandQueue = &cl.queue;
  if (real) {
    launch.inputBuffer = &input;
    launch.buffer = &output;
  } else {
    launch.buffer = &output;
  }
  auto once = [&] {
    if (VkFFTResult r = VkFFTAppend(&app, -1, &launch); r != VKFFT_SUCCESS)
      throw std::runtime_error("VkFFTAppend failed: VkFFTResult " + std::to_string(r));
    check(clFinish(cl.queue), "clFinish");
  };
  // The checked result: one forward transform of the inputs (fft runs in place, so it is
  // taken first and the buffer rewritten before the timed runs).
  once();
  std::vector<float> out(static_cast<size_t>(out_floats));
  check(
      clEnqueueReadBuffer(cl.queue, output, CL_TRUE, 0, out_bytes, out.data(), 0, nullptr, nullptr),
      "clEnqueueReadBuffer");
  const kiln::bench::Checksum c = checksum_of(out.data(), out_floats);
  for (int i = 0; i < 3; ++i) once();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  deleteVkFFT(&app);
  clReleaseMemObject(input);
  if (real) clReleaseMemObject(output);
  std::printf(
      "{\"workload\": \"%s\", \"impl\": \"vkfft\", \"device\": \"%s\", \"seconds\": %.9g, "
      "\"min_seconds\": %.9g, \"checksum\": %.17g, \"weighted_checksum\": %.17g, "
      "\"magnitude\": %.17g, \"note\": \"VkFFT %d (OpenCL), forward plan only, %s\"}\n",
      workload.c_str(), cl.name.c_str(), times[times.size() / 2], times.front(), c.sum, c.weighted,
      c.magnitude, VkFFTGetVersion(), real ? "R2C out of place" : "C2C in place");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string workload;
    std::vector<int64_t> dims;
    int reps = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--workload")
        workload = value;
      else if (flag == "--dims")
        dims = parse_dims(value);
      else if (flag == "--reps")
        reps = std::max(1, std::stoi(value));
      else
        throw std::runtime_error("unknown argument '" + flag + "'");
    }
    if (dims.size() != 2) throw std::runtime_error("--dims takes ROWS,N");
    return run(workload, dims[0], dims[1], reps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkfft_peer: %s\n", e.what());
    return 1;
  }
}
