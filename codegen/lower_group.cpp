// lower_group: fusion group -> KernelIR (see lower_group.h).
#include "codegen/lower_group.h"

#include <algorithm>
#include <bit>
#include <complex>
#include <cstring>
#include <map>
#include <numbers>
#include <unordered_set>

#include "codegen/contraction.h"
#include "codegen/kernel_passes.h"
#include "codegen/spectral.h"
#include "codegen/split_reduction.h"
#include "ir/error.h"

namespace kiln::codegen {

namespace {

using ir::Node;
using ir::OpCategory;
using ir::OpKind;
using passes::FusionGroup;
using passes::GroupKind;
using Index = std::vector<ExprPtr>;

[[noreturn]] void internal(const std::string& what) {
  throw CompileError("lower_group: internal error: " + what);
}

bool is_spectral(OpKind k) { return k == OpKind::Fft || k == OpKind::Rfft || k == OpKind::Irfft; }

bool is_axis(const std::vector<int64_t>& axes, size_t d) {
  return std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(d));
}

// The index of a value of shape `dst` that is the same element as `src` of shape `src_shape`
// when the two shapes differ only by size-1 dimensions.
Index map_squeezed(const Index& src, const Shape& src_shape, const Shape& dst) {
  Index out(dst.size());
  size_t s = 0;
  for (size_t d = 0; d < dst.size(); ++d) {
    if (dst[d] == 1) {
      out[d] = index_const(0);
      continue;
    }
    while (s < src_shape.size() && src_shape[s] == 1) ++s;
    if (s >= src_shape.size() || src_shape[s] != dst[d])
      internal("shapes " + shape_str(src_shape) + " and " + shape_str(dst) +
               " differ by more than size-1 dims");
    out[d] = src[s++];
  }
  return out;
}

// The accumulator dtype of a sum, product or matmul: wide enough that f16/bf16 round once
// and integers wrap like the reference's 64-bit accumulation.
DType sum_acc_dtype(DType t) {
  switch (t) {
    case DType::F16:
    case DType::BF16:
    case DType::F32: return DType::F32;
    case DType::I8:
    case DType::U8:
    case DType::I32:
    case DType::I64: return DType::I64;
    default: return t;  // bool (or / and), f64, c64
  }
}

// The wide dtype scans and scatters accumulate in: exactly the reference's (double for
// floats, 64-bit integers), so they agree bit for bit.
DType wide_dtype(DType t) {
  if (is_floating(t)) return DType::F64;
  if (is_integer(t) || t == DType::Bool) return DType::I64;
  return t;
}

ReduceOp reduce_op_of(OpKind k) {
  switch (k) {
    case OpKind::ReduceSum:
    case OpKind::MatMul:
    case OpKind::Conv:
    case OpKind::Fft:
    case OpKind::Rfft:
    case OpKind::Irfft:
    case OpKind::CumSum: return ReduceOp::Sum;
    case OpKind::ReduceProd:
    case OpKind::CumProd: return ReduceOp::Prod;
    case OpKind::ReduceMax: return ReduceOp::Max;
    case OpKind::ReduceMin: return ReduceOp::Min;
    case OpKind::ArgMax: return ReduceOp::ArgMax;
    case OpKind::ArgMin: return ReduceOp::ArgMin;
    default: internal("not a reduction: " + std::string(ir::op_name(k)));
  }
}

// A loop over a run of adjacent dimensions of the iteration space (all row axes or none).
struct Run {
  std::vector<int> dims;
  bool row = false;
};

class KernelBuilder {
 public:
  KernelBuilder(const FusionGroup& g, std::vector<Run> runs, std::vector<TempBuffer>& temps)
      : runs_(std::move(runs)), temps_(temps) {
    inline_.insert(g.nodes.begin(), g.nodes.end());
  }

  LoweredKernel take() {
    annotate_spectral();
    LoweredKernel lk;
    lk.kernel = std::move(k_);
    lk.buffers = std::move(bufs_);
    lk.scalars = std::move(scalars_);
    return lk;
  }

  // ---- loops ----

  int new_var(int64_t extent) {
    (void)extent;
    return k_.num_vars++;
  }

  // Creates the loops of the runs with `row` == row (outer loops when !row, else the loops
  // of a stage) and fills their dimensions of `idx` (an S-sized index).
  std::vector<Loop> make_loops(bool row, const Shape& S, Index& idx) {
    std::vector<Loop> loops;
    for (const Run& r : runs_) {
      if (r.row != row) continue;
      std::vector<int64_t> sizes;
      int64_t extent = 1;
      for (int d : r.dims) {
        sizes.push_back(S[d]);
        extent *= S[d];
      }
      int v = new_var(extent);
      loops.push_back({v, extent, nullptr, nullptr});
      Index parts = delinearize(var(v, extent), sizes);
      for (size_t i = 0; i < r.dims.size(); ++i)
        idx[r.dims[i]] = lo_.empty() ? parts[i] : iadd(parts[i], lo_[r.dims[i]]);
    }
    return loops;
  }

