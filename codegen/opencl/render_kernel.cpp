// render_kernel: KernelIR -> OpenCL C entry points in the map, row or split shape that
// the work-group passes chose (see render_kernel.h).
#include "codegen/opencl/render_kernel.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <unordered_set>

#include "codegen/choose_pairwise_sums.h"
#include "codegen/kernel_passes.h"
#include "codegen/opencl/expr_renderer.h"
#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"
#include "kernels/opencl/fft.h"
#include "kernels/opencl/gemm.h"

namespace kiln::codegen::opencl {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

std::string index_type(int64_t extent) { return extent <= kIntMax ? "int" : "long"; }
std::string num(int64_t v) { return int_literal(DType::I64, v); }
int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// A stage's expressions with loop variables replaced: one lane of one step.
struct LaneStage {
  ExprPtr value, position;
  std::vector<Store> stores;
};

LaneStage substitute_stage(const Stage& st, const std::vector<ExprPtr>& subst) {
  LaneStage l;
  if (st.value) l.value = substitute(st.value, subst);
  if (st.position) l.position = substitute(st.position, subst);
  for (const Store& s : st.stores)
    l.stores.push_back({s.buffer, substitute(s.index, subst), substitute(s.value, subst),
                        s.guard ? substitute(s.guard, subst) : nullptr});
  return l;
}

void for_each_root(const LaneStage& l, const std::function<void(const ExprPtr&)>& f) {
  if (l.value) f(l.value);
  if (l.position) f(l.position);
  for (const Store& s : l.stores) {
    f(s.index);
    f(s.value);
    if (s.guard) f(s.guard);
  }
}

// Loads reachable from `root`, each node once.
void collect_loads(const ExprPtr& root, std::unordered_set<const Expr*>& seen,
                   std::vector<ExprPtr>& out) {
  std::vector<ExprPtr> stack{root};
  while (!stack.empty()) {
    ExprPtr e = stack.back();
    stack.pop_back();
    if (!seen.insert(e.get()).second) continue;
    if (e->kind == ExprKind::Load) out.push_back(e);
    for (const ExprPtr& a : e->args) stack.push_back(a);
  }
}

bool is_arg(const Stage& st) { return st.op == ReduceOp::ArgMax || st.op == ReduceOp::ArgMin; }

// Local-memory and scratch element type of an accumulator (bool is not allowed there).
std::string memory_type(DType t) { return t == DType::Bool ? "uchar" : compute_type(t); }
int64_t memory_size(DType t) {
  if (t == DType::F16 || t == DType::BF16) return 4;  // held as float
  return static_cast<int64_t>(dtype_size(t));
}
std::string memory_read(DType t, const std::string& lvalue) {
  return t == DType::Bool ? "(" + lvalue + " != 0)" : lvalue;
}
std::string memory_write(DType t, const std::string& value) {
  return t == DType::Bool ? "(uchar)" + value : value;
}

class KernelRenderer {
 public:
  KernelRenderer(const Kernel& k, const OpenCLTarget& t, std::string name)
      : k_(k), t_(t), next_var_(k.num_vars) {
    out_.name = std::move(name);
  }

  RenderedKernel render() {
    out_.shape = k_.groups.shape;
    out_.vector_width = k_.groups.lanes;
    out_.reordered = k_.groups.fast_outer >= 0;
    out_.tiled = k_.groups.tiled;
    switch (out_.shape) {
      case GroupShape::Map: k_.groups.tiled ? render_map_tiled() : render_map(); break;
      case GroupShape::Row: render_row(); break;
      case GroupShape::Split: render_split(); break;
      case GroupShape::Gemm:  // kernels/opencl/gemm.h renders these (render_kernel)
        throw CompileError("opencl renderer: a GEMM mapping outside render_gemm");
      case GroupShape::Fft:  // kernels/opencl/fft.h renders these (render_kernel)
        throw CompileError("opencl renderer: an FFT mapping outside render_fft");
    }
    if (needs_.fp64 && !t_.fp64)
      throw UnsupportedError("opencl backend: kernel " + out_.name +
                             " computes in f64, but OpenCL device '" + t_.device_name +
                             "' lacks the extension cl_khr_fp64; compute in f32 (cast) or run "
                             "on a device with cl_khr_fp64");
    out_.body = "// kiln kernel " + out_.name + " (" + std::string(group_shape_name(out_.shape)) +
                ")\n" + body_;
    out_.needs = needs_;
    out_.source = combine_sources({&out_});
    return std::move(out_);
  }

 private:
  // ---- common pieces ----

  ExprPtr new_var(int64_t extent) { return var(next_var_++, std::max<int64_t>(extent, 1)); }

  std::string signature(const std::string& entry, int64_t reqd_wg) const {
    return entry_signature(k_, entry, reqd_wg, out_.scratch_bytes > 0);
  }

  void declare_scalars(CodeWriter& w, ExprRenderer& r) {
    for (size_t i = 0; i < k_.scalars.size(); ++i) {
      r.need(k_.scalars[i]);
      w.line(scalar_declaration(k_.scalars[i], static_cast<int>(i)));
    }
  }

  // The substitution that puts outer variables at `flat` (a linear outer index).
  std::vector<ExprPtr> outer_subst(const ExprPtr& flat) const {
    std::vector<ExprPtr> subst(static_cast<size_t>(k_.num_vars));
    std::vector<int64_t> extents;
    for (const Loop& l : k_.outer) extents.push_back(l.extent);
    std::vector<ExprPtr> parts = delinearize(flat, extents);
    for (size_t i = 0; i < k_.outer.size(); ++i) subst[k_.outer[i].var] = parts[i];
    return subst;
  }

