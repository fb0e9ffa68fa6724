// fft_plan: FFTW plans, their cache, the wisdom file and the rows executor (see fft_plan.h).
#include "kernels/cpu/fft_plan.h"

#if KILN_HAS_FFTW

#include <fftw3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "runtime/disk_cache.h"
#include "support/log.h"

namespace kiln::kernels::cpu {

namespace {

// Every call into FFTW's planner (planning, wisdom, destroying plans) holds this.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// FFTW's threads library is set up once, before the first plan.
void init_fftw_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (fftwf_init_threads() == 0)
      support::log_warn("fft: FFTW's threads did not start; plans run on one thread");
  });
}

unsigned rigor_flags(FftRigor rigor) {
  switch (rigor) {
    case FftRigor::Estimate: return FFTW_ESTIMATE;
    case FftRigor::Measure: return FFTW_MEASURE;
    case FftRigor::Patient: return FFTW_PATIENT;
  }
  return FFTW_MEASURE;
}

// Bytes of one element of the input and the output.
int64_t in_size(SpectralKind kind) { return kind == SpectralKind::RealForward ? 4 : 8; }
int64_t out_size(SpectralKind kind) { return kind == SpectralKind::RealInverse ? 4 : 8; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Elements of the whole input / output of a problem.
int64_t in_total(const FftProblem& p) {
  const int64_t len = fft_in_len(p.kind, p.n);
  return (p.rows - 1) * (p.in_dist ? p.in_dist : len) + len;
}
int64_t out_total(const FftProblem& p) {
  const int64_t len = fft_out_len(p.kind, p.n);
  return (p.rows - 1) * (p.out_dist ? p.out_dist : len) + len;
}

// An FFTW plan of `p` on the arrays in / out with `flags` (null where FFTW has none, as
// with FFTW_WISDOM_ONLY). Holds the planner's mutex.
fftwf_plan make_plan(const FftProblem& p, void* in, void* out, unsigned flags) {
  fftwf_plan_with_nthreads(p.threads);
  fftwf_iodim64 dim{p.n, 1, 1};
  fftwf_iodim64 many{p.rows, p.in_dist ? p.in_dist : fft_in_len(p.kind, p.n),
                     p.out_dist ? p.out_dist : fft_out_len(p.kind, p.n)};
  if (p.unaligned) flags |= FFTW_UNALIGNED;
  switch (p.kind) {
    case SpectralKind::Forward:
    case SpectralKind::Inverse:
      return fftwf_plan_guru64_dft(
          1, &dim, 1, &many, static_cast<fftwf_complex*>(in), static_cast<fftwf_complex*>(out),
          p.kind == SpectralKind::Forward ? FFTW_FORWARD : FFTW_BACKWARD, flags);
    case SpectralKind::RealForward:
      return fftwf_plan_guru64_dft_r2c(1, &dim, 1, &many, static_cast<float*>(in),
                                       static_cast<fftwf_complex*>(out), flags);
    case SpectralKind::RealInverse:
      return fftwf_plan_guru64_dft_c2r(1, &dim, 1, &many, static_cast<fftwf_complex*>(in),
                                       static_cast<float*>(out), flags | FFTW_DESTROY_INPUT);
  }
  return nullptr;
}

// Aligned scratch arrays of a problem to plan on (planning with FFTW_MEASURE overwrites
// them).
struct PlanArrays {
  void* in = nullptr;
  void* out = nullptr;
  explicit PlanArrays(const FftProblem& p) {
    const int64_t in_bytes = in_total(p) * in_size(p.kind);
    const int64_t out_bytes = out_total(p) * out_size(p.kind);
    in = fftwf_malloc(static_cast<size_t>(p.in_place ? std::max(in_bytes, out_bytes) : in_bytes));
    out = p.in_place ? in : fftwf_malloc(static_cast<size_t>(out_bytes));
  }
  ~PlanArrays() {
    if (out != in) fftwf_free(out);
    fftwf_free(in);
  }
  PlanArrays(const PlanArrays&) = delete;
  PlanArrays& operator=(const PlanArrays&) = delete;
};

// FFTW's threads pay for themselves only on long transforms.
constexpr int64_t kThreadedElements = int64_t{1} << 15;

}  // namespace

