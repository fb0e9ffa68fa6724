// schedule: fusion groups and the boundaries between them (see schedule.h).
#include "passes/schedule.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_set>

#include "ir/error.h"

namespace kiln::passes {

using ir::Node;
using ir::OpCategory;
using ir::OpKind;

bool is_scalar_constant(const Node& node) {
  return node.op == OpKind::Constant && node.type.numel() == 1;
}

namespace {

// How a node's index relates to the group's iteration space S with row axes A.
enum class Ctx : uint8_t {
  Full,   // the S index (up to size-1 dims)
  Kept,   // the S index without the A axes: constant along a row
  Other,  // anything else (a view, a broadcast copy...)
};

// The cost above which recomputing a value per broadcast copy is worse than storing it.
constexpr int kExpensive = 8;

Shape squeeze(const Shape& s) {
  Shape out;
  for (int64_t d : s)
    if (d != 1) out.push_back(d);
  return out;
}

Shape without_axes(const Shape& s, const std::vector<int64_t>& axes) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(d))) out.push_back(s[d]);
  return out;
}

bool is_contraction(const Node* n) { return n->info().category == OpCategory::Contraction; }

bool is_reduction(const Node* n) {
  return n->info().category == OpCategory::Reduce || is_contraction(n);
}

// The space a reduction reduces: its operand's shape and axes; for matmul the virtual
// product [..., m, n, k] reduced over k; for conv its result's shape followed by the
// channels of a group and the kernel taps, reduced over those.
struct ReductionSpace {
  Shape shape;
  std::vector<int64_t> axes;
};

ReductionSpace reduction_space(const Node* n) {
  if (n->op == OpKind::MatMul) {
    const Shape& a = n->operands[0]->type.shape;
    const Shape& b = n->operands[1]->type.shape;
    Shape s(a.begin(), a.end() - 1);
    s.push_back(b.back());
    s.push_back(a.back());
    return {s, {static_cast<int64_t>(s.size()) - 1}};
  }
  if (n->op == OpKind::Conv) {
    const Shape& w = n->operands[1]->type.shape;
    Shape s = n->type.shape;
    std::vector<int64_t> axes;
    for (size_t d = 1; d < w.size(); ++d) {
      axes.push_back(static_cast<int64_t>(s.size()));
      s.push_back(w[d]);
    }
    return {s, axes};
  }
  if (n->info().category == OpCategory::Contraction) {
    // A transform (fft, rfft, irfft): its result's shape and the terms of each sum, one
    // per element of the input's axis.
    Shape s = n->type.shape;
    s.push_back(n->operands[0]->type.shape[static_cast<size_t>(n->attr_i64("axis"))]);
    return {s, {static_cast<int64_t>(s.size()) - 1}};
  }
  return {n->operands[0]->type.shape, n->attr_i64s("axes")};
}

std::string shape_axes_str(const Shape& s, const std::vector<int64_t>& a) {
  std::string out = shape_str(s) + " rows {";
  for (size_t i = 0; i < a.size(); ++i) out += (i ? "," : "") + std::to_string(a[i]);
  return out + "}";
}

struct Build {
  const Node* root = nullptr;
  GroupKind kind = GroupKind::Pointwise;
  Shape shape;
  std::vector<int64_t> axes;
  bool axes_fixed = false;  // the root decided A: no lookahead may change it
  std::set<std::pair<const Node*, Ctx>> visited;
  std::unordered_set<const Node*> nodes;
  std::unordered_set<const Node*> inputs;
  std::vector<std::pair<const Node*, Ctx>> input_uses;
  // Reductions fused as stages; after a merge also the producer's reducing root.
  std::vector<const Node*> stages;
  // Operands of its skinny products that it computes as it packs them (more than views).
  std::vector<const Node*> prologues;
  std::vector<const Node*> outputs;
  bool restart = false;
};

// The reductions a group computes: its stages and a reducing root.
size_t reductions(const Build& b) { return b.stages.size() + (is_reduction(b.root) ? 1 : 0); }

// Whether a group computes a contraction: its kernel is then a GEMM, which computes one
// product and no other reduction.
bool has_contraction(const Build& b) {
  return is_contraction(b.root) || std::any_of(b.stages.begin(), b.stages.end(), is_contraction);
}

class Scheduler {
 public:
  Scheduler(const ir::Graph& g, const ScheduleOptions& o) : g_(g), opt_(o) {
    int i = 0;
    pos_.reserve(g.params.size() + g.nodes.size());
    for (const auto& p : g.params) pos_[p.get()] = i++;
    for (const auto& n : g.nodes) pos_[n.get()] = i++;
  }

