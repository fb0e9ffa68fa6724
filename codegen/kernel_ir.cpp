// KernelIR printing, hashing and verification.
#include "codegen/kernel_ir.h"

#include <bit>
#include <cstdio>
#include <functional>
#include <unordered_map>

#include "ir/error.h"

namespace kiln::codegen {

std::string_view reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Prod: return "prod";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
    case ReduceOp::ArgMax: return "argmax";
    case ReduceOp::ArgMin: return "argmin";
  }
  return "?";
}

int64_t Kernel::outer_count() const {
  int64_t n = 1;
  for (const Loop& l : outer) n *= l.extent;
  return n;
}

namespace {

std::string hex_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

std::string_view kind_name(ExprKind k) {
  switch (k) {
    case ExprKind::Const: return "const";
    case ExprKind::Arg: return "arg";
    case ExprKind::Var: return "var";
    case ExprKind::Load: return "load";
    case ExprKind::StageValue: return "stage";
    case ExprKind::Unary: return "unary";
    case ExprKind::Binary: return "binary";
    case ExprKind::Select: return "select";
    case ExprKind::Cast: return "cast";
    case ExprKind::IndexDiv: return "idiv";
    case ExprKind::IndexMod: return "imod";
    case ExprKind::Random: return "random";
    case ExprKind::RandomKey: return "random_key";
  }
  return "?";
}

// Names each distinct expression node once ("%n"), emitting its defining line the first
// time it is reached. Structurally equal nodes share a name.
class ExprNamer {
 public:
  explicit ExprNamer(std::string& out) : out_(out) {}

  std::string name(const ExprPtr& e) {
    // Leaves print inline.
    switch (e->kind) {
      case ExprKind::Var: return "v" + std::to_string(e->slot);
      case ExprKind::Const:
        if (is_floating(e->dtype))
          return std::string(dtype_name(e->dtype)) + "(" + hex_double(e->re) + ")";
        if (is_complex(e->dtype)) return "c64(" + hex_double(e->re) + "," + hex_double(e->im) + ")";
        return std::string(dtype_name(e->dtype)) + "(" + std::to_string(e->ival) + ")";
      case ExprKind::Arg:
        return "arg" + std::to_string(e->slot) + ":" + std::string(dtype_name(e->dtype));
      case ExprKind::StageValue: return "s" + std::to_string(e->slot);
      default: break;
    }
    auto& bucket = names_[e->hash];
    for (auto& [node, n] : bucket)
      if (expr_equal(node, e)) return n;
    std::vector<std::string> args;
    for (const ExprPtr& a : e->args) args.push_back(name(a));
    std::string n = "%" + std::to_string(next_++);
    std::string line = "  " + n + " = " + std::string(kind_name(e->kind));
    if (e->kind == ExprKind::Unary || e->kind == ExprKind::Binary)
      line += "." + std::string(ir::op_name(e->op));
    line += " " + std::string(dtype_name(e->dtype));
    if (e->kind == ExprKind::Load) line += " b" + std::to_string(e->slot);
    if (e->kind == ExprKind::IndexDiv || e->kind == ExprKind::IndexMod)
      line += " /" + std::to_string(e->ival);
    if (e->kind == ExprKind::RandomKey) line += " @" + std::to_string(e->ival);
    for (auto& a : args) line += " " + a;
    out_ += line + "\n";
    bucket.emplace_back(e, n);
    return n;
  }

 private:
  std::string& out_;
  std::unordered_map<uint64_t, std::vector<std::pair<ExprPtr, std::string>>> names_;
  int next_ = 0;
};

std::string loop_str(const Loop& l, ExprNamer& namer) {
  std::string s = "v" + std::to_string(l.var) + "<" + std::to_string(l.extent);
  if (l.begin) s += " [" + namer.name(l.begin) + "," + namer.name(l.end) + ")";
  return s + ">";
}

}  // namespace

std::string expr_str(const ExprPtr& e) {
  std::string lines;
  ExprNamer namer(lines);
  std::string root = namer.name(e);
  return lines + "  -> " + root;
}

std::string_view group_shape_name(GroupShape shape) {
  switch (shape) {
    case GroupShape::Map: return "map";
    case GroupShape::Row: return "row";
    case GroupShape::Split: return "split";
    case GroupShape::Gemm: return "gemm";
    case GroupShape::Fft: return "fft";
  }
  return "?";
}