bool fft_aligned(const void* p) {
  return fftwf_alignment_of(static_cast<float*>(const_cast<void*>(p))) == 0;
}

bool fft_use_fftw_threads(int64_t n, int64_t rows, int threads) {
  return threads > 1 && rows < threads && rows * n >= kThreadedElements;
}

FftProblem fft_rows_problem(SpectralKind kind, int64_t n, int64_t rows, bool in_place,
                            bool unaligned, int threads) {
  FftProblem p;
  p.kind = kind;
  p.n = n;
  p.rows = rows;
  p.in_place = in_place;
  p.unaligned = unaligned;
  p.threads = threads;
  return p;
}

FftRigor fft_rigor_from_env() {
  const char* env = std::getenv("KILN_FFTW_PLANNER");
  if (!env || !*env) return FftRigor::Measure;
  const std::string v = env;
  if (v == "estimate") return FftRigor::Estimate;
  if (v == "measure") return FftRigor::Measure;
  if (v == "patient") return FftRigor::Patient;
  support::log_warn("KILN_FFTW_PLANNER=" + v +
                    " is not one of estimate, measure, patient; planning with measure");
  return FftRigor::Measure;
}

FftPlan::~FftPlan() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
}

void FftPlan::execute(const void* in, void* out) const {
  // FFTW's execute functions take mutable inputs; only c2r writes to its input.
  auto p = static_cast<fftwf_plan>(plan_);
  void* i = const_cast<void*>(in);
  switch (problem_.kind) {
    case SpectralKind::Forward:
    case SpectralKind::Inverse:
      fftwf_execute_dft(p, static_cast<fftwf_complex*>(i), static_cast<fftwf_complex*>(out));
      break;
    case SpectralKind::RealForward:
      fftwf_execute_dft_r2c(p, static_cast<float*>(i), static_cast<fftwf_complex*>(out));
      break;
    case SpectralKind::RealInverse:
      fftwf_execute_dft_c2r(p, static_cast<fftwf_complex*>(i), static_cast<float*>(out));
      break;
  }
}

FftPlans::FftPlans(std::string wisdom_path, FftRigor rigor)
    : wisdom_path_(std::move(wisdom_path)), rigor_(rigor) {
  init_fftw_threads();
  if (wisdom_path_.empty()) return;
  std::error_code ec;
  if (!std::filesystem::exists(wisdom_path_, ec)) {
    support::log_debug("fft: no wisdom file " + wisdom_path_ + " yet");
    return;
  }
  std::ifstream file(wisdom_path_, std::ios::binary);
  std::stringstream text;
  if (file) text << file.rdbuf();
  if (!std::filesystem::is_regular_file(wisdom_path_, ec) || !file || file.bad()) {
    support::log_warn("fft: cannot read the wisdom file " + wisdom_path_ + "; ignoring it");
    return;
  }
  std::lock_guard<std::mutex> lock(planner_mutex());
  // FFTW restores its previous wisdom when an import fails part way.
  if (fftwf_import_wisdom_from_string(text.str().c_str()) == 0) {
    support::log_warn(
        "fft: the wisdom file " + wisdom_path_ +
        " is not valid FFTW wisdom; ignoring it (it is rewritten after the next new plan)");
    return;
  }
  wisdom_loaded_ = true;
}

const FftPlan& FftPlans::plan(const FftProblem& problem) {
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto it = plans_.find(problem);
  if (it != plans_.end()) return *it->second;
  PlanArrays arrays(problem);
  fftwf_plan p = make_plan(problem, arrays.in, arrays.out, rigor_flags(rigor_));
  if (!p)
    throw std::runtime_error("fft: FFTW made no plan for a transform of length " +
                             std::to_string(problem.n));
  ++plans_made_;
  auto& slot = plans_[problem];
  slot = std::make_unique<FftPlan>(problem, p);
  write_wisdom();
  return *slot;
}

