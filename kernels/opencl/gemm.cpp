// gemm: the tiled OpenCL GEMM with a fused epilogue (see gemm.h).
#include "kernels/opencl/gemm.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_set>

#include "codegen/opencl/expr_renderer.h"
#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"
#include "kernels/opencl/gemm_mma.h"

namespace kiln::kernels::opencl {

using codegen::ExprPtr;
using codegen::VarSet;
using codegen::opencl::CodeWriter;
using codegen::opencl::ExprRenderer;

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t elem_bytes(DType acc) { return acc == DType::F64 ? 8 : 4; }

// A work-item's rows (and columns) come in runs of this many adjacent ones, read from local
// memory as one 16-byte vector; the runs are strided by the group's width, so that
// neighbouring work-items read neighbouring vectors (no bank conflicts) and store
// neighbouring elements. 1 (plain strided elements) when the block does not divide.
int vec_width(const GemmTile& t, DType acc) {
  const int v = acc == DType::F64 ? 2 : 4;
  return t.tm % v == 0 && t.tn % v == 0 ? v : 1;
}
// Local tiles are stored k-major with rows padded (keeping vectors aligned): work-items
// that store a tile along k (a transposed factor) then hit different banks. Each tile is
// double-buffered.
int row_pad(const GemmTile& t, DType acc) { return std::max(1, vec_width(t, acc)); }
int64_t local_bytes(const GemmTile& t, DType acc) {
  const int pad = row_pad(t, acc);
  return 2 * (int64_t{t.bk} * (t.bm + pad) + int64_t{t.bk} * (t.bn + pad)) * elem_bytes(acc);
}

// The offset in the tile of a work-item's element `idx` (a register row or column): runs
// of `vw` adjacent elements, work-item `t` of `w` along this side.
ExprPtr block_offset(const ExprPtr& t, const ExprPtr& idx, int w, int vw) {
  return codegen::iadd(
      codegen::iadd(codegen::imul(codegen::idiv(idx, vw), int64_t{w} * vw), codegen::imul(t, vw)),
      codegen::imod(idx, vw));
}
std::string num(int64_t v) { return std::to_string(v); }
std::string index_type(int64_t extent) {
  return extent <= std::numeric_limits<int32_t>::max() ? "int" : "long";
}

// How a work-item moves its share of a factor's k step into local memory.
enum class Staging : uint8_t {
  Registers,  // any factor: evaluated into registers a step ahead, stored the next step
  Async4,     // an f32 buffer read as it is: one 4-byte asynchronous copy per element
  Async16,    // the same, contiguous along the tile's rows (m of A, n of B) in aligned
              // runs of 4: one 16-byte asynchronous copy per 4 rows
};

// Whether `index` walks memory with stride 1 along the innermost variable of `set` in
// aligned runs of 4 elements (16 bytes of f32): that variable's extent, every other
// coefficient and the offset are multiples of 4.
bool aligned_runs_of_4(const ExprPtr& index, const VarSet& set) {
  if (set.vars.empty() || set.extents.back() % 4 != 0) return false;
  const int v = set.vars.back();
  codegen::Linear lin = codegen::linearize(index);
  if (lin.constant % 4 != 0) return false;
  bool unit = false;
  for (const auto& [atom, coef] : lin.terms) {
    if (atom->kind == codegen::ExprKind::Var && atom->slot == v) {
      unit = coef == 1;
      if (!unit) return false;
    } else if (atom->depends_on_var(v) || coef % 4 != 0) {
      return false;
    }
  }
  return unit;
}

// Candidate tiles, best first for large products; each work-item's block is at most 8 x 8.
// GPUs want many work-items and big register blocks (arithmetic per local read); CPU
// OpenCL (PoCL) runs a work-group as loops over its work-items and prefers small groups.
const std::vector<GemmTile>& gpu_tiles() {
  static const std::vector<GemmTile> t = {
      {128, 128, 16, 8, 8}, {128, 64, 16, 8, 8}, {64, 128, 16, 8, 8}, {64, 64, 16, 4, 4},
      {64, 64, 16, 8, 8},   {32, 64, 16, 4, 4},  {64, 32, 16, 4, 4},  {32, 32, 16, 4, 4},
      {16, 64, 16, 2, 4},   {64, 16, 16, 4, 2},  {16, 16, 16, 2, 2},
  };
  return t;
}
const std::vector<GemmTile>& cpu_tiles() {
  static const std::vector<GemmTile> t = {
      {64, 64, 16, 8, 8}, {64, 64, 32, 8, 8},   {32, 64, 16, 4, 8},
      {64, 64, 16, 4, 4}, {32, 32, 16, 4, 4},   {16, 64, 16, 2, 8},
      {64, 16, 16, 8, 2}, {128, 128, 16, 8, 8}, {16, 16, 16, 2, 2},
  };
  return t;
}

char size_class(int64_t n) { return n <= 16 ? 'S' : n <= 512 ? 'M' : 'L'; }

class GemmRenderer {
 public:
  GemmRenderer(const Kernel& k, const OpenCLTarget& t, std::string name, const GemmTile& tile)
      : k_(k),
        c_(*k.contraction),
        t_(t),
        tile_(tile),
        name_(std::move(name)),
        next_var_(k.num_vars) {}