  // The outer iteration of lane `j` of map work-item `g`. Work-items walk the last outer
  // loop `lanes` elements at a time, or (groups.fast_outer) loop fast_outer one element at
  // a time, then the others in order, each taking whole vectors of the last loop.
  std::vector<ExprPtr> map_subst(const ExprPtr& g, int lanes, int j) const {
    const int fast = k_.groups.fast_outer;
    if (fast < 0) return outer_subst(iadd(imul(g, lanes), j));
    // g row-major over (the other loops in order, the fast loop): the fast one varies first.
    const size_t last = k_.outer.size() - 1;
    std::vector<size_t> order;
    for (size_t i = 0; i < k_.outer.size(); ++i)
      if (static_cast<int>(i) != fast) order.push_back(i);
    order.push_back(static_cast<size_t>(fast));
    std::vector<int64_t> extents;
    for (size_t i : order) extents.push_back(k_.outer[i].extent / (i == last ? lanes : 1));
    std::vector<ExprPtr> parts = delinearize(g, extents);
    std::vector<ExprPtr> subst(static_cast<size_t>(k_.num_vars));
    for (size_t p = 0; p < order.size(); ++p)
      subst[k_.outer[order[p]].var] = order[p] == last ? iadd(imul(parts[p], lanes), j) : parts[p];
    return subst;
  }

  // Lanes of a distributed stage at vector index `u`: element u * lanes + j of the
  // stage's flattened loop space, on top of `base` (the outer substitution).
  std::vector<LaneStage> stage_lanes(const Stage& st, const std::vector<ExprPtr>& base,
                                     const ExprPtr& u, int lanes) const {
    std::vector<int64_t> extents;
    for (const Loop& l : st.loops) extents.push_back(l.extent);
    std::vector<LaneStage> out;
    for (int j = 0; j < lanes; ++j) {
      std::vector<ExprPtr> subst = base;
      std::vector<ExprPtr> parts = delinearize(iadd(imul(u, lanes), j), extents);
      for (size_t i = 0; i < st.loops.size(); ++i) subst[st.loops[i].var] = parts[i];
      out.push_back(substitute_stage(st, subst));
    }
    return out;
  }

  // Renders loads that the lanes make at consecutive elements as one vector load each, for
  // the buffers whose loads the kernel allows as vectors (GroupMapping::vector_loads) and
  // whose dtype OpenCL C can load as a vector.
  void bind_vector_loads(ExprRenderer& r, const std::vector<std::vector<const LaneStage*>>& lanes) {
    const int width = static_cast<int>(lanes.size());
    if (width <= 1) return;
    std::vector<std::vector<ExprPtr>> loads(lanes.size());
    std::vector<std::unordered_map<uint64_t, std::vector<ExprPtr>>> sets(lanes.size());
    for (size_t j = 0; j < lanes.size(); ++j) {
      std::unordered_set<const Expr*> seen;
      for (const LaneStage* l : lanes[j])
        for_each_root(*l, [&](const ExprPtr& e) { collect_loads(e, seen, loads[j]); });
      for (const ExprPtr& e : loads[j]) sets[j][e->hash].push_back(e);
    }
    auto has = [&](size_t j, const ExprPtr& e) {
      auto it = sets[j].find(e->hash);
      if (it == sets[j].end()) return false;
      for (const ExprPtr& x : it->second)
        if (expr_equal(x, e)) return true;
      return false;
    };
    std::map<std::string, std::string> aligned;  // aligned vectors loaded for windows
    for (const ExprPtr& l0 : loads[0]) {
      const DType dt = k_.buffers[l0->slot].dtype;
      if (r.is_bound(l0) || !k_.groups.vector_loads[l0->slot] || !vector_storage(dt)) continue;
      std::vector<ExprPtr> lane_loads{l0};
      for (int j = 1; j < width && lane_loads.size() == static_cast<size_t>(j); ++j) {
        ExprPtr lj = load(l0->dtype, l0->slot, iadd(l0->args[0], j));
        if (has(static_cast<size_t>(j), lj)) lane_loads.push_back(lj);
      }
      if (static_cast<int>(lane_loads.size()) != width) continue;
      const ExprPtr rem = imod(l0->args[0], width);
      const std::string buf = ExprRenderer::buffer(l0->slot);
      if (rem->is_int_const(0) && dt != DType::F16) {
        const std::string vec = aligned_vector(r, aligned, dt, width, buf, l0->args[0]);
        for (int j = 0; j < width; ++j) r.bind(lane_loads[j], vector_lane(dt, vec, j));
        continue;
      }
      if (rem->kind == ExprKind::Const && dt != DType::F16 &&
          k_.buffers[l0->slot].numel % width == 0) {
        // A window that starts rem->ival past a vector boundary (a stencil's shifted taps):
        // lanes of the two aligned vectors around it, which every window of the same
        // vectors shares. The buffer holds whole vectors, so the second stays inside it.
        const ExprPtr base = iadd(l0->args[0], -rem->ival);
        const std::string lo = aligned_vector(r, aligned, dt, width, buf, base);
        const std::string hi = aligned_vector(r, aligned, dt, width, buf, iadd(base, width));
        for (int j = 0; j < width; ++j) {
          const int64_t e = rem->ival + j;
          r.bind(lane_loads[j], vector_lane(dt, e < width ? lo : hi, static_cast<int>(e % width)));
        }
        continue;
      }
      std::string index = r.value(l0->args[0]);
      std::string vec =
          r.temp(vector_type(dt, width), vector_load(dt, width, buf, index, rem->is_int_const(0)));
      for (int j = 0; j < width; ++j) r.bind(lane_loads[j], vector_lane(dt, vec, j));
    }
  }

  // The temporary holding the aligned vector of `buf` at element `index` (a multiple of
  // `width`), loaded once: `loaded` maps each such vector to its temporary.
  static std::string aligned_vector(ExprRenderer& r, std::map<std::string, std::string>& loaded,
                                    DType dt, int width, const std::string& buf,
                                    const ExprPtr& index) {
    const std::string at = r.value(index);
    auto [it, fresh] = loaded.emplace(buf + "[" + at + "]", "");
    if (fresh) it->second = r.temp(vector_type(dt, width), vector_load(dt, width, buf, at, true));
    return it->second;
  }