bool FftPlans::wisdom_covers(const FftProblem& problem) const {
  std::lock_guard<std::mutex> lock(planner_mutex());
  PlanArrays arrays(problem);
  fftwf_plan p = make_plan(problem, arrays.in, arrays.out, rigor_flags(rigor_) | FFTW_WISDOM_ONLY);
  if (!p) return false;
  fftwf_destroy_plan(p);
  return true;
}

void FftPlans::write_wisdom() const {
  if (wisdom_path_.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path path(wisdom_path_);
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = wisdom_path_ + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  if (fftwf_export_wisdom_to_filename(tmp.c_str()) == 0) {
    support::log_warn("fft: cannot write the wisdom file " + tmp);
    fs::remove(tmp, ec);
    return;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    support::log_warn("fft: cannot move the wisdom file into place at " + wisdom_path_ + ": " +
                      ec.message());
    fs::remove(tmp, ec);
  }
}

FftPlans& FftPlans::global() {
  // Never destroyed: plans may still run while other statics go away at exit.
  static FftPlans* plans = [] {
    const std::string dir = runtime::DiskCache::default_dir();
    return new FftPlans(dir.empty() ? "" : dir + "/fftw3f.wisdom", fft_rigor_from_env());
  }();
  return *plans;
}

void FftPlans::forget_wisdom() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  fftwf_forget_wisdom();
}

int64_t fft_block_rows(SpectralKind kind, int64_t n, int64_t rows, int threads, bool staged) {
  // A staged block's input and output rows in about half of a core's L2 (256 KiB and 512
  // KiB measured alike on a long convolution, 2 MiB and more slower); a block in place at
  // most 64 MiB, which the planner allocates again to plan on.
  constexpr int64_t kStagedBytes = 512 << 10, kInPlaceBytes = 64 << 20;
  const int64_t row_bytes =
      fft_in_len(kind, n) * in_size(kind) + fft_out_len(kind, n) * out_size(kind);
  const int64_t by_size = (staged ? kStagedBytes : kInPlaceBytes) / row_bytes;
  const int64_t per_thread = ceil_div(rows, std::max(threads, 1));
  return std::max<int64_t>(1, std::min(by_size, per_thread));
}

void FftPlans::run(SpectralKind kind, int64_t n, int64_t rows, const void* in, void* out,
                   runtime::cpu::ThreadPool& pool) {
  if (rows <= 0) return;
  const int threads = pool.size();
  const int64_t in_len = fft_in_len(kind, n), out_len = fft_out_len(kind, n);
  auto problem = [&](int64_t count, const void* i, const void* o, int fftw_threads) {
    return fft_rows_problem(kind, n, count, i == o, !fft_aligned(i) || !fft_aligned(o),
                            fftw_threads);
  };
  if (rows < threads) {
    plan(problem(rows, in, out, fft_use_fftw_threads(n, rows, threads) ? threads : 1))
        .execute(in, out);
    return;
  }
  const int64_t block = fft_block_rows(kind, n, rows, threads, false);
  const int64_t blocks = ceil_div(rows, block);
  auto in_at = [&](int64_t b) {
    return static_cast<const uint8_t*>(in) + b * block * in_len * in_size(kind);
  };
  auto out_at = [&](int64_t b) {
    return static_cast<uint8_t*>(out) + b * block * out_len * out_size(kind);
  };
  // Plans are made before the tasks start: measuring while other threads run would
  // disturb the timings the planner takes.
  std::vector<const FftPlan*> plans(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b)
    plans[static_cast<size_t>(b)] =
        &plan(problem(std::min(block, rows - b * block), in_at(b), out_at(b), 1));
  pool.parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) plans[static_cast<size_t>(b)]->execute(in_at(b), out_at(b));
  });
}

}  // namespace kiln::kernels::cpu

#endif  // KILN_HAS_FFTW
