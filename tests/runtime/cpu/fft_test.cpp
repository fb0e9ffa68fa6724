// The CPU library FFT: FFTW's plan cache and rows executor (kernels/cpu/fft_plan.h)
// against a plain DFT in double for every kind, lengths 1..64, primes and powers of two,
// split across threads or on FFTW's threads, aligned and not; the wisdom file (written,
// read back by a second plan cache, a corrupt or unreadable one ignored); and CpuFft
// (kernels/cpu/fft.h) on hand-built DFT kernels with a Spectral description (pack and
// epilogue kernels, the direct paths, batch variables split into rows) and on the CPU
// device's graphs against the reference evaluator, checking that the library ran them.
// The transforms of every length and kind through the device are tests/runtime/fft_test.cpp.
#include "kernels/cpu/fft.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "codegen/program.h"
#include "codegen/spectral.h"
#include "passes/pipeline.h"
#include "runtime/cpu/jit.h"
#include "runtime/cpu/thread_pool.h"
#include "tests/runtime/cpu/cpu_test_util.h"

#if KILN_HAS_FFTW

namespace kiln::testing {
namespace {

using codegen::SpectralKind;
using kernels::cpu::FftPlans;
using kernels::cpu::FftRigor;
using cd = std::complex<double>;

bool real_input(SpectralKind k) { return k == SpectralKind::RealForward; }
bool real_output(SpectralKind k) { return k == SpectralKind::RealInverse; }

// Outputs `ks` of one row of the DFT in double: in_len inputs (complex, or reals as
// complex), unnormalized, sign -1 forward. A c2r input is the non-negative half of a
// Hermitian spectrum whose zero (and n/2) frequencies' imaginary parts are ignored.
std::vector<cd> dft(SpectralKind kind, int64_t n, const std::vector<cd>& x,
                    const std::vector<int64_t>& ks) {
  std::vector<cd> full(static_cast<size_t>(n));
  if (kind == SpectralKind::RealInverse) {
    for (int64_t k = 0; k < n; ++k) {
      const int64_t h = k <= n / 2 ? k : n - k;
      cd v = x[static_cast<size_t>(h)];
      if (h == 0 || 2 * h == n) v = v.real();
      full[static_cast<size_t>(k)] = k <= n / 2 ? v : std::conj(v);
    }
  } else {
    full = x;
  }
  const double sign = kind == SpectralKind::Forward || kind == SpectralKind::RealForward ? -1 : 1;
  std::vector<cd> twiddle(static_cast<size_t>(n));
  for (int64_t m = 0; m < n; ++m)
    twiddle[static_cast<size_t>(m)] = std::polar(1.0, sign * 2 * M_PI * double(m) / double(n));
  std::vector<cd> y;
  for (int64_t k : ks) {
    cd s = 0;
    for (int64_t j = 0, m = 0; j < n; ++j, m = m + k >= n ? m + k - n : m + k)
      s += full[static_cast<size_t>(j)] * twiddle[static_cast<size_t>(m)];
    y.push_back(kind == SpectralKind::RealInverse ? cd(s.real()) : s);
  }
  return y;
}

// Rows of random inputs as floats (interleaved complex, or reals).
struct Rows {
  SpectralKind kind;
  int64_t n, rows, in_len, out_len;
  std::vector<float> in;