  // Sets up the outer loops over S without the row axes; returns the S index with the
  // row dimensions still null. With `lo`, the loops cover the box of sizes S at offsets
  // lo of a larger space (S then holds the box's sizes).
  Index setup_outer(const Shape& S, const std::vector<int64_t>& axes, const Shape& lo = {}) {
    S_ = S;
    lo_ = lo;
    axes_ = axes;
    Index idx(S.size());
    for (size_t d = 0; d < S.size(); ++d)
      if (S[d] == 1) idx[d] = index_const(lo.empty() ? 0 : lo[d]);
    k_.outer = make_loops(false, S, idx);
    outer_idx_ = idx;
    kept_idx_.clear();
    for (size_t d = 0; d < S.size(); ++d)
      if (!is_axis(axes, d)) kept_idx_.push_back(idx[d]);
    return idx;
  }

  // A fresh set of row loops: the full S index for one stage.
  std::pair<std::vector<Loop>, Index> row_loops() {
    Index idx = outer_idx_;
    std::vector<Loop> loops = make_loops(true, S_, idx);
    for (size_t d = 0; d < idx.size(); ++d)
      if (!idx[d]) idx[d] = index_const(0);
    return {loops, idx};
  }

  // ---- buffers and scalars ----

  int read_buffer(const Node* n) {
    auto it = buf_of_.find(n);
    if (it != buf_of_.end()) {
      k_.buffers[it->second].read = true;
      return it->second;
    }
    int b = static_cast<int>(k_.buffers.size());
    k_.buffers.push_back({n->type.dtype, n->type.numel(), true, false});
    bufs_.push_back({n, -1});
    buf_of_[n] = b;
    return b;
  }

  int write_buffer(const Node* n, bool also_read = false) {
    bool was_read = buf_of_.count(n) && k_.buffers[buf_of_[n]].read;
    int b = read_buffer(n);
    k_.buffers[b].read = was_read || also_read;
    k_.buffers[b].written = true;
    return b;
  }

  int temp_buffer(int temp, bool read, bool written) {
    for (size_t i = 0; i < bufs_.size(); ++i)
      if (bufs_[i].temp == temp) {
        k_.buffers[i].read |= read;
        k_.buffers[i].written |= written;
        return static_cast<int>(i);
      }
    int b = static_cast<int>(k_.buffers.size());
    k_.buffers.push_back({temps_[temp].dtype, temps_[temp].numel, read, written});
    bufs_.push_back({nullptr, temp});
    return b;
  }

  ExprPtr scalar(const Node* n, DType dtype) {
    auto it = scalar_of_.find(n);
    int slot;
    if (it != scalar_of_.end()) {
      slot = it->second;
    } else {
      slot = static_cast<int>(k_.scalars.size());
      k_.scalars.push_back(dtype);
      scalars_.push_back({n});
      scalar_of_[n] = slot;
    }
    return arg(dtype, slot);
  }

  void add_stage(Stage s) { k_.stages.push_back(std::move(s)); }
  int next_stage() const { return static_cast<int>(k_.stages.size()); }

  // ---- values ----

  ExprPtr eval(const Node* n, const Index& idx) {
    uint64_t key = reinterpret_cast<uintptr_t>(n);
    for (const ExprPtr& e : idx) key = key * 0x9e3779b97f4a7c15ull ^ e->hash;
    auto& bucket = memo_[key];
    for (auto& [nn, ii, v] : bucket) {
      if (nn != n) continue;
      bool same = true;
      for (size_t d = 0; d < idx.size() && same; ++d) same = expr_equal(ii[d], idx[d]);
      if (same) return v;
    }
    ExprPtr v = compute(n, idx);
    memo_[key].emplace_back(n, idx, v);
    return v;
  }

 private:
  ExprPtr compute(const Node* n, const Index& idx) {
    const DType dt = n->type.dtype;
    if (n->op == OpKind::Constant && n->type.numel() == 1) return scalar(n, dt);
    if (!inline_.count(n) || n->op == OpKind::Parameter || n->op == OpKind::Constant) {
      if (n->type.numel() == 0) return const_of(dt, 0);
      return load(dt, read_buffer(n), linear_index(idx, n->type.shape));
    }
    auto operand = [&](size_t i) { return n->operands[i].get(); };
    switch (n->info().category) {
      case OpCategory::Source:
        if (n->op == OpKind::Iota) return cast(dt, idx[n->attr_i64("axis")]);
        if (n->op == OpKind::RandomUniform)
          return random_uniform(dt, linear_index(idx, n->type.shape), random_key_of(n));
        internal("source " + std::string(n->info().text) + " is not computed inline");
      case OpCategory::Unary: return unary(n->op, dt, eval(operand(0), idx));
      case OpCategory::Binary:
        return binary(n->op, dt, eval(operand(0), idx), eval(operand(1), idx));
      case OpCategory::Ternary:
        return select(eval(operand(0), idx), eval(operand(1), idx), eval(operand(2), idx));
      case OpCategory::Cast: return cast(dt, eval(operand(0), idx));
      case OpCategory::Movement: return movement(n, idx);
      case OpCategory::Index: {
        if (n->op != OpKind::Gather) break;
        const Node* data = operand(0);
        int64_t axis = n->attr_i64("axis");
        int64_t len = data->type.shape[axis];
        if (len == 0) return const_of(dt, 0);
        ExprPtr at = cast(DType::I64, eval(operand(1), idx));
        at = select(ilt(at, index_const(0)), iadd(at, len), at);
        Index di = idx;
        di[axis] = iclamp(at, 0, len - 1);
        return eval(data, di);
      }
      case OpCategory::Reduce:
      case OpCategory::Contraction: return reduction(n, idx);
      case OpCategory::Scan:
      case OpCategory::Custom: break;
    }
    internal(std::string(n->info().text) + " cannot be computed inside a kernel");
  }