  RenderedKernel render() {
    RenderedKernel out;
    out.name = name_;
    out.shape = codegen::GroupShape::Gemm;
    const int64_t M = c_.m.size(), N = c_.n.size(), K = c_.k.size(), B = c_.batch.size();
    const int64_t tiles_m = ceil_div(M, tile_.bm), tiles_n = ceil_div(N, tile_.bn);
    wg_ = tile_.work_items();
    const int64_t groups = B * tiles_m * tiles_n;
    CodeWriter w;
    ExprRenderer r(k_, w);
    r.need(c_.acc);
    w.open(codegen::opencl::entry_signature(k_, name_, wg_, false));
    vw_ = vec_width(tile_, c_.acc);
    pad_ = row_pad(tile_, c_.acc);
    const std::string LT = codegen::opencl::compute_type(c_.acc);
    const int64_t a_size = tile_.bk * (tile_.bm + pad_);
    const int64_t b_size = tile_.bk * (tile_.bn + pad_);
    plan_staging();
    // stages_ of each tile: the k step computed on, and the next ones being stored.
    w.line("__local " + LT + " As[" + num(stages_ * a_size) + "] __attribute__((aligned(16)));");
    w.line("__local " + LT + " Bs[" + num(stages_ * b_size) + "] __attribute__((aligned(16)));");
    a_size_ = a_size;
    b_size_ = b_size;
    ExprPtr lid = new_var(wg_), grp = new_var(std::max<int64_t>(groups, 1));
    w.line("const int " + name(lid) + " = get_local_id(0);");
    w.line("const " + index_type(groups) + " " + name(grp) + " = get_group_id(0);");
    for (size_t i = 0; i < k_.scalars.size(); ++i) {
      r.need(k_.scalars[i]);
      w.line(codegen::opencl::scalar_declaration(k_.scalars[i], static_cast<int>(i)));
    }
    // The group's tile: batch-major, then tile rows, then tile columns.
    tile_n_ = codegen::imod(grp, tiles_n);
    tile_m_ = codegen::imod(codegen::idiv(grp, tiles_n), tiles_m);
    batch_ = codegen::idiv(grp, tiles_n * tiles_m);
    lid_ = lid;
    render_portable(w, r, K);
    w.close();
    if (r.needs().fp64 && !t_.fp64)
      throw UnsupportedError("opencl backend: kernel " + name_ +
                             " computes in f64, but OpenCL device '" + t_.device_name +
                             "' lacks the extension cl_khr_fp64; compute in f32 (cast) or run "
                             "on a device with cl_khr_fp64");
    out.body =
        "// kiln kernel " + name_ + " (gemm " + gemm_tile_str(tile_) + ")\n" + w.text() + "\n";
    out.needs = r.needs();
    out.source = codegen::opencl::combine_sources({&out});
    if (groups > 0) out.launches.push_back({name_, groups * wg_, wg_});
    return out;
  }

 private:
  ExprPtr new_var(int64_t extent) {
    return codegen::var(next_var_++, std::max<int64_t>(extent, 1));
  }
  static std::string name(const ExprPtr& v) { return ExprRenderer::var_name(v->slot); }

  std::vector<ExprPtr> empty_subst() const {
    return std::vector<ExprPtr>(static_cast<size_t>(k_.num_vars));
  }

  // The portable body: fma on tm x tn register blocks.
  void render_portable(CodeWriter& w, ExprRenderer& r, int64_t K) {
    const std::string T = codegen::opencl::compute_type(c_.acc);
    thread_layout();
    const std::string TX = r.value(tx_), TY = r.value(ty_);
    w.line(T + " acc[" + num(tile_.tm) + "][" + num(tile_.tn) + "];");
    w.line("for (int i = 0; i < " + num(tile_.tm) + "; ++i) for (int j = 0; j < " + num(tile_.tn) +
           "; ++j) acc[i][j] = 0;");
    if (async())
      async_k_loop(w, r, K, [&] { multiply(w, TX, TY); });
    else
      k_loop(w, r, K, [&] { multiply(w, TX, TY); });
    const int wy = tile_.bm / tile_.tm, wx = tile_.bn / tile_.tn;
    ExprPtr i = new_var(tile_.tm), j = new_var(tile_.tn);
    open_loop(w, i, tile_.tm);
    open_loop(w, j, tile_.tn);
    r.push_scope();
    ExprPtr m = codegen::iadd(codegen::imul(tile_m_, tile_.bm), block_offset(ty_, i, wy, vw_));
    ExprPtr n = codegen::iadd(codegen::imul(tile_n_, tile_.bn), block_offset(tx_, j, wx, vw_));
    store_element(w, r, m, n, "acc[" + name(i) + "][" + name(j) + "]");
    r.pop_scope();
    w.close();
    w.close();
  }