  Schedule run() {
    for (const auto& r : g_.results) {
      const Node* n = r.get();
      if (needs_kernel(n)) realize(n, "graph result");
    }
    // Scans and scatters are always kernels of their own, wherever they are used.
    for (const auto& n : g_.nodes)
      if (n->info().category == OpCategory::Scan || n->op == OpKind::ScatterAdd) {
        if (!realized_.count(n.get()))
          realize(n.get(), std::string(n->info().text) + " runs as a kernel of its own");
      }
    // Values that would make a kernel too large to compile quickly are stored up front.
    for (FusionCut& cut : cap_fusion(
             g_, [&](const Node* n) { return materialized(n); },
             [](const Node* n) { return is_scalar_constant(*n); }, opt_.limits)) {
      capped_.insert(cut.node);
      realize(cut.node, std::move(cut.reason));
    }

    std::vector<Build> builds;
    for (int round = 0;; ++round) {
      if (round > 1000) throw CompileError("schedule: no fixed point for graph " + g_.name);
      size_t before = realized_.size();
      builds.clear();
      for (const auto& n : ordered_realized()) {
        builds.push_back(build(n));
        if (realized_.size() != before) break;
      }
      if (realized_.size() != before) continue;
      // A reduction fused into several groups would be recomputed by each: store it once.
      std::map<const Node*, int> stage_users, prologue_users;
      for (const Build& b : builds) {
        for (const Node* s : b.stages) ++stage_users[s];
        for (const Node* p : b.prologues) ++prologue_users[p];
      }
      for (auto& [s, count] : stage_users)
        if (count > 1)
          realize(s,
                  "reduction used by " + std::to_string(count) +
                      " kernels: computing it once is cheaper than a pass over its input in each");
      // So is a computed operand of several skinny products: each would compute it again
      // as it packs it, element by element, where a stored one is copied or read in place.
      for (auto& [p, count] : prologue_users)
        if (count > 1)
          realize(p, "operand computed for " + std::to_string(count) +
                         " products: stored once, not recomputed as each packs it");
      if (realized_.size() == before) break;
    }
    return finish(merge(std::move(builds)));
  }

 private:
  const ir::Graph& g_;
  ScheduleOptions opt_;
  std::unordered_map<const Node*, int> pos_;
  std::map<const Node*, std::string> realized_;  // value -> why it is materialized
  std::unordered_map<const Node*, int> cost_memo_;
  // Values stored to keep kernels within the fusion limits: merging must not undo that.
  std::unordered_set<const Node*> capped_;

  // Parameters, constants and already evaluated nodes hold their values: no kernel.
  bool needs_kernel(const Node* n) const {
    return n->op != OpKind::Parameter && n->op != OpKind::Constant && !n->buffer;
  }

  bool materialized(const Node* n) const {
    if (n->op == OpKind::Parameter) return true;
    if (n->op == OpKind::Constant) return !is_scalar_constant(*n);
    if (n->buffer) return true;
    return realized_.count(n) > 0;
  }

  // The value under n's views (n when it is not a view), down to memory: what is stored
  // in place of a view, so that other readers of the value share it.
  const Node* value_under_views(const Node* n) const {
    while (!materialized(n) && n->info().category == OpCategory::Movement &&
           n->read_operands().size() == 1)
      n = n->operands[0].get();
    return n;
  }

  void realize(const Node* n, std::string reason) {
    realized_.emplace(n, std::move(reason));
    cost_memo_.clear();
  }

  std::vector<const Node*> ordered_realized() const {
    std::vector<const Node*> out;
    for (auto& [n, r] : realized_)
      if (needs_kernel(n)) out.push_back(n);
    std::sort(out.begin(), out.end(),
              [&](const Node* a, const Node* b) { return pos_.at(a) < pos_.at(b); });
    return out;
  }

  // Work per element to recompute `n` where it is read, counting what it inlines. Operands
  // first, from an explicit stack: the inlined history can be as deep as the graph.
  int cost(const Node* root) {
    auto known = [&](const Node* n) {
      return materialized(n) || n->info().category == OpCategory::Source || cost_memo_.count(n) > 0;
    };
    auto value = [&](const Node* n) {
      auto it = cost_memo_.find(n);
      return it == cost_memo_.end() ? 0 : it->second;
    };
    std::vector<const Node*> stack;
    if (!known(root)) stack.push_back(root);
    while (!stack.empty()) {
      const Node* n = stack.back();
      bool ready = true;
      for (const auto& op : n->read_operands())
        if (!known(op.get())) {
          stack.push_back(op.get());
          ready = false;
        }
      if (!ready) continue;
      stack.pop_back();
      if (cost_memo_.count(n)) continue;  // pushed twice before its first visit
      int c = 0;
      auto cat = n->info().category;
      if (cat == OpCategory::Reduce || cat == OpCategory::Contraction || cat == OpCategory::Scan)
        c = 1 << 20;
      else if (cat != OpCategory::Movement)
        c = ir::is_transcendental(n->op) ? kExpensive : 1;
      for (const auto& op : n->read_operands()) c = std::min(c + value(op.get()), 1 << 20);
      cost_memo_[n] = c;
    }
    return value(root);
  }