  Rows(SpectralKind k, int64_t n_, int64_t rows_, uint32_t seed)
      : kind(k),
        n(n_),
        rows(rows_),
        in_len(kernels::cpu::fft_in_len(k, n_)),
        out_len(kernels::cpu::fft_out_len(k, n_)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1, 1);
    in.resize(static_cast<size_t>(rows * in_len * (real_input(k) ? 1 : 2)));
    for (float& v : in) v = u(rng);
  }
  size_t out_floats() const {
    return static_cast<size_t>(rows * out_len * (real_output(kind) ? 1 : 2));
  }
  cd input(int64_t r, int64_t j) const {
    const float* p = in.data() + (r * in_len + j) * (real_input(kind) ? 1 : 2);
    return real_input(kind) ? cd(p[0]) : cd(p[0], p[1]);
  }
  // The largest error of `out` (laid out like the rows' output) against the DFT, and the
  // bound it must stay under (float rounding growing as sqrt(n) log n). Long rows are
  // checked at about a hundred outputs each (the DFT in double costs n per output).
  // With `width`, `out` holds only the first `width` outputs of each row (a crop).
  void expect_close(const float* out, const std::string& what, int64_t width = 0) const {
    if (width == 0) width = out_len;
    std::vector<int64_t> ks;
    const int64_t step = width > 4096 ? width / 97 : 1;
    for (int64_t k = 0; k < width; k += step) ks.push_back(k);
    if (ks.back() != width - 1) ks.push_back(width - 1);
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<cd> x(static_cast<size_t>(in_len));
      for (int64_t j = 0; j < in_len; ++j) x[static_cast<size_t>(j)] = input(r, j);
      std::vector<cd> y = dft(kind, n, x, ks);
      for (size_t i = 0; i < ks.size(); ++i) {
        const float* p = out + (r * width + ks[i]) * (real_output(kind) ? 1 : 2);
        const cd got = real_output(kind) ? cd(p[0]) : cd(p[0], p[1]);
        worst = std::max(worst, std::abs(got - y[i]));
      }
    }
    const double bound = 2e-6 * std::sqrt(double(n)) * (std::log2(double(n)) + 2) * 4;
    EXPECT_LE(worst, bound) << what;
  }
};

std::string name_of(SpectralKind k, int64_t n, int64_t rows) {
  const char* names[] = {"c2c forward", "c2c inverse", "r2c", "c2r"};
  return std::string(names[static_cast<int>(k)]) + " n=" + std::to_string(n) +
         " rows=" + std::to_string(rows);
}

const SpectralKind kKinds[] = {SpectralKind::Forward, SpectralKind::Inverse,
                               SpectralKind::RealForward, SpectralKind::RealInverse};

// A fresh directory under the temporary directory, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("kiln-fft-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Runs `rows` through `plans` on `pool`, `shift` floats past a 64-byte boundary (an
// unaligned array from 1 on), and checks them against the DFT.
void check_rows(FftPlans& plans, runtime::cpu::ThreadPool& pool, SpectralKind kind, int64_t n,
                int64_t rows, int shift = 0) {
  Rows data(kind, n, rows, static_cast<uint32_t>(n * 131 + rows));
  std::vector<float> in(data.in.size() + 16 + 64), out(data.out_floats() + 16 + 64);
  auto at = [shift](std::vector<float>& v) {
    auto p = reinterpret_cast<uintptr_t>(v.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63}) + shift;
  };
  float* src = at(in);
  float* dst = at(out);
  std::copy(data.in.begin(), data.in.end(), src);  // c2r destroys its input
  plans.run(kind, n, rows, src, dst, pool);
  data.expect_close(dst, name_of(kind, n, rows) + " shift=" + std::to_string(shift));
}

TEST(CpuFftPlans, EveryLengthUpTo64) {
  FftPlans plans("", FftRigor::Estimate);
  runtime::cpu::ThreadPool pool(1);
  for (SpectralKind kind : kKinds)
    for (int64_t n = 1; n <= 64; ++n) check_rows(plans, pool, kind, n, 3);
}

TEST(CpuFftPlans, PrimesAndPowersOfTwoAcrossThreads) {
  FftPlans plans("", FftRigor::Estimate);
  runtime::cpu::ThreadPool pool(3);
  for (SpectralKind kind : kKinds)
    for (int64_t n : {97, 127, 128, 257, 1000, 1024, 2048}) {
      check_rows(plans, pool, kind, n, 1);   // fewer rows than threads
      check_rows(plans, pool, kind, n, 10);  // blocks of rows across the pool
    }
}

TEST(CpuFftPlans, UnalignedArrays) {
  FftPlans plans("", FftRigor::Estimate);
  runtime::cpu::ThreadPool pool(2);
  for (SpectralKind kind : kKinds)
    for (int shift : {1, 2}) check_rows(plans, pool, kind, 64, 7, shift);
}

