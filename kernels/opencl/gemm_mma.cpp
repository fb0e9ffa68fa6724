// gemm_mma: the tensor-core GEMM for NVIDIA devices (see gemm_mma.h).
#include "kernels/opencl/gemm_mma.h"

#include <algorithm>
#include <optional>

#include "codegen/contraction.h"
#include "codegen/opencl/expr_renderer.h"
#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"
#include "kernels/opencl/gemm.h"

namespace kiln::kernels::opencl {

using codegen::Contraction;
using codegen::ExprKind;
using codegen::ExprPtr;
using codegen::Kernel;
using codegen::VarSet;
using codegen::opencl::CodeWriter;
using codegen::opencl::ExprRenderer;
using codegen::opencl::OpenCLTarget;
using codegen::opencl::RenderedKernel;

namespace {

// The tile: 4 warps of 64 x 64 in a 2 x 2 grid; a warp's 64 x 64 is 4 x 8 fragments of
// m16n8. A k step of 32 is two m16n8k16 products per fragment.
constexpr int kBM = 128, kBN = 128, kBK = 32, kThreads = 128;
constexpr int kPairs = kBK / 2;  // k pairs in a local row
// Local rows hold the k pairs of one m (or n) and 4 words of padding: the 8 rows a
// fragment read touches then start 20 banks apart, and its 32 reads hit 32 banks.
constexpr int kPitch = kPairs + 4;
constexpr int kPerItem = kBM * kPairs / kThreads;         // pairs each work-item stages per tile
constexpr int kRowUnits = kPairs * (kBM / 8) / kThreads;  // RowVectors loads (x2) per tile
constexpr int kTf32RowUnits = kPairs * (kBM / 4) / kThreads;  // the same for TF32 (x1)

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
std::string num(int64_t v) { return std::to_string(v); }

// Defined once per program, whatever number of GEMM kernels it holds.
const char* kHelpers = R"(#ifndef KILN_MMA_HELPERS
#define KILN_MMA_HELPERS
// Two values (exactly representable in the operand type) as the 32-bit register of an
// mma fragment: the lower k in the low half.
uint kiln_mma_pack_f16(float lo, float hi) {
  ushort l, h;
  vstore_half_rte(lo, 0, (__private half*)&l);
  vstore_half_rte(hi, 0, (__private half*)&h);
  return (uint)l | ((uint)h << 16);
}
uint kiln_mma_pack_bf16(float lo, float hi) {
  return (uint)kiln_f32_to_bf16(lo) | ((uint)kiln_f32_to_bf16(hi) << 16);
}
// An f32 as the TF32 register of an mma fragment: rounded to 10 fraction bits, to nearest
// with ties away from zero (as cvt.rna.tf32.f32); infinities and NaN kept.
uint kiln_mma_tf32(float x) {
  const uint b = as_uint(x);
  return (b & 0x7f800000u) == 0x7f800000u ? b : ((b + 0x1000u) & 0xffffe000u);
}
uint4 kiln_mma_tf32_4(uint4 v) {
  return (uint4)(kiln_mma_tf32(as_float(v.x)), kiln_mma_tf32(as_float(v.y)),
                 kiln_mma_tf32(as_float(v.z)), kiln_mma_tf32(as_float(v.w)));
}
#endif
)";

// How a work-item stages its share of a factor's tile.
enum class Staging : uint8_t {
  Pairs,       // any factor: each value evaluated, two packed per register (TF32: one)
  KVectors,    // a buffer contiguous along k: 8 halves (4 pairs) or 4 floats (TF32) per
               // 16-byte load
  RowVectors,  // a buffer contiguous along the rows (m of A, n of B): 8 rows per load at two
               // consecutive k, interleaved into 8 pairs; TF32: 4 rows per load at one k
};

// Whether `index` (of a load) walks memory with stride 1 along the innermost variable of
// `set`, in aligned runs of `run` elements (16 bytes: 8 halves or 4 floats): the variable's
// extent and every other stride and the offset are multiples of `run`, so a run starts on a
// 16-byte boundary of the buffer.
bool aligned_runs(const ExprPtr& index, const VarSet& set, int64_t run) {
  if (set.vars.empty() || set.extents.back() % run != 0) return false;
  const int v = set.vars.back();
  codegen::Linear lin = codegen::linearize(index);
  if (lin.constant % run != 0) return false;
  bool unit = false;
  for (const auto& [atom, coef] : lin.terms) {
    if (atom->kind == ExprKind::Var && atom->slot == v) {
      unit = coef == 1;
      if (!unit) return false;
    } else if (atom->depends_on_var(v) || coef % run != 0) {
      return false;
    }
  }
  return unit;
}

struct FactorPlan {
  Staging mode = Staging::Pairs;
  int buffer = -1;  // the half buffer (vector modes)
  ExprPtr index;    // its element index, of the contraction's variables
};

// How a factor is staged: a half buffer cast to f32 (halves), or an f32 buffer as it is
// (TF32), read by 16-byte loads where its runs allow; any other expression by Pairs.
FactorPlan plan_factor(const ExprPtr& factor, const VarSet& rows, const VarSet& k, bool tf32) {
  FactorPlan plan;
  // The buffer read: the factor itself (TF32), or under its cast to f32 (halves).
  const ExprPtr load = tf32 ? factor : factor->kind == ExprKind::Cast ? factor->args[0] : nullptr;
  if (!load || load->kind != ExprKind::Load || (tf32 && load->dtype != DType::F32)) return plan;
  plan.buffer = load->slot;
  plan.index = load->args[0];
  const int64_t run = tf32 ? 4 : 8;
  if (aligned_runs(plan.index, k, run))
    plan.mode = Staging::KVectors;
  else if (aligned_runs(plan.index, rows, run))
    plan.mode = Staging::RowVectors;
  return plan;
}

// The operands' type as the PTX names it: f16, bf16, or tf32 for f32 factors.
std::string ptx_type(DType operands) {
  return operands == DType::BF16 ? "bf16" : operands == DType::F16 ? "f16" : "tf32";
}

class MmaRenderer {
 public:
  // `operands`: F16 or BF16, or F32 for f32 factors rounded to TF32.
  MmaRenderer(const Kernel& k, std::string name, DType operands, bool emulated)
      : k_(k),
        c_(*k.contraction),
        name_(std::move(name)),
        operands_(operands),
        tf32_(operands == DType::F32),
        step_k_(tf32_ ? kPairs : kBK),
        emulated_(emulated),
        next_var_(k.num_vars) {
    plan_[0] = plan_factor(c_.a, c_.m, c_.k, tf32_);
    plan_[1] = plan_factor(c_.b, c_.n, c_.k, tf32_);
  }