std::string print_kernel(const Kernel& k) {
  std::string out = "kernel(";
  for (size_t i = 0; i < k.buffers.size(); ++i) {
    const BufferParam& b = k.buffers[i];
    if (i) out += ", ";
    out += "b" + std::to_string(i) + ":" + std::string(dtype_name(b.dtype)) + "[" +
           std::to_string(b.numel) + "]" + (b.read ? "r" : "") + (b.written ? "w" : "") +
           (b.local ? "l" : "");
  }
  out += ";";
  for (DType s : k.scalars) out += " " + std::string(dtype_name(s));
  out += ") vars=" + std::to_string(k.num_vars) +
         " vector=" + std::to_string(static_cast<int>(k.vector_mode)) + "x" +
         std::to_string(k.vector_unroll) +
         (k.vector_narrowing != 1 ? "/" + std::to_string(k.vector_narrowing) : "") +
         (k.walk_outer >= 0 ? " walk=" + std::to_string(k.walk_outer) : "") + "\n";
  ExprNamer namer(out);
  std::string outer = "outer";
  for (const Loop& l : k.outer) outer += " " + loop_str(l, namer);
  out += outer + "\n";
  for (size_t s = 0; s < k.stages.size(); ++s) {
    const Stage& st = k.stages[s];
    std::string head;
    switch (st.kind) {
      case StageKind::Reduce: head = "reduce." + std::string(reduce_op_name(st.op)); break;
      case StageKind::Loop: head = "loop"; break;
      case StageKind::Scan: head = "scan." + std::string(reduce_op_name(st.op)); break;
    }
    head += " s" + std::to_string(s) + " " + std::string(dtype_name(st.acc_dtype));
    if (st.sequential) head += " sequential";
    if (st.pairwise_block > 0) head += " pairwise=" + std::to_string(st.pairwise_block);
    for (const Loop& l : st.loops) head += " " + loop_str(l, namer);
    if (st.value) head += " value=" + namer.name(st.value);
    if (st.position) head += " position=" + namer.name(st.position);
    for (const Store& sto : st.stores) {
      std::string g = sto.guard ? " if " + namer.name(sto.guard) : "";
      head += "\n    store b" + std::to_string(sto.buffer) + "[" + namer.name(sto.index) +
              "] = " + namer.name(sto.value) + g;
    }
    out += head + "\n";
  }
  return out;
}

uint64_t fnv1a(std::string_view text, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t kernel_hash(const Kernel& kernel) { return fnv1a(print_kernel(kernel)); }

void verify_kernel(const Kernel& k) {
  auto fail = [&](const std::string& what) {
    throw CompileError("KernelIR verifier: kernel " + k.name + ": " + what + "\n" +
                       print_kernel(k));
  };
  for (size_t i = 1; i < k.buffers.size(); ++i)
    if (k.buffers[i - 1].local && !k.buffers[i].local)
      fail("local buffers must come after the others");
  uint64_t live_vars = 0;
  auto bit = [](int v) { return 1ull << std::min(v, 63); };
  for (const Loop& l : k.outer) {
    if (l.var < 0 || l.var >= k.num_vars) fail("outer loop variable out of range");
    if (l.extent < 0) fail("negative loop extent");
    live_vars |= bit(l.var);
  }
  std::function<void(const ExprPtr&, uint64_t, size_t)> check = [&](const ExprPtr& e, uint64_t vars,
                                                                    size_t stage) {
    if (!e) fail("missing expression");
    if (e->var_mask & ~vars)
      fail("expression uses a loop variable outside its loops: " + expr_str(e));
    for (int s = 0; s < 64; ++s)
      if ((e->stage_mask >> s) & 1) {
        bool self_scan = static_cast<size_t>(s) == stage && k.stages[stage].kind == StageKind::Scan;
        if (static_cast<size_t>(s) >= stage && !self_scan)
          fail("a stage value read before its stage is done");
      }
    std::function<void(const Expr*)> walk = [&](const Expr* x) {
      if (x->kind == ExprKind::Load &&
          (x->slot < 0 || x->slot >= static_cast<int>(k.buffers.size())))
        fail("load from buffer b" + std::to_string(x->slot) + " that the kernel does not have");
      if (x->kind == ExprKind::Arg &&
          (x->slot < 0 || x->slot >= static_cast<int>(k.scalars.size())))
        fail("scalar argument " + std::to_string(x->slot) + " that the kernel does not have");
      for (const ExprPtr& a : x->args) walk(a.get());
    };
    walk(e.get());
  };
  for (size_t s = 0; s < k.stages.size(); ++s) {
    const Stage& st = k.stages[s];
    uint64_t vars = live_vars;
    for (const Loop& l : st.loops) {
      if (l.var < 0 || l.var >= k.num_vars) fail("stage loop variable out of range");
      if (l.begin) check(l.begin, vars, s), check(l.end, vars, s);
      vars |= bit(l.var);
    }
    if (st.kind == StageKind::Scan && st.loops.size() != 1)
      fail("a scan stage has exactly one loop");
    if (st.kind != StageKind::Loop) check(st.value, vars, s);
    if (st.position) check(st.position, vars, s);
    for (const Store& sto : st.stores) {
      if (sto.buffer < 0 || sto.buffer >= static_cast<int>(k.buffers.size()) ||
          !k.buffers[sto.buffer].written)
        fail("store to buffer b" + std::to_string(sto.buffer) + " that is not a written buffer");
      check(sto.index, vars, s);
      check(sto.value, vars, s);
      if (sto.guard) check(sto.guard, vars, s);
    }
  }
}

}  // namespace kiln::codegen