TEST(CpuFftPlans, OneLongTransformOnFftwThreads) {
  FftPlans plans("", FftRigor::Estimate);
  runtime::cpu::ThreadPool pool(4);
  ASSERT_TRUE(kernels::cpu::fft_use_fftw_threads(1 << 15, 1, pool.size()));
  check_rows(plans, pool, SpectralKind::Forward, 1 << 15, 1);
  check_rows(plans, pool, SpectralKind::RealInverse, 1 << 14, 2);
}

TEST(CpuFftPlans, PlansAreCached) {
  FftPlans plans("", FftRigor::Estimate);
  runtime::cpu::ThreadPool pool(1);
  const auto problem =
      kernels::cpu::fft_rows_problem(SpectralKind::Forward, 32, 4, false, false, 1);
  const kernels::cpu::FftPlan& a = plans.plan(problem);
  const kernels::cpu::FftPlan& b = plans.plan(problem);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(plans.plans_made(), 1);
  check_rows(plans, pool, SpectralKind::Forward, 32, 4);
  check_rows(plans, pool, SpectralKind::Forward, 32, 4);
  EXPECT_EQ(plans.plans_made(), 1);
}

TEST(CpuFftPlans, BlockRows) {
  using kernels::cpu::fft_block_rows;
  // In place: one block per thread. Staged: 512 KiB of rows (8 of c64[4096] in and out).
  EXPECT_EQ(fft_block_rows(SpectralKind::Forward, 4096, 1024, 4, false), 256);
  EXPECT_EQ(fft_block_rows(SpectralKind::Forward, 4096, 1024, 4, true), 8);
  EXPECT_EQ(fft_block_rows(SpectralKind::RealForward, 4096, 1024, 4, true), 15);
  EXPECT_EQ(fft_block_rows(SpectralKind::Forward, 4096, 3, 4, true), 1);
  EXPECT_EQ(fft_block_rows(SpectralKind::Forward, 1 << 20, 64, 4, true), 1);
  // In place, at most 64 MiB of rows (the planner allocates a block again to plan on).
  EXPECT_EQ(fft_block_rows(SpectralKind::RealForward, 16384, 6144, 2, false), 511);
}

TEST(CpuFftWisdom, WrittenAndReadBack) {
  TempDir dir;
  const std::string path = (dir.path / "sub" / "fftw3f.wisdom").string();
  const auto problem =
      kernels::cpu::fft_rows_problem(SpectralKind::RealForward, 48, 2, false, false, 1);
  {
    FftPlans first(path, FftRigor::Measure);
    EXPECT_FALSE(first.wisdom_loaded());
    first.plan(problem);
    EXPECT_TRUE(std::filesystem::exists(path));
    FftPlans::forget_wisdom();
    // Forgotten: only the file can bring it back.
    EXPECT_FALSE(first.wisdom_covers(problem));
  }
  FftPlans second(path, FftRigor::Measure);
  EXPECT_TRUE(second.wisdom_loaded());
  EXPECT_TRUE(second.wisdom_covers(problem));
  // No temporary files left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path / "sub"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(CpuFftWisdom, CorruptFileIsIgnoredAndRewritten) {
  TempDir dir;
  const std::string path = (dir.path / "fftw3f.wisdom").string();
  for (const std::string& junk : {std::string("(fftw-3.3.10 fftwf_wisdom #x12345678 (broken"),
                                  std::string("\x01\xff\x00garbage", 10), std::string()}) {
    {
      std::ofstream f(path, std::ios::binary);
      f << junk;
    }
    FftPlans::forget_wisdom();
    FftPlans plans(path, FftRigor::Estimate);
    EXPECT_FALSE(plans.wisdom_loaded());
    runtime::cpu::ThreadPool pool(1);
    check_rows(plans, pool, SpectralKind::Inverse, 40, 2);
    // The next process reads what this one wrote.
    FftPlans next(path, FftRigor::Estimate);
    EXPECT_TRUE(next.wisdom_loaded());
  }
}