  RenderedKernel render() {
    RenderedKernel out;
    out.name = name_;
    out.shape = codegen::GroupShape::Gemm;
    const int64_t M = c_.m.size(), N = c_.n.size(), K = c_.k.size(), B = c_.batch.size();
    const int64_t tiles_m = ceil_div(M, kBM), tiles_n = ceil_div(N, kBN);
    const int64_t groups = B * tiles_m * tiles_n;
    CodeWriter w;
    ExprRenderer r(k_, w);
    r.need(DType::F32);
    w.open(codegen::opencl::entry_signature(k_, name_, kThreads, false));
    w.line("__local uint As[" + num(kBM * kPitch) + "] __attribute__((aligned(16)));");
    w.line("__local uint Bs[" + num(kBN * kPitch) + "] __attribute__((aligned(16)));");
    if (emulated_)
      w.line("__local uint mma_a[" + num(kThreads * 4) + "], mma_b[" + num(kThreads * 2) + "];");
    lid_ = new_var(kThreads);
    ExprPtr grp = new_var(std::max<int64_t>(groups, 1));
    w.line("const int " + name(lid_) + " = get_local_id(0);");
    w.line("const int " + name(grp) + " = get_group_id(0);");
    for (size_t i = 0; i < k_.scalars.size(); ++i) {
      r.need(k_.scalars[i]);
      w.line(codegen::opencl::scalar_declaration(k_.scalars[i], static_cast<int>(i)));
    }
    // The group's tile (batch-major, then tile rows, then tile columns) and the work-item's
    // place in the fragments: warp (wm, wn), lane group g and thread t within the group.
    tile_n_ = codegen::imod(grp, tiles_n);
    tile_m_ = codegen::imod(codegen::idiv(grp, tiles_n), tiles_m);
    batch_ = codegen::idiv(grp, tiles_n * tiles_m);
    wm_ = new_var(2), wn_ = new_var(2), g_ = new_var(8), t_ = new_var(4);
    const std::string L = name(lid_);
    w.line("const int " + name(wm_) + " = " + L + " >> 6, " + name(wn_) + " = (" + L +
           " >> 5) & 1, " + name(g_) + " = (" + L + " & 31) >> 2, " + name(t_) + " = " + L +
           " & 3;");
    w.line("float acc[4][8][4];");
    w.line(
        "for (int i = 0; i < 4; ++i) for (int j = 0; j < 8; ++j) for (int c = 0; c < 4; ++c) "
        "acc[i][j][c] = 0.0f;");
    if (K > 0) {
      const int64_t steps = ceil_div(K, step_k_);
      for (bool is_a : {true, false}) w.line(registers(is_a));
      fetch(w, r, codegen::index_const(0));
      ExprPtr kt = new_var(steps);
      w.open("for (int " + name(kt) + " = 0; " + name(kt) + " < " + num(steps) + "; ++" + name(kt) +
             ")");
      r.push_scope();
      stage(w, r, true);
      stage(w, r, false);
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      w.open("if (" + name(kt) + " + 1 < " + num(steps) + ")");
      r.push_scope();
      fetch(w, r, codegen::iadd(kt, 1));
      r.pop_scope();
      w.close();
      multiply(w);
      w.line("barrier(CLK_LOCAL_MEM_FENCE);");
      r.pop_scope();
      w.close();
    }
    epilogue(w, r);
    w.close();
    out.body = "// kiln kernel " + name_ + " (gemm mma " + ptx_type(operands_) + " 128x128x" +
               num(step_k_) + ")\n" + kHelpers + (emulated_ ? emulation() : "") + w.text() + "\n";
    out.needs = r.needs();
    out.source = codegen::opencl::combine_sources({&out});
    if (groups > 0) out.launches.push_back({name_, groups * kThreads, kThreads});
    return out;
  }

