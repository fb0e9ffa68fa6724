// gemm_kernels: pack and epilogue kernels of a GEMM (see gemm_kernels.h).
#include "codegen/gemm_kernels.h"

#include <algorithm>
#include <cstdint>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

CpuGemmTile cpu_gemm_tile(DType acc, int lanes) {
  // Lanes of the accumulator dtype; the tile keeps MR x NR accumulators in registers
  // (MR * NR / lanes of them) beside NR / lanes vectors of B: 24 + 3 of AVX-512's 32
  // registers (8 x 48 measured faster than 12 x 32, 6 x 64 and 14 x 32 for sgemm 2048^3),
  // 12 + 2 of AVX2's 16. KC: 512 measured best of 256, 384 and 512.
  // f64 keeps NR a multiple of the f32 lanes, as the epilogue's vectors are those.
  const bool wide = lanes >= 16 && acc == DType::F32;
  const int l = acc == DType::F64 ? lanes / 2 : lanes;
  CpuGemmTile t;
  t.nr = (wide ? 3 : 2) * l;
  t.mr = wide ? 8 : lanes >= 16 ? 12 : 6;
  t.kc = acc == DType::F64 ? 256 : 512;
  return t;
}

int64_t WindowB::planes() const {
  int64_t p = 1;
  for (int64_t e : plane_extents) p *= e;
  return p;
}

int64_t WindowB::virtual_columns(int64_t oh, int64_t ow) const { return (oh - 1) * cols + ow; }

namespace {

// The variables of `set` for a row-major linear index `flat` over it. One variable is the
// index itself (no modulo, so the access stays affine).
std::vector<ExprPtr> split(const ExprPtr& flat, const VarSet& set) {
  if (set.vars.size() == 1) return {flat};
  return delinearize(flat, set.extents);
}

void put(std::vector<ExprPtr>& subst, const VarSet& set, const std::vector<ExprPtr>& values) {
  for (size_t i = 0; i < set.vars.size(); ++i) subst[static_cast<size_t>(set.vars[i])] = values[i];
}

struct Builder {
  const Kernel& kernel;
  const Contraction& c;
  const LowerOptions& options;
  GemmKernels out;
  std::vector<DType> pack_scalars;  // the kernel's, then batch, k0, m0 / n0

  // A kernel storing value(k0 + kk, mn0 + r) of the packed panel for kk < depth, r < width.
  // `rows` is m (pack A) or n (pack B); past its end the value is 0 when `guard_rows`, and
  // not computed otherwise. A panel of B is k-major
  // (packed[kk * NR + r]: a row of B per step of k), a panel of A row-major
  // (packed[r * KC + kk]), so that packing reads a row-major operand along its rows.
  Kernel pack(const ExprPtr& factor, const VarSet& rows, int width, int64_t depth, bool guard_rows,
              bool k_major) {
    Kernel p;
    p.name = kernel.name + "_pack";
    p.buffers = kernel.buffers;
    BufferParam packed;
    packed.dtype = c.acc;
    packed.numel = out.tile.kc * width;
    packed.written = true;
    p.buffers.push_back(packed);
    p.scalars = pack_scalars;
    p.num_vars = kernel.num_vars + 2;
    const int kk = kernel.num_vars, r = kernel.num_vars + 1;
    const int64_t kc = out.tile.kc;
    Loop kloop{kk, depth, nullptr, nullptr}, rloop{r, width, nullptr, nullptr};
    p.outer = k_major ? std::vector<Loop>{kloop, rloop} : std::vector<Loop>{rloop, kloop};
    ExprPtr row = iadd(arg(DType::I64, out.slot_mn0), var(r, width));
    ExprPtr kidx = iadd(arg(DType::I64, out.slot_k0), var(kk, depth));
    const int64_t M = rows.size();
    std::vector<ExprPtr> subst(static_cast<size_t>(kernel.num_vars));
    put(subst, c.batch, split(arg(DType::I64, out.slot_batch), c.batch));
    put(subst, rows, split(guard_rows ? imin(row, index_const(M - 1)) : row, rows));
    put(subst, c.k, split(kidx, c.k));
    ExprPtr value = substitute(factor, subst);
    if (guard_rows) value = select(ilt(row, index_const(M)), value, const_float(c.acc, 0));
    ExprPtr index = k_major ? iadd(imul(var(kk, depth), width), var(r, width))
                            : iadd(imul(var(r, width), kc), var(kk, depth));
    Stage s;
    s.kind = StageKind::Loop;
    s.stores.push_back(Store{out.extra_buffer, index, value, nullptr, 0});
    p.stages.push_back(std::move(s));
    vectorize(p);
    return p;
  }