  // The stores of one stage for every lane; stores at consecutive elements become one
  // vector store. `valid` (may be empty) guards them all.
  void emit_stores(CodeWriter& w, ExprRenderer& r, const std::vector<LaneStage>& lanes,
                   const std::string& valid) {
    if (lanes.empty()) return;
    const int width = static_cast<int>(lanes.size());
    const std::string pre = valid.empty() ? "" : "if (" + valid + ") ";
    for (size_t q = 0; q < lanes[0].stores.size(); ++q) {
      const Store& s0 = lanes[0].stores[q];
      const DType bt = k_.buffers[s0.buffer].dtype;
      const std::string buf = ExprRenderer::buffer(s0.buffer);
      bool vec = width > 1 && vector_storage(bt);
      for (int j = 0; j < width && vec; ++j) {
        const Store& sj = lanes[j].stores[q];
        vec = !sj.guard && expr_equal(sj.index, iadd(s0.index, j));
      }
      if (vec) {
        std::string index = r.value(s0.index);
        std::vector<std::string> values;
        for (int j = 0; j < width; ++j) {
          const Store& sj = lanes[j].stores[q];
          values.push_back(cast_op(sj.value->dtype, bt, r.value(sj.value)));
        }
        const bool aligned = t_.cast_vector_stores && imod(s0.index, width)->is_int_const(0);
        w.line(pre + vector_store(bt, width, buf, index, values, aligned) + ";");
        continue;
      }
      for (int j = 0; j < width; ++j) {
        const Store& sj = lanes[j].stores[q];
        std::string index = r.value(sj.index);
        std::string value = cast_op(sj.value->dtype, bt, r.value(sj.value));
        std::string cond = valid;
        if (sj.guard) cond = (cond.empty() ? "" : cond + " && ") + r.value(sj.guard);
        std::string line = store_element(bt, buf, index, value) + ";";
        w.line(cond.empty() ? line : "if (" + cond + ") " + line);
      }
    }
  }

  // acc (and pos for arg reductions) folded with every lane's value.
  void accumulate(CodeWriter& w, ExprRenderer& r, const Stage& st,
                  const std::vector<LaneStage>& lanes, const std::string& acc,
                  const std::string& pos, const std::string& valid) {
    for (const LaneStage& l : lanes) {
      std::string v = r.value(l.value);
      if (is_arg(st)) {
        std::string p = r.value(l.position);
        std::string take = arg_takes(st.op, st.acc_dtype, v, p, acc, pos);
        w.line("if (" + (valid.empty() ? "" : valid + " && ") + take + ") { " + acc + " = " + v +
               "; " + pos + " = " + p + "; }");
      } else {
        std::string line = acc + " = " + reduce_combine(st.op, st.acc_dtype, acc, v) + ";";
        w.line(valid.empty() ? line : "if (" + valid + ") " + line);
      }
    }
  }

  // Declares a stage's accumulator (and position) at their identity.
  std::pair<std::string, std::string> declare_acc(CodeWriter& w, ExprRenderer& r, const Stage& st) {
    r.need(st.acc_dtype);
    std::string acc = r.fresh("acc"), pos;
    w.line(compute_type(st.acc_dtype) + " " + acc + " = " + reduce_identity(st.op, st.acc_dtype) +
           ";");
    if (is_arg(st)) {
      pos = r.fresh("pos");
      w.line("long " + pos + " = 0;");
    }
    return {acc, pos};
  }

  // Pairwise accumulation of one work-item's accumulator (Stage::pairwise_block): `acc`
  // takes a block of additions, then joins a binary-counter cascade of block sums:
  // levels[j] holds the sum of 2^j blocks while bit j of the block count is set, and a
  // pushed block first adds the levels of the count's low set bits, as the tree of a
  // pairwise sum would. Off (every call a no-op) for other reductions and short ones.
  struct Pairwise {
    std::string levels, count, steps;
    int depth = 0;
    int64_t block_steps = 0;  // steps (of `adds` additions each) per block; 0: off
  };

  // `additions`: the most values one work-item adds into `acc`, `adds` per step.
  Pairwise begin_pairwise(CodeWriter& w, ExprRenderer& r, const Stage& st, int64_t additions,
                          int64_t adds) {
    Pairwise p;
    if (st.pairwise_block <= 0 || is_arg(st) || additions <= st.pairwise_block) return p;
    p.block_steps = std::max<int64_t>(1, st.pairwise_block / adds);
    p.depth = pairwise_levels(additions, p.block_steps * adds);
    p.levels = r.fresh("pwl");
    p.count = r.fresh("pwn");
    p.steps = r.fresh("pws");
    w.line(compute_type(st.acc_dtype) + " " + p.levels + "[" + std::to_string(p.depth) + "];");
    w.line("ulong " + p.count + " = 0;");
    w.line("int " + p.steps + " = 0;");
    return p;
  }

  // After a step's additions into `acc`: a full block joins the cascade.
  void pairwise_step(CodeWriter& w, const Stage& st, const Pairwise& p, const std::string& acc) {
    if (p.block_steps == 0) return;
    const std::string T = compute_type(st.acc_dtype);
    w.open("if (++" + p.steps + " == " + std::to_string(p.block_steps) + ")");
    w.line(p.steps + " = 0;");
    w.line(T + " c = " + acc + ";");
    w.line(acc + " = " + reduce_identity(st.op, st.acc_dtype) + ";");
    w.line("int j = 0;");
    w.line("for (ulong m = " + p.count + "++; m & 1; m >>= 1) c = " +
           reduce_combine(st.op, st.acc_dtype, p.levels + "[j++]", "c") + ";");
    w.line(p.levels + "[j] = c;");
    w.close();
  }