 private:
  ExprPtr new_var(int64_t extent) {
    return codegen::var(next_var_++, std::max<int64_t>(extent, 1));
  }
  static std::string name(const ExprPtr& v) { return ExprRenderer::var_name(v->slot); }

  // The (row, k pair) of the pair a work-item stages as its l-th: consecutive work-items
  // walk the factor's contiguous index (k pairs, or rows), so their reads coalesce.
  std::pair<ExprPtr, ExprPtr> pair_position(const ExprPtr& l, bool is_a) const {
    const VarSet& rows = is_a ? c_.m : c_.n;
    const ExprPtr& factor = is_a ? c_.a : c_.b;
    const bool k_fast = contiguous_along(factor, c_.k) && !contiguous_along(factor, rows);
    ExprPtr e = codegen::iadd(lid_, codegen::imul(l, kThreads));
    if (k_fast) return {codegen::idiv(e, kPairs), codegen::imod(e, kPairs)};
    return {codegen::imod(e, kBM), codegen::idiv(e, kBM)};
  }

  // The factor at tile row `row` and k = `k`, zero outside the product.
  ExprPtr factor_value(bool is_a, const ExprPtr& row, const ExprPtr& k) const {
    auto [subst, valid] = factor_at(k_, is_a, batch_, row, k);
    ExprPtr value = codegen::substitute(is_a ? c_.a : c_.b, subst);
    if (valid->kind == ExprKind::Const && valid->ival != 0) return value;
    return codegen::select(valid, value, codegen::const_float(DType::F32, 0));
  }