  // Whether `n` reads memory only through views and casts (cheap to read many times).
  // Whether a matmul operand is memory read through views, casts and a few cheap
  // elementwise ops (a scale, a shift): a GEMM evaluates such a prologue once per element
  // as it packs or tiles the operand, so it is fused rather than stored.
  bool is_cheap_prologue(const Node* root, int max_ops = 8) {
    int ops = 0;
    std::vector<const Node*> stack{root};
    std::unordered_set<const Node*> seen{root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (materialized(n) || n->info().category == OpCategory::Source) continue;
      auto cat = n->info().category;
      bool elementwise =
          cat == OpCategory::Unary || cat == OpCategory::Binary || cat == OpCategory::Ternary;
      if (elementwise && (ir::is_transcendental(n->op) || ++ops > max_ops)) return false;
      if (cat != OpCategory::Movement && cat != OpCategory::Cast && !elementwise) return false;
      for (const auto& op : n->read_operands())
        if (seen.insert(op.get()).second) stack.push_back(op.get());
    }
    return true;
  }

  int64_t row_bytes(const Build& b) const {
    int64_t n = 1;
    for (int64_t a : b.axes) n *= b.shape[a];
    return n * 8;
  }

  // Whether an unmaterialized reduction over `shape` / `axes` is reachable from `n` through
  // ops that keep the Kept context (elementwise ops and size-1 reshapes).
  bool reaches_row_reduction(const Node* root, const Shape& shape,
                             const std::vector<int64_t>& axes) {
    std::vector<const Node*> stack{root};
    std::unordered_set<const Node*> seen{root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (materialized(n)) continue;
      if (is_reduction(n)) {
        ReductionSpace sp = reduction_space(n);
        if (sp.shape == shape && sp.axes == axes) return true;
        continue;
      }
      bool pass = ir::is_elementwise(n->op) ||
                  (n->op == OpKind::Reshape &&
                   squeeze(n->type.shape) == squeeze(n->operands[0]->type.shape));
      if (!pass) continue;
      for (const auto& op : n->operands)
        if (seen.insert(op.get()).second) stack.push_back(op.get());
    }
    return false;
  }

  Build start(const Node* root) {
    Build b;
    b.root = root;
    auto cat = root->info().category;
    if (cat == OpCategory::Scan) {
      b.kind = GroupKind::Scan;
      b.shape = root->type.shape;
      b.axes = {root->attr_i64("axis")};
      b.axes_fixed = true;
    } else if (root->op == OpKind::ScatterAdd) {
      b.kind = GroupKind::Scatter;
      b.shape = root->type.shape;
      b.axes_fixed = true;
    } else if (is_reduction(root)) {
      ReductionSpace sp = reduction_space(root);
      b.shape = sp.shape;
      b.axes = sp.axes;
      b.axes_fixed = true;
    } else {
      b.shape = root->type.shape;
    }
    return b;
  }

