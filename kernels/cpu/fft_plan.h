// fft_plan: the CPU's library FFTs through FFTW3 (single precision): plans made once per
// problem and cached, FFTW wisdom kept on disk, and an executor that runs a batch of
// contiguous rows over kiln's thread pool.
//
// A problem (FftProblem) is `rows` transforms of length n of one kind (codegen/spectral.h:
// c2c forward / inverse, r2c, c2r; all unnormalized), row r of the input at in + r *
// in_dist elements and of the output at out + r * out_dist. FFTW's planner is not thread
// safe: every call into it holds one process-wide mutex; executing a plan on new arrays
// (fftwf_execute_dft & co.) is, so rows run in parallel. FFTW requires the arrays of a
// new-array execution to be aligned like those the plan was made for: plans are made on
// SIMD-aligned arrays, and arrays that are not (fftwf_alignment_of) use a plan made with
// FFTW_UNALIGNED. A c2r transform destroys its input (FFTW's default for c2r): callers pass
// a scratch copy.
//
// Wisdom: FftPlans imports the wisdom file once (at construction) and writes it back
// after it made new plans (a temporary file renamed into place); a file that is missing,
// unreadable or that FFTW does not accept is ignored with a log line. The process's plans
// keep their wisdom in KILN_CACHE_DIR (the kernel cache's directory, runtime/disk_cache.h)
// as fftw3f.wisdom. The planner's rigor comes from KILN_FFTW_PLANNER: estimate, measure
// (the default) or patient.
// Built only with KILN_HAS_FFTW. Tests: tests/runtime/cpu/fft_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "codegen/fft_kernels.h"
#include "codegen/spectral.h"
#include "runtime/cpu/thread_pool.h"

namespace kiln::kernels::cpu {

using codegen::fft_in_len;
using codegen::fft_out_len;
using codegen::SpectralKind;

// The planner's rigor (FFTW_ESTIMATE, FFTW_MEASURE, FFTW_PATIENT).
enum class FftRigor : uint8_t { Estimate, Measure, Patient };

// KILN_FFTW_PLANNER's rigor; Measure when unset (an unknown value is logged).
FftRigor fft_rigor_from_env();

struct FftProblem {
  SpectralKind kind = SpectralKind::Forward;
  int64_t n = 1;
  int64_t rows = 1;
  int64_t in_dist = 0, out_dist = 0;  // elements between rows (0: the row lengths)
  bool in_place = false;              // the input and the output share their first element
  bool unaligned = false;             // arrays not aligned for SIMD (FFTW_UNALIGNED)
  int threads = 1;                    // FFTW's own threads for the plan

  auto operator<=>(const FftProblem&) const = default;
};

// The problem of `rows` contiguous rows (the row lengths apart).
FftProblem fft_rows_problem(SpectralKind kind, int64_t n, int64_t rows, bool in_place,
                            bool unaligned, int threads);
// Whether FFTW sees `p` as SIMD-aligned (arrays that are not need FFTW_UNALIGNED plans).
bool fft_aligned(const void* p);
// Whether FFTW's own threads pay for `rows` transforms of length n (a long transform).
bool fft_use_fftw_threads(int64_t n, int64_t rows, int threads);

// One FFTW plan; run it on any arrays of the problem's layout (and its alignment class).
class FftPlan {
 public:
  FftPlan(const FftProblem& problem, void* plan) : problem_(problem), plan_(plan) {}
  ~FftPlan();
  FftPlan(const FftPlan&) = delete;
  FftPlan& operator=(const FftPlan&) = delete;

  const FftProblem& problem() const { return problem_; }
  // Transforms the problem's rows from `in` to `out` (complex values as float pairs).
  void execute(const void* in, void* out) const;

 private:
  FftProblem problem_;
  void* plan_;  // fftwf_plan
};

class FftPlans {
 public:
  // `wisdom_path` empty: no wisdom file.
  FftPlans(std::string wisdom_path, FftRigor rigor);

  // The plan of `problem` (made on first use; never null: FFTW plans every size).
  const FftPlan& plan(const FftProblem& problem);

  // Runs `rows` rows of `kind` and length n from `in` to `out`, rows contiguous (the row
  // lengths apart), split across `pool` by rows; where rows are fewer than the pool's
  // threads, one plan over all rows with FFTW's threads. A c2r input is destroyed.
  void run(SpectralKind kind, int64_t n, int64_t rows, const void* in, void* out,
           runtime::cpu::ThreadPool& pool);

  // Whether the wisdom file was read and accepted at construction.
  bool wisdom_loaded() const { return wisdom_loaded_; }
  // Plans made by this object (not found in its cache).
  int64_t plans_made() const { return plans_made_; }
  // Whether FFTW's wisdom already holds a plan for `problem` at this object's rigor (a
  // plan made with FFTW_WISDOM_ONLY). For tests of the wisdom file.
  bool wisdom_covers(const FftProblem& problem) const;
  const std::string& wisdom_path() const { return wisdom_path_; }

  // The process's plans: wisdom in the kernel cache's directory, rigor from the environment.
  static FftPlans& global();
  // Forgets the process's accumulated wisdom (FFTW's, not the files). For tests.
  static void forget_wisdom();

 private:
  void write_wisdom() const;

  std::string wisdom_path_;
  FftRigor rigor_;
  bool wisdom_loaded_ = false;
  int64_t plans_made_ = 0;
  std::map<FftProblem, std::unique_ptr<FftPlan>> plans_;  // guarded by the planner's mutex
};

// Rows per block of an executor on `threads` threads: one block per thread where FFTW
// reads and writes the rows in place (up to 64 MiB of rows: FFTW's r2c was measured about
// 20% faster on long batches than on cache-sized ones), and blocks whose rows stay in a
// core's cache where they are `staged` (packed before and finished after the transform).
int64_t fft_block_rows(SpectralKind kind, int64_t n, int64_t rows, int threads, bool staged);

}  // namespace kiln::kernels::cpu
