// opencl_bench: the OpenCL half of `bench/compare --device opencl`. Times the workloads of
// bench/workloads.cpp on an OpenCL device with the data kept on the device (a prepared
// executable replayed, as a GPU framework runs), and measures the two limits the results
// are read against: a float4 copy kernel (the bandwidth limit), a float4 read kernel (the
// limit of read-only workloads) and the cost of a bare
// clEnqueueNDRangeKernel (the launch limit). Prints one JSON object per line:
//
//   opencl_bench --workload softmax --rows 16384 --cols 8192 [--reps 20] [--device opencl]
//   opencl_bench --workload sgemm --dims 4096,4096,4096 [--clblast-tuning FILE.json ...]
//   opencl_bench --limits [--elements 268435456]
//   opencl_bench --info
//   opencl_bench --gemm 4096 4096 4096 [--epilogue] [--dtype f16] [--reps 20]
//
// For sgemm, where the build links CLBlast, "clblast" rows time CLBlastSgemm on the same
// queue with resident data: with CLBlast's own parameters for this device ("clblast"), then
// with the best of the clblast_tuner_xgemm results named by --clblast-tuning (JSON files;
// "clblast_tuned"). A CLBlast that fails prints a "skipped" row with the reason.
//
// "kiln" rows time enqueue + finish of the executable (kernels only, inputs resident);
// "kiln_eval" rows time the whole eval path (graph passes, cache lookups, upload, read
// back), for reference (--no-eval skips them). The launch rows give the time per launch of
// many launches in a row: an empty kernel, a one-kernel kiln executable, and that same
// kernel enqueued through the bare API.
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "frontend/evaluate.h"
#include "runtime/driver.h"
#include "runtime/opencl/opencl_device.h"
#include "workloads.h"

#ifdef KILN_BENCH_CLBLAST
#include <clblast_c.h>

#include <fstream>
#include <limits>
#include <sstream>
#endif

