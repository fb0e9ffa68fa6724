// fft_kernels: pack and epilogue kernels of a library FFT (see fft_kernels.h).
#include "codegen/fft_kernels.h"

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

int64_t fft_in_len(SpectralKind kind, int64_t n) {
  return kind == SpectralKind::RealInverse ? n / 2 + 1 : n;
}

int64_t fft_out_len(SpectralKind kind, int64_t n) {
  return kind == SpectralKind::RealForward ? n / 2 + 1 : n;
}

namespace {

struct Builder {
  const Kernel& kernel;
  const Spectral& s;
  const LowerOptions& options;
  FftKernels out;

  int row_var() const { return kernel.num_vars; }
  ExprPtr row() const { return var(row_var(), out.rows); }
  // The row's offset in the staging buffer: (row - row0) * len.
  ExprPtr staged(int64_t len, int v, int64_t extent) const {
    return iadd(imul(isub(row(), arg(DType::I64, out.slot_row0)), len), var(v, extent));
  }
  // The kernel's loop variables with the batch's replaced by the row's digits.
  std::vector<ExprPtr> batch_of_row() const {
    std::vector<ExprPtr> subst(static_cast<size_t>(kernel.num_vars + 1));
    if (s.batch.vars.empty()) return subst;
    std::vector<ExprPtr> digits = s.batch.vars.size() == 1 ? std::vector<ExprPtr>{row()}
                                                           : delinearize(row(), s.batch.extents);
    for (size_t i = 0; i < s.batch.vars.size(); ++i)
      subst[static_cast<size_t>(s.batch.vars[i])] = digits[i];
    return subst;
  }

  Kernel base(const std::string& suffix, DType staging_dtype, int64_t len, bool written) const {
    Kernel k;
    k.name = kernel.name + suffix;
    k.buffers = kernel.buffers;
    BufferParam staging;
    staging.dtype = staging_dtype;
    staging.numel = out.rows * len;
    staging.read = !written;
    staging.written = written;
    k.buffers.push_back(staging);
    k.scalars = kernel.scalars;
    k.scalars.push_back(DType::I64);
    k.num_vars = kernel.num_vars + 1;
    return k;
  }

  void vectorize(Kernel& k) const {
    choose_vectorization(k, options);
    k.vector_unroll = 1;  // the driver addresses rows of the range in blocks of lanes
    k.vector_narrowing = 1;
  }

  Kernel pack() const {
    Kernel p = base("_fft_pack", s.input_dtype(), s.in_len, true);
    p.outer = {Loop{row_var(), out.rows, nullptr, nullptr},
               Loop{s.in_var, s.in_len, nullptr, nullptr}};
    Stage st;
    st.kind = StageKind::Loop;
    st.stores.push_back(Store{out.extra_buffer, staged(s.in_len, s.in_var, s.in_len),
                              substitute(s.input, batch_of_row()), nullptr, 0});
    p.stages.push_back(std::move(st));
    vectorize(p);
    return p;
  }

  Kernel epilogue() const {
    const DType acc = kernel.stages[static_cast<size_t>(s.reduce_stage)].acc_dtype;
    Kernel e = base("_fft_epilogue", acc, s.out_len, false);
    e.outer = {Loop{row_var(), out.rows, nullptr, nullptr},
               Loop{s.out_var, s.out_len, nullptr, nullptr}};
    Stage st = kernel.stages[static_cast<size_t>(s.epilogue_stage)];
    const ExprPtr from = stage_value(acc, s.reduce_stage);
    const ExprPtr value =
        load(acc, out.extra_buffer, staged(fft_out_len(s.kind, s.n), s.out_var, s.out_len));
    const std::vector<ExprPtr> subst = batch_of_row();
    auto rewrite = [&](const ExprPtr& x) {
      return substitute(replace_subexpr(x, from, value), subst);
    };
    for (Store& store : st.stores) {
      store.value = rewrite(store.value);
      store.index = rewrite(store.index);
      if (store.guard) store.guard = rewrite(store.guard);
      store.stream_alignment = 0;
    }
    e.stages.push_back(std::move(st));
    vectorize(e);
    return e;
  }