  // The open block plus every level the count holds, lowest first, into `acc`.
  void end_pairwise(CodeWriter& w, const Stage& st, const Pairwise& p, const std::string& acc) {
    if (p.block_steps == 0) return;
    w.line("for (int j = 0; j < " + std::to_string(p.depth) + "; ++j) if ((" + p.count +
           " >> j) & 1) " + acc + " = " +
           reduce_combine(st.op, st.acc_dtype, acc, p.levels + "[j]") + ";");
  }

  // A stage run start to finish by one work-item, its loops as C loops.
  void render_sequential(CodeWriter& w, ExprRenderer& r, size_t s,
                         const std::vector<ExprPtr>& subst) {
    const Stage& st = k_.stages[s];
    LaneStage l = substitute_stage(st, subst);
    std::string acc, pos;
    if (st.kind != StageKind::Loop) std::tie(acc, pos) = declare_acc(w, r, st);
    if (st.kind == StageKind::Scan) r.bind_stage(static_cast<int>(s), acc);
    Pairwise pw;
    if (st.kind == StageKind::Reduce) pw = begin_pairwise(w, r, st, loop_product(st.loops), 1);
    for (const Loop& loop : st.loops) {
      std::string v = ExprRenderer::var_name(loop.var), T = index_type(loop.extent);
      std::string begin = loop.begin ? r.value(substitute(loop.begin, subst)) : "0";
      std::string end = loop.end ? r.value(substitute(loop.end, subst)) : num(loop.extent);
      w.open("for (" + T + " " + v + " = " + begin + "; " + v + " < " + end + "; ++" + v + ")");
      r.push_scope();
    }
    if (st.kind == StageKind::Loop) {
      emit_stores(w, r, {l}, "");
    } else {
      accumulate(w, r, st, {l}, acc, pos, "");
      pairwise_step(w, st, pw, acc);
      if (st.kind == StageKind::Scan) emit_stores(w, r, {l}, "");
    }
    for (size_t i = 0; i < st.loops.size(); ++i) {
      r.pop_scope();
      w.close();
    }
    end_pairwise(w, st, pw, acc);
    if (st.kind == StageKind::Reduce) r.bind_stage(static_cast<int>(s), is_arg(st) ? pos : acc);
  }

  // Combines each work-item's acc (and pos) across the work-group in local memory; returns
  // the names of the group's result (value, and position for arg reductions), which every
  // work-item holds afterwards.
  struct TreeResult {
    std::string value, pos;
    const std::string& stage_value(const Stage& st) const { return is_arg(st) ? pos : value; }
  };
  TreeResult tree(CodeWriter& w, ExprRenderer& r, const Stage& st, int64_t wg,
                  const std::string& acc, const std::string& pos, const std::string& lid) {
    const DType t = st.acc_dtype;
    const std::string T = compute_type(t), red = r.fresh("red"), redp = red + "p";
    // Local arrays are declared at the top of the kernel (the only place OpenCL C allows).
    locals_.push_back("__local " + memory_type(t) + " " + red + "[" + std::to_string(wg) + "];");
    if (is_arg(st)) locals_.push_back("__local long " + redp + "[" + std::to_string(wg) + "];");
    w.line(red + "[" + lid + "] = " + memory_write(t, acc) + ";");
    if (is_arg(st)) w.line(redp + "[" + lid + "] = " + pos + ";");
    w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    w.open("for (int off = " + std::to_string(wg / 2) + "; off > 0; off >>= 1)");
    w.open("if (" + lid + " < off)");
    w.line("const " + T + " x = " + memory_read(t, red + "[" + lid + "]") + ";");
    w.line("const " + T + " y = " + memory_read(t, red + "[" + lid + " + off]") + ";");
    if (is_arg(st)) {
      w.line("const long px = " + redp + "[" + lid + "], py = " + redp + "[" + lid + " + off];");
      w.line("if (" + arg_takes(st.op, t, "y", "py", "x", "px") + ") { " + red + "[" + lid +
             "] = " + memory_write(t, "y") + "; " + redp + "[" + lid + "] = py; }");
    } else {
      w.line(red + "[" + lid + "] = " + memory_write(t, reduce_combine(st.op, t, "x", "y")) + ";");
    }
    w.close();
    w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    w.close();
    TreeResult result{r.fresh("sv"), ""};
    w.line("const " + T + " " + result.value + " = " + memory_read(t, red + "[0]") + ";");
    if (is_arg(st)) {
      result.pos = result.value + "p";
      w.line("const long " + result.pos + " = " + redp + "[0];");
    }
    return result;
  }

  // Starts an entry point: its signature (local arrays are spliced in when it ends).
  void begin_entry(CodeWriter& w, const std::string& entry, int64_t reqd_wg) {
    w.open(signature(entry, reqd_wg));
    locals_.clear();
  }
  void end_entry(CodeWriter& w, ExprRenderer& r) {
    w.close();
    needs_.fp64 = needs_.fp64 || r.needs().fp64;
    needs_.complex = needs_.complex || r.needs().complex;
    // Insert the local arrays right after the opening line.
    std::string text = w.text();
    size_t brace = text.find("{\n");
    std::string locals;
    for (const std::string& l : locals_) locals += "  " + l + "\n";
    body_ += text.substr(0, brace + 2) + locals + text.substr(brace + 2) + "\n";
  }

  // ---- map: one work-item per outer iteration (or per `lanes` of them) ----