  void vectorize(Kernel& k) {
    choose_vectorization(k, options);
    k.vector_unroll = 1;  // the driver addresses rows of the range in blocks of lanes
    k.vector_narrowing = 1;
  }

  ExprPtr linear(const VarSet& set) { return linear_index(var_exprs(set), set.extents); }

  Kernel epilogue() {
    Kernel e;
    e.name = kernel.name + "_epilogue";
    e.buffers = kernel.buffers;
    BufferParam scratch;
    scratch.dtype = c.acc;
    scratch.numel = c.m.size() * c.n.size();
    scratch.read = true;
    e.buffers.push_back(scratch);
    e.scalars = kernel.scalars;
    e.num_vars = kernel.num_vars;
    for (const VarSet* set : {&c.batch, &c.m})
      for (size_t i = 0; i < set->vars.size(); ++i)
        e.outer.push_back(Loop{set->vars[i], set->extents[i], nullptr, nullptr});
    Stage s = kernel.stages[static_cast<size_t>(c.epilogue_stage)];
    ExprPtr from = stage_value(c.acc, c.reduce_stage);
    // n as one variable (the last of n's, over all of n) where the stores' indices stay
    // free of divisions (an NCHW output: (n / OW) * OW + n % OW is n), so that its rows are
    // vectors; else n's own loops, run scalar.
    ExprPtr n_index = linear(c.n);
    bool vector_rows = c.n.vars.size() <= 1;
    if (!vector_rows) {
      const int flat = c.n.vars.back();
      std::vector<ExprPtr> subst(static_cast<size_t>(kernel.num_vars));
      put(subst, c.n, split(var(flat, c.n.size()), c.n));
      Stage f = s;
      vector_rows = true;
      for (Store& st : f.stores) {
        st.index = substitute(st.index, subst);
        st.value = substitute(st.value, subst);
        if (st.guard) st.guard = substitute(st.guard, subst);
        vector_rows = vector_rows && count_div_mod(st.index) == 0;
      }
      if (vector_rows) {
        s = std::move(f);
        n_index = var(flat, c.n.size());
        e.outer.push_back(Loop{flat, c.n.size(), nullptr, nullptr});
      }
    }
    if (!vector_rows || c.n.vars.size() == 1)
      for (size_t i = 0; i < c.n.vars.size(); ++i)
        e.outer.push_back(Loop{c.n.vars[i], c.n.extents[i], nullptr, nullptr});
    ExprPtr acc = load(c.acc, out.extra_buffer, iadd(imul(linear(c.m), c.n.size()), n_index));
    for (Store& st : s.stores) {
      st.value = replace_subexpr(st.value, from, acc);
      st.index = replace_subexpr(st.index, from, acc);
      if (st.guard) st.guard = replace_subexpr(st.guard, from, acc);
      st.stream_alignment = 0;
    }
    e.stages.push_back(std::move(s));
    vectorize(e);
    // Rows of several n variables are not whole blocks of lanes: run them scalar.
    if (!vector_rows && e.vector_mode == VectorMode::Outer) e.vector_mode = VectorMode::None;
    return e;
  }
};

// Whether the epilogue only stores the accumulator, in its dtype, at [batch][m][n] of a
// buffer (set in `buffer`).
bool stores_acc_row_major(const Kernel& kernel, const Contraction& c, int& buffer) {
  const Stage& s = kernel.stages[static_cast<size_t>(c.epilogue_stage)];
  if (s.stores.size() != 1) return false;
  const Store& st = s.stores[0];
  if (st.guard || !expr_equal(st.value, stage_value(c.acc, c.reduce_stage))) return false;
  if (kernel.buffers[static_cast<size_t>(st.buffer)].dtype != c.acc) return false;
  std::vector<ExprPtr> all;
  std::vector<int64_t> extents;
  for (const VarSet* set : {&c.batch, &c.m, &c.n}) {
    for (ExprPtr v : var_exprs(*set)) all.push_back(v);
    extents.insert(extents.end(), set->extents.begin(), set->extents.end());
  }
  buffer = st.buffer;
  return expr_equal(st.index, linear_index(all, extents));
}

// `c` with its first `j` variables of n moved to the end of the batch.
Contraction with_batch(const Contraction& c, size_t j) {
  Contraction p = c;
  const auto end = static_cast<std::ptrdiff_t>(j);
  p.batch.vars.insert(p.batch.vars.end(), c.n.vars.begin(), c.n.vars.begin() + end);
  p.batch.extents.insert(p.batch.extents.end(), c.n.extents.begin(), c.n.extents.begin() + end);
  p.n.vars.erase(p.n.vars.begin(), p.n.vars.begin() + end);
  p.n.extents.erase(p.n.extents.begin(), p.n.extents.begin() + end);
  return p;
}

// `c` with its leading variables of n moved to the batch where the output then is a
// row-major [batch][m][n] (an NCHW conv's images): the micro-kernel writes the output.
// Not where fewer than `nr` columns would be left.
Contraction promote_batch(const Kernel& kernel, const Contraction& c, int nr) {
  int buffer = 0;
  if (stores_acc_row_major(kernel, c, buffer)) return c;
  for (size_t j = 1; j < c.n.vars.size(); ++j) {
    // Columns narrower than a panel of B would be padded to it in every batch (a conv's
    // weight gradient: the taps of one input channel); the product over all of n is
    // better.
    int64_t columns = 1;
    for (size_t i = j; i < c.n.extents.size(); ++i) columns *= c.n.extents[i];
    if (columns < nr) break;
    Contraction p = with_batch(c, j);
    if (stores_acc_row_major(kernel, p, buffer)) return p;
  }
  return c;
}

// An integer expression as sum_v coef[v] * v + constant over plain loop variables, or
// false when it has other atoms.
bool affine_in_vars(const ExprPtr& e, int num_vars, std::vector<int64_t>& coef, int64_t& constant) {
  Linear l = linearize(e);
  coef.assign(static_cast<size_t>(num_vars), 0);
  constant = l.constant;
  for (auto& [atom, k] : l.terms) {
    if (atom->kind != ExprKind::Var || atom->slot >= num_vars) return false;
    coef[static_cast<size_t>(atom->slot)] += k;
  }
  return true;
}

// B as an AffineB: a load of the accumulator's dtype, under a select whose condition is a
// conjunction of bounds (ge / lt of affine indices and constants), at an index affine in
// the loop variables except for clamps that those bounds make the identity where the
// value is read (the padding of a convolution).
std::optional<AffineB> affine_b(const Contraction& c, int num_vars) {
  ExprPtr value = c.b, cond;
  if (value->kind == ExprKind::Select) {
    const ExprPtr& other = value->args[2];
    if (!other->is_const() || other->re != 0 || other->im != 0) return std::nullopt;
    cond = value->args[0];
    value = value->args[1];
  }
  if (value->kind != ExprKind::Load || value->dtype != c.acc) return std::nullopt;
  AffineB out;
  out.buffer = value->slot;
  // The bounds, one guard per affine index (a lower and an upper bound merge).
  std::vector<ExprPtr> conds;
  if (cond) conds.push_back(cond);
  while (!conds.empty()) {
    ExprPtr e = conds.back();
    conds.pop_back();
    if (e->kind != ExprKind::Binary) return std::nullopt;
    if (e->op == ir::OpKind::And) {
      conds.push_back(e->args[0]);
      conds.push_back(e->args[1]);
      continue;
    }
    const bool ge = e->op == ir::OpKind::Ge;
    if ((!ge && e->op != ir::OpKind::Lt) || !e->args[1]->is_const()) return std::nullopt;
    AffineB::Guard g;
    int64_t constant = 0;
    if (!affine_in_vars(e->args[0], num_vars, g.coef, constant)) return std::nullopt;
    const int64_t bound = e->args[1]->ival - constant;
    g.lo = ge ? bound : -AffineB::kUnbounded;
    g.hi = ge ? AffineB::kUnbounded : bound;
    auto same = std::find_if(out.guards.begin(), out.guards.end(),
                             [&](const AffineB::Guard& o) { return o.coef == g.coef; });
    if (same == out.guards.end()) {
      out.guards.push_back(std::move(g));
    } else {
      same->lo = std::max(same->lo, g.lo);
      same->hi = std::min(same->hi, g.hi);
    }
  }
  // The index: clamp(x, lo, hi) = min(max(x, lo), hi) is x where a guard keeps x in range.
  Linear l = linearize(value->args[0]);
  out.offset = l.constant;
  out.coef.assign(static_cast<size_t>(num_vars), 0);
  for (auto& [atom, k] : l.terms) {
    std::vector<int64_t> coef;
    int64_t constant = 0;
    if (atom->kind == ExprKind::Var) {
      if (atom->slot >= num_vars) return std::nullopt;
      out.coef[static_cast<size_t>(atom->slot)] += k;
      continue;
    }
    // Peel the clamp: min(., hi) and max(., lo) with constant bounds, in either order.
    ExprPtr x = atom;
    std::optional<int64_t> lo, hi;
    while (x->kind == ExprKind::Binary && x->args[1]->is_const() &&
           ((x->op == ir::OpKind::Min && !hi) || (x->op == ir::OpKind::Max && !lo))) {
      (x->op == ir::OpKind::Min ? hi : lo) = x->args[1]->ival;
      x = x->args[0];
    }
    if ((!lo && !hi) || !affine_in_vars(x, num_vars, coef, constant)) return std::nullopt;
    // Each bound is the identity by x's range, or where some guard keeps x within it.
    const bool kept_lo = !lo || x->lo >= *lo ||
                         std::any_of(out.guards.begin(), out.guards.end(), [&](const auto& g) {
                           return g.coef == coef && g.lo >= *lo - constant;
                         });
    const bool kept_hi = !hi || x->hi <= *hi ||
                         std::any_of(out.guards.begin(), out.guards.end(), [&](const auto& g) {
                           return g.coef == coef && g.hi - 1 <= *hi - constant;
                         });
    if (!kept_lo || !kept_hi) return std::nullopt;
    out.offset += k * constant;
    for (size_t v = 0; v < coef.size(); ++v) out.coef[v] += k * coef[v];
  }
  // Only the loop variables of the batch, k and n sets may appear.
  std::vector<bool> known(static_cast<size_t>(num_vars), false);
  for (const VarSet* set : {&c.batch, &c.k, &c.n})
    for (int v : set->vars) known[static_cast<size_t>(v)] = true;
  for (int v = 0; v < num_vars; ++v) {
    bool used = out.coef[static_cast<size_t>(v)] != 0;
    for (const AffineB::Guard& g : out.guards) used = used || g.coef[static_cast<size_t>(v)] != 0;
    if (used && !known[static_cast<size_t>(v)]) return std::nullopt;
  }
  return out;
}

// The WindowB of B (see gemm_kernels.h), or nothing where `ab` lacks that form over `c`.
std::optional<WindowB> window_b(const Contraction& c, const AffineB& ab) {
  const size_t nn = c.n.vars.size();
  if (nn != 1 && nn != 2) return std::nullopt;
  const auto ow = static_cast<size_t>(c.n.vars.back());
  const int oh = nn == 2 ? c.n.vars[0] : -1;
  WindowB w;
  w.col_guard = -1;
  // One guard reads ow (the columns), one oh (the rows), and no other.
  for (size_t g = 0; g < ab.guards.size(); ++g) {
    const std::vector<int64_t>& coef = ab.guards[g].coef;
    int* which = coef[ow] != 0                                   ? &w.col_guard
                 : oh >= 0 && coef[static_cast<size_t>(oh)] != 0 ? &w.row_guard
                                                                 : nullptr;
    if (!which || *which >= 0) return std::nullopt;
    *which = static_cast<int>(g);
  }
  if (w.col_guard < 0 || (oh >= 0) != (w.row_guard >= 0)) return std::nullopt;
  const std::vector<int64_t> none(ab.coef.size(), 0);
  const std::vector<int64_t>& gc = ab.guards[static_cast<size_t>(w.col_guard)].coef;
  const std::vector<int64_t>& gr =
      w.row_guard >= 0 ? ab.guards[static_cast<size_t>(w.row_guard)].coef : none;
  if (gc[ow] != 1 || ab.coef[ow] != 1) return std::nullopt;
  if (oh >= 0) {
    const auto h = static_cast<size_t>(oh);
    if (gr[h] != 1 || gr[ow] != 0 || gc[h] != 0) return std::nullopt;
    w.row_stride = ab.coef[h];
  }
  // Each variable reads r and c with the index's coefficient row_stride * r + c (oh, ow
  // and the taps of k), or neither: a plane's (of k or the batch; never of n).
  int64_t r_max = 0, c_max = 0;
  auto visit = [&](const VarSet& set, bool is_k, bool is_n) {
    for (size_t i = 0; i < set.vars.size(); ++i) {
      const auto v = static_cast<size_t>(set.vars[i]);
      const int64_t last = set.extents[i] - 1;
      if (gr[v] != 0 || gc[v] != 0) {
        if (!(is_k || is_n) || ab.coef[v] != w.row_stride * gr[v] + gc[v]) return false;
        w.r_min += std::min<int64_t>(0, gr[v] * last);
        r_max += std::max<int64_t>(0, gr[v] * last);
        w.c_min += std::min<int64_t>(0, gc[v] * last);
        c_max += std::max<int64_t>(0, gc[v] * last);
      } else if (ab.coef[v] != 0) {
        if (is_n) return false;
        if (is_k) {
          w.plane_vars.push_back(set.vars[i]);
          w.plane_extents.push_back(set.extents[i]);
        }
      }
    }
    return true;
  };
  if (!visit(c.batch, false, false) || !visit(c.n, false, true) || !visit(c.k, true, false))
    return std::nullopt;
  w.rows = r_max - w.r_min + 1;
  w.span = c_max - w.c_min + 1;
  // The pitch: row r + 1's data (P's columns [lo, hi) of its span) starts past row r's
  // reads, and row r's data ends before row r + 1's slot.
  const AffineB::Guard& g = ab.guards[static_cast<size_t>(w.col_guard)];
  const int64_t lo = std::clamp(g.lo - w.c_min, int64_t{0}, w.span);
  const int64_t hi = std::clamp(g.hi - w.c_min, lo, w.span);
  w.cols = std::max(hi, w.span - lo);
  // The dropped columns: at most half as many again as the outputs.
  const int64_t out_rows = nn == 2 ? c.n.extents[0] : 1;
  if (2 * w.virtual_columns(out_rows, c.n.extents.back()) > 3 * c.n.size()) return std::nullopt;
  return w;
}

// The window of a conv's B with a copy of its planes per column shift (WindowB::shifts),
// where those are few and small: all its virtual columns are outputs then, where the
// shared pitch drops a column or more per row (an eighth of a 14 x 14 image's, with the
// last panel's rounding), at a cost of KW - 1 more copies of the planes, against a product
// of C_out x KH x KW steps per value copied.
void choose_shifts(WindowB& w, const Contraction& c, const AffineB& ab, DType acc) {
  const std::vector<int64_t>& gc = ab.guards[static_cast<size_t>(w.col_guard)].coef;
  std::vector<int64_t> shifts{0};
  for (size_t i = 0; i < c.k.vars.size(); ++i) {
    const int64_t step = gc[static_cast<size_t>(c.k.vars[i])];
    if (step == 0) continue;
    std::vector<int64_t> next;
    for (int64_t s : shifts)
      for (int64_t t = 0; t < c.k.extents[i]; ++t) next.push_back(s + step * t);
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    shifts = std::move(next);
    if (shifts.size() > kMaxWindowShifts) return;
  }
  const int64_t ow = c.n.extents.back();
  const int64_t bytes = static_cast<int64_t>(shifts.size()) * w.planes() * w.rows * ow *
                        static_cast<int64_t>(dtype_size(acc));
  if (ow >= w.cols || bytes > kMaxWindowShiftBytes) return;
  w.shifts = std::move(shifts);
  w.cols = ow;
}

// The WindowA of `t`'s A (see gemm_kernels.h), or nothing where it lacks that form.
std::optional<WindowA> window_a(const Contraction& t, int num_vars) {
  const size_t nk = t.k.vars.size();
  if (nk < 2) return std::nullopt;
  const auto lead = static_cast<std::ptrdiff_t>(nk - 2);
  WindowA out;
  out.images.vars.assign(t.k.vars.begin(), t.k.vars.begin() + lead);
  out.images.extents.assign(t.k.extents.begin(), t.k.extents.begin() + lead);
  // a's read as the B of a product over the pixels (n) and the taps (k).
  Contraction p = t;
  p.batch.vars.insert(p.batch.vars.end(), out.images.vars.begin(), out.images.vars.end());
  p.batch.extents.insert(p.batch.extents.end(), out.images.extents.begin(),
                         out.images.extents.end());
  p.n.vars.assign(t.k.vars.begin() + lead, t.k.vars.end());
  p.n.extents.assign(t.k.extents.begin() + lead, t.k.extents.end());
  p.k = t.m;
  p.m = t.n;
  std::swap(p.a, p.b);
  std::optional<AffineB> image = affine_b(p, num_vars);
  std::optional<AffineB> cotangent = affine_b(t, num_vars);
  if (!image || !cotangent || !cotangent->guards.empty()) return std::nullopt;
  std::optional<WindowB> window = window_b(p, *image);
  if (!window) return std::nullopt;
  // Its pixels are packed in runs that may end past the last row's data: the full pitch
  // keeps them inside the image's planes.
  window->cols = window->span;
  out.image = std::move(*image);
  out.window = std::move(*window);
  out.cotangent = std::move(*cotangent);
  return out;
}

// Whether B packs better as A, in the transposed product C^T = B^T A^T: an affine read in
// short runs along n but long ones along k (a conv's weight gradient: n holds the taps, k
// the images' pixels), which A's panels, laid along k, read by vectors.
bool b_runs_along_k(const Contraction& c, int num_vars) {
  if (c.n.vars.empty() || c.k.vars.empty()) return false;
  return affine_b(c, num_vars) && c.n.extents.back() < 16 &&
         c.k.extents.back() > 2 * c.n.extents.back();
}

// Whether `operand` is a load whose index runs along k (stride 1 along k's last variable).
bool load_runs_along_k(const ExprPtr& operand, const Contraction& c) {
  if (operand->kind != ExprKind::Load || c.k.vars.empty()) return false;
  const Stride s = stride_along(operand->args[0], c.k.vars.back());
  return s.affine && s.stride == 1;
}

// x times a transposed weight (a linear layer's x W^T: both operands run along k) with
// fewer rows than columns and few outputs for its k (a classifier's 64 x 128 x 3136): B's
// panels are packed against its layout, so the product runs transposed, where that is x,
// the smaller operand, and W is read along its rows; the transposed stores are few.
bool linear_of_few_rows(const Contraction& c) {
  if (c.m.vars.size() != 1 || c.n.vars.size() != 1) return false;
  const int64_t M = c.m.size(), N = c.n.size(), K = c.k.size();
  return M < N && M * N <= 4 * K && load_runs_along_k(c.a, c) && load_runs_along_k(c.b, c);
}

// C^T = B^T A^T: m and n, a and b swapped (the epilogue still stores each value where it
// belongs).
Contraction transposed(const Contraction& c) {
  Contraction t = c;
  std::swap(t.m, t.n);
  std::swap(t.a, t.b);
  return t;
}

// The contraction the GEMM runs: `original` with its leading variables of n (images)
// moved to the batch where B then is a WindowB (set in `window`), transposed where B's
// runs are along k (briefly along n, or a linear layer of few rows), else promote_batch's.
// Not for fewer rows than half a panel of A (a depthwise conv's one channel per batch).
Contraction choose_batch(const Kernel& kernel, const Contraction& original, const CpuGemmTile& tile,
                         std::optional<WindowB>& window) {
  if (2 * original.m.size() >= tile.mr)
    if (std::optional<AffineB> ab = affine_b(original, kernel.num_vars))
      for (size_t keep : {2, 1}) {
        if (original.n.vars.size() < keep) continue;
        Contraction p = with_batch(original, original.n.vars.size() - keep);
        if ((window = window_b(p, *ab))) {
          choose_shifts(*window, p, *ab, original.acc);
          return p;
        }
      }
  if (b_runs_along_k(original, kernel.num_vars) || linear_of_few_rows(original))
    return transposed(original);
  return promote_batch(kernel, original, tile.nr);
}

// An operand read in place: a load whose index is affine in plain loop variables, with one
// variable of `rows` (any stride) and one of `cols` (stride 1), the rest of the batch.
std::optional<InPlaceMatrix> in_place(const ExprPtr& operand, const VarSet& rows,
                                      const VarSet& cols, const VarSet& batch) {
  if (operand->kind != ExprKind::Load || rows.vars.size() != 1 || cols.vars.size() != 1)
    return std::nullopt;
  Linear l = linearize(operand->args[0]);
  InPlaceMatrix out;
  out.buffer = operand->slot;
  out.offset = l.constant;
  out.batch_strides.assign(batch.vars.size(), 0);
  int64_t col_stride = 0;
  for (auto& [atom, coef] : l.terms) {
    if (atom->kind != ExprKind::Var) return std::nullopt;
    const int v = atom->slot;
    if (v == cols.vars[0]) {
      col_stride = coef;
    } else if (v == rows.vars[0]) {
      out.ld = coef;
    } else {
      size_t i = 0;
      while (i < batch.vars.size() && batch.vars[i] != v) ++i;
      if (i == batch.vars.size()) return std::nullopt;
      out.batch_strides[i] = coef;
    }
  }
  if (col_stride != 1) return std::nullopt;
  return out;
}

}  // namespace