  // The key a random_uniform node draws with: its key attribute (a scalar argument) or its
  // key operand (a 0-d value, read like any other), then its derivations, in order. The
  // derivations do not depend on the loops: the CPU backend computes them once (LLVM
  // hoists them), an OpenCL work-item once per element it draws (docs/training.md).
  ExprPtr random_key_of(const Node* n) {
    ExprPtr key = n->operands.empty() ? scalar(n, DType::I64) : eval(n->operands[0].get(), {});
    for (int64_t counter : n->attr_i64s("derive"))
      key = random_key(std::move(key), static_cast<uint64_t>(counter));
    return key;
  }

  ExprPtr movement(const Node* n, const Index& idx) {
    const Node* src = n->operands[0].get();
    const Shape& out = n->type.shape;
    const Shape& in = src->type.shape;
    Index si(in.size());
    switch (n->op) {
      case OpKind::Reshape: {
        Shape a = out, b = in;
        std::erase(a, 1);
        std::erase(b, 1);
        if (a == b) return eval(src, map_squeezed(idx, out, in));
        return eval(src, delinearize(linear_index(idx, out), in));
      }
      case OpKind::Permute: {
        const auto& perm = n->attr_i64s("perm");
        for (size_t i = 0; i < perm.size(); ++i) si[perm[i]] = idx[i];
        return eval(src, si);
      }
      case OpKind::OptimizationBarrier: return eval(src, idx);  // the identity
      case OpKind::Broadcast:
        for (size_t d = 0; d < in.size(); ++d) si[d] = in[d] == 1 ? index_const(0) : idx[d];
        return eval(src, si);
      case OpKind::Slice: {
        const auto& start = n->attr_i64s("start");
        const auto& step = n->attr_i64s("step");
        for (size_t d = 0; d < in.size(); ++d) si[d] = iadd(imul(idx[d], step[d]), start[d]);
        return eval(src, si);
      }
      case OpKind::Flip: {
        const auto& axes = n->attr_i64s("axes");
        si = idx;
        for (int64_t a : axes) si[a] = isub(index_const(in[a] - 1), idx[a]);
        return eval(src, si);
      }
      case OpKind::Pad: {
        const auto& low = n->attr_i64s("low");
        ExprPtr fill = const_of(n->type.dtype, n->attr_f64("value"));
        if (src->type.numel() == 0) return fill;
        ExprPtr guard;
        for (size_t d = 0; d < in.size(); ++d) {
          ExprPtr at = iadd(idx[d], -low[d]);
          guard = land(guard, land(ige(at, index_const(0)), ilt(at, index_const(in[d]))));
          si[d] = iclamp(at, 0, in[d] - 1);
        }
        if (!guard) return eval(src, si);
        return select(guard, eval(src, si), fill);
      }
      case OpKind::Concat: {
        int64_t axis = n->attr_i64("axis");
        ExprPtr value;
        int64_t offset = 0;
        for (const auto& op : n->operands) {
          int64_t len = op->type.shape[axis];
          if (len == 0) continue;
          Index oi = idx;
          oi[axis] = iclamp(iadd(idx[axis], -offset), 0, len - 1);
          ExprPtr v = eval(op.get(), oi);
          value = value ? select(ige(idx[axis], index_const(offset)), v, value) : v;
          offset += len;
        }
        return value ? value : const_of(n->type.dtype, 0);
      }
      default: break;
    }
    internal("unknown movement op " + std::string(n->info().text));
  }