  // The work-item's column group tx_ (of wx = bn / tn) and row group ty_ (of wy). Where the
  // grid allows, each warp of 32 work-items takes a 4 x 8 block of it (CUTLASS's SIMT warp
  // tile): a warp's vector reads of one k row then touch 4 adjacent vectors of A and 8 of
  // B, one 128-byte pass of local memory each, rather than 2 and 16 (two passes). Only with
  // the asynchronous copies, where sgemm 4096^3 ran 0.5% faster with it on an H100; the
  // register pipeline (conv2d's im2col, other devices) keeps its layout, not measured so.
  void thread_layout() {
    const int wy = tile_.bm / tile_.tm, wx = tile_.bn / tile_.tn;
    if (async() && wx % 8 == 0 && wy % 4 == 0 && wg_ % 32 == 0) {
      ExprPtr lane = codegen::imod(lid_, 32), warp = codegen::idiv(lid_, 32);
      tx_ = codegen::iadd(codegen::imod(lane, 8), codegen::imul(codegen::imod(warp, wx / 8), 8));
      ty_ = codegen::iadd(codegen::idiv(lane, 8), codegen::imul(codegen::idiv(warp, wx / 8), 4));
      return;
    }
    tx_ = codegen::imod(lid_, wx);
    ty_ = codegen::idiv(lid_, wx);
  }

  // Whether the tiles are copied asynchronously, how, and in how many stages. Asynchronous
  // copies (cp.async, compute capability 8.0, as the tensor cores' mma.sync: target.mma) go
  // straight from global to local memory, with no registers and no stores in between, and
  // keep up to four k steps in flight; they need both factors to be f32 buffers read as
  // they are. Where target.mma is Emulated (tests), the same pipeline copies synchronously.
  void plan_staging() {
    stages_ = 2;
    staging_[0] = staging_[1] = Staging::Registers;
    if (t_.mma == codegen::opencl::MmaMode::Off || c_.acc != DType::F32) return;
    Staging chosen[2];
    for (bool is_a : {true, false}) {
      const ExprPtr& f = is_a ? c_.a : c_.b;
      if (f->kind != codegen::ExprKind::Load || f->dtype != DType::F32) return;
      const int span = is_a ? tile_.bm : tile_.bn;
      // 16-byte copies need local rows of whole vectors (padded by 4) and a whole number of
      // them per work-item.
      const bool runs = aligned_runs_of_4(f->args[0], is_a ? c_.m : c_.n) && span % 4 == 0 &&
                        (span + pad_) % 4 == 0 && (int64_t{span} * tile_.bk / 4) % wg_ == 0;
      chosen[is_a ? 0 : 1] = runs ? Staging::Async16 : Staging::Async4;
    }
    staging_[0] = chosen[0];
    staging_[1] = chosen[1];
    const int64_t stage_bytes = local_bytes(tile_, c_.acc) / 2;
    stages_ = static_cast<int>(std::clamp<int64_t>(t_.local_mem_bytes / stage_bytes, 2, 4));
  }
  // Whether plan_staging chose the asynchronous copies (for both factors, or neither).
  bool async() const { return staging_[0] != Staging::Registers; }

  // The loop over k steps, software-pipelined: each work-item holds its elements of the
  // next k step's tiles in registers (their global loads in flight during the products),
  // stores them in the local buffer the step before did not read, and one barrier per step
  // separates the stores from the products on them.
  void k_loop(CodeWriter& w, ExprRenderer& r, int64_t K, const std::function<void()>& compute) {
    if (K == 0) return;
    const int64_t steps = ceil_div(K, tile_.bk);
    const std::string T = codegen::opencl::compute_type(c_.acc);
    w.line(T + " pa[" + num(per(true)) + "], pb[" + num(per(false)) + "];");
    fetch_tiles(w, r, codegen::index_const(0));
    ExprPtr kt = new_var(steps);
    const std::string KT = name(kt);
    w.open("for (int " + KT + " = 0; " + KT + " < " + num(steps) + "; ++" + KT + ")");
    r.push_scope();
    w.line("__local " + T + "* const Ac = As + (" + KT + " & 1) * " + num(a_size_) + ";");
    w.line("__local " + T + "* const Bc = Bs + (" + KT + " & 1) * " + num(b_size_) + ";");
    store_tile(w, r, true);
    store_tile(w, r, false);
    w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    if (steps > 1) {
      w.open("if (" + KT + " + 1 < " + num(steps) + ")");
      r.push_scope();
      fetch_tiles(w, r, codegen::iadd(kt, codegen::index_const(1)));
      r.pop_scope();
      w.close();
    }
    compute();
    r.pop_scope();
    w.close();
  }

