// fft_peer: the hand-written FFTW program that bench/compare sets beside kiln's FFT
// workloads: the best a user writes by hand with FFTW3 (single precision) and plain loops,
// planned with the same rigor as kiln's plans (KILN_FFTW_PLANNER: estimate, measure (the
// default) or patient). Prints one JSON line per run in kiln_bench's form (median seconds,
// bytes, flops, checksums of the result); planning is done before timing.
//
//   fft_peer --workload W [--dims a,b[,c]] [--reps N] [--threads T]
//
// Workloads and their inputs (make_input of bench/workloads.cpp: input_value(i, salt)):
//   fft            c64[rows, n] (dims rows,n; default 1024,4096): real parts
//                  make_input(rows * n, 1), imaginary parts make_input(rows * n, 2) (kiln's
//                  complex(re, im)); one plan over all rows on FFTW's T threads, out of place.
//   rfft           f32[rows, n] (default 1024,4096): make_input(rows * n, 1) -> c64[rows, n/2+1].
//   fftconv        B, H, L (default 8,768,8192; FFT size 2L): u = make_input(B*H*L, 1),
//                  k = make_input(H*L, 2), D = make_input(H, 3), v = make_input(B*H*L, 4):
//                  y = irfft(rfft(u, 2L) * rfft(k, 2L), 2L)[..., :L] (irfft scaled by 1/(2L)
//                  as NumPy's), out = gelu(y + u * D[h]) * v with the exact (erf) gelu.
//                  Rows (b, h) are split across T threads; each pads its row, transforms
//                  it, multiplies by the filter's spectrum, transforms back and runs the
//                  pointwise tail while the row is in cache. rfft(k) is part of the timed
//                  run (H rows, across the threads).
//   fftconv_short  the same with L = 1024 (default 8,768,1024).
// The checksums are over the result's floats (complex results interleaved), as kiln_bench's.
#include <fftw3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Mirror of kiln::bench::input_value (bench/workloads.cpp).
float input_value(uint64_t i, uint64_t salt) {
  uint64_t h = (i * 2654435761u + salt * 40503u) % 1000u;
  return static_cast<float>(h) / 1000.0f - 0.5f;
}

// An FFTW-aligned array of floats.
struct Floats {
  float* p = nullptr;
  size_t n = 0;
  explicit Floats(size_t count) : p(fftwf_alloc_real(count)), n(count) {
    if (!p) throw std::runtime_error("out of memory");
  }
  ~Floats() { fftwf_free(p); }
  Floats(const Floats&) = delete;
  Floats& operator=(const Floats&) = delete;
  fftwf_complex* c() const { return reinterpret_cast<fftwf_complex*>(p); }
};

void fill(Floats& f, uint64_t salt) {
  for (size_t i = 0; i < f.n; ++i) f.p[i] = input_value(i, salt);
}

unsigned rigor() {
  const char* env = std::getenv("KILN_FFTW_PLANNER");
  const std::string v = env ? env : "";
  if (v == "estimate") return FFTW_ESTIMATE;
  if (v == "patient") return FFTW_PATIENT;
  return FFTW_MEASURE;
}

const char* rigor_name() {
  const unsigned r = rigor();
  return r == FFTW_ESTIMATE ? "estimate" : r == FFTW_PATIENT ? "patient" : "measure";
}

// fn(begin, end) over [0, n) split into `threads` contiguous ranges, one thread each.
void parallel_rows(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  std::vector<std::thread> pool;
  const int64_t per = (n + threads - 1) / threads;
  for (int t = 1; t < threads && t * per < n; ++t)
    pool.emplace_back(fn, t * per, std::min(n, (t + 1) * per));
  fn(0, std::min(n, per));
  for (std::thread& th : pool) th.join();
}

struct Checksum {
  double sum = 0, weighted = 0, magnitude = 0;
};

Checksum checksum_of(const float* p, size_t n) {
  Checksum c;
  for (size_t i = 0; i < n; ++i) {
    c.sum += p[i];
    c.weighted += p[i] * static_cast<double>(static_cast<int64_t>(i % 7) - 3);
    c.magnitude += std::abs(static_cast<double>(p[i]));
  }
  return c;
}

struct Workload {
  std::function<void()> run;
  const float* result = nullptr;
  size_t result_floats = 0;
  double bytes = 0, flops = 0;
};

