// fft: kiln's Stockham FFT kernels with a fused prologue and epilogue (see fft.h).
#include "kernels/opencl/fft.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "codegen/contraction.h"
#include "codegen/opencl/expr_renderer.h"
#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"
#include "kernels/opencl/gemm.h"

namespace kiln::kernels::opencl {

using codegen::ExprPtr;
using codegen::Kernel;
using codegen::Spectral;
using codegen::SpectralKind;
using codegen::opencl::CodeWriter;
using codegen::opencl::ExprRenderer;
using codegen::opencl::OpenCLTarget;
using codegen::opencl::RenderedKernel;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::string num(int64_t v) { return std::to_string(v); }
std::string unum(int64_t v) { return std::to_string(v) + "u"; }
std::string flt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9ef", v);
  return buf;
}
bool fits_int(int64_t v) { return v <= std::numeric_limits<int32_t>::max(); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t pow2_floor(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
int64_t pow2_ceil(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

// Complex elements a work-group may hold in local memory.
int64_t local_budget(const OpenCLTarget& t) {
  // GPUs pad their local arrays by 1 in 16 float2 (FftRenderer::lm_at).
  int64_t elems = t.fft_local_elems > 0 ? t.fft_local_elems
                  : t.is_gpu            ? t.local_mem_bytes / 8 * 16 / 17 - 1
                                        : t.local_mem_bytes / 8;
  // CPUs hold two buffers (see local_fft), at most 8192 points each (a size the caches keep).
  if (!t.is_gpu && t.fft_local_elems <= 0) elems = std::min<int64_t>(elems / 2, 8192);
  return std::max<int64_t>(elems, 64);
}
// Work-items per group: GPUs want a few butterflies per work-item and many groups; on CPUs
// (PoCL) one work-item runs a group's butterflies one after the other (kernels without
// work-item loops compile fastest, and the groups fill the cores).
int64_t work_item_limit(const OpenCLTarget& t) {
  return std::max<int64_t>(1, std::min<int64_t>(t.is_gpu ? 256 : 1, t.max_work_group_size));
}

std::vector<int64_t> prime_factors(int64_t n) {
  std::vector<int64_t> f;
  for (int64_t p = 2; p * p <= n; ++p)
    while (n % p == 0) f.push_back(p), n /= p;
  if (n > 1) f.push_back(n);
  return f;
}

// The factors of `len`, each at most `cap`, in as few factors as that allows, balanced
// (largest prime factors first, each onto the smallest factor so far).
std::vector<int64_t> split_length(int64_t len, int64_t cap) {
  if (len <= cap) return {len};
  std::vector<int64_t> primes = prime_factors(len);
  std::sort(primes.rbegin(), primes.rend());
  for (size_t parts = 2;; ++parts) {
    std::vector<int64_t> f(parts, 1);
    for (int64_t p : primes) *std::min_element(f.begin(), f.end()) *= p;
    if (*std::max_element(f.begin(), f.end()) <= cap || parts >= primes.size()) {
      f.erase(std::remove(f.begin(), f.end(), int64_t{1}), f.end());
      return f;
    }
  }
}

// The passes of `rows` transforms of length `len` on `target`; one pass `in_halves` where
// `halves` allows it.
std::vector<FftPass> plan_passes(int64_t rows, int64_t len, const OpenCLTarget& t, bool halves) {
  const int64_t budget = local_budget(t);
  if (halves && t.is_gpu && len > budget && len <= 2 * budget) {
    FftPass p;
    p.rows = rows;
    p.len = p.points = len;
    p.in_halves = true;
    // About 8 points a work-item: on an H100, fftconv's 8192-point rows ran 3% faster so
    // than with 16 (512 work-items; 26% with the padding of lm_at) and 2.4x faster than
    // with 32.
    const int64_t limit = std::max<int64_t>(1, std::min<int64_t>(1024, t.max_work_group_size));
    p.work_items = std::min(limit, pow2_floor(std::max<int64_t>(1, len / 8)));
    return {p};
  }
  // Several passes: each loads at least 8 units side by side (64-byte runs of memory).
  const std::vector<int64_t> factors = split_length(len, len <= budget ? budget : budget / 8);
  std::vector<FftPass> out;
  int64_t span = 1;
  const int64_t limit = work_item_limit(t);
  for (int64_t L : factors) {
    FftPass p;
    p.rows = rows;
    p.len = len;
    p.points = L;
    p.span = span;
    const int64_t units = rows * (len / L);
    // Enough points per group to keep its work-items busy (short rows: several per group),
    // as many side by side as local memory holds when there are several passes.
    const int64_t want = factors.size() > 1 ? budget / L : ceil_div(4 * limit, L);
    p.units = std::max<int64_t>(1, std::min({pow2_floor(std::max<int64_t>(1, budget / L)),
                                             pow2_ceil(std::max<int64_t>(1, want)),
                                             pow2_ceil(std::max<int64_t>(1, units))}));
    if (factors.size() > 1) p.units = std::min<int64_t>(p.units, 16);
    p.work_items = std::min(limit, pow2_floor(std::max<int64_t>(1, p.units * L / 8)));
    out.push_back(p);
    span *= L;
  }
  return out;
}

// The radix-R DFTs of a work-item's butterflies, in place on v[0..R), direction s = -1 or
// +1; emitted once per program (several FFT kernels may share one).
std::string dft_helpers() {
  std::string s =
      "#ifndef KILN_FFT_HELPERS\n#define KILN_FFT_HELPERS\n"
      "// z * (s i)\n"
      "float2 kiln_fft_rot(float2 z, float s) { return (float2)(-s * z.y, s * z.x); }\n"
      "void kiln_fft_dft2(float2* v, float s) {\n"
      "  const float2 a = v[0];\n  v[0] = a + v[1];\n  v[1] = a - v[1];\n}\n"
      "void kiln_fft_dft4(float2* v, float s) {\n"
      "  const float2 a0 = v[0] + v[2], a1 = v[0] - v[2], a2 = v[1] + v[3];\n"
      "  const float2 a3 = kiln_fft_rot(v[1] - v[3], s);\n"
      "  v[0] = a0 + a2; v[2] = a0 - a2; v[1] = a1 + a3; v[3] = a1 - a3;\n}\n"
      "void kiln_fft_dft8(float2* v, float s) {\n"
      "  float2 e[4] = {v[0], v[2], v[4], v[6]}, o[4] = {v[1], v[3], v[5], v[7]};\n"
      "  kiln_fft_dft4(e, s);\n  kiln_fft_dft4(o, s);\n"
      "  const float h = 0.707106781f;\n"
      "  const float2 o1 = (float2)(h * (o[1].x - s * o[1].y), h * (o[1].y + s * o[1].x));\n"
      "  const float2 o2 = kiln_fft_rot(o[2], s);\n"
      "  const float2 o3 = (float2)(-h * (o[3].x + s * o[3].y), h * (s * o[3].x - o[3].y));\n"
      "  v[0] = e[0] + o[0]; v[4] = e[0] - o[0]; v[1] = e[1] + o1; v[5] = e[1] - o1;\n"
      "  v[2] = e[2] + o2; v[6] = e[2] - o2; v[3] = e[3] + o3; v[7] = e[3] - o3;\n}\n";
  // Odd radices as a plain product with the DFT matrix (their constants are literals).
  for (int R : {3, 5, 7}) {
    s += "void kiln_fft_dft" + std::to_string(R) + "(float2* v, float s) {\n";
    s += "  float2 x[" + std::to_string(R) + "];\n";
    s += "  for (int i = 0; i < " + std::to_string(R) + "; ++i) x[i] = v[i];\n";
    for (int q = 0; q < R; ++q) {
      std::string acc = "x[0]";
      for (int r = 1; r < R; ++r) {
        const double a = 2 * kPi * ((r * q) % R) / R;
        const std::string c = flt(std::cos(a)), sn = flt(std::sin(a));
        acc += " + (float2)(" + c + " * x[" + std::to_string(r) + "].x - s * " + sn + " * x[" +
               std::to_string(r) + "].y, " + c + " * x[" + std::to_string(r) + "].y + s * " + sn +
               " * x[" + std::to_string(r) + "].x)";
      }
      s += "  v[" + std::to_string(q) + "] = " + acc + ";\n";
    }
    s += "}\n";
  }
  return s + "#endif\n";
}

// Where a launch reads its points and where it puts its results.
enum class Src : uint8_t { Input, Chirp, Scratch };
enum class Dst : uint8_t { Output, Scratch, Spectrum };

struct Launch {
  FftPass pass;
  int sign = -1;  // the direction of this pass's FFTs
  Src src = Src::Input;
  int64_t src_off = 0;  // float2 offsets into the scratch buffer
  Dst dst = Dst::Output;
  int64_t dst_off = 0;
  bool convolve = false;      // Bluestein in one pass: forward, times the filter, inverse
  bool mul_spectrum = false;  // Bluestein's last forward pass: times the filter's spectrum
  bool split = false;         // half RealForward after several passes: splits Z (scratch) into X
};

class FftRenderer {
 public:
  FftRenderer(const Kernel& k, const OpenCLTarget& t, std::string name)
      : k_(k), s_(*k.spectral), t_(t), name_(std::move(name)), next_var_(k.num_vars) {}

  RenderedKernel render() {
    plan_ = plan_fft(s_, t_);
    const int64_t rows = s_.batch.size();
    std::vector<Launch> launches;
    int64_t scratch = 0;
    if (plan_.bluestein) {
      spectrum_off_ = 0;
      scratch = plan_.len;
      const FftPlan setup{true, false, plan_.len, plan_passes(1, plan_.len, t_, false)};
      const int64_t areas = plan_.passes.size() > 1 || setup.passes.size() > 1 ? 2 : 0;
      const int64_t area = rows * plan_.len;
      std::vector<int64_t> offs = {scratch, scratch + area};
      scratch += areas * area;
      chain(launches, {{setup.passes, -1}}, Src::Chirp, Dst::Spectrum, offs);
      if (plan_.passes.size() == 1) {
        Launch l;
        l.pass = plan_.passes[0];
        l.convolve = true;
        launches.push_back(l);
      } else {
        chain(launches, {{plan_.passes, -1}, {plan_.passes, +1}}, Src::Input, Dst::Output, offs);
      }
    } else {
      // A half RealForward of several passes leaves Z in the scratch buffer for the split.
      const bool split = splits_spectrum() && plan_.passes.size() > 1;
      const int64_t areas =
          std::min<int64_t>(2, static_cast<int64_t>(plan_.passes.size()) - (split ? 0 : 1));
      const int64_t area = rows * plan_.len;
      scratch = areas * area;
      chain(launches, {{plan_.passes, s_.inverse() ? +1 : -1}}, Src::Input,
            split ? Dst::Scratch : Dst::Output, {0, area});
      if (split) {
        Launch l;
        l.pass = plan_.passes.back();
        l.split = true;
        l.src_off = launches.back().dst_off;
        launches.push_back(l);
      }
    }
    RenderedKernel out;
    out.name = name_;
    out.shape = codegen::GroupShape::Fft;
    out.scratch_bytes = scratch > 0 ? scratch * 8 : 0;
    std::string body = "// kiln kernel " + name_ + " (fft " + fft_plan_str(s_, plan_) + ")\n";
    body += dft_helpers();
    codegen::opencl::PreludeNeeds needs;
    for (size_t i = 0; i < launches.size(); ++i) {
      const std::string entry = name_ + "_p" + std::to_string(i);
      CodeWriter w;
      ExprRenderer r(k_, w);
      const Launch& l = launches[i];
      int64_t groups = 0, work_items = l.pass.work_items;
      if (l.split) {
        work_items = work_item_limit(t_);
        groups = l.pass.rows * ceil_div(plan_.len + 1, split_items());
        render_split(w, r, l, entry, work_items);
      } else {
        groups = ceil_div(l.pass.rows * (l.pass.len / l.pass.points), l.pass.units);
        render_launch(w, r, l, entry, out.scratch_bytes > 0);
      }
      needs.fp64 = needs.fp64 || r.needs().fp64;
      if (groups > 0) out.launches.push_back({entry, groups * work_items, work_items});
      body += w.text() + "\n";
    }
    if (needs.fp64 && !t_.fp64)
      throw UnsupportedError("opencl backend: kernel " + name_ +
                             " computes in f64, but OpenCL device '" + t_.device_name +
                             "' lacks the extension cl_khr_fp64; compute in f32 (cast) or run "
                             "on a device with cl_khr_fp64");
    needs.complex = true;
    out.needs = needs;
    out.body = body;
    out.source = codegen::opencl::combine_sources({&out});
    return out;
  }

 private:
  struct Segment {
    std::vector<FftPass> passes;
    int sign;
  };
  // Appends the launches of `segments` (transforms run one after the other on the same
  // rows) reading from `src` and ending in `dst`, their intermediates alternating between
  // the scratch areas at `offs`.
  void chain(std::vector<Launch>& out, const std::vector<Segment>& segments, Src src, Dst dst,
             const std::vector<int64_t>& offs) {
    size_t total = 0;
    for (const Segment& g : segments) total += g.passes.size();
    size_t i = 0;
    for (size_t si = 0; si < segments.size(); ++si)
      for (size_t pi = 0; pi < segments[si].passes.size(); ++pi, ++i) {
        Launch l;
        l.pass = segments[si].passes[pi];
        l.sign = segments[si].sign;
        l.src = i == 0 ? src : Src::Scratch;
        l.src_off = i == 0 ? 0 : offs[(i - 1) % 2];
        l.dst = i + 1 == total ? dst : Dst::Scratch;
        l.dst_off = l.dst == Dst::Scratch ? offs[i % 2] : 0;
        l.mul_spectrum = si == 0 && segments.size() > 1 && pi + 1 == segments[si].passes.size();
        out.push_back(l);
      }
  }

  ExprPtr new_var(int64_t extent) {
    return codegen::var(next_var_++, std::max<int64_t>(extent, 1));
  }
  static std::string name(const ExprPtr& v) { return ExprRenderer::var_name(v->slot); }
  // Declares a variable of range [0, extent) holding the C expression `text`.
  ExprPtr declare(CodeWriter& w, int64_t extent, const std::string& text) {
    ExprPtr v = new_var(extent);
    w.line(std::string("const ") + (fits_int(extent) ? "int " : "long ") + name(v) + " = " + text +
           ";");
    return v;
  }

  // exp(sign * 2 pi i * p / m) for the integer C expression p in [0, m): reduced to
  // (-m/2, m/2] first, so that sincos sees a small exact argument.
  std::string twiddle(CodeWriter& w, const std::string& p, int64_t m, int sign) {
    const std::string q = fresh("q"), sn = fresh("sn"), cs = fresh("cs");
    w.line("const int " + q + " = (int)(" + p + ") > " + num(m / 2) + " ? (int)(" + p + ") - " +
           num(m) + " : (int)(" + p + ");");
    w.line("float " + cs + ";");
    w.line("const float " + sn + " = sincos((float)" + q + " * " + flt(sign * 2 * kPi / m) + ", &" +
           cs + ");");
    return "(float2)(" + cs + ", " + sn + ")";
  }
  // Bluestein's chirp exp(sign * pi i * j^2 / n) at the integer C expression j, the phase
  // j^2 reduced modulo 2n in integers.
  std::string chirp(CodeWriter& w, const std::string& j) {
    const int64_t n = s_.n;
    const std::string p = fresh("p");
    w.line("const long " + p + " = ((long)(" + j + ") * (long)(" + j + ")) % " + num(2 * n) + ";");
    return twiddle(w, p, 2 * n, s_.inverse() ? +1 : -1);
  }
  // A new local name: "f" + prefix + a number, apart from the renderer's names (a0 for
  // arguments, b0 for buffers, t0 for temporaries, v0 for variables).
  std::string fresh(const std::string& prefix) { return "f" + prefix + std::to_string(fresh_++); }

  // The transform's input at row `row` and position `j` of its row as a C expression,
  // emitted into the current scope: float for RealForward unless `widen` makes it complex,
  // float2 otherwise.
  std::string input_at(ExprRenderer& r, const ExprPtr& row, const ExprPtr& j, bool widen = true) {
    std::vector<ExprPtr> subst(static_cast<size_t>(k_.num_vars));
    bind_var_set(subst, s_.batch, row);
    subst[static_cast<size_t>(s_.in_var)] = j;
    const std::string v = r.value(codegen::substitute(s_.input, subst));
    return s_.kind == SpectralKind::RealForward && widen ? "(float2)(" + v + ", 0.0f)" : v;
  }

  // Whether the transform is a half-length RealForward, whose spectrum Z is split into X.
  bool splits_spectrum() const { return plan_.half && s_.kind == SpectralKind::RealForward; }
  // Points a group of the split launch covers.
  int64_t split_items() const { return t_.is_gpu ? 4 * work_item_limit(t_) : 512; }

  // Half RealForward: the point z[pos] = x[2 pos] + i x[2 pos + 1].
  void load_even_odd(CodeWriter& w, ExprRenderer& r, const ExprPtr& row, const ExprPtr& pos,
                     const std::string& dst) {
    r.push_scope();
    ExprPtr even = declare(w, s_.n, "2 * " + name(pos));
    const std::string e = fresh("e");
    w.line("const float " + e + " = " + input_at(r, row, even, false) + ";");
    ExprPtr odd = declare(w, s_.n, "2 * " + name(pos) + " + 1");
    w.line(dst + " = (float2)(" + e + ", " + input_at(r, row, odd, false) + ");");
    r.pop_scope();
  }
  // Half RealInverse: the point Z[pos] = (a + b) + i w^pos (a - b) of a = X[pos] and
  // b = conj(X[n/2 - pos]), w = exp(2 pi i / n); at pos 0 the imaginary parts of X[0] and
  // X[n/2] are ignored (the spectrum is taken as Hermitian).
  void load_combined(CodeWriter& w, ExprRenderer& r, const ExprPtr& row, const ExprPtr& pos,
                     const std::string& dst) {
    const std::string a = fresh("a"), b = fresh("b"), d = fresh("d");
    r.push_scope();
    w.line("float2 " + a + " = " + input_at(r, row, pos) + ";");
    ExprPtr mirror = declare(w, s_.in_len, num(plan_.len) + " - " + name(pos));
    w.line("float2 " + b + " = " + input_at(r, row, mirror) + ";");
    r.pop_scope();
    w.line("if (" + name(pos) + " == 0) " + a + ".y = " + b + ".y = 0.0f;");
    w.line(b + ".y = -" + b + ".y;");
    const std::string tw = twiddle(w, name(pos), s_.n, +1);
    w.line("const float2 " + d + " = kiln_cmul(" + tw + ", " + a + " - " + b + ");");
    w.line(dst + " = " + a + " + " + b + " + (float2)(-" + d + ".y, " + d + ".x);");
  }
  // Half RealForward: X[k] = (a + b) / 2 - i w^k (a - b) / 2 of a = Z[k mod n/2] and
  // b = conj(Z[(n/2 - k) mod n/2]) (C expressions), w = exp(-2 pi i / n), k in [0, n/2].
  std::string split_point(CodeWriter& w, const ExprPtr& k, const std::string& zk,
                          const std::string& zmk) {
    const std::string a = fresh("a"), b = fresh("b"), d = fresh("d");
    w.line("const float2 " + a + " = " + zk + ";");
    w.line("const float2 " + b + " = (float2)((" + zmk + ").x, -(" + zmk + ").y);");
    const std::string tw = twiddle(w, name(k), s_.n, -1);
    w.line("const float2 " + d + " = kiln_cmul(" + tw + ", " + a + " - " + b + ");");
    return "0.5f * (" + a + " + " + b + " + (float2)(" + d + ".y, -" + d + ".x))";
  }

  // Declares `dst` (float2) as the point at (row, pos) of the rows the launch reads.
  void load_point(CodeWriter& w, ExprRenderer& r, const Launch& l, const ExprPtr& row,
                  const ExprPtr& pos, const std::string& dst) {
    const int64_t n = s_.n;
    if (l.src == Src::Scratch) {
      w.line(dst + " = sc[" + num(l.src_off) + " + " + name(row) + " * " + num(l.pass.len) + " + " +
             name(pos) + "];");
      return;
    }
    if (l.src == Src::Chirp) {
      // The filter conj(chirp(m)) at m and at len - m, zero between.
      const std::string P = name(pos);
      w.open("if (" + P + " < " + num(n) + " || " + P + " > " + num(l.pass.len - n) + ")");
      const std::string c =
          chirp(w, P + " < " + num(n) + " ? " + P + " : " + num(l.pass.len) + " - " + P);
      w.line(dst + " = (float2)((" + c + ").x, -(" + c + ").y);");
      w.close();
      return;
    }
    if (plan_.half) {
      if (s_.kind == SpectralKind::RealForward)
        load_even_odd(w, r, row, pos, dst);
      else
        load_combined(w, r, row, pos, dst);
      return;
    }
    // Input: the kernel's input expression; beyond n (Bluestein's zero padding) zero.
    const bool real_inverse = s_.kind == SpectralKind::RealInverse;
    const int64_t direct = real_inverse ? s_.in_len : n;
    w.open("if (" + name(pos) + " < " + num(direct) + ")");
    r.push_scope();
    ExprPtr j = declare(w, direct, name(pos));
    std::string x = input_at(r, row, j);
    if (plan_.bluestein) x = "kiln_cmul(" + x + ", " + chirp(w, name(j)) + ")";
    w.line(dst + " = " + x + ";");
    r.pop_scope();
    w.close();
    if (real_inverse) {
      // The negative frequencies: conj(x[n - pos]).
      w.open("else if (" + name(pos) + " < " + num(n) + ")");
      r.push_scope();
      ExprPtr j2 = declare(w, s_.in_len, num(n) + " - " + name(pos));
      const std::string m = fresh("m");
      w.line("const float2 " + m + " = " + input_at(r, row, j2) + ";");
      std::string x2 = "(float2)(" + m + ".x, -" + m + ".y)";
      if (plan_.bluestein) x2 = "kiln_cmul(" + x2 + ", " + chirp(w, name(pos)) + ")";
      w.line(dst + " = " + x2 + ";");
      r.pop_scope();
      w.close();
    }
  }

  // Stores the result `v` (float2) at (row, pos) where the launch puts its results.
  void store_point(CodeWriter& w, ExprRenderer& r, const Launch& l, const ExprPtr& row,
                   const ExprPtr& pos, const std::string& v) {
    const std::string P = name(pos);
    if (l.dst == Dst::Spectrum) {
      w.line("sc[" + num(spectrum_off_) + " + " + P + "] = " + v + " * " +
             flt(1.0 / static_cast<double>(plan_.len)) + ";");
      return;
    }
    if (l.dst == Dst::Scratch) {
      std::string x = v;
      if (l.mul_spectrum) x = "kiln_cmul(" + v + ", sc[" + num(spectrum_off_) + " + " + P + "])";
      w.line("sc[" + num(l.dst_off) + " + " + name(row) + " * " + num(l.pass.len) + " + " + P +
             "] = " + x + ";");
      return;
    }
    if (plan_.half && s_.kind == SpectralKind::RealInverse) {
      // z[pos] holds x[2 pos] and x[2 pos + 1].
      const std::string z = fresh("z");
      w.line("const float2 " + z + " = " + v + ";");
      store_result(w, r, row, "2 * " + P, 2 * l.pass.len, [&](const ExprPtr&) { return z + ".x"; });
      store_result(w, r, row, "2 * " + P + " + 1", 2 * l.pass.len,
                   [&](const ExprPtr&) { return z + ".y"; });
      return;
    }
    store_result(w, r, row, P, l.pass.len, [&](const ExprPtr& k) {
      const std::string acc =
          plan_.bluestein ? "kiln_cmul(" + v + ", " + chirp(w, name(k)) + ")" : v;
      return s_.acc_dtype() == DType::F32 ? "(" + acc + ").x" : acc;
    });
  }

  // Runs the epilogue on the result acc(k) (a C expression of the accumulator's type) at
  // (row, k) for k the C expression `k_text` in [0, reach), storing nothing from out_len on.
  void store_result(CodeWriter& w, ExprRenderer& r, const ExprPtr& row, const std::string& k_text,
                    int64_t reach, const std::function<std::string(const ExprPtr&)>& acc) {
    const int64_t limit = s_.out_len;
    const bool guarded = reach > limit;
    if (guarded) w.open("if (" + k_text + " < " + num(limit) + ")");
    r.push_scope();
    ExprPtr k = declare(w, std::min(reach, limit), k_text);
    const std::string a = fresh("acc");
    w.line(std::string("const ") + (s_.acc_dtype() == DType::F32 ? "float " : "float2 ") + a +
           " = " + acc(k) + ";");
    std::vector<ExprPtr> subst(static_cast<size_t>(k_.num_vars));
    bind_var_set(subst, s_.batch, row);
    subst[static_cast<size_t>(s_.out_var)] = k;
    r.bind_stage(s_.reduce_stage, a);
    for (const codegen::Store& st : k_.stages[static_cast<size_t>(s_.epilogue_stage)].stores) {
      const DType bt = k_.buffers[static_cast<size_t>(st.buffer)].dtype;
      ExprPtr value = codegen::substitute(st.value, subst);
      const std::string index = r.value(codegen::substitute(st.index, subst));
      const std::string cv = codegen::opencl::cast_op(value->dtype, bt, r.value(value));
      std::string line =
          codegen::opencl::store_element(bt, ExprRenderer::buffer(st.buffer), index, cv) + ";";
      if (st.guard) line = "if (" + r.value(codegen::substitute(st.guard, subst)) + ") " + line;
      w.line(line);
    }
    r.pop_scope();
    if (guarded) w.close();
  }

  // The Stockham passes of the units' points in local memory (lm[point * units + unit]).
  // GPUs transform in place, each work-item's butterflies held in registers between a
  // barrier after the reads and the writes (local memory is scarce); CPUs ping-pong between
  // two buffers, a butterfly at a time (PoCL compiles the simpler loops much faster).
  void local_fft(CodeWriter& w, const FftPass& p, int sign) {
    const int64_t C = p.units, L = p.points, W = p.work_items;
    int64_t ns = 1;
    for (int R : fft_radices(L)) {
      const int64_t count = C * L / R, per = ceil_div(count, W);
      const std::string from = cur_, to = pingpong_ ? (cur_ == "lm" ? "lm2" : "lm") : cur_;
      w.open("");
      if (!pingpong_) w.line("float2 v[" + num(per * R) + "];");
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      if (pingpong_) {
        w.open("for (uint b = lid; b < " + unum(count) + "; b += " + unum(W) + ")");
        w.line("float2 u[" + num(R) + "];");
        butterfly_unit(w, C);
        read_butterfly(w, p, R, from, "");
        butterfly(w, R, ns, sign);
        write_butterfly(w, p, R, ns, to, "");
        w.close();
      } else {
        open_butterflies(w, p, R, "v", per <= 4);
        read_butterfly(w, p, R, from, "");
        butterfly(w, R, ns, sign);
        w.close();
        w.line("barrier(CLK_LOCAL_MEM_FENCE);");
        open_butterflies(w, p, R, "v", per <= 4);
        write_butterfly(w, p, R, ns, to, "");
        w.close();
      }
      w.close();
      cur_ = to;
      ns *= R;
    }
  }

  // Emits one part (".x" or ".y") of a move of registers between two layouts.
  using PartMove = std::function<void(const std::string& part)>;
  // Moves values from one register layout to another through local memory (as float, one
  // part at a time): `put` stores a part of each value at its place in lm, `get` loads it.
  void exchange(CodeWriter& w, const PartMove& put, const PartMove& get) {
    for (const char* part : {".x", ".y"}) {
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      put(part);
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      get(part);
    }
  }
  // The Stockham passes of a pass in_halves: the points arrive in registers that `put_in`
  // stores into lm (as lm[point * units + unit]); each radix's butterflies run on registers
  // of their own, and `get_out` loads the results from lm in the order the points were put.
  void local_fft_halves(CodeWriter& w, const FftPass& p, int sign, const PartMove& put_in,
                        const PartMove& get_out) {
    const int64_t C = p.units, L = p.points, W = p.work_items;
    PartMove put = put_in;
    int64_t ns = 1;
    for (int R : fft_radices(L)) {
      const std::string v = fresh("v");
      w.line("float2 " + v + "[" + num(ceil_div(C * L / R, W) * R) + "];");
      exchange(w, put, [&, R, v](const std::string& part) {
        open_butterflies(w, p, R, v, true);
        read_butterfly(w, p, R, "lm", part);
        w.close();
      });
      open_butterflies(w, p, R, v, true);
      butterfly(w, R, ns, sign);
      w.close();
      put = [&w, &p, this, R, v, ns](const std::string& part) {
        open_butterflies(w, p, R, v, true);
        write_butterfly(w, p, R, ns, "lm", part);
        w.close();
      };
      ns *= R;
    }
    exchange(w, put, get_out);
  }

  // The loop over a work-item's radix-R butterflies (the in-place passes): butterfly b, its
  // unit and position (butterfly_unit) and its points u, R registers of the array `v`.
  void open_butterflies(CodeWriter& w, const FftPass& p, int R, const std::string& v, bool unroll) {
    const int64_t count = p.units * p.points / R, W = p.work_items;
    if (unroll) w.line("#pragma unroll");
    w.open("for (uint t = 0; t < " + unum(ceil_div(count, W)) + "; ++t)");
    w.line("const uint b = lid + t * " + unum(W) + ";");
    if (count % W != 0) w.line("if (b >= " + unum(count) + ") break;");
    w.line("float2* const u = " + v + " + t * " + unum(R) + ";");
    butterfly_unit(w, p.units);
  }
  // Butterfly b's unit c and its position jj among the unit's butterflies.
  static void butterfly_unit(CodeWriter& w, int64_t C) {
    w.line("const uint c = b % " + unum(C) + ", jj = b / " + unum(C) + ";");
  }
  // u[q] (part `part` of it, or all of it) = the q-th point of butterfly jj in `from`.
  void read_butterfly(CodeWriter& w, const FftPass& p, int R, const std::string& from,
                      const std::string& part) const {
    const int64_t C = p.units, L = p.points;
    for (int q = 0; q < R; ++q)
      w.line("u[" + num(q) + "]" + part + " = " +
             lm_at(from, "(jj + " + unum(q * (L / R)) + ") * " + unum(C) + " + c") + ";");
  }
  // The butterfly on u: the twiddles of the passes before it (`ns` points apart), then a
  // radix-R DFT.
  static void butterfly(CodeWriter& w, int R, int64_t ns, int sign) {
    if (ns > 1) {
      w.line("const uint k = jj % " + unum(ns) + ";");
      w.line("float tc;");
      w.line("const float ts = sincos((float)k * " + flt(sign * 2 * kPi / (ns * R)) + ", &tc);");
      w.line("float2 tw[" + num(R) + "];");
      w.line("tw[1] = (float2)(tc, ts);");
      // w^q from products of at most three factors: w^(2^a) * w^(rest).
      for (int q = 2; q < R; ++q) {
        const int hi = static_cast<int>(pow2_floor(q));
        const int lo = hi == q ? q / 2 : q - hi;
        w.line("tw[" + num(q) + "] = kiln_cmul(tw[" + num(hi == q ? q / 2 : hi) + "], tw[" +
               num(lo) + "]);");
      }
      for (int q = 1; q < R; ++q)
        w.line("u[" + num(q) + "] = kiln_cmul(u[" + num(q) + "], tw[" + num(q) + "]);");
    }
    w.line("kiln_fft_dft" + std::to_string(R) + "(u, " + (sign < 0 ? "-1.0f" : "1.0f") + ");");
  }
  // Stores u (part `part` of it, or all of it) where the Stockham order puts butterfly jj's
  // results in `to`.
  void write_butterfly(CodeWriter& w, const FftPass& p, int R, int64_t ns, const std::string& to,
                       const std::string& part) const {
    const int64_t C = p.units;
    w.line("const uint o = (jj / " + unum(ns) + ") * " + unum(ns * R) + " + jj % " + unum(ns) +
           ";");
    for (int q = 0; q < R; ++q)
      w.line(lm_at(to, "(o + " + unum(q * ns) + ") * " + unum(C) + " + c") + " = u[" + num(q) +
             "]" + part + ";");
  }
  // The element `index` (a C expression) of the local array `a`, padded on GPUs: an element
  // is skipped after every 2^pad_shift_, 32 floats in halves mode, 16 float2 otherwise, so
  // that the first radix-8 pass's writes (8 points apart) meet no bank conflicts and the
  // second's fewer. On an H100 this made the one-pass 4096-point rows and both passes of
  // 65536-point rows 8-9% faster (1 float2 in 8: no faster). (An XOR swizzle that also spares
  // the second pass's writes ran 6% slower in halves mode: its index arithmetic costs more
  // than the conflicts it saves.)
  std::string lm_at(const std::string& a, const std::string& index) const {
    if (pad_shift_ == 0) return a + "[" + index + "]";
    return a + "[(" + index + ") + ((" + index + ") >> " + num(pad_shift_) + ")]";
  }
  // The elements of a local array of `n` padded ones.
  int64_t padded_size(int64_t n) const { return pad_shift_ == 0 ? n : n + (n >> pad_shift_) + 1; }

  // Whether the input (or output) is contiguous along the transformed axis.
  bool input_contiguous() const {
    codegen::VarSet j;
    j.vars = {s_.in_var};
    j.extents = {s_.in_len};
    return contiguous_along(s_.input, j);
  }
  bool output_contiguous() const {
    for (const codegen::Store& st : k_.stages[static_cast<size_t>(s_.epilogue_stage)].stores) {
      codegen::Stride st_k = codegen::stride_along(st.index, s_.out_var);
      if (!st_k.affine || st_k.stride != 1) return false;
    }
    return true;
  }

  // The loop over a group's C x L points: `point` and `unit` of each, the unit's row and
  // position; consecutive work-items take consecutive points of a unit (`points_fast`) or
  // the same point of consecutive units. In a pass in_halves the loop is unrolled, and its
  // t-th point is the work-item's register t.
  void open_points(CodeWriter& w, const FftPass& p, bool points_fast) {
    const int64_t C = p.units, L = p.points, W = p.work_items;
    if (p.in_halves) {
      w.line("#pragma unroll");
      w.open("for (uint t = 0; t < " + unum(ceil_div(C * L, W)) + "; ++t)");
      w.line("const uint e = lid + t * " + unum(W) + ";");
      if ((C * L) % W != 0) w.line("if (e >= " + unum(C * L) + ") break;");
    } else {
      w.open("for (uint e = lid; e < " + unum(C * L) + "; e += " + unum(W) + ")");
    }
    if (points_fast)
      w.line("const uint r = e % " + unum(L) + ", c = e / " + unum(L) + ";");
    else
      w.line("const uint r = e / " + unum(C) + ", c = e % " + unum(C) + ";");
  }
  // Declares the unit's row and the position of its point: `unit_j` (in [0, len / L)) and
  // row from the group's unit; returns the row variable.
  ExprPtr unit_row(CodeWriter& w, const FftPass& p, const std::string& U) {
    const int64_t per_row = p.len / p.points;
    return declare(w, p.rows, per_row == 1 ? U : U + " / " + num(per_row));
  }

  void render_launch(CodeWriter& w, ExprRenderer& r, const Launch& l, const std::string& entry,
                     bool scratch) {
    const FftPass& p = l.pass;
    const int64_t C = p.units, L = p.points, per_row = p.len / L;
    const int64_t units = p.rows * per_row;
    const std::string IT = fits_int(units * L) ? "int" : "long";
    open_entry(w, r, entry, p.work_items, scratch, IT);
    const bool halves = p.in_halves;
    // GPUs pad their local array: a float after every 32 (halves), a float2 after every 16.
    pad_shift_ = halves ? 5 : pingpong_ ? 0 : 4;
    if (halves) {
      // The points in registers: fin as loaded, fout (and fmir, the mirrored points a split
      // spectrum reads) as stored.
      const std::string regs = "[" + num(ceil_div(C * L, p.work_items)) + "]";
      w.line("__local float lm[" + num(padded_size(C * L)) + "];");
      w.line("float2 fin" + regs + ", fout" + regs + ", fmir" + regs + ";");
    } else {
      w.line("__local float2 lm[" + num(padded_size(C * L)) + "];");
      if (pingpong_) w.line("__local float2 lm2[" + num(C * L) + "];");
    }
    cur_ = "lm";
    // Load: the points of each unit, times the twiddles of the earlier passes.
    const bool load_points_fast =
        per_row == 1 && (l.src != Src::Input || input_contiguous() || C == 1);
    open_points(w, p, load_points_fast);
    w.line("const " + IT + " un = grp * " + num(C) + " + c;");
    w.line("float2 x = (float2)(0.0f, 0.0f);");
    w.open("if (un < " + num(units) + ")");
    r.push_scope();
    ExprPtr row = unit_row(w, p, "un");
    const std::string J = per_row == 1 ? "0" : "(un % " + num(per_row) + ")";
    ExprPtr pos = declare(w, p.len, J + " + r * " + num(per_row));
    load_point(w, r, l, row, pos, "x");
    if (p.span > 1) {
      const std::string tw =
          twiddle(w, "r * (" + J + " % " + num(p.span) + ")", p.span * L, l.sign);
      w.line("x = kiln_cmul(x, " + tw + ");");
    }
    r.pop_scope();
    w.close();
    w.line((halves ? "fin[t]" : lm_at("lm", "r * " + unum(C) + " + c")) + " = x;");
    w.close();
    // Store: point r of unit j goes to (j / span) * span * L + j % span + r * span.
    const bool store_points_fast =
        p.span == 1 && (l.dst != Dst::Output || output_contiguous() || C == 1);
    const bool mirrored = splits_spectrum() && l.dst == Dst::Output;
    const std::string at_point = "r * " + unum(C) + " + c";
    const std::string at_mirror = "((" + unum(L) + " - r) % " + unum(L) + ") * " + unum(C) + " + c";
    if (halves) {
      auto move = [&](bool fast, const std::function<void(const std::string&)>& body) {
        return [&, fast, body](const std::string& part) {
          open_points(w, p, fast);
          body(part);
          w.close();
        };
      };
      local_fft_halves(w, p, l.sign,
                       move(load_points_fast,
                            [&](const std::string& part) {
                              w.line(lm_at("lm", at_point) + " = fin[t]" + part + ";");
                            }),
                       move(store_points_fast, [&](const std::string& part) {
                         w.line("fout[t]" + part + " = " + lm_at("lm", at_point) + ";");
                         if (mirrored)
                           w.line("fmir[t]" + part + " = " + lm_at("lm", at_mirror) + ";");
                       }));
    } else if (l.convolve) {
      local_fft(w, p, -1);
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      w.open("for (uint e = lid; e < " + unum(C * L) + "; e += " + unum(p.work_items) + ")");
      w.line(lm_at(cur_, "e") + " = kiln_cmul(" + lm_at(cur_, "e") + ", sc[" + num(spectrum_off_) +
             " + e / " + unum(C) + "]);");
      w.close();
      local_fft(w, p, +1);
    } else {
      local_fft(w, p, l.sign);
    }
    if (!halves) w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    open_points(w, p, store_points_fast);
    w.line("const " + IT + " un = grp * " + num(C) + " + c;");
    w.open("if (un < " + num(units) + ")");
    r.push_scope();
    ExprPtr srow = unit_row(w, p, "un");
    const std::string SJ = per_row == 1 ? "0" : "(un % " + num(per_row) + ")";
    const std::string at = p.span == 1
                               ? SJ + " * " + num(L) + " + r"
                               : "(" + SJ + " / " + num(p.span) + ") * " + num(p.span * L) + " + " +
                                     SJ + " % " + num(p.span) + " + r * " + num(p.span);
    ExprPtr spos = declare(w, p.len, at);
    const std::string point = halves ? "fout[t]" : lm_at(cur_, at_point);
    if (mirrored) {
      // One pass: the row's Z is in local memory; X[n/2] comes from Z[0] with X[0].
      const std::string mirror = halves ? "fmir[t]" : lm_at(cur_, at_mirror);
      store_result(w, r, srow, name(spos), L,
                   [&](const ExprPtr& k) { return split_point(w, k, point, mirror); });
      w.open("if (r == 0)");
      store_result(w, r, srow, num(L), L + 1,
                   [&](const ExprPtr& k) { return split_point(w, k, point, point); });
      w.close();
    } else {
      store_point(w, r, l, srow, spos, point);
    }
    r.pop_scope();
    w.close();
    w.close();
    w.close();
  }

  // Opens kernel `entry` with `work_items` per group: lid, grp (of C type `grp_type`), the
  // scalar parameters, and sc (the scratch buffer as float2) when `scratch`.
  void open_entry(CodeWriter& w, ExprRenderer& r, const std::string& entry, int64_t work_items,
                  bool scratch, const std::string& grp_type) {
    w.open(codegen::opencl::entry_signature(k_, entry, work_items, scratch));
    w.line("const uint lid = get_local_id(0);");
    w.line("const " + grp_type + " grp = get_group_id(0);");
    for (size_t i = 0; i < k_.scalars.size(); ++i) {
      r.need(k_.scalars[i]);
      w.line(codegen::opencl::scalar_declaration(k_.scalars[i], static_cast<int>(i)));
    }
    if (scratch) w.line("__global float2* const sc = (__global float2*)scratch;");
  }

  // The split launch of a half RealForward of several passes: X[k] for k in [0, n/2] of
  // each row from Z in the scratch buffer, split_items() results a group.
  void render_split(CodeWriter& w, ExprRenderer& r, const Launch& l, const std::string& entry,
                    int64_t work_items) {
    const int64_t m = plan_.len, G = split_items(), per_row = ceil_div(m + 1, G);
    const std::string IT = fits_int(l.pass.rows * per_row * G) ? "int" : "long";
    open_entry(w, r, entry, work_items, true, IT);
    w.open("for (uint e = lid; e < " + unum(G) + "; e += " + unum(work_items) + ")");
    w.line("const " + IT + " kk = (grp % " + num(per_row) + ") * " + num(G) + " + e;");
    w.open("if (kk <= " + num(m) + ")");
    r.push_scope();
    ExprPtr row = declare(w, l.pass.rows, "grp / " + num(per_row));
    const std::string base = "sc[" + num(l.src_off) + " + " + name(row) + " * " + num(m) + " + ";
    store_result(w, r, row, "kk", m + 1, [&](const ExprPtr& k) {
      return split_point(w, k, base + "kk % " + num(m) + "]",
                         base + "(" + num(m) + " - kk) % " + num(m) + "]");
    });
    r.pop_scope();
    w.close();
    w.close();
    w.close();
  }

  const Kernel& k_;
  const Spectral& s_;
  const OpenCLTarget& t_;
  std::string name_;
  int next_var_;
  int fresh_ = 0;
  FftPlan plan_;
  int64_t spectrum_off_ = 0;
  const bool pingpong_ = !t_.is_gpu;
  std::string cur_ = "lm";  // the local buffer holding the points
  int pad_shift_ = 0;       // lm_at skips an element after every 2^pad_shift_ (0: none)
};

}  // namespace

std::vector<int> fft_radices(int64_t n) {
  if (n < 2) return {};
  int twos = 0;
  while (n % 2 == 0) n /= 2, ++twos;
  std::vector<int> out;
  for (int p : {3, 5, 7})
    while (n % p == 0) n /= p, out.push_back(p);
  if (n != 1) return {};
  out.insert(out.end(), static_cast<size_t>(twos / 3), 8);
  if (twos % 3 == 1) out.push_back(2);
  if (twos % 3 == 2) out.push_back(4);
  return out;
}

FftPlan plan_fft(const Spectral& s, const OpenCLTarget& target) {
  FftPlan plan;
  const bool real = s.kind == SpectralKind::RealForward || s.kind == SpectralKind::RealInverse;
  plan.half = real && s.n % 2 == 0 && !fft_radices(s.n / 2).empty();
  plan.bluestein = !plan.half && fft_radices(s.n).empty();
  plan.len = plan.half ? s.n / 2 : plan.bluestein ? pow2_ceil(2 * s.n - 1) : s.n;
  plan.passes = plan_passes(s.batch.size(), plan.len, target, !plan.bluestein);
  return plan;
}

std::string fft_plan_str(const Spectral& s, const FftPlan& plan) {
  std::string out = "n=" + std::to_string(s.n) +
                    (plan.bluestein ? " bluestein "
                     : plan.half    ? " half "
                                    : " ") +
                    std::to_string(plan.len);
  for (size_t i = 0; i < plan.passes.size(); ++i)
    out += (i ? " x " : " = ") + std::to_string(plan.passes[i].points);
  if (plan.passes.size() == 1 && plan.passes[0].in_halves) out += " in halves";
  return out;
}

bool renders_as_fft(const Kernel& kernel, const OpenCLTarget& target) {
  const int64_t min_length =
      target.fft_min_length > 0 ? target.fft_min_length : (target.is_gpu ? 2 : 64);
  return target.fft && kernel.spectral && kernel.spectral->n > 1 &&
         kernel.spectral->n >= min_length;
}

RenderedKernel render_fft(const Kernel& kernel, const OpenCLTarget& target,
                          const std::string& name) {
  if (!kernel.spectral) throw CompileError("opencl fft: kernel " + name + " has no transform");
  return FftRenderer(kernel, target, name).render();
}

}  // namespace kiln::kernels::opencl