TEST(CpuFftWisdom, UnreadableFileIsIgnored) {
  TempDir dir;
  // A directory where the file should be: it can be neither read nor replaced.
  const std::filesystem::path path = dir.path / "fftw3f.wisdom";
  std::filesystem::create_directories(path);
  FftPlans plans(path.string(), FftRigor::Estimate);
  EXPECT_FALSE(plans.wisdom_loaded());
  runtime::cpu::ThreadPool pool(1);
  check_rows(plans, pool, SpectralKind::Forward, 24, 2);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

// ---- CpuFft on hand-built DFT kernels ----

// A DFT kernel over batch [B0][B1] of the kind's rows, described by a Spectral. Its
// Reduce stage is a placeholder (CpuFft runs the transform, never the loop nest). With
// `pad`, the input rows are 3 shorter and zero-padded to in_len (the pack kernel reads
// them); with `scale`, the epilogue stores 2 * the transform (the epilogue kernel runs);
// with `crop`, it stores only the first half of each row's outputs.
codegen::Kernel dft_kernel(SpectralKind kind, int64_t n, int64_t B0, int64_t B1, bool pad,
                           bool scale, bool crop) {
  using namespace codegen;
  auto s = std::make_shared<Spectral>();
  s->kind = kind;
  s->n = n;
  s->in_len = kernels::cpu::fft_in_len(kind, n);
  s->out_len = kernels::cpu::fft_out_len(kind, n);
  if (crop) s->out_len = std::max<int64_t>(1, s->out_len / 2);
  const int64_t src_len = pad ? std::max<int64_t>(1, s->in_len - 3) : s->in_len;
  const DType in_t = s->input_dtype(), acc = s->acc_dtype();
  Kernel k;
  k.name = "dft";
  k.num_vars = 4;  // b0, b1, k, j
  k.buffers = {BufferParam{in_t, B0 * B1 * src_len, true, false, false},
               BufferParam{acc, B0 * B1 * s->out_len, false, true, false}};
  k.outer = {Loop{0, B0, nullptr, nullptr}, Loop{1, B1, nullptr, nullptr},
             Loop{2, s->out_len, nullptr, nullptr}};
  ExprPtr row = iadd(imul(var(0, B0), B1), var(1, B1));
  ExprPtr j = var(3, s->in_len);
  ExprPtr x = load(in_t, 0, iadd(imul(row, src_len), pad ? imin(j, index_const(src_len - 1)) : j));
  if (pad) x = select(ilt(j, index_const(src_len)), x, const_of(in_t, 0));
  s->batch = VarSet{{0, 1}, {B0, B1}};
  s->out_var = 2;
  s->in_var = 3;
  s->input = x;
  Stage sum;
  sum.kind = StageKind::Reduce;
  sum.loops = {Loop{3, s->in_len, nullptr, nullptr}};
  sum.acc_dtype = acc;
  sum.value = cast(acc, x);
  Stage epi;
  epi.kind = StageKind::Loop;
  ExprPtr value = stage_value(acc, 0);
  if (scale) value = binary(ir::OpKind::Mul, acc, value, const_of(acc, 2));
  epi.stores.push_back(
      Store{1, iadd(imul(row, s->out_len), var(2, s->out_len)), value, nullptr, 0});
  k.stages = {sum, epi};
  k.spectral = s;
  return k;
}

void check_cpu_fft(SpectralKind kind, int64_t n, int64_t B0, int64_t B1, bool pad, bool scale,
                   int threads, bool crop = false) {
  static runtime::cpu::ObjectLoader loader;
  static int serial = 0;
  const std::string what = name_of(kind, n, B0 * B1) + (pad ? " padded" : "") +
                           (scale ? " scaled" : "") + (crop ? " cropped" : "") +
                           " threads=" + std::to_string(threads);
  codegen::Kernel kernel = dft_kernel(kind, n, B0, B1, pad, scale, crop);
  auto fk = kernels::cpu::host_fft_kernels(kernel);
  ASSERT_TRUE(fk) << what;
  const int64_t rows = B0 * B1;
  const int64_t src_len = kernel.buffers[0].numel / rows;
  const bool padded = src_len < fk->spectral.in_len;
  EXPECT_EQ(fk->direct_input.has_value(), !padded && kind != SpectralKind::RealInverse) << what;
  const int64_t width = fk->spectral.out_len;
  EXPECT_EQ(fk->direct_output.has_value(), !scale && width == kernels::cpu::fft_out_len(kind, n))
      << what;
  auto object = kernels::cpu::compile_fft_object(*fk, "fft_test_" + std::to_string(serial++));
  std::vector<runtime::cpu::KernelFn> fns = loader.load(object.object, object.names);
  FftPlans plans("", FftRigor::Estimate);
  kernels::cpu::CpuFft fft(kernel, *fk, fns, plans);

  Rows data(kind, n, rows, static_cast<uint32_t>(n + 7 * rows));
  // The source rows: the first src_len values of each row (the rest is the padding's 0).
  const int64_t floats = real_input(kind) ? 1 : 2;  // per input value
  std::vector<float> src(static_cast<size_t>(rows * src_len * floats));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < data.in_len; ++j)
      for (int64_t c = 0; c < floats; ++c) {
        float& v = data.in[static_cast<size_t>((r * data.in_len + j) * floats + c)];
        if (j >= src_len)
          v = 0;
        else
          src[static_cast<size_t>((r * src_len + j) * floats + c)] = v;
      }
  std::vector<float> out(static_cast<size_t>(kernel.buffers[1].numel * (real_output(kind) ? 1 : 2)),
                         -1);
  uint8_t* buffers[] = {reinterpret_cast<uint8_t*>(src.data()),
                        reinterpret_cast<uint8_t*>(out.data())};
  const std::vector<float> before = src;
  runtime::cpu::ThreadPool pool(threads);
  const int64_t runs = kernels::cpu::fft_library_runs();
  fft.run(buffers, nullptr, pool);
  EXPECT_EQ(kernels::cpu::fft_library_runs(), runs + 1);
  if (scale)
    for (float& v : out) v *= 0.5f;
  data.expect_close(out.data(), what, width);
  EXPECT_EQ(src, before) << what << ": the input changed";
}