  // Row axes for an elementwise root: of the reductions whose results are broadcast back
  // over the root's space, the axes that the most of them share (ties: the set holding
  // the last dimension, whose rows are contiguous). Empty when there are none.
  std::vector<int64_t> survey_row_axes(const Node* root) {
    const Shape& S = root->type.shape;
    std::map<std::vector<int64_t>, int> votes;
    std::unordered_set<const Node*> seen;
    // Each value is surveyed once, so the order of the walk does not change the votes.
    std::vector<const Node*> stack{root};
    auto walk = [&](const Node* n) { stack.push_back(n); };
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if ((n != root && materialized(n)) || !seen.insert(n).second) continue;
      if (is_reduction(n)) {
        if (n->info().category == OpCategory::Reduce && reduction_space(n).shape == S)
          walk(n->operands[0].get());
        continue;
      }
      if (n->op == OpKind::Broadcast && n->type.shape == S) {
        const Shape& in = n->operands[0]->type.shape;
        std::vector<int64_t> expanded;
        for (size_t d = 0; d < S.size(); ++d)
          if (in[d] == 1 && S[d] != 1) expanded.push_back(static_cast<int64_t>(d));
        if (!expanded.empty() && reaches_row_reduction(n->operands[0].get(), S, expanded)) {
          Build probe;
          probe.shape = S;
          probe.axes = expanded;
          if (row_bytes(probe) <= opt_.max_row_bytes) ++votes[expanded];
        }
      }
      bool same_space = ir::is_elementwise(n->op) || n->op == OpKind::Broadcast ||
                        (n->op == OpKind::Reshape &&
                         squeeze(n->type.shape) == squeeze(n->operands[0]->type.shape));
      if (!same_space) continue;
      for (const auto& op : n->operands) walk(op.get());
    }
    std::vector<int64_t> best;
    int best_votes = 0;
    const int64_t last = static_cast<int64_t>(S.size()) - 1;
    for (auto& [axes, v] : votes) {
      bool has_last = !axes.empty() && axes.back() == last;
      bool best_has_last = !best.empty() && best.back() == last;
      if (v > best_votes || (v == best_votes && has_last && !best_has_last))
        best = axes, best_votes = v;
    }
    return best;
  }

  Build build(const Node* root) {
    Build b = start(root);
    if (b.kind == GroupKind::Pointwise && !b.axes_fixed && !is_reduction(root)) {
      std::vector<int64_t> axes = survey_row_axes(root);
      if (!axes.empty()) {
        b.axes = axes;
        b.axes_fixed = true;
      }
    }
    for (int attempt = 0; attempt < 64; ++attempt) {
      Build fresh = b;
      fresh.visited.clear();
      fresh.nodes.clear();
      fresh.inputs.clear();
      fresh.input_uses.clear();
      fresh.stages.clear();
      fresh.prologues.clear();
      fresh.restart = false;
      size_t realized_before = realized_.size();
      // The root spans S, or (a reduction, or a value computed from one after re-rooting)
      // is one value per row.
      Ctx root_ctx = Ctx::Full;
      if (is_reduction(root) || (fresh.kind == GroupKind::Pointwise && !fresh.axes.empty() &&
                                 squeeze(root->type.shape) != squeeze(fresh.shape)))
        root_ctx = Ctx::Kept;
      visit(fresh, root, root_ctx);
      if (realized_.size() != realized_before) return fresh;  // the caller starts over
      if (!fresh.restart) return fresh;
      b.shape = fresh.shape;
      b.axes = fresh.axes;
      b.axes_fixed = fresh.axes_fixed;
    }
    throw CompileError("schedule: the group of " + std::string(root->info().text) +
                       " does not settle");
  }

  // One step of a group's walk: visit a value in a context, or (operand >= 0) go on with
  // the contraction `node`'s operands from `operand`.
  struct Step {
    const Node* node;
    Ctx ctx;
    int operand = -1;
  };

  // Walks the values a group computes from `root`, depth first with operands in order, as
  // a recursive walk would, but on an explicit stack (a fused history can be deep): every
  // step lists the steps it leads to in `next`, which go on the stack in reverse.
  void visit(Build& b, const Node* root, Ctx root_ctx) {
    std::vector<Step> stack{{root, root_ctx}};
    std::vector<Step> next;
    while (!stack.empty()) {
      Step step = stack.back();
      stack.pop_back();
      next.clear();
      if (step.operand >= 0)
        visit_matmul_operand(b, step.node, static_cast<size_t>(step.operand), next);
      else if (!b.restart)
        visit_one(b, step.node, step.ctx, next);
      stack.insert(stack.end(), next.rbegin(), next.rend());
    }
  }

  void visit_one(Build& b, const Node* n, Ctx ctx, std::vector<Step>& next) {
    if (n != b.root && materialized(n)) {
      b.inputs.insert(n);
      b.input_uses.emplace_back(n, ctx);
      return;
    }
    if (!b.visited.insert({n, ctx}).second) return;
    b.nodes.insert(n);
    auto cat = n->info().category;
    auto operand = [&](size_t i) { return n->operands[i].get(); };
    switch (cat) {
      case OpCategory::Source:
        // random_uniform's key operand (a 0-d value) is read by every element.
        for (const auto& op : n->operands) next.push_back({op.get(), Ctx::Other});
        return;
      case OpCategory::Unary:
      case OpCategory::Binary:
      case OpCategory::Ternary:
      case OpCategory::Cast:
        for (const auto& op : n->operands) next.push_back({op.get(), ctx});
        return;
      case OpCategory::Movement: visit_movement(b, n, ctx, next); return;
      case OpCategory::Index:
        if (n->op == OpKind::Gather) {
          if (cost(operand(0)) >= kExpensive && !materialized(operand(0))) {
            realize(
                operand(0),
                "gather reads its data at computed positions: an expensive value is stored first");
            return;
          }
          next.push_back({operand(0), Ctx::Other});
          next.push_back({operand(1), ctx});
          return;
        }
        // scatter_add: only ever a root.
        next.push_back({operand(0), Ctx::Full});
        next.push_back({operand(1), Ctx::Other});
        next.push_back({operand(2), Ctx::Other});
        return;
      case OpCategory::Scan:
        // Only ever a root (scans are materialized up front).
        next.push_back({operand(0), Ctx::Full});
        return;
      case OpCategory::Reduce:
      case OpCategory::Contraction: visit_reduction(b, n, ctx, next); return;
      case OpCategory::Custom:
        // Devices run custom kernels between fused segments (runtime/custom_kernel.h).
        throw CompileError("schedule: custom kernel nodes are run by the device, not fused");
    }
  }

  void visit_reduction_operands(const Node* n, std::vector<Step>& next) {
    if (n->info().category == OpCategory::Contraction) {
      next.push_back({n, Ctx::Other, 0});
      return;
    }
    next.push_back({n->operands[0].get(), Ctx::Full});
  }

  // Whether the product `n` uses each element of its operand i at most 16 times (a
  // matmul's B with M <= 16, or its A with N <= 16): the skinny products of an MLP step,
  // whose time is mostly packing that operand.
  static bool few_uses_per_element(const Node* n, size_t i) {
    const Shape& out = n->type.shape;
    if (n->op != OpKind::MatMul || out.size() < 2) return false;
    return out[out.size() - (i == 0 ? 1 : 2)] <= 16;
  }

  // Operand i of a matmul or conv: stored when it is more than a cheap prologue of memory
  // (and then the later operands are left alone), else visited before operand i + 1. The
  // input of a conv with several taps takes views only: its im2col would compute an
  // elementwise prologue once per tap, and the CPU GEMM packs a view of memory by copies
  // (kernels/cpu/gemm.h) where it would evaluate a computed value element by element.
  void visit_matmul_operand(Build& b, const Node* n, size_t i, std::vector<Step>& next) {
    const Node* op = n->operands[i].get();
    int64_t taps = 1;
    if (n->op == OpKind::Conv && i == 0)
      for (size_t d = 2; d < n->operands[1]->type.shape.size(); ++d)
        taps *= n->operands[1]->type.shape[d];
    if (!is_cheap_prologue(op, taps > 1 ? 0 : opt_.max_operand_prologue_ops)) {
      // The value under the operand's views is stored, and read through them: others that
      // read it (a bias gradient beside a weight gradient's transposed cotangent) read it
      // too instead of computing it again.
      realize(value_under_views(op),
              std::string(n->info().text) +
                  " reads each operand element many times: stored, not recomputed");
      return;
    }
    if (few_uses_per_element(n, i) && !is_cheap_prologue(op, 0))
      b.prologues.push_back(value_under_views(op));
    next.push_back({op, Ctx::Other});
    if (i + 1 < n->operands.size()) next.push_back({n, Ctx::Other, static_cast<int>(i + 1)});
  }

  void visit_reduction(Build& b, const Node* n, Ctx ctx, std::vector<Step>& next) {
    if (n == b.root) {
      visit_reduction_operands(n, next);
      return;
    }
    ReductionSpace sp = reduction_space(n);
    if (b.kind == GroupKind::Pointwise && ctx == Ctx::Kept && sp.shape == b.shape &&
        sp.axes == b.axes) {
      if (reductions(b) > 0 && (is_contraction(n) || has_contraction(b))) {
        realize(n, "a GEMM kernel computes one product and no other reduction");
        return;
      }
      b.stages.push_back(n);
      visit_reduction_operands(n, next);
      return;
    }
    if (b.kind == GroupKind::Pointwise && ctx == Ctx::Full && b.axes.empty() && !b.axes_fixed &&
        squeeze(n->type.shape) == squeeze(b.shape)) {
      // The group's root is elementwise over this reduction's result: make the group the
      // reduction's row kernel, with the root stored once per row.
      b.shape = sp.shape;
      b.axes = sp.axes;
      b.axes_fixed = true;
      b.restart = true;
      return;
    }
    std::string why;
    if (b.kind != GroupKind::Pointwise)
      why = "a scan or scatter kernel has no room for a reduction stage";
    else if (ctx == Ctx::Other)
      why = "reduction result read through a view or broadcast that is not its row";
    else
      why = "reduction over " + shape_axes_str(sp.shape, sp.axes) + " in a kernel over " +
            shape_axes_str(b.shape, b.axes);
    realize(n, why);
  }

  void visit_movement(Build& b, const Node* n, Ctx ctx, std::vector<Step>& next) {
    const Node* src = n->operands[0].get();
    switch (n->op) {
      case OpKind::Reshape:
        next.push_back(
            {src, squeeze(n->type.shape) == squeeze(src->type.shape) ? ctx : Ctx::Other});
        return;
      case OpKind::Permute: {
        const auto& perm = n->attr_i64s("perm");
        bool identity = true;
        for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == static_cast<int64_t>(i);
        next.push_back({src, identity ? ctx : Ctx::Other});
        return;
      }
      case OpKind::Broadcast: visit_broadcast(b, n, ctx, next); return;
      // The identity: it reads operand 0 as it is. Its other operands only order it, and a
      // value computed after them has a later position in the graph (the groups' order).
      case OpKind::OptimizationBarrier: next.push_back({src, ctx}); return;
      default:
        for (const auto& op : n->operands) next.push_back({op.get(), Ctx::Other});
        return;
    }
  }

  void visit_broadcast(Build& b, const Node* n, Ctx ctx, std::vector<Step>& next) {
    const Node* src = n->operands[0].get();
    const Shape& out = n->type.shape;
    const Shape& in = src->type.shape;
    std::vector<int64_t> expanded;
    for (size_t d = 0; d < out.size(); ++d)
      if (in[d] == 1 && out[d] != 1) expanded.push_back(static_cast<int64_t>(d));
    if (b.kind == GroupKind::Pointwise && ctx == Ctx::Full && out == b.shape && !expanded.empty()) {
      if (!b.axes.empty()) {
        if (expanded == b.axes && squeeze(in) == squeeze(without_axes(b.shape, b.axes))) {
          next.push_back({src, Ctx::Kept});
          return;
        }
      } else if (!b.axes_fixed && reaches_row_reduction(src, b.shape, expanded)) {
        Build probe;
        probe.shape = b.shape;
        probe.axes = expanded;
        if (row_bytes(probe) <= opt_.max_row_bytes) {
          b.axes = expanded;
          b.axes_fixed = true;
          b.restart = true;
          return;
        }
      }
    }
    int64_t copies =
        src->type.numel() == 0 ? 1 : n->type.numel() / std::max<int64_t>(src->type.numel(), 1);
    const Node* value = value_under_views(src);
    if (copies >= 2 && !materialized(value) && value->info().category != OpCategory::Source &&
        cost(value) >= kExpensive && cost(value) < (1 << 20)) {
      realize(value, "recomputing it for each of " + std::to_string(copies) +
                         " broadcast copies costs more than storing it");
      return;
    }
    next.push_back({src, Ctx::Other});
  }

  // Which groups read which, by group id (the index in the builds before merging): readers
  // through `input_uses`, succ through `inputs`, kept up to date as groups merge.
  struct GroupEdges {
    std::vector<bool> alive;
    std::unordered_map<const Node*, size_t> owner;  // output -> group
    std::vector<std::set<size_t>> readers, succ;
  };

  static GroupEdges group_edges(const std::vector<Build>& builds) {
    GroupEdges e;
    e.alive.assign(builds.size(), true);
    e.readers.resize(builds.size());
    e.succ.resize(builds.size());
    for (size_t k = 0; k < builds.size(); ++k)
      for (const Node* o : builds[k].outputs) e.owner[o] = k;
    for (size_t m = 0; m < builds.size(); ++m) {
      for (const Node* in : builds[m].inputs)
        if (auto it = e.owner.find(in); it != e.owner.end()) e.succ[it->second].insert(m);
      for (const auto& use : builds[m].input_uses)
        if (auto it = e.owner.find(use.first); it != e.owner.end()) e.readers[it->second].insert(m);
    }
    return e;
  }

  static constexpr size_t kNone = ~size_t{0};
  using Pair = std::pair<size_t, size_t>;

  // Merges a group into the one whose output it reads when both iterate over the same
  // space and every read is in the row-compatible context, so that the pair is one kernel.
  // One merge at a time, always the first mergeable pair in the order (producer, consumer).
  // A merge makes no pair mergeable that does not involve the merged group, so the search
  // goes on from where it stopped, plus the pairs of the groups that grew.
  std::vector<Build> merge(std::vector<Build> builds) {
    for (Build& b : builds) b.outputs = {b.root};
    GroupEdges e = group_edges(builds);
    Pair scan{0, 0};         // no pair before it is mergeable, except pairs of grown groups
    std::set<size_t> grown;  // groups that may have a mergeable pair before `scan`
    while (true) {
      Pair next = scan = first_mergeable_from(builds, e, scan);
      for (auto it = grown.begin(); it != grown.end();) {
        Pair p = e.alive[*it] ? first_mergeable_of(builds, e, *it) : Pair{kNone, kNone};
        next = std::min(next, p);
        it = p.first == kNone ? grown.erase(it) : std::next(it);
      }
      if (next.first == kNone) break;
      merge_pair(builds, e, next.first, next.second);
      grown.insert(next.second);
    }
    std::vector<Build> out;
    for (size_t k = 0; k < builds.size(); ++k)
      if (e.alive[k]) out.push_back(std::move(builds[k]));
    return out;
  }

  void merge_pair(std::vector<Build>& builds, GroupEdges& e, size_t i, size_t j) {
    Build& a = builds[i];  // producer
    Build& c = builds[j];  // consumer
    // The producers of a read c from now on.
    for (const auto& use : a.input_uses)
      if (auto it = e.owner.find(use.first); it != e.owner.end() && it->second != i) {
        e.readers[it->second].erase(i);
        if (it->second != j) e.readers[it->second].insert(j);
      }
    for (const Node* in : a.inputs)
      if (auto it = e.owner.find(in); it != e.owner.end() && it->second != i) {
        e.succ[it->second].erase(i);
        if (it->second != j) e.succ[it->second].insert(j);
      }
    for (size_t r : e.readers[i])
      if (r != j) e.readers[j].insert(r);
    for (size_t r : e.succ[i])
      if (r != j) e.succ[j].insert(r);
    for (const Node* n : a.nodes) c.nodes.insert(n);
    for (const Node* n : a.inputs) c.inputs.insert(n);
    for (auto& u : a.input_uses) c.input_uses.push_back(u);
    for (const Node* s : a.stages) c.stages.push_back(s);
    if (is_reduction(a.root)) c.stages.push_back(a.root);
    for (const Node* o : a.outputs) {
      c.inputs.erase(o);
      std::erase_if(c.input_uses, [&](auto& u) { return u.first == o; });
      c.outputs.push_back(o);
      e.owner[o] = j;
    }
    e.alive[i] = false;
    e.readers[i].clear();
    e.succ[i].clear();
  }

  // The first mergeable pair at or after `from`, or (kNone, kNone). Only groups that read a
  // producer can merge with it, so only they are tried.
  Pair first_mergeable_from(const std::vector<Build>& builds, const GroupEdges& e, Pair from) {
    for (size_t i = from.first; i < builds.size(); ++i) {
      if (!e.alive[i]) continue;
      auto it = i == from.first ? e.readers[i].lower_bound(from.second) : e.readers[i].begin();
      for (; it != e.readers[i].end(); ++it)
        if (mergeable(builds, e, i, *it)) return {i, *it};
    }
    return {kNone, kNone};
  }

  // The first mergeable pair that has group g as producer or consumer.
  Pair first_mergeable_of(const std::vector<Build>& builds, const GroupEdges& e, size_t g) {
    Pair best{kNone, kNone};
    for (const auto& use : builds[g].input_uses)
      if (auto it = e.owner.find(use.first); it != e.owner.end()) {
        Pair p{it->second, g};
        if (p < best && mergeable(builds, e, p.first, g)) best = p;
      }
    for (size_t r : e.readers[g])
      if (Pair p{g, r}; p < best && mergeable(builds, e, g, r)) best = p;
    return best;
  }

  bool mergeable(const std::vector<Build>& builds, const GroupEdges& e, size_t i, size_t j) {
    if (i == j || !e.alive[i] || !e.alive[j]) return false;
    const Build& a = builds[i];
    const Build& c = builds[j];
    if (a.kind != GroupKind::Pointwise || c.kind != GroupKind::Pointwise) return false;
    if (a.shape != c.shape || a.axes != c.axes) return false;
    // A GEMM kernel computes one product and no other reduction.
    if ((has_contraction(a) && reductions(c) > 0) || (has_contraction(c) && reductions(a) > 0))
      return false;
    for (const Node* o : a.outputs)
      if (capped_.count(o)) return false;
    if (static_cast<int64_t>(a.nodes.size() + c.nodes.size()) > opt_.limits.max_ops ||
        static_cast<int64_t>(a.inputs.size() + c.inputs.size()) > opt_.limits.max_leaves)
      return false;
    bool reads = false;
    for (auto& [n, ctx] : c.input_uses) {
      if (std::find(a.outputs.begin(), a.outputs.end(), n) == a.outputs.end()) continue;
      reads = true;
      // The consumer must read the value at the index the producer stores it at.
      bool full = a.axes.empty() || squeeze(n->type.shape) == squeeze(a.shape);
      Ctx want = full ? Ctx::Full : Ctx::Kept;
      if (ctx != want) return false;
    }
    return reads && !depends_through_other(e, i, j);
  }

  // Whether consumer j reads producer i's outputs also through some third group (then
  // merging them would make a cycle): a path from i to j through another group. The search
  // stops after kMaxSearch groups and then answers yes, which only forgoes a merge: in a
  // graph of that many groups every group's descendants would be searched for every pair.
  static constexpr size_t kMaxSearch = 4096;
  static bool depends_through_other(const GroupEdges& e, size_t i, size_t j) {
    std::vector<bool> seen(e.succ.size(), false);
    std::vector<size_t> stack{i};
    size_t searched = 0;
    while (!stack.empty()) {
      size_t k = stack.back();
      stack.pop_back();
      if (++searched > kMaxSearch) return true;
      for (size_t m : e.succ[k]) {
        if (m == k || seen[m]) continue;
        if (m == j) {
          if (k != i) return true;
          continue;  // the direct edge
        }
        seen[m] = true;
        stack.push_back(m);
      }
    }
    return false;
  }

  Schedule finish(std::vector<Build> builds) {
    Schedule s;
    std::map<const Node*, size_t> owner;
    std::vector<FusionGroup> groups;
    for (size_t k = 0; k < builds.size(); ++k) {
      const Build& b = builds[k];
      FusionGroup g;
      g.kind = b.kind;
      g.shape = b.shape;
      g.axes = b.axes;
      g.outputs = b.outputs;
      g.nodes.assign(b.nodes.begin(), b.nodes.end());
      g.inputs.assign(b.inputs.begin(), b.inputs.end());
      auto by_pos = [&](const Node* x, const Node* y) { return pos_.at(x) < pos_.at(y); };
      std::sort(g.outputs.begin(), g.outputs.end(), by_pos);
      std::sort(g.nodes.begin(), g.nodes.end(), by_pos);
      std::sort(g.inputs.begin(), g.inputs.end(), by_pos);
      for (const Node* o : g.outputs) owner[o] = k;
      groups.push_back(std::move(g));
    }
    // Dependency order: a group after every group whose output it reads (ties by the
    // position of the first output, so the order is deterministic).
    std::vector<int> indeg(groups.size(), 0);
    std::vector<std::vector<size_t>> succ(groups.size());
    for (size_t k = 0; k < groups.size(); ++k)
      for (const Node* in : groups[k].inputs) {
        auto it = owner.find(in);
        if (it != owner.end() && it->second != k) {
          succ[it->second].push_back(k);
          ++indeg[k];
        }
      }
    std::set<std::pair<int, size_t>> ready;
    for (size_t k = 0; k < groups.size(); ++k)
      if (!indeg[k]) ready.insert({pos_.at(groups[k].outputs.front()), k});
    while (!ready.empty()) {
      size_t k = ready.begin()->second;
      ready.erase(ready.begin());
      for (size_t m : succ[k])
        if (--indeg[m] == 0) ready.insert({pos_.at(groups[m].outputs.front()), m});
      s.groups.push_back(std::move(groups[k]));
    }
    if (s.groups.size() != builds.size())
      throw CompileError("schedule: the fusion groups form a cycle");
    for (const FusionGroup& g : s.groups)
      for (const Node* o : g.outputs) s.boundaries.push_back({o, realized_.at(o)});
    return s;
  }
};

}  // namespace

