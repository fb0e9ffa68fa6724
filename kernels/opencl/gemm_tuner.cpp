// GemmTuner: timing GEMM tile candidates on an OpenCL device and remembering the best
// (see gemm_tuner.h).
#include "kernels/opencl/gemm_tuner.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include "ir/error.h"
#include "runtime/opencl/opencl_device.h"
#include "support/log.h"

namespace kiln::kernels::opencl {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The dtypes of the buffers the factors load, in order of first use.
std::string factor_dtypes(const Kernel& kernel) {
  std::string out;
  std::unordered_set<const codegen::Expr*> seen;
  std::vector<codegen::ExprPtr> stack{kernel.contraction->b, kernel.contraction->a};
  while (!stack.empty()) {
    codegen::ExprPtr e = stack.back();
    stack.pop_back();
    if (!seen.insert(e.get()).second) continue;
    if (e->kind == codegen::ExprKind::Load)
      out += std::string(dtype_name(kernel.buffers[static_cast<size_t>(e->slot)].dtype)) + ",";
    for (const codegen::ExprPtr& a : e->args) stack.push_back(a);
  }
  return out;
}

std::string payload_of(const GemmTile& t, double seconds) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%d %d %d %d %d %.9g\n", t.bm, t.bn, t.bk, t.tm, t.tn, seconds);
  return buf;
}

}  // namespace

GemmTuner::GemmTuner(runtime::opencl::OpenCLDevice& device, std::string dir, int max_candidates)
    : device_(device),
      disk_(std::move(dir), "KILNTUNE", kFormatVersion, ".tune", "GEMM tuning"),
      max_candidates_(max_candidates) {}

std::string GemmTuner::default_dir() { return runtime::DiskCache::default_dir("opencl-tuning"); }

uint64_t GemmTuner::key_of(const Kernel& kernel) const {
  const runtime::opencl::DeviceInfo& d = device_.info();
  const std::string text = d.name + "|" + d.version + "|" + d.driver_version + "|" +
                           factor_dtypes(kernel) +
                           std::string(dtype_name(kernel.contraction->acc)) + "|" +
                           gemm_shape_class(*kernel.contraction);
  return codegen::fnv1a(text);
}

GemmTile GemmTuner::choose(const Kernel& kernel, bool tune) {
  const Contraction& c = *kernel.contraction;
  // The tensor-core kernel has fixed tiles: nothing to choose.
  if (uses_tensor_cores(kernel, device_.target())) return default_gemm_tile(c, device_.target());
  const uint64_t key = key_of(kernel);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = memory_.find(key); it != memory_.end()) return it->second;
  }
  std::string why;
  if (std::optional<std::string> text = disk_.read(key, why)) {
    GemmTile t;
    double seconds = 0;
    if (std::sscanf(text->c_str(), "%d %d %d %d %d %lf", &t.bm, &t.bn, &t.bk, &t.tm, &t.tn,
                    &seconds) != 6)
      why = "unreadable tiles";
    else if (std::string bad = check_gemm_tile(t, c.acc, device_.target()); !bad.empty())
      why = "stale tiles " + gemm_tile_str(t) + ": " + bad;
    else {
      std::lock_guard<std::mutex> lock(mutex_);
      memory_[key] = t;
      return t;
    }
  }
  if (why != "absent")
    support::log_warn("GEMM tuning entry " + disk_.path_for(key) + " ignored (" + why + ")" +
                      (tune ? "; tuning again" : "; using the default tiles"));
  if (tune) return this->tune(kernel);
  return default_gemm_tile(c, device_.target());
}

GemmTile GemmTuner::tune(const Kernel& kernel, std::vector<GemmTile> candidates) {
  const Contraction& c = *kernel.contraction;
  if (candidates.empty()) candidates = gemm_candidates(c, device_.target());
  if (max_candidates_ > 0 && candidates.size() > static_cast<size_t>(max_candidates_))
    candidates.resize(static_cast<size_t>(max_candidates_));
  GemmTile best = default_gemm_tile(c, device_.target());
  double best_seconds = std::numeric_limits<double>::infinity();
  for (const GemmTile& t : candidates) {
    if (!check_gemm_tile(t, c.acc, device_.target()).empty()) continue;
    const double s = seconds_of(kernel, t);
    support::log_info("GEMM tuning: " + gemm_tile_str(t) + " " + std::to_string(s * 1e3) + " ms");
    if (s < best_seconds) best = t, best_seconds = s;
  }
  const uint64_t key = key_of(kernel);
  if (best_seconds < std::numeric_limits<double>::infinity())
    disk_.write(key, payload_of(best, best_seconds));
  std::lock_guard<std::mutex> lock(mutex_);
  memory_[key] = best;
  return best;
}

// One candidate on the kernel's own sizes: zero-filled buffers and scalars (the time of a
// product does not depend on its values), the fastest of a few runs after a warm-up.
double GemmTuner::seconds_of(const Kernel& kernel, const GemmTile& tile) {
  using runtime::opencl::check;
  ++timed_;
  codegen::opencl::OpenCLTarget target = device_.target();
  codegen::opencl::RenderedKernel r = render_gemm(kernel, target, "kiln_gemm_tune", tile);
  if (r.launches.empty()) return 0;
  cl_program program =
      device_.program(r.source, "GEMM tuning candidate " + gemm_tile_str(tile), nullptr);
  cl_int status = CL_SUCCESS;
  runtime::opencl::KernelHandle k(clCreateKernel(program, r.launches[0].entry.c_str(), &status));
  check(status, "creating a GEMM tuning kernel");
  std::vector<runtime::opencl::MemHandle> mems;
  cl_uint arg = 0;
  for (const codegen::BufferParam& b : kernel.buffers) {
    const int64_t bytes = std::max<int64_t>(1, b.numel) * static_cast<int64_t>(dtype_size(b.dtype));
    mems.push_back(device_.allocate(bytes, CL_MEM_READ_WRITE, "a GEMM tuning buffer"));
    const cl_uchar zero = 0;
    check(clEnqueueFillBuffer(device_.queue(), mems.back().get(), &zero, 1, 0,
                              static_cast<size_t>(bytes), 0, nullptr, nullptr),
          "clearing a GEMM tuning buffer");
    cl_mem m = mems.back().get();
    check(clSetKernelArg(k.get(), arg++, sizeof m, &m), "setting a GEMM tuning buffer");
  }
  for (size_t i = 0; i < kernel.scalars.size(); ++i) {
    const cl_ulong bits = 0;
    check(clSetKernelArg(k.get(), arg++, sizeof bits, &bits), "setting a GEMM tuning scalar");
  }
  const size_t global = static_cast<size_t>(r.launches[0].global);
  const size_t local = static_cast<size_t>(r.launches[0].local);
  auto run = [&] {
    check(clEnqueueNDRangeKernel(device_.queue(), k.get(), 1, nullptr, &global, &local, 0, nullptr,
                                 nullptr),
          "launching a GEMM tuning kernel");
    check(clFinish(device_.queue()), "waiting for a GEMM tuning kernel");
  };
  run();
  double best = std::numeric_limits<double>::infinity(), spent = 0;
  for (int rep = 0; rep < 10 && (rep < 3 || spent < 0.2); ++rep) {
    const double t0 = now();
    run();
    const double s = now() - t0;
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

}  // namespace kiln::kernels::opencl
