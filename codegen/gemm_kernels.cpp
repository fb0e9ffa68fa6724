// gemm_kernels: pack and epilogue kernels of a GEMM (see gemm_kernels.h).
#include "codegen/gemm_kernels.h"

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
    for (const VarSet* set : {&c.batch, &c.m, &c.n})
      for (size_t i = 0; i < set->vars.size(); ++i)
        e.outer.push_back(Loop{set->vars[i], set->extents[i], nullptr, nullptr});
    Stage s = kernel.stages[static_cast<size_t>(c.epilogue_stage)];
    ExprPtr acc = load(c.acc, out.extra_buffer, iadd(imul(linear(c.m), c.n.size()), linear(c.n)));
    ExprPtr from = stage_value(c.acc, c.reduce_stage);
    for (Store& st : s.stores) {
      st.value = replace_subexpr(st.value, from, acc);
      st.index = replace_subexpr(st.index, from, acc);
      if (st.guard) st.guard = replace_subexpr(st.guard, from, acc);
      st.stream_alignment = 0;
    }
    e.stages.push_back(std::move(s));
    vectorize(e);
    // Rows of several n variables are not whole blocks of lanes: run them scalar.
    if (c.n.vars.size() != 1 && e.vector_mode == VectorMode::Outer)
      e.vector_mode = VectorMode::None;
    return e;
  }

  bool direct_output() {
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
    out.out_buffer = st.buffer;
    return expr_equal(st.index, linear_index(all, extents));
  }
};

// B read in place: a load of the accumulator's dtype whose index is affine in plain loop
// variables, contiguous along the one variable of n, with one variable of k.
std::optional<InPlaceB> in_place_b(const Contraction& c) {
  const ExprPtr& b = c.b;
  if (b->kind != ExprKind::Load || c.n.vars.size() != 1 || c.k.vars.size() != 1)
    return std::nullopt;
  Linear l = linearize(b->args[0]);
  InPlaceB out;
  out.buffer = b->slot;
  out.offset = l.constant;
  out.batch_strides.assign(c.batch.vars.size(), 0);
  int64_t n_stride = 0;
  for (auto& [atom, coef] : l.terms) {
    if (atom->kind != ExprKind::Var) return std::nullopt;
    const int v = atom->slot;
    if (v == c.n.vars[0]) {
      n_stride = coef;
    } else if (v == c.k.vars[0]) {
      out.ldb = coef;
    } else {
      size_t i = 0;
      while (i < c.batch.vars.size() && c.batch.vars[i] != v) ++i;
      if (i == c.batch.vars.size()) return std::nullopt;
      out.batch_strides[i] = coef;
    }
  }
  if (n_stride != 1) return std::nullopt;
  return out;
}

}  // namespace

std::optional<GemmKernels> make_gemm_kernels(const Kernel& kernel, const Contraction& c,
                                             const CpuGemmTile& tile, const LowerOptions& options) {
  for (const BufferParam& b : kernel.buffers)
    if (b.local) return std::nullopt;
  Builder b{kernel, c, options, {}, {}};
  b.out.tile = tile;
  b.out.extra_buffer = static_cast<int>(kernel.buffers.size());
  const int s = static_cast<int>(kernel.scalars.size());
  b.out.slot_batch = s;
  b.out.slot_k0 = s + 1;
  b.out.slot_mn0 = s + 2;
  b.pack_scalars = kernel.scalars;
  b.pack_scalars.insert(b.pack_scalars.end(), {DType::I64, DType::I64, DType::I64});
  // The last block of k is packed to its depth only (small products are all tail).
  const int64_t K = c.k.size(), k_tail = K - (K - 1) / tile.kc * tile.kc;
  b.out.pack_a = b.pack(c.a, c.m, tile.mr, tile.kc, true, false);
  b.out.pack_a_tail = b.pack(c.a, c.m, tile.mr, k_tail, true, false);
  b.out.pack_b = b.pack(c.b, c.n, tile.nr, tile.kc, false, true);
  b.out.pack_b_tail = b.pack(c.b, c.n, tile.nr, tile.kc, true, true);
  b.out.epilogue = b.epilogue();
  b.out.direct_output = b.direct_output();
  // Few rows use each panel of B once or twice: packing it would cost more than reading it
  // where it is.
  if (c.m.size() <= 16) b.out.b_in_place = in_place_b(c);
  if (b.out.b_in_place &&
      kernel.buffers[static_cast<size_t>(b.out.b_in_place->buffer)].dtype != c.acc)
    b.out.b_in_place.reset();
  b.out.mr_tail = c.m.size() % tile.mr ? static_cast<int>(c.m.size() % tile.mr) : tile.mr;
  b.out.nr_tail = c.n.size() % tile.nr ? static_cast<int>(c.n.size() % tile.nr) : tile.nr;
  return std::move(b.out);
}

}  // namespace kiln::codegen