namespace {

using kiln::Tensor;
using kiln::runtime::opencl::OpenCLDevice;

struct Options {
  std::string workload;
  int64_t rows = 4096, cols = 4096;
  std::vector<int64_t> dims;  // the contraction workloads' (workloads.cpp)
  int reps = 20, warmup = 3;
  std::string device = "opencl";
  bool limits = false, info = false, eval = true;
  int64_t elements = int64_t{1} << 26;
  std::vector<std::string> clblast_tuning;  // clblast_tuner_xgemm's JSON files
  int64_t m = 0, n = 0, k = 0;              // --gemm: a matmul x[m,k] @ w[k,n]
  bool epilogue = false;                    // --epilogue: gelu(x @ w + bias)
  std::string dtype = "f32";                // --dtype: of x and w (f16 and bf16 accumulate in f32)
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw kiln::Error("opencl_bench: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--workload")
      o.workload = value();
    else if (a == "--rows")
      o.rows = std::stoll(value());
    else if (a == "--cols")
      o.cols = std::stoll(value());
    else if (a == "--dims")
      o.dims = kiln::bench::parse_dims(value());
    else if (a == "--reps")
      o.reps = std::stoi(value());
    else if (a == "--warmup")
      o.warmup = std::stoi(value());
    else if (a == "--device")
      o.device = value();
    else if (a == "--limits")
      o.limits = true;
    else if (a == "--info")
      o.info = true;
    else if (a == "--no-eval")
      o.eval = false;
    else if (a == "--gemm") {
      o.m = std::stoll(value());
      o.n = std::stoll(value());
      o.k = std::stoll(value());
    } else if (a == "--dtype") {
      o.dtype = value();
    } else if (a == "--epilogue")
      o.epilogue = true;
    else if (a == "--elements")
      o.elements = std::stoll(value());
    else if (a == "--clblast-tuning")
      o.clblast_tuning.push_back(value());
    else
      throw kiln::Error("opencl_bench: unknown argument '" + a + "'");
  }
  return o;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median and minimum of `reps` timings of `f`, after `warmup` untimed calls.
std::pair<double, double> timed(int reps, int warmup, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    double t0 = now();
    f();
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void print_row(const std::string& workload, const std::string& impl, const std::string& device,
               double seconds, double min_seconds, double bytes,
               const kiln::bench::Checksum& checksum, const std::string& extra = "",
               double flops = 0) {
  std::printf(
      "{\"workload\": \"%s\", \"impl\": \"%s\", \"device\": \"%s\", \"seconds\": %.9g, "
      "\"min_seconds\": %.9g, \"bytes\": %.17g, \"flops\": %.17g, \"checksum\": %.17g, "
      "\"weighted_checksum\": %.17g, \"magnitude\": %.17g%s}\n",
      workload.c_str(), impl.c_str(), json_escape(device).c_str(), seconds, min_seconds, bytes,
      flops, checksum.sum, checksum.weighted, checksum.magnitude, extra.c_str());
  std::fflush(stdout);
}

kiln::bench::Checksum checksum_of(const kiln::Buffer& b) {
  return kiln::bench::checksum_of(b.as<float>(), b.nbytes() / static_cast<int64_t>(sizeof(float)));
}

#ifdef KILN_BENCH_CLBLAST
// The value of `"key": "value"` in a clblast_tuner JSON file ("" when absent): the tuner
// writes its best result as flat strings (best_kernel, best_time, best_parameters).
std::string json_field(const std::string& text, const std::string& key) {
  const std::string open = "\"" + key + "\": \"";
  const size_t at = text.find(open);
  if (at == std::string::npos) return "";
  const size_t start = at + open.size();
  return text.substr(start, text.find('"', start) - start);
}

// The fastest result among clblast_tuner_xgemm's JSON files, applied to this device as
// CLBlast's parameters for its kernel; a line saying what was applied.
std::string apply_clblast_tuning(cl_device_id device, const std::vector<std::string>& files) {
  double best_time = std::numeric_limits<double>::infinity();
  std::string kernel, parameters, from;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string time = json_field(text.str(), "best_time");
    if (time.empty()) throw kiln::Error("opencl_bench: no tuning result in " + file);
    if (std::stod(time) < best_time) {
      best_time = std::stod(time);
      kernel = json_field(text.str(), "best_kernel");
      parameters = json_field(text.str(), "best_parameters");
      from = file;
    }
  }
  std::vector<std::string> names;
  std::vector<size_t> values;
  std::istringstream words(parameters);
  for (std::string word; words >> word;) {
    const size_t eq = word.find('=');
    // PRECISION is the tuner's own record of the precision, not a kernel parameter.
    if (eq == std::string::npos || word.substr(0, eq) == "PRECISION") continue;
    names.push_back(word.substr(0, eq));
    values.push_back(std::stoul(word.substr(eq + 1)));
  }
  std::vector<const char*> name_ptrs;
  for (const std::string& n : names) name_ptrs.push_back(n.c_str());
  const CLBlastStatusCode status =
      CLBlastOverrideParameters(device, kernel.c_str(), CLBlastPrecisionSingle, names.size(),
                                name_ptrs.data(), values.data());
  if (status != CLBlastSuccess)
    throw kiln::Error("opencl_bench: CLBlastOverrideParameters(" + kernel + ", " + parameters +
                      ") failed with status " + std::to_string(status));
  return kernel + " " + parameters + " (" + from + ")";
}

// CLBlast's sgemm on kiln's queue, on the workload's operands resident on the device:
// untuned, then tuned where tuning files are given. Prints a "skipped" row with the reason
// where CLBlast fails (a missing kernel database entry is not a failure: CLBlast falls back
// to its defaults for the vendor).
void run_clblast(OpenCLDevice& device, const Options& o, const kiln::bench::Workload& w) {
  const size_t m = static_cast<size_t>(w.operands[0].shape[0]),
               k = static_cast<size_t>(w.operands[0].shape[1]),
               n = static_cast<size_t>(w.operands[1].shape[1]);
  auto upload = [&](const std::vector<float>& v, const char* what) {
    auto mem = device.allocate(static_cast<int64_t>(v.size() * 4), CL_MEM_READ_WRITE, what);
    kiln::runtime::opencl::check(clEnqueueWriteBuffer(device.queue(), mem.get(), CL_TRUE, 0,
                                                      v.size() * 4, v.data(), 0, nullptr, nullptr),
                                 "upload");
    return mem;
  };
  auto a = upload(w.operands[0].values(), "clblast a");
  auto b = upload(w.operands[1].values(), "clblast b");
  auto c = device.allocate(static_cast<int64_t>(m * n * 4), CL_MEM_READ_WRITE, "clblast c");
  cl_command_queue queue = device.queue();
  auto sgemm = [&] {
    const CLBlastStatusCode status =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, m, n, k, 1.0f,
                     a.get(), 0, k, b.get(), 0, n, 0.0f, c.get(), 0, n, &queue, nullptr);
    if (status != CLBlastSuccess)
      throw kiln::Error("CLBlastSgemm failed with status " + std::to_string(status));
    clFinish(queue);
  };
  auto run = [&](const std::string& impl, const std::string& note) {
    try {
      sgemm();  // compiles CLBlast's kernels for these parameters
      auto [median, best] = timed(o.reps, o.warmup, sgemm);
      kiln::Buffer result(kiln::Type{kiln::DType::F32, {static_cast<int64_t>(m * n)}});
      kiln::runtime::opencl::check(clEnqueueReadBuffer(queue, c.get(), CL_TRUE, 0, m * n * 4,
                                                       result.data(), 0, nullptr, nullptr),
                                   "read back");
      print_row(o.workload, impl, device.info().name, median, best, w.bytes, checksum_of(result),
                ", \"note\": \"" + json_escape(note) + "\"", w.flops);
    } catch (const std::exception& e) {
      std::printf("{\"workload\": \"%s\", \"impl\": \"%s\", \"skipped\": \"%s\"}\n",
                  o.workload.c_str(), impl.c_str(), json_escape(e.what()).c_str());
      std::fflush(stdout);
    }
  };
  run("clblast", "CLBlast " + std::to_string(CLBLAST_VERSION_MAJOR) + "." +
                     std::to_string(CLBLAST_VERSION_MINOR) + ", its own parameters");
  if (o.clblast_tuning.empty()) return;
  cl_device_id id = nullptr;
  clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof id, &id, nullptr);
  std::string applied;
  try {
    applied = apply_clblast_tuning(id, o.clblast_tuning);
  } catch (const std::exception& e) {
    std::printf("{\"workload\": \"%s\", \"impl\": \"clblast_tuned\", \"skipped\": \"%s\"}\n",
                o.workload.c_str(), json_escape(e.what()).c_str());
    return;
  }
  run("clblast_tuned", "tuned: " + applied);
}
#endif  // KILN_BENCH_CLBLAST

