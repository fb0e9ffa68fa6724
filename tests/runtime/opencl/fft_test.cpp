// kiln's OpenCL FFT (kernels/opencl/fft.h) on the test device against a plain DFT in
// double: hand-built DFT kernels with a transform description (codegen/spectral.h) of every
// kind, every length from 1 to 64, primes (Bluestein), powers of two, batched rows and rows
// along a non-last axis, and the several-pass path (local memory limited to a few points).

#include "kernels/opencl/fft.h"

#include <algorithm>
#include <complex>

#include "opencl_test_util.h"
#include "runtime/driver.h"

namespace kiln::testing {
namespace {

using codegen::Spectral;
using codegen::SpectralKind;
using runtime::opencl::OpenCLDevice;
using cd = std::complex<double>;

struct Case {
  SpectralKind kind = SpectralKind::Forward;
  int64_t rows = 1, n = 1;
  bool strided = false;      // rows along axis 1 of [len, rows] (the transform along axis 0)
  bool real_values = false;  // complex inputs with zero imaginary parts
};

int64_t in_len(const Case& c) { return c.kind == SpectralKind::RealInverse ? c.n / 2 + 1 : c.n; }
int64_t out_len(const Case& c) { return c.kind == SpectralKind::RealForward ? c.n / 2 + 1 : c.n; }

// The DFT loop nest of `c` with its transform description; the epilogue halves the result.
codegen::Kernel dft_kernel(const Case& c) {
  using namespace codegen;
  auto s = std::make_shared<Spectral>();
  s->kind = c.kind;
  s->n = c.n;
  const DType in = s->input_dtype(), acc = s->acc_dtype();
  Kernel k;
  k.name = "dft";
  k.num_vars = 3;
  ExprPtr b = var(0, c.rows), kk = var(1, out_len(c)), j = var(2, in_len(c));
  k.outer = {{0, c.rows, {}, {}}, {1, out_len(c), {}, {}}};
  auto at = [&](const ExprPtr& pos, int64_t len) {
    return c.strided ? iadd(imul(pos, c.rows), b) : iadd(imul(b, len), pos);
  };
  k.buffers = {{in, c.rows * in_len(c), true, false, false},
               {acc, c.rows * out_len(c), false, true, false}};
  s->batch.vars = {0};
  s->batch.extents = {c.rows};
  s->out_var = 1;
  s->out_len = out_len(c);
  s->in_var = 2;
  s->in_len = in_len(c);
  s->input = load(in, 0, at(j, in_len(c)));
  Stage sum;
  sum.kind = StageKind::Reduce;
  sum.loops = {{2, in_len(c), {}, {}}};
  sum.acc_dtype = acc;
  // The loop nest runs only for n = 1 (a copy); for longer rows its value only tells the
  // directions apart, so that their kernels hash apart.
  sum.value = cast(acc, s->input);
  if (s->inverse()) sum.value = binary(ir::OpKind::Mul, acc, sum.value, const_of(acc, -1));
  Stage epi;
  epi.kind = StageKind::Loop;
  epi.stores = {{1,
                 at(kk, out_len(c)),
                 binary(ir::OpKind::Mul, acc, stage_value(acc, 0), const_of(acc, 0.5)),
                 {},
                 0}};
  k.stages = {sum, epi};
  k.spectral = s;
  return k;
}

// Whether result k of a row is checked: all of them, but a sample of long rows (a DFT in
// double costs n operations a result).
bool checked(int64_t k, int64_t n) { return n <= 4100 || k < 8 || k % 997 == 0; }

// The transform of `x` (rows of `c`) in double, halved like the kernel's epilogue, at the
// checked results (zero elsewhere).
std::vector<cd> reference(const Case& c, const std::vector<cd>& x) {
  const int64_t n = c.n, il = in_len(c), ol = out_len(c);
  const bool inv = c.kind == SpectralKind::Inverse || c.kind == SpectralKind::RealInverse;
  std::vector<cd> out(static_cast<size_t>(c.rows * ol));
  std::vector<cd> row(static_cast<size_t>(n)), roots(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    roots[static_cast<size_t>(j)] =
        std::polar(1.0, (inv ? 2 : -2) * M_PI * static_cast<double>(j) / n);
  for (int64_t b = 0; b < c.rows; ++b) {
    auto in = [&](int64_t j) {
      return x[static_cast<size_t>(c.strided ? j * c.rows + b : b * il + j)];
    };
    for (int64_t j = 0; j < n; ++j)
      row[static_cast<size_t>(j)] = c.kind != SpectralKind::RealInverse ? in(j)
                                    : j < il                            ? in(j)
                                                                        : std::conj(in(n - j));
    if (c.kind == SpectralKind::RealInverse) {  // the imaginary parts the transform ignores
      row[0] = row[0].real();
      if (n % 2 == 0) row[static_cast<size_t>(n / 2)] = row[static_cast<size_t>(n / 2)].real();
    }
    for (int64_t k = 0; k < ol; ++k) {
      if (!checked(k, n)) continue;
      cd acc = 0;
      for (int64_t j = 0, p = 0; j < n; ++j, p = (p + k) % n)
        acc += row[static_cast<size_t>(j)] * roots[static_cast<size_t>(p)];
      if (c.kind == SpectralKind::RealInverse) acc = acc.real();
      out[static_cast<size_t>(c.strided ? k * c.rows + b : b * ol + k)] = acc * 0.5;
    }
  }
  return out;
}

// Inputs in [-1, 1] for `c`, from a fixed generator.
std::vector<cd> inputs(const Case& c, DType in) {
  std::vector<cd> x(static_cast<size_t>(c.rows * in_len(c)));
  uint64_t state = static_cast<uint64_t>(c.n * 7919 + c.rows);
  auto uni = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / static_cast<double>(1ull << 53) * 2 - 1;
  };
  for (cd& v : x) v = in == DType::F32 || c.real_values ? cd(uni(), 0) : cd(uni(), uni());
  return x;
}

struct Outcome {
  double error = 0;  // the largest error relative to the rows' norm, in log2(n) * eps units
  std::string plan;
  double dc_nyquist_imag = 0;  // the largest |Im X[0]| and |Im X[n/2]| of a complex result
};

// Runs the kernels of `cases` as one program (one build: PoCL builds slowly) on a device
// like `base` with FFT work-groups of at most `local_elems` points (0: the device's),
// rendered as for a GPU (`gpu`) or a CPU.
std::vector<Outcome> run_cases(OpenCLDevice& base, const std::vector<Case>& cases,
                               int64_t local_elems, bool gpu) {
  codegen::opencl::OpenCLTarget target = base.target();
  target.fft_local_elems = local_elems;
  target.is_gpu = gpu;
  target.fft_min_length = 2;
  OpenCLDevice device(base.info(), target);
  codegen::Program p;
  std::vector<BufferPtr> in_buffers;
  std::vector<std::vector<cd>> xs;
  std::vector<Tensor> results;  // their nodes type the program's results
  std::vector<Outcome> out(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    codegen::Kernel k = dft_kernel(c);
    k.name = "dft" + std::to_string(i);
    out[i].plan =
        kernels::opencl::fft_plan_str(*k.spectral, kernels::opencl::plan_fft(*k.spectral, target));
    const DType in = k.spectral->input_dtype(), acc = k.spectral->acc_dtype();
    xs.push_back(inputs(c, in));
    auto xb = std::make_shared<Buffer>(Type{in, {c.rows * in_len(c)}});
    for (size_t e = 0; e < xs.back().size(); ++e) {
      if (in == DType::F32)
        xb->as<float>()[e] = static_cast<float>(xs.back()[e].real());
      else
        xb->as<std::complex<float>>()[e] = std::complex<float>(xs.back()[e]);
    }
    in_buffers.push_back(xb);
    results.push_back(zeros({c.rows * out_len(c)}, acc));
    const int x_id = static_cast<int>(p.values.size());
    codegen::ProgramValue x, y;
    x.kind = codegen::ProgramValue::Kind::Parameter;
    x.dtype = in;
    x.numel = c.rows * in_len(c);
    x.param = static_cast<int>(i);
    y.kind = codegen::ProgramValue::Kind::Result;
    y.dtype = acc;
    y.numel = c.rows * out_len(c);
    y.node = results.back().node().get();
    p.values.push_back(x);
    p.values.push_back(y);
    p.kernel_hashes.push_back(codegen::kernel_hash(k));
    p.kernels.push_back(std::move(k));
    p.launches.push_back({static_cast<int>(i), {x_id, x_id + 1}, {}});
    p.results.push_back(x_id + 1);
  }
  std::vector<BufferPtr> got = runtime::run_program(device, p, in_buffers);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const bool real_out = c.kind == SpectralKind::RealInverse;
    std::vector<cd> want = reference(c, xs[i]);
    double norm = 0, err = 0;
    for (size_t e = 0; e < want.size(); ++e) {
      const int64_t k =
          c.strided ? static_cast<int64_t>(e) / c.rows : static_cast<int64_t>(e) % out_len(c);
      if (!checked(k, c.n)) continue;
      const cd g =
          real_out ? cd(got[i]->as<float>()[e], 0) : cd(got[i]->as<std::complex<float>>()[e]);
      err = std::max(err, std::abs(g - want[e]));
      norm = std::max(norm, std::abs(want[e]));
    }
    if (!real_out && c.n % 2 == 0 && !c.strided)
      for (int64_t b = 0; b < c.rows; ++b)
        for (int64_t k : {int64_t{0}, c.n / 2}) {
          const auto at = static_cast<size_t>(b * out_len(c) + k);
          out[i].dc_nyquist_imag =
              std::max(out[i].dc_nyquist_imag,
                       std::abs(double(got[i]->as<std::complex<float>>()[at].imag())));
        }
    // Each result sums n terms of magnitude up to 1.4: its error scales with sqrt(n) (the
    // row's norm) times log2(n) roundings of eps.
    const double n = static_cast<double>(c.n);
    out[i].error = err / (std::sqrt(n) * std::max(1.0, std::log2(n)) * 6e-8);
  }
  return out;
}

// Errors up to this many log2(n) * eps * norm units pass.
constexpr double kTolerance = 8;

const SpectralKind kKinds[] = {SpectralKind::Forward, SpectralKind::Inverse,
                               SpectralKind::RealForward, SpectralKind::RealInverse};

std::string describe(const Case& c, const Outcome& o) {
  return "kind " + std::to_string(static_cast<int>(c.kind)) + " rows " + std::to_string(c.rows) +
         (c.strided ? " strided " : " ") + o.plan;
}

// Runs `cases` with `local_elems` (see run_cases), rendered for a GPU (in-place passes) or not.
void expect_close(OpenCLDevice& device, const std::vector<Case>& cases, int64_t local_elems,
                  bool gpu = false) {
  std::vector<Outcome> got = run_cases(device, cases, local_elems, gpu);
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_LT(got[i].error, kTolerance) << describe(cases[i], got[i]);
}

// Lengths from 2 to 64 (a transform of length 1 is never rendered as an FFT:
// renders_as_fft leaves it to the loop nest), each kind in turn: every one to 16 and a
// sample beyond (primes, mixed radices, powers of two). PoCL takes about a second to build
// each FFT kernel, so every kind at every length runs only with KILN_TEST_FFT_ALL=1 (about
// six minutes); KILN_TEST_FFT_GPU_PATH=1 renders the GPU's in-place passes on any device.
TEST(OpenCLFftKernels, EveryLengthTo64) {
  KILN_REQUIRE_OPENCL(device);
  const bool all = std::getenv("KILN_TEST_FFT_ALL") != nullptr;
  std::vector<Case> cases;
  const std::vector<int64_t> beyond = {17, 24, 31, 49, 60, 64};
  for (int64_t n = 2; n <= 64; ++n)
    for (int kind = 0; kind < 4; ++kind)
      if (all || (kind == n % 4 && (n <= 16 || std::count(beyond.begin(), beyond.end(), n))))
        cases.push_back({kKinds[kind], 3, n, n % 5 == 0});
  expect_close(*device, cases, 0, std::getenv("KILN_TEST_FFT_GPU_PATH") != nullptr);
}

TEST(OpenCLFftKernels, PrimesAndPowersOfTwo) {
  KILN_REQUIRE_OPENCL(device);
  std::vector<Case> cases;
  for (int64_t n : {1009, 4099, 65536})
    cases.push_back({SpectralKind::Forward, n > 4096 ? 1 : 2, n, false});
  expect_close(*device, cases, 0, false);
}

// Local memory held to 64 points: long rows take several passes through the scratch buffer
// (and Bluestein's filter spectrum too), with the GPUs' in-place passes and the CPUs'
// ping-pong passes.
TEST(OpenCLFftKernels, SeveralPasses) {
  KILN_REQUIRE_OPENCL(device);
  std::vector<Case> cases;
  cases.push_back({SpectralKind::Inverse, 3, 1000, true});
  cases.push_back({SpectralKind::RealForward, 2, 67, false});
  // Real transforms of even length run as complex ones of half the length; a forward one
  // of several passes splits its spectrum in a launch of its own.
  cases.push_back({SpectralKind::RealForward, 3, 1024, true});
  cases.push_back({SpectralKind::RealInverse, 2, 1000, false});
  expect_close(*device, cases, 64, false);
  expect_close(*device,
               {{SpectralKind::Forward, 3, 4096, false},
                {SpectralKind::RealInverse, 2, 67, true},
                {SpectralKind::RealForward, 2, 768, false},
                {SpectralKind::RealInverse, 3, 512, true}},
               64, true);
}

// The DFT of real values has a real X[0] and, for even n, a real X[n/2]: with the even radix
// last they come from sums without twiddles, exactly real (ONNX's conformance cases compare
// them with 0 at an absolute tolerance of 1e-7), for mixed radices, in one pass and several.
TEST(OpenCLFftKernels, RealRowsGiveExactlyRealDcAndNyquist) {
  KILN_REQUIRE_OPENCL(device);
  std::vector<Case> cases;
  for (int64_t n : {10, 12, 24, 40, 56, 1000})
    cases.push_back({SpectralKind::Forward, 3, n, false, true});
  for (bool gpu : {false, true}) {
    std::vector<Outcome> got = run_cases(*device, cases, 64, gpu);
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(got[i].dc_nyquist_imag, 0.0) << describe(cases[i], got[i]);
      EXPECT_LT(got[i].error, kTolerance) << describe(cases[i], got[i]);
    }
  }
}