  // A reduction of the group's rows, read at the outer index: a Reduce stage.
  ExprPtr reduction(const Node* r, const Index& idx) {
    Index kept;
    if (r->info().category == OpCategory::Contraction) {
      kept = idx;
    } else {
      const auto& axes = r->attr_i64s("axes");
      bool keepdims = r->attr_bool("keepdims");
      for (size_t d = 0; d < idx.size(); ++d)
        if (!keepdims || !is_axis(axes, d)) kept.push_back(idx[d]);
    }
    // Compare with the outer index, ignoring size-1 dimensions on both sides.
    auto non_unit = [](const Index& ix) {
      Index out;
      for (const ExprPtr& e : ix)
        if (!e->is_int_const(0)) out.push_back(e);
      return out;
    };
    Index a = non_unit(kept), b = non_unit(kept_idx_);
    bool match = a.size() == b.size();
    for (size_t i = 0; match && i < a.size(); ++i) match = expr_equal(a[i], b[i]);
    if (!match) internal(std::string(r->info().text) + " is not read at its row's outer index");

    auto it = stage_of_.find(r);
    int s;
    if (it != stage_of_.end()) {
      s = it->second;
    } else {
      auto [loops, full] = row_loops();
      Stage st;
      st.kind = StageKind::Reduce;
      st.loops = loops;
      st.op = reduce_op_of(r->op);
      if (r->op == OpKind::MatMul) {
        const Node* A = r->operands[0].get();
        const Node* B = r->operands[1].get();
        size_t rank = full.size();  // batch + [m, n, k]
        Index ai(full.begin(), full.end() - 3), bi = ai;
        ai.push_back(full[rank - 3]);
        ai.push_back(full[rank - 1]);
        bi.push_back(full[rank - 1]);
        bi.push_back(full[rank - 2]);
        st.acc_dtype = sum_acc_dtype(r->type.dtype);
        st.value = binary(OpKind::Mul, st.acc_dtype, cast(st.acc_dtype, eval(A, ai)),
                          cast(st.acc_dtype, eval(B, bi)));
      } else if (r->op == OpKind::Conv) {
        st.acc_dtype = sum_acc_dtype(r->type.dtype);
        st.value = conv_product(r, full, st.acc_dtype);
      } else if (is_spectral(r->op)) {
        st.acc_dtype = r->type.dtype;
        st.value = spectral_term(r, full, static_cast<int>(k_.stages.size()));
      } else {
        const Node* x = r->operands[0].get();
        ExprPtr v = eval(x, full);
        if (st.op == ReduceOp::Sum || st.op == ReduceOp::Prod) {
          // Long f32 products drift by many ulps; like the reference, multiply in double.
          st.acc_dtype =
              st.op == ReduceOp::Prod ? wide_dtype(x->type.dtype) : sum_acc_dtype(x->type.dtype);
          st.value = cast(st.acc_dtype, v);
        } else {
          st.acc_dtype = x->type.dtype;
          st.value = v;
          if (st.op == ReduceOp::ArgMax || st.op == ReduceOp::ArgMin)
            st.position = full[r->attr_i64s("axes")[0]];
        }
      }
      s = static_cast<int>(k_.stages.size());
      k_.stages.push_back(std::move(st));
      stage_of_[r] = s;
    }
    const Stage& st = k_.stages[s];
    bool arg_reduce = st.op == ReduceOp::ArgMax || st.op == ReduceOp::ArgMin;
    return cast(r->type.dtype, stage_value(arg_reduce ? DType::I64 : st.acc_dtype, s));
  }

  // The term of a transform's sum at `full` = [output index..., j] (codegen/spectral.h):
  // x(.., j, ..) * exp(sign 2 pi i ((j * k) mod n) / n) with k the output's index along the
  // axis; for irfft, with X(j) the input's half spectrum, w_j Re(X(j) exp(2 pi i j k / n)),
  // where w_j is 1 for j = 0 and j = n/2 and 2 for the frequencies that stand for a pair.
  // The phase is exact in integers and rounded once (in double); the input expression is
  // kept for the annotation that lets a library FFT run the kernel.
  ExprPtr spectral_term(const Node* r, const Index& full, int stage) {
    const Node* x = r->operands[0].get();
    const auto axis = static_cast<size_t>(r->attr_i64("axis"));
    const bool real_out = r->op == OpKind::Irfft;
    const int64_t n = real_out ? r->attr_i64("n") : x->type.shape[axis];
    const ExprPtr& j = full.back();
    const ExprPtr& k = full[axis];
    Index xi(full.begin(), full.end() - 1);
    xi[axis] = j;
    ExprPtr input = eval(x, xi);
    spectral_ = {r, input, stage};
    const bool inverse = real_out || (r->op == OpKind::Fft && r->attr_bool("inverse"));
    ExprPtr phase =
        binary(OpKind::Mod, DType::I64, binary(OpKind::Mul, DType::I64, j, k), index_const(n));
    ExprPtr angle = binary(
        OpKind::Mul, DType::F64, cast(DType::F64, phase),
        const_float(DType::F64, (inverse ? 2 : -2) * std::numbers::pi / static_cast<double>(n)));
    ExprPtr c = cast(DType::F32, unary(OpKind::Cos, DType::F64, angle));
    ExprPtr s = cast(DType::F32, unary(OpKind::Sin, DType::F64, angle));
    if (!real_out) {
      ExprPtr w = binary(OpKind::Complex, DType::C64, c, s);
      return binary(OpKind::Mul, DType::C64, cast(DType::C64, input), w);
    }
    ExprPtr re = unary(OpKind::Real, DType::F32, input),
            im = unary(OpKind::Imag, DType::F32, input);
    ExprPtr term = binary(OpKind::Sub, DType::F32, binary(OpKind::Mul, DType::F32, re, c),
                          binary(OpKind::Mul, DType::F32, im, s));
    ExprPtr once = ilt(j, index_const(1));
    if (n % 2 == 0) once = select(once, const_bool(true), ige(j, index_const(n / 2)));
    ExprPtr weight = select(once, const_float(DType::F32, 1), const_float(DType::F32, 2));
    return binary(OpKind::Mul, DType::F32, weight, term);
  }

