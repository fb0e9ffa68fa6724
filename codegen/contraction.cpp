// contraction: the GEMM form of a kernel (see contraction.h).
#include "codegen/contraction.h"

#include "codegen/kernel_ir.h"

namespace kiln::codegen {

int64_t VarSet::size() const {
  int64_t n = 1;
  for (int64_t e : extents) n *= e;
  return n;
}

std::vector<ExprPtr> var_exprs(const VarSet& set) {
  std::vector<ExprPtr> out;
  for (size_t i = 0; i < set.vars.size(); ++i) out.push_back(var(set.vars[i], set.extents[i]));
  return out;
}

namespace {

void add(VarSet& set, const Loop& loop) {
  set.vars.push_back(loop.var);
  set.extents.push_back(loop.extent);
}

bool full_range(const Loop& loop) { return !loop.begin && !loop.end; }

}  // namespace

std::shared_ptr<const Contraction> find_contraction(const Kernel& k) {
  // Variables past 62 share one bit of the dependence masks: too many to tell apart.
  if (k.num_vars > 62 || k.stages.size() != 2) return nullptr;
  const Stage& red = k.stages[0];
  const Stage& epi = k.stages[1];
  if (red.kind != StageKind::Reduce || red.op != ReduceOp::Sum || !red.stores.empty() ||
      red.sequential || red.loops.empty())
    return nullptr;
  if (red.acc_dtype != DType::F32 && red.acc_dtype != DType::F64) return nullptr;
  if (epi.kind != StageKind::Loop || !epi.loops.empty() || epi.sequential || epi.stores.empty())
    return nullptr;
  const ExprPtr& v = red.value;
  if (v->kind != ExprKind::Binary || v->op != ir::OpKind::Mul || v->dtype != red.acc_dtype)
    return nullptr;
  auto c = std::make_shared<Contraction>();
  c->acc = red.acc_dtype;
  c->a = v->args[0];
  c->b = v->args[1];
  if (c->a->stage_mask || c->b->stage_mask) return nullptr;
  for (const Store& st : epi.stores) {
    if (st.value->stage_mask & ~uint64_t{1} || st.index->stage_mask & ~uint64_t{1}) return nullptr;
    if (st.guard && st.guard->stage_mask) return nullptr;
  }
  for (const Loop& l : k.outer) {
    if (!full_range(l)) return nullptr;
    bool da = c->a->depends_on_var(l.var), db = c->b->depends_on_var(l.var);
    add(da && db ? c->batch : db ? c->n : c->m, l);
  }
  for (const Loop& l : red.loops) {
    if (!full_range(l)) return nullptr;
    add(c->k, l);
  }
  return c;
}

void match_contraction(Kernel& kernel) {
  kernel.contraction = nullptr;
  auto c = find_contraction(kernel);
  if (!c) return;
  // A GEMM packs its operands and blocks for the caches: worth it when each output sums
  // enough products and there are enough outputs to tile. Short sums (a depthwise
  // convolution's taps) and tiny products stay loop nests, which run them well.
  const int64_t M = c->m.size(), N = c->n.size(), K = c->k.size();
  if (K < 8 || M * N < 64 || c->batch.size() * M * N * K < (int64_t{1} << 15)) return;
  // A batch of matrix-vector products (a depthwise convolution: one output channel per
  // batch) streams its matrix once; the loop nest does that without packing it.
  if (c->batch.size() > 1 && (M == 1 || N == 1)) return;
  kernel.contraction = std::move(c);
}

}  // namespace kiln::codegen