  // A variable for the k step `value` (C), which the caller has checked to be below
  // `steps`: declared with that range, so that the guards of a product whose sizes divide
  // the tiles fold away. (The register pipeline keeps kt + 1: its sgemm ran 5% faster with
  // this on an H100, but conv2d, whose im2col indices then simplify differently, 5% slower.)
  ExprPtr next_step(CodeWriter& w, const std::string& value, int64_t steps) {
    ExprPtr v = new_var(steps);
    w.line("const int " + name(v) + " = " + value + ";");
    return v;
  }

  // The loop over k steps with asynchronous copies, stages_ deep: tiles 0 .. S-2 are in
  // flight before it; at step kt each work-item waits for its copies of tile kt, the
  // barrier makes everyone's visible (and ends every read of step kt - 1), then the copies
  // of tile kt + S - 1 go into the buffer step kt - 1 read, and the products run on tile
  // kt. Every step commits one group of copies (empty at the end), so "all but the last
  // S - 2 groups done" always means "tile kt is in".
  void async_k_loop(CodeWriter& w, ExprRenderer& r, int64_t K,
                    const std::function<void()>& compute) {
    if (K == 0) return;
    const int64_t steps = ceil_div(K, tile_.bk);
    const int S = stages_;
    for (int s = 0; s + 1 < S; ++s) {
      if (s < steps) {
        w.open("");
        r.push_scope();
        point_at_stage(w, num(s));
        copy_tiles(w, r, codegen::index_const(s));
        r.pop_scope();
        w.close();
      }
      commit(w);
    }
    ExprPtr kt = new_var(steps);
    const std::string KT = name(kt);
    w.open("for (int " + KT + " = 0; " + KT + " < " + num(steps) + "; ++" + KT + ")");
    r.push_scope();
    wait(w, S - 2);
    w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    if (steps > S - 1) {
      const std::string ahead = KT + " + " + num(S - 1);
      w.open("if (" + ahead + " < " + num(steps) + ")");
      r.push_scope();
      ExprPtr kn = next_step(w, ahead, steps);
      point_at_stage(w, stage_of(name(kn)));
      copy_tiles(w, r, kn);
      r.pop_scope();
      w.close();
    }
    commit(w);
    point_at_stage(w, stage_of(KT));
    compute();
    r.pop_scope();
    w.close();
    wait(w, 0);  // no copy outlives the kernel
  }

  // The buffer of the pipeline that k step `step` (C) uses.
  std::string stage_of(const std::string& step) const {
    return stages_ == 2 ? "(" + step + " & 1)" : "(" + step + " % " + num(stages_) + ")";
  }
  // Ac and Bc: the tiles of buffer `stage` (C).
  void point_at_stage(CodeWriter& w, const std::string& stage) const {
    const std::string T = codegen::opencl::compute_type(c_.acc);
    w.line("__local " + T + "* const Ac = As + " + stage + " * " + num(a_size_) + ";");
    w.line("__local " + T + "* const Bc = Bs + " + stage + " * " + num(b_size_) + ";");
  }

  // Inline PTX (NVIDIA) rather than the plain copies of the emulation.
  bool ptx() const { return t_.mma == codegen::opencl::MmaMode::Ptx; }
  // The "memory" clobbers keep the compiler from moving local reads across the waits.
  void commit(CodeWriter& w) {
    if (ptx()) w.line("asm volatile(\"cp.async.commit_group;\" ::: \"memory\");");
  }
  void wait(CodeWriter& w, int pending) {
    if (ptx())
      w.line("asm volatile(\"cp.async.wait_group " + num(pending) + ";\" ::: \"memory\");");
  }