// fft / rfft: one plan over every row, on FFTW's threads.
struct Transform {
  Floats in, out;
  fftwf_plan plan = nullptr;
  Transform(bool real, int64_t rows, int64_t n, int threads)
      : in(static_cast<size_t>(rows * n * (real ? 1 : 2))),
        out(static_cast<size_t>(rows * (real ? n / 2 + 1 : n) * 2)) {
    fftwf_plan_with_nthreads(threads);
    const int len = static_cast<int>(n);
    const int out_len = static_cast<int>(real ? n / 2 + 1 : n);
    // FFTW_MEASURE overwrites the arrays: the inputs are filled after planning.
    plan = real ? fftwf_plan_many_dft_r2c(1, &len, static_cast<int>(rows), in.p, nullptr, 1, len,
                                          out.c(), nullptr, 1, out_len, rigor())
                : fftwf_plan_many_dft(1, &len, static_cast<int>(rows), in.c(), nullptr, 1, len,
                                      out.c(), nullptr, 1, len, FFTW_FORWARD, rigor());
    if (!plan) throw std::runtime_error("FFTW made no plan");
    if (real) {
      fill(in, 1);
    } else {  // kiln's complex(re, im) of two inputs: re salt 1, im salt 2, interleaved
      for (size_t i = 0; i < in.n / 2; ++i) {
        in.p[2 * i] = input_value(i, 1);
        in.p[2 * i + 1] = input_value(i, 2);
      }
    }
  }
  ~Transform() { fftwf_destroy_plan(plan); }
};

// The long convolution of fftconv, rows split across threads, each row in cache.
struct FftConv {
  int64_t B, H, L, N;     // N = 2L, the FFT size
  int64_t bins, kstride;  // L + 1 values per spectrum; filter spectra 64-byte aligned apart
  int threads;
  Floats u, k, D, v, out, kf;
  fftwf_plan r2c = nullptr, c2r = nullptr;
  FftConv(int64_t b, int64_t h, int64_t l, int t)
      : B(b),
        H(h),
        L(l),
        N(2 * l),
        bins(l + 1),
        kstride((l + 8) / 8 * 8),
        threads(t),
        u(static_cast<size_t>(b * h * l)),
        k(static_cast<size_t>(h * l)),
        D(static_cast<size_t>(h)),
        v(static_cast<size_t>(b * h * l)),
        out(static_cast<size_t>(b * h * l)),
        kf(static_cast<size_t>(h * kstride * 2)) {
    // One-row plans, run on each thread's own arrays (new-array execution).
    Floats a(static_cast<size_t>(N)), s(static_cast<size_t>((L + 1) * 2));
    fftwf_plan_with_nthreads(1);
    r2c = fftwf_plan_dft_r2c_1d(static_cast<int>(N), a.p, s.c(), rigor());
    c2r = fftwf_plan_dft_c2r_1d(static_cast<int>(N), s.c(), a.p, rigor());
    if (!r2c || !c2r) throw std::runtime_error("FFTW made no plan");
    fill(u, 1);
    fill(k, 2);
    fill(D, 3);
    fill(v, 4);
  }
  ~FftConv() {
    fftwf_destroy_plan(r2c);
    fftwf_destroy_plan(c2r);
  }

  // The padded row `src` (L values) to its spectrum `dst` (L + 1 complex values).
  void spectrum(const float* src, float* row, fftwf_complex* dst) const {
    std::memcpy(row, src, static_cast<size_t>(L) * sizeof(float));
    std::memset(row + L, 0, static_cast<size_t>(L) * sizeof(float));
    fftwf_execute_dft_r2c(r2c, row, dst);
  }

  void run() {
    parallel_rows(H, threads, [&](int64_t h0, int64_t h1) {
      Floats row(static_cast<size_t>(N));
      for (int64_t h = h0; h < h1; ++h) spectrum(k.p + h * L, row.p, kf.c() + h * kstride);
    });
    parallel_rows(B * H, threads, [&](int64_t r0, int64_t r1) {
      Floats row(static_cast<size_t>(N)), spec(static_cast<size_t>(bins * 2));
      const float scale = 1.0f / static_cast<float>(N);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t h = r % H;
        const float* ur = u.p + r * L;
        spectrum(ur, row.p, spec.c());
        auto* x = reinterpret_cast<std::complex<float>*>(spec.p);
        const auto* f = reinterpret_cast<const std::complex<float>*>(kf.p) + h * kstride;
        for (int64_t i = 0; i < bins; ++i) x[i] *= f[i];
        fftwf_execute_dft_c2r(c2r, spec.c(), row.p);
        const float d = D.p[h];
        const float* vr = v.p + r * L;
        float* o = out.p + r * L;
        for (int64_t t = 0; t < L; ++t) {
          const float z = row.p[t] * scale + ur[t] * d;
          o[t] = 0.5f * z * (1.0f + std::erf(z * 0.70710678118654752f)) * vr[t];
        }
      }
    });
  }
};

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  for (size_t start = 0; start <= text.size();) {
    size_t end = std::min(text.find(',', start), text.size());
    dims.push_back(std::stoll(text.substr(start, end - start)));
    start = end + 1;
  }
  return dims;
}