// A graph prepared once on the device (inputs resident) and timed as enqueue + finish,
// with its checksum and how each kernel was rendered (a GEMM by its tiles).
struct TimedGraph {
  kiln::frontend::Extraction ex;
  std::unique_ptr<kiln::runtime::Executable> exe;
  double median = 0, best = 0, prepare_seconds = 0;
  kiln::bench::Checksum checksum;
  std::string shapes;
};

TimedGraph time_graph(OpenCLDevice& device, const Tensor& y, const Options& o) {
  TimedGraph t;
  t.ex = kiln::frontend::extract_graph({y.node()}, false);
  double t0 = now();
  t.exe = kiln::runtime::prepare(device, t.ex.graph, t.ex.inputs);
  t.exe->finish();
  t.prepare_seconds = now() - t0;
  std::tie(t.median, t.best) = timed(o.reps, o.warmup, [&] {
    t.exe->enqueue();
    t.exe->finish();
  });
  t.checksum = checksum_of(*t.exe->read_results()[0]);
  for (const auto& r : OpenCLDevice::rendered(*t.exe)) {
    std::string shape;
    if (r.shape == kiln::codegen::GroupShape::Gemm) {
      const std::string head = r.body.substr(0, r.body.find('\n'));  // "... (gemm <tiles>)"
      shape = head.substr(head.find('(') + 1, head.size() - head.find('(') - 2);
    } else {
      shape = std::string(kiln::codegen::group_shape_name(r.shape)) + "/v" +
              std::to_string(r.vector_width) + (r.unrolled ? "/regs" : "") +
              (r.reordered ? "/reordered" : "") + (r.tiled ? "/tiled" : "");
    }
    t.shapes += (t.shapes.empty() ? "" : ",") + shape;
  }
  return t;
}