  // One copy of `bytes` (4 or 16) from `src` (C, a global float pointer) to `dst` (C, a
  // local float pointer), zero where `valid` (C; "" for always) is false, the address then
  // clamped inside the buffer.
  void copy(CodeWriter& w, const std::string& dst, const std::string& src, const std::string& valid,
            int bytes) {
    if (!ptx()) {
      const std::string v = valid.empty() ? "" : valid + " ? ";
      if (bytes == 4)
        w.line("*(" + dst + ") = " + v + "*(" + src + ")" + (valid.empty() ? "" : " : 0") + ";");
      else
        w.line("*(__local float4*)(" + dst + ") = " + v + "vload4(0, " + src + ")" +
               (valid.empty() ? "" : " : (float4)(0)") + ";");
      return;
    }
    // .ca (cached in L1) is the only 4-byte form; 16 bytes bypass L1 (.cg). A __local
    // pointer's value is its address in the shared window, as cp.async takes it.
    const std::string op = std::string("cp.async.") + (bytes == 16 ? "cg" : "ca") +
                           ".shared.global [%0], [%1], " + num(bytes);
    std::string in = "\"r\"((uint)(ulong)(" + dst + ")), \"l\"((ulong)(" + src + "))";
    if (!valid.empty()) in += ", \"r\"(" + valid + " ? " + num(bytes) + "u : 0u)";
    w.line("asm volatile(\"" + op + (valid.empty() ? "" : ", %2") + ";\" :: " + in +
           " : \"memory\");");
  }