  void render_map() {
    const int64_t outer = k_.outer_count();
    const int lanes = k_.groups.lanes;
    const int64_t items = outer / lanes;
    const int64_t wg = k_.groups.group_size;
    CodeWriter w;
    ExprRenderer r(k_, w);
    begin_entry(w, out_.name, 0);
    ExprPtr g = new_var(items);
    const std::string G = ExprRenderer::var_name(g->slot);
    w.line("const " + index_type(items) + " " + G + " = get_global_id(0);");
    w.line("if (" + G + " >= " + num(items) + ") return;");
    declare_scalars(w, r);
    if (lanes > 1) {
      std::vector<std::vector<LaneStage>> per_stage(k_.stages.size());
      for (int j = 0; j < lanes; ++j) {
        std::vector<ExprPtr> subst = map_subst(g, lanes, j);
        for (size_t s = 0; s < k_.stages.size(); ++s)
          per_stage[s].push_back(substitute_stage(k_.stages[s], subst));
      }
      std::vector<std::vector<const LaneStage*>> by_lane(static_cast<size_t>(lanes));
      for (auto& stage_lanes : per_stage)
        for (int j = 0; j < lanes; ++j) by_lane[j].push_back(&stage_lanes[j]);
      bind_vector_loads(r, by_lane);
      for (auto& stage_lanes : per_stage) emit_stores(w, r, stage_lanes, "");
    } else {
      std::vector<ExprPtr> subst = map_subst(g, 1, 0);
      for (size_t s = 0; s < k_.stages.size(); ++s) render_sequential(w, r, s, subst);
    }
    end_entry(w, r);
    if (items > 0) out_.launches.push_back({out_.name, round_up(items, wg), wg});
  }

  // ---- tiled map: a transpose through local memory (GroupMapping::tiled) ----

  // The substitution that puts loop fast_outer at `fast`, the last loop at lane `j` of
  // vector `vec`, and the other outer loops, in order, at `others`.
  std::vector<ExprPtr> tile_subst(const std::vector<ExprPtr>& others, const ExprPtr& fast,
                                  const ExprPtr& vec, int lanes, int j) const {
    std::vector<ExprPtr> subst(static_cast<size_t>(k_.num_vars));
    const size_t last = k_.outer.size() - 1, f = static_cast<size_t>(k_.groups.fast_outer);
    size_t o = 0;
    for (size_t i = 0; i < k_.outer.size(); ++i)
      subst[k_.outer[i].var] = i == f ? fast : i == last ? iadd(imul(vec, lanes), j) : others[o++];
    return subst;
  }

  // Opens the block of the tile element at (`fast`, `vec`), guarded where the tiles
  // overhang the loops (`f_end` along fast_outer, `v_end` vectors along the last loop).
  void open_tile_block(CodeWriter& w, ExprRenderer& r, const ExprPtr& fast, int64_t f_end,
                       const ExprPtr& vec, int64_t v_end) {
    std::vector<std::string> conds;
    if (f_end % kMapTile != 0) conds.push_back(r.value(fast) + " < " + num(f_end));
    if (v_end % (kMapTile / k_.groups.lanes) != 0)
      conds.push_back(r.value(vec) + " < " + num(v_end));
    std::string head;
    for (const std::string& c : conds) head += (head.empty() ? "if (" : " && ") + c;
    w.open(head.empty() ? head : head + ")");
    r.push_scope();
  }

  // A work-group per tile of kMapTile x kMapTile elements of (fast_outer, the last loop).
  // First each work-item computes vectors of the last loop with consecutive work-items at
  // consecutive fast_outer (the loads coalesce) and puts them in local memory; then each
  // stores vectors read back from it with consecutive work-items at consecutive vectors of
  // the last loop (the stores coalesce). Rows padded by one element keep both phases' local
  // accesses in distinct banks.
  void render_map_tiled() {
    const int lanes = k_.groups.lanes;
    const size_t f = static_cast<size_t>(k_.groups.fast_outer), last = k_.outer.size() - 1;
    const int64_t f_end = k_.outer[f].extent, v_end = k_.outer[last].extent / lanes;
    const int64_t per_row = kMapTile / lanes;  // vectors of a tile row along the last loop
    const int64_t pitch = kMapTile + 1;
    std::vector<int64_t> extents;  // the other loops, then tiles along fast_outer and last
    for (size_t i = 0; i < last; ++i)
      if (i != f) extents.push_back(k_.outer[i].extent);
    extents.push_back((f_end + kMapTile - 1) / kMapTile);
    extents.push_back((v_end + per_row - 1) / per_row);
    int64_t groups = 1;
    for (int64_t e : extents) groups *= e;
    CodeWriter w;
    ExprRenderer r(k_, w);
    begin_entry(w, out_.name, kMapTileGroup);
    ExprPtr grp = new_var(groups), lid = new_var(kMapTileGroup);
    w.line("const " + index_type(groups) + " " + ExprRenderer::var_name(grp->slot) +
           " = get_group_id(0);");
    w.line("const int " + ExprRenderer::var_name(lid->slot) + " = get_local_id(0);");
    declare_scalars(w, r);
    std::vector<ExprPtr> others = delinearize(grp, extents);
    const ExprPtr tf = imul(others[others.size() - 2], kMapTile);
    const ExprPtr tv = imul(others.back(), per_row);
    others.resize(others.size() - 2);
    const Stage& st = k_.stages[0];
    locals_.push_back("__local " + compute_type(st.stores[0].value->dtype) + " tile[" +
                      num(kMapTile * pitch) + "];");
    auto tile_at = [&](const ExprPtr& row, int j, const ExprPtr& col) {
      return "tile[" + r.value(iadd(imul(iadd(imul(row, lanes), j), pitch), col)) + "]";
    };
    // Runs `body` on the lanes of every vector of the tile, a work-group's worth at a time:
    // consecutive work-items at consecutive columns (fast_outer) when `walk_columns`, else
    // at consecutive vectors of a row (the last loop).
    using TileBody =
        std::function<void(const std::vector<LaneStage>&, const ExprPtr& row, const ExprPtr& col)>;
    auto each_vector = [&](bool walk_columns, const TileBody& body) {
      const int64_t side = walk_columns ? kMapTile : per_row, step = kMapTileGroup / side;
      const int64_t passes = (walk_columns ? per_row : kMapTile) / step;
      for (int64_t p = 0; p < passes; ++p) {
        const ExprPtr across = imod(lid, side), along = iadd(idiv(lid, side), p * step);
        const ExprPtr& col = walk_columns ? across : along;
        const ExprPtr& row = walk_columns ? along : across;
        const ExprPtr fast = iadd(tf, col), vec = iadd(tv, row);
        open_tile_block(w, r, fast, f_end, vec, v_end);
        std::vector<LaneStage> lanes_at;
        for (int j = 0; j < lanes; ++j)
          lanes_at.push_back(substitute_stage(st, tile_subst(others, fast, vec, lanes, j)));
        body(lanes_at, row, col);
        r.pop_scope();
        w.close();
      }
    };
    // Values in, computed with work-items along fast_outer (where the loads run).
    each_vector(true,
                [&](const std::vector<LaneStage>& in, const ExprPtr& row, const ExprPtr& col) {
                  std::vector<std::vector<const LaneStage*>> by_lane;
                  for (const LaneStage& l : in) by_lane.push_back({&l});
                  bind_vector_loads(r, by_lane);
                  for (int j = 0; j < lanes; ++j) {
                    const std::string value = r.value(in[j].stores[0].value);
                    w.line(tile_at(row, j, col) + " = " + value + ";");
                  }
                });
    w.line("barrier(CLK_LOCAL_MEM_FENCE);");
    // Values out, stored with work-items along the last loop (where the store runs).
    each_vector(false,
                [&](const std::vector<LaneStage>& out, const ExprPtr& row, const ExprPtr& col) {
                  for (int j = 0; j < lanes; ++j)
                    r.bind(out[j].stores[0].value, tile_at(row, j, col));
                  emit_stores(w, r, out, "");
                });
    end_entry(w, r);
    out_.launches.push_back({out_.name, groups * kMapTileGroup, kMapTileGroup});
  }