  // Whether `index` is offset + row * len + v over the batch variables, with v the
  // variable along the rows; sets the offset.
  bool rows_index(const ExprPtr& index, int v, int64_t len, int64_t& offset) const {
    Linear l = linearize(index);
    std::vector<int64_t> want(static_cast<size_t>(kernel.num_vars), 0);
    want[static_cast<size_t>(v)] = 1;
    int64_t stride = len;
    for (size_t i = s.batch.vars.size(); i-- > 0;) {
      want[static_cast<size_t>(s.batch.vars[i])] = stride;
      stride *= s.batch.extents[i];
    }
    std::vector<int64_t> got(want.size(), 0);
    for (auto& [atom, coef] : l.terms) {
      if (atom->kind != ExprKind::Var || atom->slot >= kernel.num_vars) return false;
      got[static_cast<size_t>(atom->slot)] += coef;
    }
    offset = l.constant;
    return got == want;
  }

  std::optional<RowsInBuffer> direct_input() const {
    const ExprPtr& x = s.input;
    // c2r destroys its input: it always gets the packed copy.
    if (s.kind == SpectralKind::RealInverse || x->kind != ExprKind::Load ||
        x->dtype != s.input_dtype())
      return std::nullopt;
    RowsInBuffer r{x->slot, 0};
    if (kernel.buffers[static_cast<size_t>(r.buffer)].dtype != s.input_dtype() ||
        !rows_index(x->args[0], s.in_var, s.in_len, r.offset))
      return std::nullopt;
    return r;
  }

  std::optional<RowsInBuffer> direct_output() const {
    const Stage& st = kernel.stages[static_cast<size_t>(s.epilogue_stage)];
    const DType acc = kernel.stages[static_cast<size_t>(s.reduce_stage)].acc_dtype;
    if (st.stores.size() != 1) return std::nullopt;
    const Store& store = st.stores[0];
    if (s.out_len != fft_out_len(s.kind, s.n) || store.guard ||
        !expr_equal(store.value, stage_value(acc, s.reduce_stage)))
      return std::nullopt;
    RowsInBuffer r{store.buffer, 0};
    if (kernel.buffers[static_cast<size_t>(r.buffer)].dtype != acc ||
        !rows_index(store.index, s.out_var, s.out_len, r.offset))
      return std::nullopt;
    return r;
  }
};

}  // namespace

std::optional<FftKernels> make_fft_kernels(const Kernel& kernel, const Spectral& spectral,
                                           const LowerOptions& options) {
  for (const BufferParam& b : kernel.buffers)
    if (b.local) return std::nullopt;
  // The transform's sum and its epilogue, nothing else: an epilogue that read another
  // stage's value would have nothing to read it from.
  if (spectral.in_len != fft_in_len(spectral.kind, spectral.n) ||
      spectral.out_len > fft_out_len(spectral.kind, spectral.n))
    return std::nullopt;
  if (kernel.stages.size() != 2 || spectral.reduce_stage == spectral.epilogue_stage ||
      kernel.stages[static_cast<size_t>(spectral.epilogue_stage)].kind != StageKind::Loop ||
      !kernel.stages[static_cast<size_t>(spectral.epilogue_stage)].loops.empty())
    return std::nullopt;
  Builder b{kernel, spectral, options, {}};
  b.out.spectral = spectral;
  b.out.rows = spectral.batch.size();
  b.out.slot_row0 = static_cast<int>(kernel.scalars.size());
  b.out.extra_buffer = static_cast<int>(kernel.buffers.size());
  b.out.pack = b.pack();
  b.out.epilogue = b.epilogue();
  b.out.direct_input = b.direct_input();
  b.out.direct_output = b.direct_output();
  return std::move(b.out);
}

}  // namespace kiln::codegen