  // The registers a work-item stages a factor's tile through.
  std::string registers(bool is_a) const {
    const std::string r = is_a ? "ra" : "rb";
    switch (plan_[is_a ? 0 : 1].mode) {
      case Staging::Pairs: return "uint " + r + "[" + num(kPerItem) + "];";
      case Staging::KVectors: return "uint4 " + r + "[" + num(kBM * kBK / 8 / kThreads) + "];";
      case Staging::RowVectors:
        if (tf32_) return "uint4 " + r + "[" + num(kTf32RowUnits) + "];";
        return "uint4 " + r + "[" + num(kRowUnits) + "][2];";
    }
    return "";
  }

  // Opens `for (int l = 0; l < n; ++l)` (unrolled) in a new scope and returns l.
  ExprPtr open_loop(CodeWriter& w, ExprRenderer& r, int64_t n) {
    ExprPtr l = new_var(n);
    w.line("#pragma unroll");
    w.open("for (int " + name(l) + " = 0; " + name(l) + " < " + num(n) + "; ++" + name(l) + ")");
    r.push_scope();
    return l;
  }
  static void close_loop(CodeWriter& w, ExprRenderer& r) {
    r.pop_scope();
    w.close();
  }

  // The work-item's share of k step `kt` of both tiles, into its registers (ra, rb).
  void fetch(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt) {
    for (bool is_a : {true, false}) {
      switch (plan_[is_a ? 0 : 1].mode) {
        case Staging::Pairs: fetch_pairs(w, r, kt, is_a); break;
        case Staging::KVectors: fetch_k_vectors(w, r, kt, is_a); break;
        case Staging::RowVectors: fetch_row_vectors(w, r, kt, is_a); break;
      }
    }
  }

  // The registers into the local tiles: As by rows of m, Bs by rows of n, k pairs along.
  void stage(CodeWriter& w, ExprRenderer& r, bool is_a) {
    const std::string tile = is_a ? "As" : "Bs", reg = is_a ? "ra" : "rb";
    switch (plan_[is_a ? 0 : 1].mode) {
      case Staging::Pairs: {
        ExprPtr l = open_loop(w, r, kPerItem);
        auto [row, p] = pair_position(l, is_a);
        std::string at = r.value(codegen::iadd(codegen::imul(row, kPitch), p));
        w.line(tile + "[" + at + "] = " + reg + "[" + name(l) + "];");
        close_loop(w, r);
        return;
      }
      case Staging::KVectors: {
        ExprPtr l = open_loop(w, r, kBM * kBK / 8 / kThreads);
        ExprPtr e = codegen::iadd(lid_, codegen::imul(l, kThreads));
        ExprPtr row = codegen::idiv(e, kBK / 8), chunk = codegen::imod(e, kBK / 8);
        std::string at =
            r.value(codegen::iadd(codegen::imul(row, kPitch), codegen::imul(chunk, 4)));
        const std::string v = reg + "[" + name(l) + "]";
        w.line("*(__local uint4*)(" + tile + " + " + at +
               ") = " + (tf32_ ? "kiln_mma_tf32_4(" + v + ")" : v) + ";");
        close_loop(w, r);
        return;
      }
      case Staging::RowVectors: {
        if (tf32_) {
          // Unit l: 4 consecutive rows at one k, a word each.
          ExprPtr l = open_loop(w, r, kTf32RowUnits);
          auto [row, kk] = tf32_row_unit_position(l);
          std::string at = r.value(codegen::iadd(codegen::imul(row, kPitch), kk));
          const char* lanes[4] = {".x", ".y", ".z", ".w"};
          for (int j = 0; j < 4; ++j)
            w.line(tile + "[" + at + " + " + num(j * kPitch) + "] = kiln_mma_tf32(as_float(" + reg +
                   "[" + name(l) + "]" + lanes[j] + "));");
          close_loop(w, r);
          return;
        }
        ExprPtr l = open_loop(w, r, kRowUnits);
        auto [row, p] = row_unit_position(l);
        std::string at = r.value(codegen::iadd(codegen::imul(row, kPitch), p));
        // Row j of the 8 takes half j of the lower k's load and half j of the upper k's.
        const std::string lo = reg + "[" + name(l) + "][0]", hi = reg + "[" + name(l) + "][1]";
        const char* lanes[4] = {".x", ".y", ".z", ".w"};
        for (int j = 0; j < 4; ++j) {
          w.line(tile + "[" + at + " + " + num(2 * j * kPitch) + "] = (" + lo + lanes[j] +
                 " & 0xffffu) | (" + hi + lanes[j] + " << 16);");
          w.line(tile + "[" + at + " + " + num((2 * j + 1) * kPitch) + "] = (" + lo + lanes[j] +
                 " >> 16) | (" + hi + lanes[j] + " & 0xffff0000u);");
        }
        close_loop(w, r);
        return;
      }
    }
  }