  // ---- row: one work-group per outer iteration ----

  // Runs `body` over distributed stage `s`'s loop space split across the work-group:
  // unrolled when the stage is held in registers, else as a loop.
  void row_steps(
      CodeWriter& w, ExprRenderer& r, size_t s, const std::vector<ExprPtr>& base,
      const ExprPtr& lid, int64_t wg, int lanes,
      const std::function<void(const std::vector<LaneStage>&, const std::string&)>& body) {
    const Stage& st = k_.stages[s];
    const int64_t vectors = loop_product(st.loops) / lanes;
    if (vectors == 0) return;
    if (k_.groups.in_registers[s]) {
      out_.unrolled = true;
      const int64_t full = vectors / wg;
      for (int64_t k = 0; k < full; ++k) body(stage_lanes(st, base, iadd(lid, k * wg), lanes), "");
      if (vectors % wg != 0) {
        ExprPtr raw = iadd(lid, full * wg);
        std::string valid = r.value(ilt(raw, index_const(vectors)));
        body(stage_lanes(st, base, imin(raw, index_const(vectors - 1)), lanes), valid);
      }
      return;
    }
    ExprPtr u = new_var(vectors);
    const std::string U = ExprRenderer::var_name(u->slot), L = ExprRenderer::var_name(lid->slot);
    w.open("for (" + index_type(vectors) + " " + U + " = " + L + "; " + U + " < " + num(vectors) +
           "; " + U + " += " + num(wg) + ")");
    r.push_scope();
    body(stage_lanes(st, base, u, lanes), "");
    r.pop_scope();
    w.close();
  }

  void render_row() {
    const int64_t outer = k_.outer_count();
    const int lanes = k_.groups.lanes;
    const int64_t wg = k_.groups.group_size;
    CodeWriter w;
    ExprRenderer r(k_, w);
    begin_entry(w, out_.name, wg);
    ExprPtr lid = new_var(wg), grp = new_var(outer);
    const std::string L = ExprRenderer::var_name(lid->slot), O = ExprRenderer::var_name(grp->slot);
    w.line("const int " + L + " = get_local_id(0);");
    w.line("const " + index_type(outer) + " " + O + " = get_group_id(0);");
    declare_scalars(w, r);
    std::vector<ExprPtr> base = outer_subst(grp);
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      const Stage& st = k_.stages[s];
      if (distributable(st) && st.kind == StageKind::Reduce) {
        auto [acc, pos] = declare_acc(w, r, st);
        const int64_t steps = (loop_product(st.loops) / lanes + wg - 1) / wg;
        const Pairwise pw = begin_pairwise(w, r, st, steps * lanes, lanes);
        // Init-captures: clang before 16 cannot capture a structured binding.
        row_steps(
            w, r, s, base, lid, wg, lanes,
            [&, &acc = acc, &pos = pos](const std::vector<LaneStage>& l, const std::string& valid) {
              bind_vector_loads(r, lanes_of(l));
              accumulate(w, r, st, l, acc, pos, valid);
              pairwise_step(w, st, pw, acc);
            });
        end_pairwise(w, st, pw, acc);
        r.bind_stage(static_cast<int>(s), tree(w, r, st, wg, acc, pos, L).stage_value(st));
      } else if (distributable(st)) {
        row_steps(w, r, s, base, lid, wg, lanes,
                  [&](const std::vector<LaneStage>& l, const std::string& valid) {
                    bind_vector_loads(r, lanes_of(l));
                    emit_stores(w, r, l, valid);
                  });
      } else if (st.kind == StageKind::Reduce) {
        render_sequential(w, r, s, base);  // every work-item computes the (loop-free) value
      } else {
        w.open("if (" + L + " == 0)");
        r.push_scope();
        render_sequential(w, r, s, base);
        r.pop_scope();
        w.close();
      }
    }
    end_entry(w, r);
    if (outer > 0) out_.launches.push_back({out_.name, outer * wg, wg});
  }

  static std::vector<std::vector<const LaneStage*>> lanes_of(const std::vector<LaneStage>& l) {
    std::vector<std::vector<const LaneStage*>> out;
    for (const LaneStage& x : l) out.push_back({&x});
    return out;
  }