  // The asynchronous copies of k step `kt` of both tiles into Ac and Bc. (Writing a
  // work-item's copies as one base address plus constants, when they are evenly spaced,
  // saved 12 registers but ran 3% slower on an H100.)
  void copy_tiles(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt) {
    for (bool is_a : {true, false}) {
      const ExprPtr& f = is_a ? c_.a : c_.b;
      const int span = is_a ? tile_.bm : tile_.bn;
      const int64_t extent = (is_a ? c_.m : c_.n).size();
      const std::string tile = is_a ? "Ac" : "Bc";
      const bool runs = staging_[is_a ? 0 : 1] == Staging::Async16;
      const int bytes = runs ? 16 : 4;
      const int64_t count = runs ? int64_t{span} * tile_.bk / 4 / wg_ : per(is_a);
      ExprPtr l = new_var(count);
      ExprPtr kk, rr;
      if (runs) {
        ExprPtr e = codegen::iadd(lid_, codegen::imul(l, wg_));
        kk = codegen::idiv(e, span / 4);
        rr = codegen::imul(codegen::imod(e, span / 4), 4);
      } else {
        std::tie(kk, rr) = element(is_a, l);
      }
      ExprPtr row = codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, span), rr);
      ExprPtr k = codegen::iadd(codegen::imul(kt, tile_.bk), kk);
      // A run's address clamped to the last whole run (16-byte aligned).
      ExprPtr at_row = runs ? codegen::imin(row, codegen::index_const(extent - 4)) : row;
      ExprPtr index = codegen::substitute(f->args[0], factor_at(k_, is_a, batch_, at_row, k).subst);
      ExprPtr valid = codegen::land(codegen::ilt(row, codegen::index_const(extent)),
                                    codegen::ilt(k, codegen::index_const(c_.k.size())));
      ExprPtr dst = codegen::iadd(codegen::imul(kk, span + pad_), rr);
      const std::string buffer = ExprRenderer::buffer(f->slot);
      const bool always = valid->kind == codegen::ExprKind::Const && valid->ival != 0;
      open_loop(w, l, count);
      r.push_scope();
      copy(w, tile + " + " + r.value(dst), buffer + " + " + r.value(index),
           always ? "" : r.value(valid), bytes);
      r.pop_scope();
      w.close();
    }
  }

  void open_loop(CodeWriter& w, const ExprPtr& v, int64_t extent) {
    w.line("#pragma unroll");
    w.open("for (int " + name(v) + " = 0; " + name(v) + " < " + num(extent) + "; ++" + name(v) +
           ")");
  }

  // Elements of the A or B tile per work-item.
  int64_t per(bool is_a) const { return int64_t{is_a ? tile_.bm : tile_.bn} * tile_.bk / wg_; }

  // The work-item's element `l` of the A tile (bm x bk) or the B tile (bk x bn): tile
  // elements lid, lid + wg, ..., numbered so that consecutive work-items read along the
  // factor's contiguous index. Returns (k in the tile, row or column in the tile).
  std::pair<ExprPtr, ExprPtr> element(bool is_a, const ExprPtr& l) const {
    const VarSet& rows = is_a ? c_.m : c_.n;
    const ExprPtr& factor = is_a ? c_.a : c_.b;
    const int span = is_a ? tile_.bm : tile_.bn;
    const bool k_fast = contiguous_along(factor, c_.k) && !contiguous_along(factor, rows);
    ExprPtr e = codegen::iadd(lid_, codegen::imul(l, wg_));
    if (k_fast) return {codegen::imod(e, tile_.bk), codegen::idiv(e, tile_.bk)};
    return {codegen::idiv(e, span), codegen::imod(e, span)};
  }

  // Loads the work-item's elements of both tiles of k step `kt` into pa / pb.
  void fetch_tiles(CodeWriter& w, ExprRenderer& r, const ExprPtr& kt) {
    for (bool is_a : {true, false}) {
      ExprPtr l = new_var(per(is_a));
      open_loop(w, l, per(is_a));
      r.push_scope();
      auto [kk, rr] = element(is_a, l);
      ExprPtr row =
          codegen::iadd(codegen::imul(is_a ? tile_m_ : tile_n_, is_a ? tile_.bm : tile_.bn), rr);
      ExprPtr k = codegen::iadd(codegen::imul(kt, tile_.bk), kk);
      // Out-of-range elements read a clamped (valid) element and hold zero.
      auto [subst, valid] = factor_at(k_, is_a, batch_, row, k);
      std::string value = r.value(codegen::substitute(is_a ? c_.a : c_.b, subst));
      const std::string dst = std::string(is_a ? "pa[" : "pb[") + name(l) + "]";
      if (valid->kind == codegen::ExprKind::Const && valid->ival != 0)
        w.line(dst + " = " + value + ";");
      else
        w.line(dst + " = " + r.value(valid) + " ? " + value + " : 0;");
      r.pop_scope();
      w.close();
    }
  }

  // Stores pa (to Ac) or pb (to Bc), k-major.
  void store_tile(CodeWriter& w, ExprRenderer& r, bool is_a) {
    ExprPtr l = new_var(per(is_a));
    open_loop(w, l, per(is_a));
    r.push_scope();
    auto [kk, rr] = element(is_a, l);
    const int span = is_a ? tile_.bm : tile_.bn;
    const std::string at = r.value(codegen::iadd(codegen::imul(kk, span + pad_), rr));
    w.line(std::string(is_a ? "Ac[" : "Bc[") + at + "] = " + (is_a ? "pa[" : "pb[") + name(l) +
           "];");
    r.pop_scope();
    w.close();
  }

  // acc += A tile * B tile, each work-item reading its rows and columns (block_offset).
  void multiply(CodeWriter& w, const std::string& TX, const std::string& TY) {
    const std::string T = codegen::opencl::compute_type(c_.acc);
    const int wy = tile_.bm / tile_.tm, wx = tile_.bn / tile_.tn;
    w.line("#pragma unroll");
    w.open("for (int kk = 0; kk < " + num(tile_.bk) + "; ++kk)");
    w.line(T + " ra[" + num(tile_.tm) + "], rb[" + num(tile_.tn) + "];");
    read_block(w, "ra", "Ac", tile_.tm, tile_.bm, wy, TY);
    read_block(w, "rb", "Bc", tile_.tn, tile_.bn, wx, TX);
    w.line("#pragma unroll");
    w.open("for (int i = 0; i < " + num(tile_.tm) + "; ++i)");
    w.line("#pragma unroll");
    w.line("for (int j = 0; j < " + num(tile_.tn) +
           "; ++j) acc[i][j] = fma(ra[i], rb[j], acc[i][j]);");
    w.close();
    w.close();
  }

  // reg[0..count) = row kk of local tile `tile` (of `span` elements) at the work-item's
  // offsets: one vector per run of vw_ elements.
  void read_block(CodeWriter& w, const std::string& reg, const std::string& tile, int count,
                  int span, int width, const std::string& t) {
    const std::string row = "kk * " + num(span + pad_);
    w.line("#pragma unroll");
    if (vw_ == 1) {
      w.line("for (int i = 0; i < " + num(count) + "; ++i) " + reg + "[i] = " + tile + "[" + row +
             " + " + t + " + i * " + num(width) + "];");
      return;
    }
    const std::string V = codegen::opencl::compute_type(c_.acc) + num(vw_);
    w.open("for (int c = 0; c < " + num(count / vw_) + "; ++c)");
    w.line("const " + V + " v = *(__local const " + V + "*)(" + tile + " + " + row + " + c * " +
           num(int64_t{width} * vw_) + " + " + t + " * " + num(vw_) + ");");
    static const char* lanes[] = {"x", "y", "z", "w"};
    for (int l = 0; l < vw_; ++l)
      w.line(reg + "[c * " + num(vw_) + " + " + num(l) + "] = v." + lanes[l] + ";");
    w.close();
  }

  // Stage 1's stores for the output element (m, n) (when inside the output), whose sum is
  // held in `acc`.
  void store_element(CodeWriter& w, ExprRenderer& r, const ExprPtr& m, const ExprPtr& n,
                     const std::string& acc) {
    render_gemm_stores(w, r, k_, batch_, m, n, acc);
  }

  const Kernel& k_;
  const Contraction& c_;
  const OpenCLTarget& t_;
  GemmTile tile_;
  std::string name_;
  int next_var_;
  ExprPtr lid_, tile_m_, tile_n_, batch_, tx_, ty_;
  int vw_ = 1, pad_ = 1, stages_ = 2;
  Staging staging_[2] = {Staging::Registers, Staging::Registers};  // A, B
  int64_t wg_ = 1, a_size_ = 0, b_size_ = 0;
};

}  // namespace