  // Kernel::spectral for a kernel that is one transform (its Reduce stage over j) followed
  // by stores of values computed from its result (one Loop stage without loops). Other
  // forms (a transform of length 1 has no loops) run as the loop nest.
  void annotate_spectral() {
    if (!spectral_.node) return;
    const Node* r = spectral_.node;
    const auto axis = static_cast<size_t>(r->attr_i64("axis"));
    if (spectral_.stage != 0 || k_.stages.size() != 2 || k_.stages[0].loops.size() != 1 ||
        k_.stages[1].kind != StageKind::Loop || !k_.stages[1].loops.empty() ||
        axis >= outer_idx_.size() || !outer_idx_[axis] || outer_idx_[axis]->kind != ExprKind::Var)
      return;
    Spectral sp;
    sp.kind = r->op == OpKind::Rfft     ? SpectralKind::RealForward
              : r->op == OpKind::Irfft  ? SpectralKind::RealInverse
              : r->attr_bool("inverse") ? SpectralKind::Inverse
                                        : SpectralKind::Forward;
    sp.out_var = outer_idx_[axis]->slot;
    sp.out_len = outer_idx_[axis]->ival;
    sp.in_var = k_.stages[0].loops[0].var;
    sp.in_len = k_.stages[0].loops[0].extent;
    sp.n = sp.kind == SpectralKind::RealInverse ? r->attr_i64("n") : sp.in_len;
    for (const Loop& l : k_.outer) {
      if (l.var == sp.out_var) continue;
      sp.batch.vars.push_back(l.var);
      sp.batch.extents.push_back(l.extent);
    }
    sp.input = spectral_.input;
    k_.spectral = std::make_shared<const Spectral>(std::move(sp));
  }

  // The term of a conv's sum at `full` = [n, co, o..., ci, t...] (the output index, then
  // the channel within the group and the kernel taps): w[co, ci, t] * x[n, g * cig + ci,
  // o * stride + t * dilation - pad_low], where reads outside x (the padding) are zero, as
  // a pad would give them: a guarded, clamped load. The weight is the first factor, so
  // that a dense conv is a GEMM with M = c_out (codegen/contraction.h).
  ExprPtr conv_product(const Node* r, const Index& full, DType acc) {
    const Node* x = r->operands[0].get();
    const Node* w = r->operands[1].get();
    const auto& stride = r->attr_i64s("stride");
    const auto& dilation = r->attr_i64s("dilation");
    const auto& low = r->attr_i64s("pad_low");
    const size_t sp = stride.size();
    const Shape& xs = x->type.shape;
    const int64_t cig = w->type.shape[1];
    const int64_t cog = std::max<int64_t>(r->type.shape[1] / r->attr_i64("groups"), 1);
    const ExprPtr& ci = full[sp + 2];
    Index xi = {full[0], iadd(imul(idiv(full[1], cog), cig), ci)};
    Index wi = {full[1], ci};
    ExprPtr guard;
    for (size_t d = 0; d < sp; ++d) {
      const ExprPtr& tap = full[sp + 3 + d];
      wi.push_back(tap);
      ExprPtr at = iadd(iadd(imul(full[2 + d], stride[d]), imul(tap, dilation[d])), -low[d]);
      guard = land(guard, land(ige(at, index_const(0)), ilt(at, index_const(xs[2 + d]))));
      xi.push_back(iclamp(at, 0, std::max<int64_t>(xs[2 + d] - 1, 0)));
    }
    // An empty input is all padding.
    ExprPtr xv = x->type.numel() == 0 ? const_of(acc, 0) : cast(acc, eval(x, xi));
    if (guard && x->type.numel() > 0) xv = select(guard, xv, const_of(acc, 0));
    return binary(OpKind::Mul, acc, cast(acc, eval(w, wi)), xv);
  }