double seconds_of(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string workload, dims_text;
  int reps = 15;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--workload")
      workload = value;
    else if (flag == "--dims")
      dims_text = value;
    else if (flag == "--reps")
      reps = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--threads")
      threads = std::max(1, std::atoi(value.c_str()));
    else {
      std::fprintf(stderr, "fft_peer: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    if (fftwf_init_threads() == 0) throw std::runtime_error("fftwf_init_threads failed");
    std::vector<int64_t> dims;
    if (workload == "fft" || workload == "rfft")
      dims = {1024, 4096};
    else if (workload == "fftconv")
      dims = {8, 768, 8192};
    else if (workload == "fftconv_short")
      dims = {8, 768, 1024};
    else
      throw std::runtime_error("unknown workload '" + workload +
                               "' (fft, rfft, fftconv, fftconv_short)");
    if (!dims_text.empty()) dims = parse_dims(dims_text);
    const size_t want = workload.rfind("fftconv", 0) == 0 ? 3 : 2;
    if (dims.size() != want)
      throw std::runtime_error("--dims takes " + std::to_string(want) + " values");

    Workload w;
    std::unique_ptr<Transform> transform;
    std::unique_ptr<FftConv> conv;
    std::string note = std::string("FFTW ") + fftwf_version + ", " + rigor_name() + ", " +
                       std::to_string(threads) + " threads";
    if (want == 2) {
      const bool real = workload == "rfft";
      const int64_t rows = dims[0], n = dims[1];
      transform = std::make_unique<Transform>(real, rows, n, threads);
      Transform* t = transform.get();
      w.run = [t] { fftwf_execute(t->plan); };
      w.result = t->out.p;
      w.result_floats = t->out.n;
      w.bytes = static_cast<double>((t->in.n + t->out.n) * sizeof(float));
      w.flops =
          (real ? 2.5 : 5.0) * static_cast<double>(rows * n) * std::log2(static_cast<double>(n));
      note += real ? ", plan_many r2c" : ", plan_many c2c";
    } else {
      conv = std::make_unique<FftConv>(dims[0], dims[1], dims[2], threads);
      FftConv* c = conv.get();
      w.run = [c] { c->run(); };
      w.result = c->out.p;
      w.result_floats = c->out.n;
      // u, v read, out written, k and D read once.
      w.bytes = static_cast<double>((3 * c->u.n + c->k.n + c->D.n) * sizeof(float));
      // Two real transforms of size 2L per row and one per filter row.
      const double n = static_cast<double>(c->N);
      w.flops = 2.5 * n * std::log2(n) * static_cast<double>(2 * c->B * c->H + c->H);
      note += ", r2c/c2r per row on std::threads";
    }
    w.run();  // warm-up (first touches of the outputs)
    std::vector<double> times;
    for (int i = 0; i < reps; ++i) times.push_back(seconds_of(w.run));
    std::sort(times.begin(), times.end());
    const Checksum sum = checksum_of(w.result, w.result_floats);
    std::string dims_json;
    for (int64_t d : dims) dims_json += (dims_json.empty() ? "" : ",") + std::to_string(d);
    std::printf(
        "{\"workload\": \"%s\", \"impl\": \"fftw\", \"device\": \"cpu\", \"seconds\": %.9g, "
        "\"min_seconds\": %.9g, \"bytes\": %.17g, \"flops\": %.17g, \"checksum\": %.17g, "
        "\"weighted_checksum\": %.17g, \"magnitude\": %.17g, \"note\": \"%s\", \"dims\": [%s], "
        "\"reps\": %zu, \"threads\": %d}\n",
        workload.c_str(), times[times.size() / 2], times.front(), w.bytes, w.flops, sum.sum,
        sum.weighted, sum.magnitude, note.c_str(), dims_json.c_str(), times.size(), threads);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fft_peer: %s\n", e.what());
    return 1;
  }
}