bool contiguous_along(const ExprPtr& factor, const VarSet& set) {
  if (set.vars.empty()) return false;
  const int v = set.vars.back();
  std::vector<ExprPtr> stack{factor};
  std::unordered_set<const codegen::Expr*> seen;
  while (!stack.empty()) {
    ExprPtr e = stack.back();
    stack.pop_back();
    if (!seen.insert(e.get()).second) continue;
    if (e->kind == codegen::ExprKind::Load && e->depends_on_var(v)) {
      codegen::Stride s = codegen::stride_along(e->args[0], v);
      return s.affine && s.stride == 1;
    }
    for (const ExprPtr& a : e->args) stack.push_back(a);
  }
  return false;
}

void bind_var_set(std::vector<ExprPtr>& subst, const VarSet& set, const ExprPtr& flat) {
  std::vector<ExprPtr> parts = codegen::delinearize(flat, set.extents);
  for (size_t i = 0; i < set.vars.size(); ++i) subst[set.vars[i]] = parts[i];
}

FactorAt factor_at(const Kernel& k, bool is_a, const ExprPtr& batch, const ExprPtr& row,
                   const ExprPtr& kk) {
  const Contraction& c = *k.contraction;
  const VarSet& rows = is_a ? c.m : c.n;
  const VarSet& other = is_a ? c.n : c.m;
  const int64_t extent = rows.size(), K = c.k.size();
  FactorAt at;
  at.subst.resize(static_cast<size_t>(k.num_vars));
  bind_var_set(at.subst, c.batch, batch);
  bind_var_set(at.subst, rows, codegen::imin(row, codegen::index_const(extent - 1)));
  bind_var_set(at.subst, c.k, codegen::imin(kk, codegen::index_const(K - 1)));
  bind_var_set(at.subst, other, codegen::index_const(0));
  at.valid = codegen::land(codegen::ilt(row, codegen::index_const(extent)),
                           codegen::ilt(kk, codegen::index_const(K)));
  return at;
}

void render_gemm_stores(CodeWriter& w, ExprRenderer& r, const Kernel& k, const ExprPtr& batch,
                        const ExprPtr& m, const ExprPtr& n, const std::string& acc) {
  const Contraction& c = *k.contraction;
  std::vector<ExprPtr> subst(static_cast<size_t>(k.num_vars));
  bind_var_set(subst, c.batch, batch);
  bind_var_set(subst, c.m, m);
  bind_var_set(subst, c.n, n);
  ExprPtr valid = codegen::land(codegen::ilt(m, codegen::index_const(c.m.size())),
                                codegen::ilt(n, codegen::index_const(c.n.size())));
  w.open("if (" + r.value(valid) + ")");
  r.push_scope();
  r.bind_stage(c.reduce_stage, acc);
  for (const codegen::Store& s : k.stages[static_cast<size_t>(c.epilogue_stage)].stores) {
    const DType bt = k.buffers[static_cast<size_t>(s.buffer)].dtype;
    ExprPtr value = codegen::substitute(s.value, subst);
    std::string index = r.value(codegen::substitute(s.index, subst));
    std::string v = codegen::opencl::cast_op(value->dtype, bt, r.value(value));
    std::string line =
        codegen::opencl::store_element(bt, ExprRenderer::buffer(s.buffer), index, v) + ";";
    if (s.guard) line = "if (" + r.value(codegen::substitute(s.guard, subst)) + ") " + line;
    w.line(line);
  }
  r.pop_scope();
  w.close();
}

std::string gemm_tile_str(const GemmTile& t) {
  return std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk) + "/" +
         std::to_string(t.tm) + "x" + std::to_string(t.tn);
}