  std::vector<Run> runs_;
  std::vector<TempBuffer>& temps_;
  std::unordered_set<const Node*> inline_;
  Kernel k_;
  std::vector<BufferSource> bufs_;
  std::vector<ScalarSource> scalars_;
  std::map<const Node*, int> buf_of_;
  std::map<const Node*, int> scalar_of_;
  std::map<const Node*, int> stage_of_;
  // The transform this kernel sums, its input expression and its stage (annotate_spectral).
  struct {
    const Node* node = nullptr;
    ExprPtr input;
    int stage = -1;
  } spectral_;
  std::map<uint64_t, std::vector<std::tuple<const Node*, Index, ExprPtr>>> memo_;
  Shape S_, lo_;
  std::vector<int64_t> axes_;
  Index outer_idx_, kept_idx_;
};

// The initial loop plan: one run per dimension of size > 1 (row axes marked), in order.
std::vector<Run> unit_runs(const Shape& S, const std::vector<int64_t>& axes) {
  std::vector<Run> runs;
  for (size_t d = 0; d < S.size(); ++d)
    if (S[d] != 1) runs.push_back({{static_cast<int>(d)}, is_axis(axes, d)});
  return runs;
}

// Index divisions in every address and value of a kernel: what merging loops may not add.
int division_count(const Kernel& k) {
  int n = 0;
  for (const Stage& s : k.stages) {
    if (s.value) n += count_div_mod(s.value);
    for (const Store& st : s.stores) n += count_div_mod(st.index) + count_div_mod(st.value);
  }
  return n;
}

// Builds with `make(runs)` and greedily merges adjacent runs of the same kind, innermost
// first, while the kernel's index divisions do not grow.
template <class Make>
std::vector<Run> plan_runs(std::vector<Run> runs, bool merge, Make make) {
  if (!merge) return runs;
  int best = division_count(make(runs));
  for (size_t i = runs.size(); i-- > 1;) {
    if (runs[i].row != runs[i - 1].row || i >= runs.size()) continue;
    std::vector<Run> trial = runs;
    trial[i - 1].dims.insert(trial[i - 1].dims.end(), trial[i].dims.begin(), trial[i].dims.end());
    trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
    int c = division_count(make(trial));
    if (c <= best) {
      best = c;
      runs = std::move(trial);
    }
  }
  return runs;
}

// ---- group kinds ----

Shape squeezed(const Shape& s) {
  Shape out;
  for (int64_t d : s)
    if (d != 1) out.push_back(d);
  return out;
}

// Whether a group output spans the whole iteration space (else it is one value per row).
bool is_full_output(const FusionGroup& g, const Node* out) {
  return g.axes.empty() || squeezed(out->type.shape) == squeezed(g.shape);
}

// A box of a group's iteration space: dims [lo[d], lo[d] + size[d]).
struct Box {
  Shape lo, size;
};

LoweredKernel build_pointwise(const FusionGroup& g, const Box& box, const std::vector<Run>& runs,
                              std::vector<TempBuffer>& temps) {
  KernelBuilder b(g, runs, temps);
  Index outer = b.setup_outer(box.size, g.axes, box.lo);
  Shape kept_shape;
  for (size_t d = 0; d < g.shape.size(); ++d)
    if (!is_axis(g.axes, d)) kept_shape.push_back(g.shape[d]);
  Index kept;
  for (size_t d = 0; d < g.shape.size(); ++d)
    if (!is_axis(g.axes, d)) kept.push_back(outer[d]);

  // Values stored once per outer iteration (reductions and what is computed from them).
  Stage kept_stage;
  for (const Node* o : g.outputs) {
    if (is_full_output(g, o)) continue;
    Index oi = map_squeezed(kept, kept_shape, o->type.shape);
    ExprPtr v = b.eval(o, oi);
    kept_stage.stores.push_back({b.write_buffer(o), linear_index(oi, o->type.shape), v, nullptr});
  }
  if (!kept_stage.stores.empty()) b.add_stage(std::move(kept_stage));

  // Values over the whole space: with row axes, a loop over the row after its reductions.
  Stage full_stage;
  Index full = outer;
  if (!g.axes.empty()) {
    auto [loops, idx] = b.row_loops();
    full_stage.loops = loops;
    full = idx;
  }
  for (size_t d = 0; d < full.size(); ++d)
    if (!full[d]) full[d] = index_const(0);
  for (const Node* o : g.outputs) {
    if (!is_full_output(g, o)) continue;
    Index oi = map_squeezed(full, g.shape, o->type.shape);
    ExprPtr v = b.eval(o, oi);
    full_stage.stores.push_back({b.write_buffer(o), linear_index(oi, o->type.shape), v, nullptr});
  }
  if (!full_stage.stores.empty()) b.add_stage(std::move(full_stage));
  return b.take();
}

LoweredKernel build_scan(const FusionGroup& g, const std::vector<Run>& runs,
                         std::vector<TempBuffer>& temps) {
  const Node* out = g.outputs.at(0);
  const Node* x = out->operands[0].get();
  KernelBuilder b(g, runs, temps);
  b.setup_outer(g.shape, g.axes);
  auto [loops, full] = b.row_loops();
  Stage st;
  st.kind = StageKind::Scan;
  st.op = reduce_op_of(out->op);
  st.acc_dtype = wide_dtype(x->type.dtype);
  if (loops.empty()) {  // a scan over a size-1 axis is a copy
    int v = b.new_var(1);
    loops.push_back({v, 1, nullptr, nullptr});
  }
  st.loops = loops;
  st.value = cast(st.acc_dtype, b.eval(x, full));
  ExprPtr running = cast(out->type.dtype, stage_value(st.acc_dtype, b.next_stage()));
  st.stores.push_back({b.write_buffer(out), linear_index(full, g.shape), running, nullptr});
  b.add_stage(std::move(st));
  return b.take();
}

// out = base; out[.. idx ..] += upd, accumulated in the wide dtype: three kernels (copy
// into the accumulator, accumulate, convert), or two when the dtype is already wide.
std::vector<LoweredKernel> build_scatter(const FusionGroup& g, bool merge,
                                         std::vector<TempBuffer>& temps) {
  const Node* out = g.outputs.at(0);
  const Node* base = out->operands[0].get();
  const Node* idx_node = out->operands[1].get();
  const Node* upd = out->operands[2].get();
  const int64_t axis = out->attr_i64("axis");
  const DType wide = wide_dtype(out->type.dtype);
  const bool direct = wide == out->type.dtype;
  int temp = -1;
  if (!direct) {
    temp = static_cast<int>(temps.size());
    temps.push_back({wide, out->type.numel()});
  }
  auto acc_buffer = [&](KernelBuilder& b, bool read, bool written) {
    if (direct) return written ? b.write_buffer(out, read) : b.read_buffer(out);
    return b.temp_buffer(temp, read, written);
  };
  std::vector<LoweredKernel> kernels;
  const Shape& S = out->type.shape;

  // 1: the accumulator starts as the base.
  auto copy_in = [&](const std::vector<Run>& runs) {
    KernelBuilder b(g, runs, temps);
    Index full = b.setup_outer(S, {});
    for (auto& e : full)
      if (!e) e = index_const(0);
    Stage st;
    int buf = acc_buffer(b, false, true);
    st.stores.push_back({buf, linear_index(full, S), cast(wide, b.eval(base, full)), nullptr});
    b.add_stage(std::move(st));
    return b.take();
  };
  kernels.push_back(
      copy_in(plan_runs(unit_runs(S, {}), merge, [&](auto& r) { return copy_in(r).kernel; })));

  // 2: one sequential walk along the axis per position of the other dimensions.
  const Shape& U = upd->type.shape;
  std::vector<int64_t> uaxes = {axis};
  auto accumulate = [&](const std::vector<Run>& runs) {
    KernelBuilder b(g, runs, temps);
    b.setup_outer(U, uaxes);
    auto [loops, ui] = b.row_loops();
    if (loops.empty()) {
      int v = b.new_var(U[axis]);
      loops.push_back({v, U[axis], nullptr, nullptr});
      ui[axis] = var(v, U[axis]);
    }
    const int64_t n = S[axis];
    Stage st;
    st.sequential = true;
    st.loops = loops;
    if (n > 0) {
      ExprPtr at = cast(DType::I64, b.eval(idx_node, ui));
      at = select(ilt(at, index_const(0)), iadd(at, n), at);
      ExprPtr guard = land(ige(at, index_const(0)), ilt(at, index_const(n)));
      Index ti = ui;
      ti[axis] = iclamp(at, 0, n - 1);
      ExprPtr flat = linear_index(ti, S);
      int buf = acc_buffer(b, true, true);
      ExprPtr sum = binary(OpKind::Add, wide, load(wide, buf, flat), cast(wide, b.eval(upd, ui)));
      st.stores.push_back({buf, flat, sum, guard});
    }
    b.add_stage(std::move(st));
    return b.take();
  };
  if (numel(U) > 0 && S[axis] > 0) kernels.push_back(accumulate(unit_runs(U, uaxes)));

  // 3: the accumulator converted to the result's dtype.
  if (!direct) {
    auto convert = [&](const std::vector<Run>& runs) {
      KernelBuilder b(g, runs, temps);
      Index full = b.setup_outer(S, {});
      for (auto& e : full)
        if (!e) e = index_const(0);
      Stage st;
      int src = b.temp_buffer(temp, true, false);
      ExprPtr flat = linear_index(full, S);
      st.stores.push_back(
          {b.write_buffer(out), flat, cast(out->type.dtype, load(wide, src, flat)), nullptr});
      b.add_stage(std::move(st));
      return b.take();
    };
    kernels.push_back(
        convert(plan_runs(unit_runs(S, {}), merge, [&](auto& r) { return convert(r).kernel; })));
  }
  return kernels;
}

// Outputs of a padded conv group below which its kernel is not split into boxes (a few
// more kernels to compile buy nothing on small outputs).
constexpr int64_t kBoxSplitOutputs = int64_t{1} << 16;

// For a group whose rows are a padded conv's (channels and taps): the boxes of its space
// where every tap reads inside x (the interior: no guard, no clamp, so the reads along an
// output row are contiguous and vectorize as plain loads), then the borders around it,
// which keep the guarded, clamped reads. Empty when there is no such conv, no padding is
// read, the interior is empty or the output is small.
std::vector<Box> conv_boxes(const FusionGroup& g) {
  if (g.kind != GroupKind::Pointwise || numel(g.shape) == 0) return {};
  const size_t rank = g.shape.size();
  Shape a, b;  // per S dim: the interior [a, b) (full for the non-spatial dims)
  bool any = false;
  int64_t outputs = 0;
  for (const Node* n : g.nodes) {
    if (n->op != OpKind::Conv) continue;
    const Shape& out = n->type.shape;
    const Shape& xs = n->operands[0]->type.shape;
    const Shape& ws = n->operands[1]->type.shape;
    const size_t sp = out.size() - 2;
    if (rank != out.size() + sp + 1 || !std::equal(out.begin(), out.end(), g.shape.begin()))
      return {};
    outputs = numel(out);
    if (!any) {
      a.assign(rank, 0);
      b = g.shape;
      any = true;
    }
    const auto& stride = n->attr_i64s("stride");
    const auto& dilation = n->attr_i64s("dilation");
    const auto& low = n->attr_i64s("pad_low");
    for (size_t d = 0; d < sp; ++d) {
      // o reads positions o * stride - low + [0, span): all inside [0, in) for o in [lo, hi).
      const int64_t span = dilation[d] * (ws[2 + d] - 1) + 1;
      const int64_t lo = (low[d] + stride[d] - 1) / stride[d];
      const int64_t room = xs[2 + d] + low[d] - span;
      const int64_t hi = room < 0 ? 0 : std::min(out[2 + d], room / stride[d] + 1);
      a[2 + d] = std::max(a[2 + d], lo);
      b[2 + d] = std::min(b[2 + d], hi);
    }
  }
  if (!any || outputs < kBoxSplitOutputs) return {};
  // The interior's rows start at a multiple of 16 elements, so that its vector stores
  // can be aligned (and streamed, codegen/choose_streaming_stores.h): where that moves at
  // most a 32nd of the row into the border, whose guarded reads cost more (a causal
  // depthwise conv over rows of 8192 ran 1.45x slower unaligned; a 3x3 depthwise conv over
  // rows of 56 took 0.69 ms of kernel time with 15 of them in the border, 0.56 without).
  const size_t last = g.shape.size() - g.axes.size() - 1;
  const int64_t aligned = std::min(b[last], (a[last] + 15) / 16 * 16);
  if ((aligned - a[last]) * 32 <= b[last] - a[last]) a[last] = aligned;
  bool padded = false;
  for (size_t d = 0; d < rank; ++d) {
    if (a[d] >= b[d]) return {};
    padded = padded || a[d] > 0 || b[d] < g.shape[d];
  }
  if (!padded) return {};
  Box interior;
  for (size_t d = 0; d < rank; ++d) {
    interior.lo.push_back(a[d]);
    interior.size.push_back(b[d] - a[d]);
  }
  std::vector<Box> boxes = {interior};
  // Border slabs: dims before d interior, dim d below or above it, dims after d whole.
  for (size_t d = 0; d < rank; ++d) {
    for (auto [lo, hi] : {std::pair{int64_t{0}, a[d]}, std::pair{b[d], g.shape[d]}}) {
      if (lo >= hi) continue;
      Box box;
      for (size_t e = 0; e < rank; ++e) {
        box.lo.push_back(e < d ? a[e] : e == d ? lo : 0);
        box.size.push_back(e < d ? b[e] - a[e] : e == d ? hi - lo : g.shape[e]);
      }
      boxes.push_back(std::move(box));
    }
  }
  return boxes;
}

}  // namespace