std::optional<GemmKernels> make_gemm_kernels(const Kernel& kernel, const Contraction& original,
                                             const CpuGemmTile& tile, const LowerOptions& options) {
  for (const BufferParam& b : kernel.buffers)
    if (b.local) return std::nullopt;
  std::optional<WindowB> window;
  const Contraction c = choose_batch(kernel, original, tile, window);
  Builder b{kernel, c, options, {}, {}};
  b.out.contraction = c;
  b.out.tile = tile;
  b.out.extra_buffer = static_cast<int>(kernel.buffers.size());
  const int s = static_cast<int>(kernel.scalars.size());
  b.out.slot_batch = s;
  b.out.slot_k0 = s + 1;
  b.out.slot_mn0 = s + 2;
  b.pack_scalars = kernel.scalars;
  b.pack_scalars.insert(b.pack_scalars.end(), {DType::I64, DType::I64, DType::I64});
  // A depth a little over KC is one block: a thin second block would reload and store
  // the accumulators for little work (a 3x3 conv over 64 channels: K = 576).
  const int64_t depth = c.k.size();
  if (depth > tile.kc && depth <= tile.kc + tile.kc / 8) b.out.tile.kc = depth;
  // The last block of k is packed to its depth only (small products are all tail).
  const CpuGemmTile& t = b.out.tile;
  const int64_t k_tail = depth - (depth - 1) / t.kc * t.kc;
  b.out.pack_a = b.pack(c.a, c.m, t.mr, t.kc, true, false);
  b.out.pack_a_tail = b.pack(c.a, c.m, t.mr, k_tail, true, false);
  b.out.pack_b = b.pack(c.b, c.n, t.nr, t.kc, false, true);
  b.out.pack_b_tail = b.pack(c.b, c.n, t.nr, t.kc, true, true);
  b.out.epilogue = b.epilogue();
  b.out.direct_output = stores_acc_row_major(kernel, c, b.out.out_buffer);
  // Operands read in place hold the accumulator's dtype (nothing to convert on the way).
  auto of_acc_dtype = [&](std::optional<InPlaceMatrix> m) {
    if (m && kernel.buffers[static_cast<size_t>(m->buffer)].dtype != c.acc) m.reset();
    return m;
  };
  // Few rows use each panel of B once or twice: packing it would cost more than reading it
  // where it is. Few columns use each value of A once or twice: likewise.
  b.out.b_plain = of_acc_dtype(in_place(c.b, c.k, c.n, c.batch));
  b.out.b_in_place = b.out.b_plain && c.m.size() <= 16;
  if (!b.out.b_plain && c.acc == DType::F32)
    b.out.b_rows = of_acc_dtype(in_place(c.b, c.n, c.k, c.batch));
  if (c.m.size() > 16 && c.n.size() <= kAInPlacePanels * tile.nr)
    b.out.a_in_place = of_acc_dtype(in_place(c.a, c.m, c.k, c.batch));
  // The pack kernels gather where B's columns span several variables (a conv's rows of
  // pixels) or bounds (its padding); a plain matrix they read by vectors.
  if (!window) b.out.a_window = window_a(c, kernel.num_vars);
  if (b.out.a_window) b.out.a_in_place.reset();
  if (window) {
    b.out.b_in_place = false;
    b.out.b_plain.reset();
    b.out.b_rows.reset();
    b.out.a_in_place.reset();
    b.out.b_affine = affine_b(c, kernel.num_vars);
    b.out.b_window = std::move(window);
  } else if (!b.out.b_in_place) {
    b.out.b_affine = affine_b(c, kernel.num_vars);
    const bool plain = b.out.b_affine && b.out.b_affine->guards.empty() && c.n.vars.size() == 1;
    if (plain || c.n.vars.empty()) b.out.b_affine.reset();
  }
  b.out.mr_tail = c.m.size() % tile.mr ? static_cast<int>(c.m.size() % tile.mr) : tile.mr;
  // A window's last panel is of its virtual columns.
  const int64_t columns = b.out.b_window
                              ? b.out.b_window->virtual_columns(
                                    c.n.vars.size() == 2 ? c.n.extents[0] : 1, c.n.extents.back())
                              : c.n.size();
  b.out.nr_tail = columns % tile.nr ? static_cast<int>(columns % tile.nr) : tile.nr;
  return std::move(b.out);
}

}  // namespace kiln::codegen