void run_workload(OpenCLDevice& device, const Options& o) {
  const kiln::bench::Workload workload =
      kiln::bench::workload(o.workload, {o.rows, o.cols, o.dims});
  const double bytes = workload.bytes;
  Tensor y = workload.build(kiln::bench::make_operands(workload));
  TimedGraph t = time_graph(device, y, o);
  // Room for every kernel's shape (a whole model has dozens).
  std::vector<char> extra(256 + t.shapes.size());
  std::snprintf(extra.data(), extra.size(),
                ", \"launches\": %lld, \"kernels\": %lld, \"shapes\": \"%s\", \"prepare_seconds\": "
                "%.6g, \"rows\": %lld, \"cols\": %lld, \"note\": \"%s\"",
                static_cast<long long>(t.exe->launches_per_run()),
                static_cast<long long>(t.exe->kernels()), t.shapes.c_str(), t.prepare_seconds,
                static_cast<long long>(o.rows), static_cast<long long>(o.cols),
                json_escape(workload.variant).c_str());
  print_row(o.workload, "kiln", device.info().name, t.median, t.best, bytes, t.checksum,
            extra.data(), workload.flops);
  t.exe.reset();

#ifdef KILN_BENCH_CLBLAST
  if (o.workload == "sgemm") run_clblast(device, o, workload);
#else
  if (o.workload == "sgemm")
    std::printf(
        "{\"workload\": \"sgemm\", \"impl\": \"clblast\", \"skipped\": \"this opencl_bench was "
        "built without CLBlast (Debian: libclblast-dev)\"}\n");
#endif

  // The whole eval path: passes, cache lookups, upload, kernels, read back.
  if (!o.eval) return;
  auto [eval_median, eval_best] = timed(3, 1, [&] { device.run(t.ex.graph, t.ex.inputs); });
  print_row(o.workload, "kiln_eval", device.info().name, eval_median, eval_best, bytes, t.checksum,
            "", workload.flops);
}

// A matmul x[m,k] @ w[k,n] (with --epilogue: gelu(x @ w + bias)), data on the device; the
// row gives GFLOP/s (2mnk per run) and how each kernel was rendered. KILN_OPENCL_GEMM=0
// times the loop nest instead of the GEMM, KILN_OPENCL_GEMM_TILE=bm,bn,bk,tm,tn a tile.
void run_gemm(OpenCLDevice& device, const Options& o) {
  using kiln::bench::make_input;
  Tensor x = kiln::from_data(make_input(o.m * o.k, 1), {o.m, o.k});
  Tensor w = kiln::from_data(make_input(o.k * o.n, 2), {o.k, o.n});
  const auto dtype = kiln::dtype_from_name(o.dtype);
  if (!dtype) throw kiln::Error("opencl_bench: unknown dtype '" + o.dtype + "'");
  if (*dtype != kiln::DType::F32) {
    // Inputs held in that dtype (converted on the host, before the timed graph).
    x = kiln::cast(x, *dtype);
    w = kiln::cast(w, *dtype);
    kiln::eval({x, w});
  }
  Tensor y = kiln::matmul(x, w);
  if (o.epilogue)
    y = kiln::gelu(y + kiln::cast(kiln::from_data(make_input(o.n, 3), {o.n}), y.dtype()));
  // The checksum reads floats: a 16-bit result is widened in the kernel's epilogue.
  if (y.dtype() != kiln::DType::F32) y = kiln::cast(y, kiln::DType::F32);
  TimedGraph t = time_graph(device, y, o);
  const double flops =
      2.0 * static_cast<double>(o.m) * static_cast<double>(o.n) * static_cast<double>(o.k);
  char extra[512];
  std::snprintf(extra, sizeof extra,
                ", \"gflops\": %.4g, \"kernels\": %lld, \"shapes\": \"%s\", "
                "\"prepare_seconds\": %.6g, \"m\": %lld, \"n\": %lld, \"k\": %lld",
                flops / t.median * 1e-9, static_cast<long long>(t.exe->kernels()), t.shapes.c_str(),
                t.prepare_seconds, static_cast<long long>(o.m), static_cast<long long>(o.n),
                static_cast<long long>(o.k));
  // The workload names of the issue's table: sgemm, gemm_bias_gelu (f16_gemm, ... else).
  const std::string prefix = o.dtype == "f32" ? "" : o.dtype + "_";
  const std::string name =
      o.epilogue ? prefix + "gemm_bias_gelu" : (o.dtype == "f32" ? "sgemm" : prefix + "gemm");
  print_row(name, "kiln", device.info().name, t.median, t.best,
            static_cast<double>(kiln::dtype_size(*dtype)) *
                static_cast<double>(o.m * o.k + o.k * o.n + o.m * o.n),
            t.checksum, extra);
}