  // ---- split: grid-wide reductions for few, long rows ----

  struct ScratchArea {
    int64_t partial = 0, partial_pos = 0, value = 0;  // byte offsets
  };

  static int64_t align16(int64_t v) { return (v + 15) / 16 * 16; }

  std::string scratch_ptr(const std::string& type, int64_t offset) const {
    return "((__global " + type + "*)(scratch + " + std::to_string(offset) + "))";
  }

  // Declares the values of the reduce stages before `upto` (written by earlier launches).
  void bind_earlier(CodeWriter& w, ExprRenderer& r, size_t upto,
                    const std::vector<ScratchArea>& areas, const std::string& O) {
    for (size_t t = 0; t < upto; ++t) {
      const Stage& st = k_.stages[t];
      std::string name = r.fresh("sv");
      if (is_arg(st)) {
        w.line("const long " + name + " = " + scratch_ptr("long", areas[t].value) + "[" + O + "];");
      } else {
        w.line("const " + compute_type(st.acc_dtype) + " " + name + " = " +
               memory_read(st.acc_dtype,
                           scratch_ptr(memory_type(st.acc_dtype), areas[t].value) + "[" + O + "]") +
               ";");
      }
      r.bind_stage(static_cast<int>(t), name);
    }
  }

  // The reductions before the first other stage: each gets a partial and a final pass.
  size_t leading_reduces() const {
    size_t n = 0;
    while (n < k_.stages.size() && k_.stages[n].kind == StageKind::Reduce) ++n;
    return n;
  }

  // Places every leading reduction's partials (and their positions, for arg reductions)
  // and its final values in the scratch buffer; sets the scratch size.
  std::vector<ScratchArea> scratch_layout(size_t reduces) {
    const int64_t outer = k_.outer_count(), groups = k_.groups.split_groups;
    std::vector<ScratchArea> areas(reduces);
    int64_t bytes = 0;
    for (size_t s = 0; s < reduces; ++s) {
      const Stage& st = k_.stages[s];
      const int64_t elem = memory_size(st.acc_dtype);
      areas[s].partial = bytes;
      bytes = align16(bytes + outer * groups * elem);
      areas[s].partial_pos = bytes;
      if (is_arg(st)) bytes = align16(bytes + outer * groups * 8);
      areas[s].value = bytes;
      bytes = align16(bytes + outer * (is_arg(st) ? 8 : elem));
    }
    out_.scratch_bytes = std::max<int64_t>(bytes, 16);
    return areas;
  }

  // Partial pass of reduce stage `s`: split_groups work-groups per outer iteration, each
  // over a stride of the row, each storing its partial to scratch.
  void render_partial_pass(size_t s, const std::vector<ScratchArea>& areas) {
    const Stage& st = k_.stages[s];
    const int64_t outer = k_.outer_count(), groups = k_.groups.split_groups;
    const int64_t wg = k_.groups.group_size;
    const int lanes = k_.groups.lanes;
    CodeWriter w;
    ExprRenderer r(k_, w);
    const std::string entry = out_.name + "_p" + std::to_string(s);
    begin_entry(w, entry, wg);
    ExprPtr lid = new_var(wg), grp = new_var(outer), chunk = new_var(groups);
    const std::string L = ExprRenderer::var_name(lid->slot), O = ExprRenderer::var_name(grp->slot),
                      C = ExprRenderer::var_name(chunk->slot);
    w.line("const int " + L + " = get_local_id(0);");
    w.line("const " + index_type(outer) + " " + O + " = get_group_id(0) / " + num(groups) + ";");
    w.line("const int " + C + " = get_group_id(0) % " + num(groups) + ";");
    declare_scalars(w, r);
    bind_earlier(w, r, s, areas, O);
    std::vector<ExprPtr> base = outer_subst(grp);
    auto [acc, pos] = declare_acc(w, r, st);
    const int64_t vectors = loop_product(st.loops) / lanes;
    const Pairwise pw =
        begin_pairwise(w, r, st, (vectors + groups * wg - 1) / (groups * wg) * lanes, lanes);
    ExprPtr u = new_var(vectors);
    const std::string U = ExprRenderer::var_name(u->slot);
    w.open("for (" + index_type(vectors) + " " + U + " = " + C + " * " + num(wg) + " + " + L +
           "; " + U + " < " + num(vectors) + "; " + U + " += " + num(groups * wg) + ")");
    r.push_scope();
    std::vector<LaneStage> l = stage_lanes(st, base, u, lanes);
    bind_vector_loads(r, lanes_of(l));
    accumulate(w, r, st, l, acc, pos, "");
    pairwise_step(w, st, pw, acc);
    r.pop_scope();
    w.close();
    end_pairwise(w, st, pw, acc);
    TreeResult result = tree(w, r, st, wg, acc, pos, L);
    const std::string at = O + " * " + num(groups) + " + " + C;
    w.open("if (" + L + " == 0)");
    w.line(scratch_ptr(memory_type(st.acc_dtype), areas[s].partial) + "[" + at +
           "] = " + memory_write(st.acc_dtype, result.value) + ";");
    if (is_arg(st))
      w.line(scratch_ptr("long", areas[s].partial_pos) + "[" + at + "] = " + result.pos + ";");
    w.close();
    end_entry(w, r);
    if (outer > 0) out_.launches.push_back({entry, outer * groups * wg, wg});
  }