std::string check_gemm_tile(const GemmTile& t, DType acc, const OpenCLTarget& target) {
  if (t.bm <= 0 || t.bn <= 0 || t.bk <= 0 || t.tm <= 0 || t.tn <= 0)
    return "every tile size must be positive";
  if (t.bm % t.tm != 0) return "bm " + num(t.bm) + " is not a multiple of tm " + num(t.tm);
  if (t.bn % t.tn != 0) return "bn " + num(t.bn) + " is not a multiple of tn " + num(t.tn);
  if (t.tm * t.tn > 128) return "a work-item's block of " + num(t.tm * t.tn) + " exceeds 128";
  const int64_t wg = t.work_items();
  if (wg > target.max_work_group_size)
    return num(wg) + " work-items per group, more than the device's " +
           num(target.max_work_group_size);
  if ((int64_t{t.bm} * t.bk) % wg != 0 || (int64_t{t.bk} * t.bn) % wg != 0)
    return "the tiles' " + num(int64_t{t.bm} * t.bk) + " and " + num(int64_t{t.bk} * t.bn) +
           " elements are not multiples of the " + num(wg) + " work-items";
  if (local_bytes(t, acc) > target.local_mem_bytes)
    return num(local_bytes(t, acc)) + " bytes of local memory, more than the device's " +
           num(target.local_mem_bytes);
  return "";
}

std::vector<GemmTile> gemm_candidates(const Contraction& c, const OpenCLTarget& target) {
  std::vector<GemmTile> out{default_gemm_tile(c, target)};
  for (const auto* list : {&gpu_tiles(), &cpu_tiles()})
    for (const GemmTile& t : *list)
      if (check_gemm_tile(t, c.acc, target).empty() &&
          std::find(out.begin(), out.end(), t) == out.end())
        out.push_back(t);
  return out;
}

GemmTile default_gemm_tile(const Contraction& c, const OpenCLTarget& target) {
  const int64_t M = c.m.size(), N = c.n.size(), B = c.batch.size();
  // The first tile (in the device class's order) that the problem fills and that gives
  // every compute unit two work-groups (a wave and a half leaves half the device idle for
  // the last third: conv2d 8x64x56x56 ran 1.3x faster on 64 x 64 than on 64 x 128 tiles of
  // an H100); else one work-group; failing both, the one with most work-groups.
  // Among those, a tile that computes past the edges of M or N by more than an eighth
  // gives way to the first one that wastes least (N = 192, the Monarch MLP's blocks: a
  // 128-wide tile computes 256 columns, a 64-wide one 192).
  const std::vector<GemmTile>& tiles = target.is_gpu ? gpu_tiles() : cpu_tiles();
  const auto waste = [&](const GemmTile& t) {
    return double(ceil_div(M, t.bm) * t.bm) * double(ceil_div(N, t.bn) * t.bn) /
           (double(M) * double(N));
  };
  for (int64_t waves : {2, 1}) {
    GemmTile least;
    for (const GemmTile& t : tiles) {
      const int64_t groups = B * ceil_div(M, t.bm) * ceil_div(N, t.bn);
      const bool fills = t.bm <= std::max<int64_t>(16, M) && t.bn <= std::max<int64_t>(16, N);
      if (!fills || groups < waves * target.compute_units ||
          !check_gemm_tile(t, c.acc, target).empty())
        continue;
      if (waste(t) <= 1.125) return t;
      if (!least.chosen() || waste(t) < waste(least)) least = t;
    }
    if (least.chosen()) return least;
  }
  GemmTile best;
  int64_t best_groups = -1;
  for (const GemmTile& t : tiles) {
    const int64_t groups = B * ceil_div(M, t.bm) * ceil_div(N, t.bn);
    if (groups > best_groups && check_gemm_tile(t, c.acc, target).empty())
      best = t, best_groups = groups;
  }
  if (!best.chosen())  // a device too small for every listed tile: one work-item per group
    best = {1, 1, 1, 1, 1};
  return best;
}

std::string gemm_shape_class(const Contraction& c) {
  return std::string("m") + size_class(c.m.size()) + ".n" + size_class(c.n.size()) + ".k" +
         size_class(c.k.size()) + ".b" + (c.batch.size() > 1 ? "1" : "0");
}

RenderedKernel render_gemm(const Kernel& kernel, const OpenCLTarget& target,
                           const std::string& name, const GemmTile& tile) {
  if (!kernel.contraction)
    throw CompileError("opencl gemm: kernel " + name + " is not a contraction");
  if (uses_tensor_cores(kernel, target)) return render_gemm_mma(kernel, target, name);
  if (std::string why = check_gemm_tile(tile, kernel.contraction->acc, target); !why.empty())
    throw CompileError("opencl gemm: tile " + gemm_tile_str(tile) + " cannot run on '" +
                       target.device_name + "': " + why);
  return GemmRenderer(kernel, target, name, tile).render();
}

}  // namespace kiln::kernels::opencl