// A kernel's time through `clEnqueueNDRangeKernel` + clFinish, median of reps.
void run_limits(OpenCLDevice& device, const Options& o) {
  const char* source = R"CL(
__kernel void copy4(__global const float4* restrict src, __global float4* restrict dst) {
  size_t i = get_global_id(0);
  dst[i] = src[i];
}
// The read limit of read-only workloads (sums): every work-item sums 16 float4s a grid
// apart (coalesced) and stores only in a case that never happens, so that the reads stay.
__kernel void read4(__global const float4* restrict src, __global float* restrict dst) {
  const size_t n = get_global_size(0);
  size_t i = get_global_id(0);
  float4 acc = (float4)(0.0f);
  for (int k = 0; k < 16; ++k, i += n) acc += src[i];
  const float s = acc.x + acc.y + acc.z + acc.w;
  if (s == 12345.678f) dst[get_global_id(0)] = s;
}
__kernel void empty(__global float* p) {
  if (get_global_id(0) == 0x7fffffffu) p[0] = 1.0f;
}
)CL";
  cl_program program = device.program(source, "the benchmark's limit kernels", nullptr);
  cl_int status = CL_SUCCESS;
  kiln::runtime::opencl::KernelHandle copy(clCreateKernel(program, "copy4", &status));
  kiln::runtime::opencl::check(status, "clCreateKernel copy4");
  kiln::runtime::opencl::KernelHandle read(clCreateKernel(program, "read4", &status));
  kiln::runtime::opencl::check(status, "clCreateKernel read4");
  kiln::runtime::opencl::KernelHandle empty(clCreateKernel(program, "empty", &status));
  kiln::runtime::opencl::check(status, "clCreateKernel empty");

  const int64_t n = o.elements;
  auto src = device.allocate(n * 4, CL_MEM_READ_WRITE, "copy source");
  auto dst = device.allocate(n * 4, CL_MEM_READ_WRITE, "copy destination");
  std::vector<float> host = kiln::bench::make_input(n, 1);
  kiln::runtime::opencl::check(
      clEnqueueWriteBuffer(device.queue(), src.get(), CL_TRUE, 0, static_cast<size_t>(n) * 4,
                           host.data(), 0, nullptr, nullptr),
      "upload");
  cl_mem s = src.get(), d = dst.get();
  clSetKernelArg(copy.get(), 0, sizeof s, &s);
  clSetKernelArg(copy.get(), 1, sizeof d, &d);
  size_t global = static_cast<size_t>(n / 4), local = 256;
  auto [median, best] = timed(o.reps, o.warmup, [&] {
    kiln::runtime::opencl::check(clEnqueueNDRangeKernel(device.queue(), copy.get(), 1, nullptr,
                                                        &global, &local, 0, nullptr, nullptr),
                                 "copy launch");
    clFinish(device.queue());
  });
  print_row("copy", "limit", device.info().name, median, best, 2.0 * static_cast<double>(n) * 4,
            {});

  clSetKernelArg(read.get(), 0, sizeof s, &s);
  clSetKernelArg(read.get(), 1, sizeof d, &d);
  size_t read_global = static_cast<size_t>(n / 64);
  auto [read_median, read_best] = timed(o.reps, o.warmup, [&] {
    kiln::runtime::opencl::check(clEnqueueNDRangeKernel(device.queue(), read.get(), 1, nullptr,
                                                        &read_global, &local, 0, nullptr, nullptr),
                                 "read launch");
    clFinish(device.queue());
  });
  print_row("read", "read_limit", device.info().name, read_median, read_best,
            static_cast<double>(n) * 4, {});

  // Launch cost: many launches of an empty kernel, then of a one-kernel kiln executable.
  const int launches = 20000;
  clSetKernelArg(empty.get(), 0, sizeof s, &s);
  size_t one = 256;
  auto [bare, bare_best] = timed(5, 1, [&] {
    for (int i = 0; i < launches; ++i)
      clEnqueueNDRangeKernel(device.queue(), empty.get(), 1, nullptr, &one, &one, 0, nullptr,
                             nullptr);
    clFinish(device.queue());
  });
  print_row("launch", "bare_opencl", device.info().name, bare / launches, bare_best / launches, 0,
            {});

  Tensor x = kiln::from_data(kiln::bench::make_input(256, 4), {256});
  Tensor y = x * 2.0f + 1.0f;
  kiln::frontend::Extraction ex = kiln::frontend::extract_graph({y.node()}, false);
  auto exe = kiln::runtime::prepare(device, ex.graph, ex.inputs);
  auto [mine, mine_best] = timed(5, 1, [&] {
    for (int i = 0; i < launches; ++i) exe->enqueue();
    exe->finish();
  });
  const double per = static_cast<double>(launches * exe->launches_per_run());
  print_row("launch", "kiln", device.info().name, mine / per, mine_best / per, 0, {});
  // The same kernel through the bare API: what kiln's launch path adds is the difference.
  const kiln::runtime::opencl::ClStep& step = *OpenCLDevice::steps(*exe).at(0);
  cl_kernel k = step.kernel.get();
  size_t g = step.global, l = step.local;
  auto [same, same_best] = timed(5, 1, [&] {
    for (int i = 0; i < launches; ++i)
      clEnqueueNDRangeKernel(device.queue(), k, 1, nullptr, &g, &l, 0, nullptr, nullptr);
    clFinish(device.queue());
  });
  print_row("launch", "bare_same_kernel", device.info().name, same / launches, same_best / launches,
            0, {});
  // A tiny graph through eval: what one lazy evaluation costs end to end.
  auto [eval, eval_best] = timed(50, 5, [&] { device.run(ex.graph, ex.inputs); });
  print_row("launch", "kiln_eval", device.info().name, eval, eval_best, 0, {});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    auto device = std::dynamic_pointer_cast<OpenCLDevice>(kiln::runtime::make_device(o.device));
    if (!device) throw kiln::Error("opencl_bench: '" + o.device + "' is not an OpenCL device");
    if (o.info) {
      const auto& i = device->info();
      std::printf(
          "{\"platform\": \"%s\", \"platform_vendor\": \"%s\", \"device\": \"%s\", \"version\": "
          "\"%s\", "
          "\"driver\": \"%s\", \"compute_units\": %d, \"global_mem\": %lld}\n",
          json_escape(i.platform_name).c_str(), json_escape(i.platform_vendor).c_str(),
          json_escape(i.name).c_str(), json_escape(i.version).c_str(),
          json_escape(i.driver_version).c_str(), i.compute_units,
          static_cast<long long>(i.global_mem_bytes));
    }
    if (o.limits) run_limits(*device, o);
    if (!o.workload.empty()) run_workload(*device, o);
    if (o.m > 0) run_gemm(*device, o);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