TEST(CpuFftKernels, HandBuiltKernels) {
  for (SpectralKind kind : kKinds)
    for (int64_t n : {1, 7, 16, 100})
      for (bool pad : {false, true})
        for (bool scale : {false, true}) check_cpu_fft(kind, n, 2, 3, pad, scale, 2);
}

TEST(CpuFftKernels, CroppedEpilogue) {
  // The epilogue reads the first half of each row the library wrote (the causal crop of a
  // long convolution).
  for (SpectralKind kind : kKinds)
    for (int64_t n : {9, 32}) check_cpu_fft(kind, n, 3, 2, true, false, 2, true);
}

TEST(CpuFftKernels, BlocksAcrossThreadsAndFftwThreads) {
  // Many rows in blocks over three threads; then two long rows on FFTW's threads.
  check_cpu_fft(SpectralKind::Forward, 256, 5, 7, true, true, 3);
  check_cpu_fft(SpectralKind::RealForward, 256, 5, 7, false, false, 3);
  ASSERT_TRUE(kernels::cpu::fft_use_fftw_threads(1 << 14, 2, 4));
  check_cpu_fft(SpectralKind::RealInverse, 1 << 14, 1, 2, true, true, 4);
  check_cpu_fft(SpectralKind::Inverse, 1 << 14, 1, 2, false, false, 4);
}

// ---- graphs on the CPU device ----

using ir::AttrValue;

// The library FFTs of `graph`'s kernels on the CPU device (kernels the library runs).
std::vector<codegen::FftKernels> library_ffts(const ir::Graph& graph) {
  ir::Graph g = graph;
  passes::optimize_graph(g);
  codegen::Program p = codegen::build_program(g, cpu().lower_options());
  std::vector<codegen::FftKernels> out;
  for (const codegen::Kernel& k : p.kernels)
    if (auto f = kernels::cpu::host_fft_kernels(k)) out.push_back(std::move(*f));
  return out;
}