LoweredGroup lower_group(const FusionGroup& g, const LowerOptions& options) {
  LoweredGroup out;
  switch (g.kind) {
    case GroupKind::Pointwise: {
      auto lower_box = [&](const Box& box, std::vector<TempBuffer>& temps) {
        std::vector<TempBuffer> scratch;
        auto make = [&](const std::vector<Run>& runs) {
          return build_pointwise(g, box, runs, scratch).kernel;
        };
        // A transform keeps one loop per dimension: its axis must be a loop of its own.
        const bool merge =
            options.merge_loops && std::none_of(g.nodes.begin(), g.nodes.end(),
                                                [](const Node* n) { return is_spectral(n->op); });
        auto runs = plan_runs(unit_runs(box.size, g.axes), merge, make);
        return build_pointwise(g, box, runs, temps);
      };
      const Box whole{Shape(g.shape.size(), 0), g.shape};
      std::vector<Box> boxes = conv_boxes(g);
      if (!boxes.empty()) {
        // A conv a library GEMM runs (codegen/contraction.h) reads the padding as it packs:
        // it stays one kernel. A depthwise one (one output channel per group: a batch of
        // matrix-vector products) is a direct kernel.
        std::vector<TempBuffer> scratch;
        Kernel probe = lower_box(whole, scratch).kernel;
        match_contraction(probe);
        if (probe.contraction && probe.contraction->m.size() > 1) boxes.clear();
      }
      if (boxes.empty()) boxes.push_back(whole);
      for (const Box& box : boxes) {
        out.kernels.push_back(lower_box(box, out.temps));
        if (out.kernels.back().kernel.spectral) continue;  // run whole by a library FFT
        if (auto split = split_reduction(out.kernels.back(), out.temps, options)) {
          out.kernels.back() = std::move(split->first);
          out.kernels.push_back(std::move(split->second));
        }
      }
      break;
    }
    case GroupKind::Scan: {
      std::vector<TempBuffer> scratch;
      auto make = [&](const std::vector<Run>& runs) { return build_scan(g, runs, scratch).kernel; };
      auto runs = plan_runs(unit_runs(g.shape, g.axes), options.merge_loops, make);
      out.kernels.push_back(build_scan(g, runs, out.temps));
      break;
    }
    case GroupKind::Scatter: out.kernels = build_scatter(g, options.merge_loops, out.temps); break;
  }
  for (LoweredKernel& lk : out.kernels) {
    verify_kernel(lk.kernel);
    // A library FFT runs a spectral kernel from its annotation; the passes would rewrite
    // the stages the annotation names.
    if (lk.kernel.spectral) continue;
    optimize_kernel(lk.kernel, options);
    verify_kernel(lk.kernel);
  }
  return out;
}