  // Pairs: each value of the pair evaluated from the factor expression. For TF32 a register
  // holds one value: the word p of a row is k p of the step.
  void fetch_pairs(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt, bool is_a) {
    const std::string pack = operands_ == DType::BF16 ? "kiln_mma_pack_bf16" : "kiln_mma_pack_f16";
    ExprPtr l = open_loop(w, r, kPerItem);
    auto [row, p] = pair_position(l, is_a);
    ExprPtr grow = codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, kBM), row);
    ExprPtr k = codegen::iadd(codegen::imul(kt, step_k_), codegen::imul(p, tf32_ ? 1 : 2));
    const std::string reg = std::string(is_a ? "ra[" : "rb[") + name(l) + "] = ";
    std::string lo = r.value(factor_value(is_a, grow, k));
    if (tf32_) {
      w.line(reg + "kiln_mma_tf32(" + lo + ");");
    } else {
      std::string hi = r.value(factor_value(is_a, grow, codegen::iadd(k, 1)));
      w.line(reg + pack + "(" + lo + ", " + hi + ");");
    }
    close_loop(w, r);
  }

  // `(valid ? *(16-byte load at the factor's element (row, k)) : 0)`, row and k clamped
  // into the product so that the address is always inside the buffer.
  std::string vector_load(ExprRenderer& r, bool is_a, const ExprPtr& row, const ExprPtr& k) {
    const FactorPlan& plan = plan_[is_a ? 0 : 1];
    auto [subst, valid] = factor_at(k_, is_a, batch_, row, k);
    std::string at = r.value(codegen::substitute(plan.index, subst));
    std::string load =
        "*(__global const uint4*)(" + ExprRenderer::buffer(plan.buffer) + " + " + at + ")";
    if (valid->kind == ExprKind::Const && valid->ival != 0) return load;
    return "(" + r.value(valid) + " ? " + load + " : (uint4)(0))";
  }

  // KVectors: 8 consecutive k of one row per load (TF32: 4); rows of the tile by 4 loads.
  void fetch_k_vectors(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt, bool is_a) {
    ExprPtr l = open_loop(w, r, kBM * kBK / 8 / kThreads);
    ExprPtr e = codegen::iadd(lid_, codegen::imul(l, kThreads));
    ExprPtr row =
        codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, kBM), codegen::idiv(e, kBK / 8));
    ExprPtr k = codegen::iadd(codegen::imul(kt, step_k_),
                              codegen::imul(codegen::imod(e, kBK / 8), tf32_ ? 4 : 8));
    w.line(std::string(is_a ? "ra[" : "rb[") + name(l) + "] = " + vector_load(r, is_a, row, k) +
           ";");
    close_loop(w, r);
  }

  // RowVectors unit u: 8 consecutive rows (chunk nq) at the k pair p. Four consecutive
  // work-items take four chunks of one k (64 contiguous bytes), the next ones the next k.
  std::pair<ExprPtr, ExprPtr> row_unit_position(const ExprPtr& l) const {
    ExprPtr u = codegen::iadd(lid_, codegen::imul(l, kThreads));
    ExprPtr nq = codegen::iadd(codegen::imul(codegen::idiv(u, 4 * kPairs), 4), codegen::imod(u, 4));
    return {codegen::imul(nq, 8), codegen::imod(codegen::idiv(u, 4), kPairs)};
  }

  // TF32 RowVectors unit u: 4 consecutive rows (chunk rq) at k kk. Four consecutive
  // work-items take four chunks of one k (64 contiguous bytes), the next ones the next k.
  std::pair<ExprPtr, ExprPtr> tf32_row_unit_position(const ExprPtr& l) const {
    ExprPtr u = codegen::iadd(lid_, codegen::imul(l, kThreads));
    ExprPtr rq = codegen::iadd(codegen::imul(codegen::idiv(u, 4 * kPairs), 4), codegen::imod(u, 4));
    return {codegen::imul(rq, 4), codegen::imod(codegen::idiv(u, 4), kPairs)};
  }

  void fetch_row_vectors(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt, bool is_a) {
    if (tf32_) {
      ExprPtr l = open_loop(w, r, kTf32RowUnits);
      auto [row, kk] = tf32_row_unit_position(l);
      ExprPtr grow = codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, kBM), row);
      ExprPtr k = codegen::iadd(codegen::imul(kt, step_k_), kk);
      w.line(std::string(is_a ? "ra[" : "rb[") + name(l) + "] = " + vector_load(r, is_a, grow, k) +
             ";");
      close_loop(w, r);
      return;
    }
    ExprPtr l = open_loop(w, r, kRowUnits);
    auto [row, p] = row_unit_position(l);
    ExprPtr grow = codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, kBM), row);
    ExprPtr k = codegen::iadd(codegen::imul(kt, kBK), codegen::imul(p, 2));
    const std::string reg = std::string(is_a ? "ra[" : "rb[") + name(l) + "]";
    w.line(reg + "[0] = " + vector_load(r, is_a, grow, k) + ";");
    w.line(reg + "[1] = " + vector_load(r, is_a, grow, codegen::iadd(k, 1)) + ";");
    close_loop(w, r);
  }

  // The emulated mma: the product one mma.sync.m16n8k16 computes, from the same fragment
  // registers, exchanged through local memory. The PTX ISA's layouts (groupID g = lane / 4,
  // t = lane % 4): A registers (g, 2t..2t+1), (g + 8, 2t), (g, 2t + 8), (g + 8, 2t + 8);
  // B registers (k 2t..2t+1, col g), (k 2t + 8, g); C (g, 2t), (g, 2t + 1), (g + 8, 2t),
  // (g + 8, 2t + 1).
  // For TF32 (mma.sync.m16n8k8, one value a register): A registers (g, t), (g + 8, t),
  // (g, t + 4), (g + 8, t + 4); B registers (k t, col g), (k t + 4, g); C as above.
  std::string emulation() const {
    std::string k_loop;
    if (tf32_) {
      k_loop =
          "    for (int k = 0; k < 8; ++k) {\n"
          "      const float av = as_float(sa[(base + (row & 7) * 4 + (k & 3)) * 4 + (row >> 3) + "
          "(k >> 2) * 2]);\n"
          "      const float bv = as_float(sb[(base + col * 4 + (k & 3)) * 2 + (k >> 2)]);\n";
    } else {
      const std::string decode = operands_ == DType::BF16
                                     ? "as_float(((x >> (16 * h)) & 0xffffu) << 16)"
                                     : "vload_half(0, (const __private half*)&bits)";
      k_loop =
          "    for (int k = 0; k < 16; ++k) {\n"
          "      const int h = k & 1;\n"
          "      uint x = sa[(base + (row & 7) * 4 + ((k & 7) >> 1)) * 4 + (row >> 3) + "
          "(k >> 3) * 2];\n"
          "      ushort bits = (ushort)(x >> (16 * h));\n"
          "      const float av = " +
          decode +
          ";\n"
          "      x = sb[(base + col * 4 + ((k & 7) >> 1)) * 2 + (k >> 3)];\n"
          "      bits = (ushort)(x >> (16 * h));\n"
          "      const float bv = " +
          decode + ";\n";
    }
    return "void " + name_ +
           "_mma(float* c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, "
           "__local uint* sa, __local uint* sb, int lane) {\n"
           "  const int base = lane & ~31, l = lane & 31, g = l >> 2, t = l & 3;\n"
           "  sa[lane * 4 + 0] = a0; sa[lane * 4 + 1] = a1; sa[lane * 4 + 2] = a2; "
           "sa[lane * 4 + 3] = a3;\n"
           "  sb[lane * 2 + 0] = b0; sb[lane * 2 + 1] = b1;\n"
           "  barrier(CLK_LOCAL_MEM_FENCE);\n"
           "  for (int q = 0; q < 4; ++q) {\n"
           "    const int row = g + (q >> 1) * 8, col = 2 * t + (q & 1);\n"
           "    float s = c[q];\n" +
           k_loop +
           "      s = fma(av, bv, s);\n"
           "    }\n"
           "    c[q] = s;\n"
           "  }\n"
           "  barrier(CLK_LOCAL_MEM_FENCE);\n"
           "}\n";
  }

  // acc += the local tiles' product: per fragment, two m16n8k16 steps (halves: a register
  // holds a k pair) or two m16n8k8 steps (TF32: one k a register).
  void multiply(CodeWriter& w) {
    const std::string P = num(kPitch), type = ptx_type(operands_);
    const std::string shape = tf32_ ? "m16n8k8" : "m16n8k16";
    w.line("#pragma unroll");
    w.open("for (int kk = 0; kk < " + num(kPairs) + "; kk += 8)");
    w.line("uint fa[4][4], fb[8][2];");
    w.line("#pragma unroll");
    w.open("for (int mi = 0; mi < 4; ++mi)");
    w.line("const __local uint* q = As + (" + name(wm_) + " * 64 + mi * 16 + " + name(g_) + ") * " +
           P + " + kk + " + name(t_) + ";");
    w.line("fa[mi][0] = q[0]; fa[mi][1] = q[8 * " + P + "]; fa[mi][2] = q[4]; fa[mi][3] = q[8 * " +
           P + " + 4];");
    w.close();
    w.line("#pragma unroll");
    w.open("for (int ni = 0; ni < 8; ++ni)");
    w.line("const __local uint* q = Bs + (" + name(wn_) + " * 64 + ni * 8 + " + name(g_) + ") * " +
           P + " + kk + " + name(t_) + ";");
    w.line("fb[ni][0] = q[0]; fb[ni][1] = q[4];");
    w.close();
    if (emulated_) {
      // Barriers inside: kept as loops (unrolled, they make CPU compilers slow).
      w.line("#pragma unroll 1");
      w.line("for (int mi = 0; mi < 4; ++mi)");
      w.line("#pragma unroll 1");
      w.line("  for (int ni = 0; ni < 8; ++ni) " + name_ +
             "_mma(acc[mi][ni], fa[mi][0], fa[mi][1], fa[mi][2], fa[mi][3], fb[ni][0], "
             "fb[ni][1], mma_a, mma_b, " +
             name(lid_) + ");");
      w.close();
      return;
    }
    w.line("#pragma unroll");
    w.open("for (int mi = 0; mi < 4; ++mi)");
    w.line("#pragma unroll");
    w.open("for (int ni = 0; ni < 8; ++ni)");
    w.line("asm volatile(\"mma.sync.aligned." + shape + ".row.col.f32." + type + "." + type +
           ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\"");
    w.line(
        "    : \"+f\"(acc[mi][ni][0]), \"+f\"(acc[mi][ni][1]), \"+f\"(acc[mi][ni][2]), "
        "\"+f\"(acc[mi][ni][3])");
    w.line(
        "    : \"r\"(fa[mi][0]), \"r\"(fa[mi][1]), \"r\"(fa[mi][2]), \"r\"(fa[mi][3]), "
        "\"r\"(fb[ni][0]), \"r\"(fb[ni][1]));");
    w.close();
    w.close();
    w.close();
  }

  // Stage 1's stores for every accumulator inside the output: accumulator (mi, ni, 2h + c)
  // is row g + 8h, column 2t + c of fragment (mi, ni).
  void epilogue(CodeWriter& w, ExprRenderer& r) {
    ExprPtr mi = new_var(4), ni = new_var(8), h = new_var(2), c = new_var(2);
    for (const auto& [v, n] : {std::pair{mi, 4}, {ni, 8}, {h, 2}, {c, 2}}) {
      w.line("#pragma unroll");
      w.open("for (int " + name(v) + " = 0; " + name(v) + " < " + num(n) + "; ++" + name(v) + ")");
    }
    r.push_scope();
    using codegen::iadd;
    using codegen::imul;
    ExprPtr m =
        iadd(iadd(iadd(imul(tile_m_, kBM), imul(wm_, 64)), iadd(imul(mi, 16), g_)), imul(h, 8));
    ExprPtr n =
        iadd(iadd(iadd(imul(tile_n_, kBN), imul(wn_, 64)), iadd(imul(ni, 8), imul(t_, 2))), c);
    render_gemm_stores(
        w, r, k_, batch_, m, n,
        "acc[" + name(mi) + "][" + name(ni) + "][2 * " + name(h) + " + " + name(c) + "]");
    r.pop_scope();
    for (int i = 0; i < 4; ++i) w.close();
  }

  const Kernel& k_;
  const Contraction& c_;
  std::string name_;
  DType operands_;
  bool tf32_;       // f32 factors rounded to TF32, m16n8k8
  int64_t step_k_;  // k a step of the tiles: 32 (k pairs), 16 (TF32)
  bool emulated_;   // each mma computed through local memory (tests on any device)
  int next_var_;
  ExprPtr lid_, tile_m_, tile_n_, batch_, wm_, wn_, g_, t_;
  FactorPlan plan_[2];  // A, B
};