Schedule schedule(const ir::Graph& graph, const ScheduleOptions& options) {
  return Scheduler(graph, options).run();
}

std::string print_schedule(const ir::Graph& graph, const Schedule& schedule) {
  std::unordered_map<const Node*, int> pos;
  int i = 0;
  for (const auto& p : graph.params) pos[p.get()] = i++;
  for (const auto& n : graph.nodes) pos[n.get()] = i++;
  auto name = [&](const Node* n) {
    auto it = pos.find(n);
    return std::string(n->info().text) + "#" + (it == pos.end() ? "?" : std::to_string(it->second));
  };
  std::string out;
  for (size_t k = 0; k < schedule.groups.size(); ++k) {
    const FusionGroup& g = schedule.groups[k];
    const char* kind = g.kind == GroupKind::Pointwise ? "pointwise"
                       : g.kind == GroupKind::Scan    ? "scan"
                                                      : "scatter";
    out += "group " + std::to_string(k) + " " + kind + " " + shape_axes_str(g.shape, g.axes) +
           " nodes=" + std::to_string(g.nodes.size()) + " outputs:";
    for (const Node* o : g.outputs) out += " " + name(o);
    out += "\n";
  }
  for (const Boundary& b : schedule.boundaries)
    out += "boundary " + name(b.node) + ": " + b.reason + "\n";
  return out;
}

}  // namespace kiln::passes