// A GPU whose local memory holds 64 complex points runs a row of up to 128 points in one pass,
// its points in registers and exchanged through local memory a part (real, imaginary) at a
// time: a power of two, mixed radices (240 / 2 = 8 x 3 x 5), work-items with fewer
// butterflies than others (200 / 2 = 4 x 5 x 5 over 4 work-items), the split spectrum of a
// half-length real transform, rows along a non-last axis. PoCL builds these in about 15 s.
TEST(OpenCLFftKernels, OneRowInHalves) {
  KILN_REQUIRE_OPENCL(device);
  const std::vector<Case> cases = {{SpectralKind::Forward, 3, 128, false},
                                   {SpectralKind::RealForward, 3, 240, true},
                                   {SpectralKind::RealInverse, 2, 200, false}};
  std::vector<Outcome> got = run_cases(*device, cases, 64, true);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_NE(got[i].plan.find(" in halves"), std::string::npos) << got[i].plan;
    EXPECT_LT(got[i].error, kTolerance) << describe(cases[i], got[i]);
  }
}

}  // namespace
}  // namespace kiln::testing

namespace kiln::testing {
namespace {

// fftconv as M2-BERT's sequence mixer computes it (the long convolution, the skip term u * D,
// gelu and a gate): the padding, the product of the spectra, the crop to the first L
// results, the skip term, gelu and the gate fuse into the transforms' kernels, which all
// render as FFTs: three kernels, nothing between them.
TEST(OpenCLFftKernels, FftConvIsThreeFftKernels) {
  KILN_REQUIRE_OPENCL(device);
  const int64_t B = 2, H = 3, L = 48;
  Tensor u = test_data({B, H, L}, DType::F32, 1), k = test_data({H, L}, DType::F32, 2);
  Tensor d = test_data({H}, DType::F32, 3), v = test_data({B, H, L}, DType::F32, 4);
  Tensor y = fftconv(u, k, d, {.gelu = true, .gate = v});
  std::vector<ir::NodePtr> roots{y.node()};
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  codegen::Program p = runtime::compile_graph(ex.graph, *device);
  EXPECT_EQ(p.launches.size(), 3u);
  for (const codegen::Kernel& kernel : p.kernels) {
    ASSERT_TRUE(kernel.spectral) << codegen::print_kernel(kernel);
    EXPECT_EQ(codegen::opencl::render_kernel(kernel, device->target(), "k").shape,
              codegen::GroupShape::Fft);
  }
  EXPECT_TRUE(matches_reference(*device, {y}, Tolerance{1e-4, 1e-4}));
}

}  // namespace
}  // namespace kiln::testing