uint64_t scalar_slot(const ScalarSource& source) {
  const Node& n = *source.node;
  if (n.op == OpKind::RandomUniform) return static_cast<uint64_t>(n.attr_i64("key"));
  if (!n.buffer) throw CompileError("scalar argument from a constant without data");
  const std::byte* p = n.buffer->data();
  auto bits32 = [](float f) { return static_cast<uint64_t>(std::bit_cast<uint32_t>(f)); };
  switch (n.type.dtype) {
    case DType::Bool: return *reinterpret_cast<const uint8_t*>(p) != 0;
    case DType::I8:
      return static_cast<uint64_t>(static_cast<int64_t>(*reinterpret_cast<const int8_t*>(p)));
    case DType::U8: return *reinterpret_cast<const uint8_t*>(p);
    case DType::I32:
      return static_cast<uint64_t>(static_cast<int64_t>(*reinterpret_cast<const int32_t*>(p)));
    case DType::I64: return static_cast<uint64_t>(*reinterpret_cast<const int64_t*>(p));
    case DType::F16: return bits32(f16_to_float(*reinterpret_cast<const uint16_t*>(p)));
    case DType::BF16: return bits32(bf16_to_float(*reinterpret_cast<const uint16_t*>(p)));
    case DType::F32: return bits32(*reinterpret_cast<const float*>(p));
    case DType::F64: return std::bit_cast<uint64_t>(*reinterpret_cast<const double*>(p));
    case DType::C64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
  return 0;
}

}  // namespace kiln::codegen