// Runs `g` on the CPU device against the reference; `transforms` library FFTs must run.
void expect_on_library(const ir::Graph& g, size_t transforms, int64_t n, const std::string& what) {
  EXPECT_EQ(library_ffts(g).size(), transforms) << what;
  const int64_t before = kernels::cpu::fft_library_runs();
  expect_matches_reference(cpu(), g, 11, Values::Normal,
                           Tolerance{2e-4, 1e-5 + 4e-6 * static_cast<double>(n)}, what);
  EXPECT_EQ(kernels::cpu::fft_library_runs() - before, static_cast<int64_t>(transforms)) << what;
}

TEST(CpuFftGraphs, PlainRowsAreTransformedInPlace) {
  GraphBuilder g;
  NodePtr x = g.param({DType::C64, {6, 256}});
  NodePtr r = g.param({DType::F32, {5, 200}});
  g.result(g.add(OpKind::Fft, {x}, {AttrValue(int64_t{1}), AttrValue(false)}));
  g.result(g.add(OpKind::Rfft, {r}, {AttrValue(int64_t{1})}));
  // Neither packs nor finishes its rows: FFTW reads the input and writes the output.
  for (const codegen::FftKernels& f : library_ffts(g.g)) {
    EXPECT_TRUE(f.direct_input.has_value());
    EXPECT_TRUE(f.direct_output.has_value());
  }
  expect_on_library(g.g, 2, 256, "fft and rfft of plain rows");
}

TEST(CpuFftGraphs, NonLastAxesArePackedAndFinished) {
  GraphBuilder g;
  NodePtr x = g.param({DType::C64, {48, 7}});
  NodePtr h = g.param({DType::C64, {4, 33, 3}});
  g.result(g.add(OpKind::Fft, {x}, {AttrValue(int64_t{0}), AttrValue(true)}));
  g.result(g.add(OpKind::Irfft, {h},
                 {AttrValue(int64_t{1}), AttrValue(int64_t{64}), AttrValue(int64_t{64})}));
  for (const codegen::FftKernels& f : library_ffts(g.g)) {
    EXPECT_FALSE(f.direct_input.has_value());
    EXPECT_FALSE(f.direct_output.has_value());
  }
  expect_on_library(g.g, 2, 64, "ifft along axis 0, irfft along the middle axis");
}

TEST(CpuFftGraphs, LongConvolution) {
  // The long convolution of a Hyena / M2-BERT mixer at a small size, the crop to the
  // first L values fused into the irfft (its length):
  // tanh(irfft(rfft(pad(u)) * K)[..., :L] + u * D) * v.
  const int64_t B = 2, H = 3, L = 50, N = 128;
  GraphBuilder g;
  NodePtr u = g.param({DType::F32, {B, H, L}});
  NodePtr K = g.param({DType::C64, {B, H, N / 2 + 1}});
  NodePtr D = g.param({DType::F32, {B, H, L}});
  NodePtr v = g.param({DType::F32, {B, H, L}});
  NodePtr padded = g.add(OpKind::Pad, {u},
                         {AttrValue(std::vector<int64_t>{0, 0, 0}),
                          AttrValue(std::vector<int64_t>{0, 0, N - L}), AttrValue(0.0)});
  NodePtr U = g.add(OpKind::Rfft, {padded}, {AttrValue(int64_t{2})});
  NodePtr y = g.add(OpKind::Irfft, {g.add(OpKind::Mul, {U, K})},
                    {AttrValue(int64_t{2}), AttrValue(N), AttrValue(L)});
  NodePtr z = g.add(OpKind::Add, {y, g.add(OpKind::Mul, {u, D})});
  g.result(g.add(OpKind::Mul, {g.add(OpKind::Tanh, {z}), v}));
  // The irfft's epilogue reads the first L of each row the library wrote.
  std::vector<codegen::FftKernels> ffts = library_ffts(g.g);
  auto inverse = std::find_if(ffts.begin(), ffts.end(), [](const codegen::FftKernels& f) {
    return f.spectral.kind == SpectralKind::RealInverse;
  });
  ASSERT_NE(inverse, ffts.end());
  EXPECT_EQ(inverse->spectral.out_len, L);
  EXPECT_FALSE(inverse->direct_output.has_value());
  expect_on_library(g.g, 2, N * (N / 2 + 1), "long convolution");
}

}  // namespace
}  // namespace kiln::testing

#endif  // KILN_HAS_FFTW