  // Final pass of reduce stage `s`: one work-group per outer iteration folds its partials
  // and stores the value to scratch; after the last reduction it also runs the remaining
  // (loop-free) stages.
  void render_final_pass(size_t s, size_t reduces, const std::vector<ScratchArea>& areas) {
    const Stage& st = k_.stages[s];
    const DType t = st.acc_dtype;
    const std::string MT = memory_type(t);
    const int64_t outer = k_.outer_count(), groups = k_.groups.split_groups;
    const int64_t wg = k_.groups.group_size;
    CodeWriter w;
    ExprRenderer r(k_, w);
    const std::string entry = out_.name + "_f" + std::to_string(s);
    begin_entry(w, entry, wg);
    ExprPtr lid = new_var(wg), grp = new_var(outer);
    const std::string L = ExprRenderer::var_name(lid->slot), O = ExprRenderer::var_name(grp->slot);
    w.line("const int " + L + " = get_local_id(0);");
    w.line("const " + index_type(outer) + " " + O + " = get_group_id(0);");
    declare_scalars(w, r);
    bind_earlier(w, r, s, areas, O);
    auto [acc, pos] = declare_acc(w, r, st);
    const Pairwise pw = begin_pairwise(w, r, st, (groups + wg - 1) / wg, 1);
    w.open("for (int i = " + L + "; i < " + num(groups) + "; i += " + num(wg) + ")");
    const std::string at = O + " * " + num(groups) + " + i";
    w.line("const " + compute_type(t) +
           " v = " + memory_read(t, scratch_ptr(MT, areas[s].partial) + "[" + at + "]") + ";");
    if (is_arg(st)) {
      w.line("const long p = " + scratch_ptr("long", areas[s].partial_pos) + "[" + at + "];");
      w.line("if (" + arg_takes(st.op, t, "v", "p", acc, pos) + ") { " + acc + " = v; " + pos +
             " = p; }");
    } else {
      w.line(acc + " = " + reduce_combine(st.op, t, acc, "v") + ";");
      pairwise_step(w, st, pw, acc);
    }
    w.close();
    end_pairwise(w, st, pw, acc);
    TreeResult result = tree(w, r, st, wg, acc, pos, L);
    w.open("if (" + L + " == 0)");
    w.line(scratch_ptr(is_arg(st) ? "long" : MT, areas[s].value) + "[" + O +
           "] = " + (is_arg(st) ? result.pos : memory_write(t, result.value)) + ";");
    w.close();
    if (s + 1 == reduces) {
      r.bind_stage(static_cast<int>(s), result.stage_value(st));
      std::vector<ExprPtr> base = outer_subst(grp);
      w.open("if (" + L + " == 0)");
      r.push_scope();
      for (size_t q = reduces; q < k_.stages.size(); ++q) render_sequential(w, r, q, base);
      r.pop_scope();
      w.close();
    }
    end_entry(w, r);
    if (outer > 0) out_.launches.push_back({entry, outer * wg, wg});
  }

  void render_split() {
    const size_t reduces = leading_reduces();
    const std::vector<ScratchArea> areas = scratch_layout(reduces);
    for (size_t s = 0; s < reduces; ++s) {
      render_partial_pass(s, areas);
      render_final_pass(s, reduces, areas);
    }
  }

  const Kernel& k_;
  const OpenCLTarget& t_;
  int next_var_;
  RenderedKernel out_;
  std::string body_;
  std::vector<std::string> locals_;
  PreludeNeeds needs_;
};

}  // namespace

std::string entry_signature(const Kernel& kernel, const std::string& entry, int64_t reqd_wg,
                            bool scratch) {
  std::string s = "__kernel ";
  if (reqd_wg > 0)
    s += "__attribute__((reqd_work_group_size(" + std::to_string(reqd_wg) + ", 1, 1))) ";
  s += "void " + entry + "(";
  std::vector<std::string> params;
  for (size_t i = 0; i < kernel.buffers.size(); ++i) {
    const BufferParam& b = kernel.buffers[i];
    params.push_back(std::string("__global ") + (b.written ? "" : "const ") +
                     storage_type(b.dtype) + "* restrict " +
                     ExprRenderer::buffer(static_cast<int>(i)));
  }
  for (size_t i = 0; i < kernel.scalars.size(); ++i)
    params.push_back("const ulong s" + std::to_string(i));
  if (scratch) params.push_back("__global uchar* restrict scratch");
  for (size_t i = 0; i < params.size(); ++i) s += (i ? ", " : "") + params[i];
  return s + ")";
}

std::string scalar_declaration(DType t, int slot) {
  std::string s = "s" + std::to_string(slot), a = ExprRenderer::arg_name(slot);
  std::string v;
  switch (t) {
    case DType::Bool: v = "(" + s + " != 0)"; break;
    case DType::F16:
    case DType::BF16:
    case DType::F32: v = "as_float((uint)" + s + ")"; break;
    case DType::F64: v = "as_double(" + s + ")"; break;
    case DType::C64: v = "as_float2(" + s + ")"; break;
    default: v = "(" + compute_type(t) + ")" + s; break;
  }
  return "const " + compute_type(t) + " " + a + " = " + v + ";";
}

std::string combine_sources(const std::vector<const RenderedKernel*>& kernels) {
  PreludeNeeds needs;
  for (const RenderedKernel* k : kernels) {
    needs.fp64 = needs.fp64 || k->needs.fp64;
    needs.complex = needs.complex || k->needs.complex;
  }
  std::string s = prelude(needs);
  for (const RenderedKernel* k : kernels) s += "\n" + k->body;
  return s;
}

RenderedKernel render_kernel(const Kernel& kernel, const OpenCLTarget& target,
                             const std::string& name) {
  verify_kernel(kernel);
  if (kernel.contraction && target.gemm) {
    const GemmTile tile = target.gemm_tile.chosen()
                              ? target.gemm_tile
                              : kernels::opencl::default_gemm_tile(*kernel.contraction, target);
    return kernels::opencl::render_gemm(kernel, target, name, tile);
  }
  if (kernels::opencl::renders_as_fft(kernel, target))
    return kernels::opencl::render_fft(kernel, target, name);
  Kernel mapped = kernel;
  map_to_work_groups(mapped, target);
  return KernelRenderer(mapped, target, name).render();
}

}  // namespace kiln::codegen::opencl