DType half_source(const ExprPtr& factor) {
  if (factor->kind != ExprKind::Cast || factor->dtype != DType::F32) return DType::F32;
  DType from = factor->args[0]->dtype;
  return from == DType::F16 || from == DType::BF16 ? from : DType::F32;
}

}  // namespace

DType mma_operand_dtype(const Kernel& kernel) {
  if (!kernel.contraction || kernel.contraction->acc != DType::F32) return DType::F32;
  DType a = half_source(kernel.contraction->a), b = half_source(kernel.contraction->b);
  return a == b ? a : DType::F32;
}

std::optional<DType> tensor_core_operands(const Kernel& kernel, const OpenCLTarget& target) {
  if (target.mma == codegen::opencl::MmaMode::Off || !kernel.contraction) return std::nullopt;
  const DType half = mma_operand_dtype(kernel);
  if (half != DType::F32) return half;
  const Contraction& c = *kernel.contraction;
  if (target.tf32 && c.acc == DType::F32 && c.a->dtype == DType::F32 && c.b->dtype == DType::F32)
    return DType::F32;
  return std::nullopt;
}

bool uses_tensor_cores(const Kernel& kernel, const OpenCLTarget& target) {
  if (!tensor_core_operands(kernel, target) || target.max_work_group_size < kThreads) return false;
  // Products too small to fill one 128 x 128 tile by a quarter run better portably.
  const Contraction& c = *kernel.contraction;
  return c.m.size() >= 32 && c.n.size() >= 32 && c.k.size() >= 16;
}

RenderedKernel render_gemm_mma(const Kernel& kernel, const OpenCLTarget& target,
                               const std::string& name) {
  const std::optional<DType> operands = tensor_core_operands(kernel, target);
  if (!operands)
    throw CompileError("opencl gemm: kernel " + name +
                       " is not an f16 or bf16 product (or an f32 one with TF32 allowed) on a "
                       "device with tensor cores");
  return MmaRenderer(kernel, name, *operands, target.mma == codegen::opencl::MmaMode::Emulated)
      .render();
}

}  // namespace kiln::kernels::opencl
