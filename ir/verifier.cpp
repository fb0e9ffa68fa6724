// Typing rules of every op and the graph invariants. The per-op dtype rule is the op
// table's (the Accepts and Result columns of ir/ops.def, read through ir/op.h); the shape
// rules are grouped by op category.
#include "ir/verifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_set>

#include "ir/error.h"
#include "ir/printer.h"

namespace kiln::ir {

namespace {

[[noreturn]] void fail(OpKind op, const std::string& msg) {
  throw VerifyError(std::string(op_name(op)) + ": " + msg);
}

std::string list_str(const std::vector<int64_t>& v) { return print_attr(AttrValue(v)); }

// ---- attributes ---------------------------------------------------------------------

const char* kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::I64: return "an integer (i64)";
    case AttrKind::F64: return "a number (f64)";
    case AttrKind::Bool: return "a bool";
    case AttrKind::I64s: return "a list of integers (i64s)";
    case AttrKind::Str: return "a string";
  }
  return "?";
}

AttrKind kind_of(const AttrValue& v) {
  struct Visitor {
    AttrKind operator()(int64_t) const { return AttrKind::I64; }
    AttrKind operator()(double) const { return AttrKind::F64; }
    AttrKind operator()(bool) const { return AttrKind::Bool; }
    AttrKind operator()(const std::vector<int64_t>&) const { return AttrKind::I64s; }
    AttrKind operator()(const std::string&) const { return AttrKind::Str; }
  };
  return std::visit(Visitor{}, v);
}

void check_attrs(OpKind op, const std::vector<AttrValue>& attrs) {
  const auto& specs = op_info(op).attrs;
  if (attrs.size() != specs.size()) {
    std::string names;
    for (const AttrSpec& s : specs) names += (names.empty() ? "" : ", ") + std::string(s.name);
    fail(op, "expects " + std::to_string(specs.size()) + " attribute(s)" +
                 (names.empty() ? "" : " (" + names + ")") + ", got " +
                 std::to_string(attrs.size()));
  }
  for (size_t i = 0; i < specs.size(); ++i)
    if (kind_of(attrs[i]) != specs[i].kind)
      fail(op, "attribute '" + std::string(specs[i].name) + "' must be " +
                   kind_name(specs[i].kind) + ", got " + kind_name(kind_of(attrs[i])));
}

// Attribute access after check_attrs, by position in the table's order.
int64_t i64_at(const std::vector<AttrValue>& a, size_t i) { return std::get<int64_t>(a[i]); }
const std::vector<int64_t>& i64s_at(const std::vector<AttrValue>& a, size_t i) {
  return std::get<std::vector<int64_t>>(a[i]);
}

// random_uniform's key is its attribute or its operand, never both: the operand is the
// key's 64 bits as a 0-d i64 (kiln::key_input makes one).
void check_random_key(OpKind op, const std::vector<Type>& in, int64_t key_attr) {
  if (in.empty()) return;
  if (in[0] != Type{DType::I64, {}})
    fail(op, "the key operand must be i64[] (the key's 64 bits), got " + in[0].str());
  if (key_attr != 0)
    fail(op, "a key operand and a nonzero key attribute (" + std::to_string(key_attr) +
                 "); with an operand the key attribute must be 0");
}

// ---- shape helpers ------------------------------------------------------------------

void check_axis(OpKind op, int64_t axis, const Type& t) {
  if (axis < 0 || axis >= t.rank())
    fail(op, "axis " + std::to_string(axis) + " is out of range for " + t.str() + " (rank " +
                 std::to_string(t.rank()) + "); IR axes are in [0, rank)");
}

// Sorted, unique, in range: the canonical form of an axis set.
void check_axis_set(OpKind op, const std::vector<int64_t>& axes, const Type& t) {
  for (size_t i = 0; i < axes.size(); ++i) {
    check_axis(op, axes[i], t);
    if (i > 0 && axes[i] <= axes[i - 1])
      fail(op, "axes " + list_str(axes) + " must be sorted and unique");
  }
}

void check_per_dim(OpKind op, const char* name, const std::vector<int64_t>& v, const Type& t) {
  if (static_cast<int>(v.size()) != t.rank())
    fail(op, std::string("'").append(name) + "' has " + std::to_string(v.size()) +
                 " entries but the operand " + t.str() + " has rank " + std::to_string(t.rank()));
}

int64_t checked_add(OpKind op, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(op, "dimension arithmetic overflows int64");
  return r;
}

// ---- rules by category --------------------------------------------------------------

Type elementwise(OpKind op, const std::vector<Type>& in) {
  if (op == OpKind::Select) {
    if (in[0].dtype != DType::Bool)
      fail(op, "condition must be bool, got " + in[0].str() + "; compare it with zero first");
    if (in[1] != in[2])
      fail(op, "both branches must have the same type, got " + in[1].str() + " and " + in[2].str());
    if (in[0].shape != in[1].shape)
      fail(op, "condition " + in[0].str() + " and branches " + in[1].str() +
                   " must have the same shape; broadcast explicitly");
    return in[1];
  }
  if (in.size() == 2 && in[0] != in[1])
    fail(op, "operands must have the same type, got " + in[0].str() + " and " + in[1].str() +
                 "; make broadcasts and casts explicit");
  return {op_result_dtype(op, in[0].dtype), in[0].shape};
}

Type reduce(OpKind op, const Type& in, const std::vector<AttrValue>& attrs) {
  const auto& axes = i64s_at(attrs, 0);
  bool keepdims = std::get<bool>(attrs[1]);
  check_axis_set(op, axes, in);
  if ((op == OpKind::ArgMax || op == OpKind::ArgMin) && axes.size() != 1)
    fail(op, "takes exactly one axis, got " + list_str(axes));
  Shape out;
  size_t next = 0;
  for (int d = 0; d < in.rank(); ++d) {
    bool reduced = next < axes.size() && axes[next] == d;
    if (reduced) ++next;
    if (!reduced)
      out.push_back(in.shape[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return {op_result_dtype(op, in.dtype), out};
}

Type slice(OpKind op, const Type& in, const std::vector<AttrValue>& attrs, const Type& declared) {
  const auto& start = i64s_at(attrs, 0);
  const auto& step = i64s_at(attrs, 1);
  check_per_dim(op, "start", start, in);
  check_per_dim(op, "step", step, in);
  if (declared.rank() != in.rank())
    fail(op, "result " + declared.str() + " must have the operand's rank (" + in.str() + ")");
  for (int d = 0; d < in.rank(); ++d) {
    int64_t n = declared.shape[d], size = in.shape[d];
    if (step[d] == 0) fail(op, "step of dim " + std::to_string(d) + " is 0");
    if (n == 0) continue;  // reads nothing
    int64_t span, last;
    bool overflow = __builtin_mul_overflow(n - 1, step[d], &span) ||
                    __builtin_add_overflow(start[d], span, &last);
    if (overflow || start[d] < 0 || start[d] >= size || last < 0 || last >= size)
      fail(op, "dim " + std::to_string(d) + " reads " + std::to_string(n) +
                   " elements from index " + std::to_string(start[d]) + " with step " +
                   std::to_string(step[d]) + ", outside the operand " + in.str());
  }
  return {in.dtype, declared.shape};
}

void check_pad_value(OpKind op, double value, DType t) {
  if (is_inexact(t)) return;
  bool ok = std::isfinite(value) && std::trunc(value) == value;
  if (ok && is_bool(t)) ok = value == 0 || value == 1;
  if (ok && t == DType::I8) ok = value >= -128 && value <= 127;
  if (ok && t == DType::U8) ok = value >= 0 && value <= 255;
  if (ok && t == DType::I32) ok = value >= -2147483648.0 && value <= 2147483647.0;
  if (ok && t == DType::I64) ok = value >= -9223372036854775808.0 && value < 9223372036854775808.0;
  if (!ok)
    fail(op, "pad value " + print_f64(value) + " is not representable in " +
                 std::string(dtype_name(t)));
}

Type movement(OpKind op, const std::vector<Type>& in, const std::vector<AttrValue>& attrs,
              const Type& declared) {
  const Type& x = in[0];
  switch (op) {
    case OpKind::Reshape:
      if (declared.numel() != x.numel())
        fail(op, "cannot reshape " + x.str() + " (" + std::to_string(x.numel()) + " elements) to " +
                     shape_str(declared.shape) + " (" + std::to_string(declared.numel()) +
                     " elements)");
      return {x.dtype, declared.shape};
    case OpKind::Permute: {
      const auto& perm = i64s_at(attrs, 0);
      check_per_dim(op, "perm", perm, x);
      std::vector<bool> seen(perm.size());
      Shape out;
      for (int64_t p : perm) {
        if (p < 0 || p >= x.rank() || seen[p])
          fail(op, "perm " + list_str(perm) + " is not a permutation of the " +
                       std::to_string(x.rank()) + " dims of " + x.str());
        seen[p] = true;
        out.push_back(x.shape[p]);
      }
      return {x.dtype, out};
    }
    case OpKind::Broadcast:
      if (declared.rank() != x.rank())
        fail(op, "operand " + x.str() + " must have the result's rank (" +
                     shape_str(declared.shape) + "); reshape it first");
      for (int d = 0; d < x.rank(); ++d)
        if (x.shape[d] != declared.shape[d] && x.shape[d] != 1)
          fail(op, "cannot broadcast " + x.str() + " to " + shape_str(declared.shape) + ": dim " +
                       std::to_string(d) + " is neither equal nor 1");
      return {x.dtype, declared.shape};
    case OpKind::Slice: return slice(op, x, attrs, declared);
    case OpKind::Pad: {
      const auto& low = i64s_at(attrs, 0);
      const auto& high = i64s_at(attrs, 1);
      check_per_dim(op, "low", low, x);
      check_per_dim(op, "high", high, x);
      check_pad_value(op, std::get<double>(attrs[2]), x.dtype);
      Shape out;
      for (int d = 0; d < x.rank(); ++d) {
        if (low[d] < 0 || high[d] < 0)
          fail(op, "pads must be non-negative, got low " + list_str(low) + " high " +
                       list_str(high) + "; use slice to crop");
        out.push_back(checked_add(op, checked_add(op, x.shape[d], low[d]), high[d]));
      }
      return {x.dtype, out};
    }
    case OpKind::Flip: check_axis_set(op, i64s_at(attrs, 0), x); return x;
    case OpKind::Concat: {
      int64_t axis = i64_at(attrs, 0);
      check_axis(op, axis, x);
      Shape out = x.shape;
      for (size_t i = 1; i < in.size(); ++i) {
        bool fits = in[i].dtype == x.dtype && in[i].rank() == x.rank();
        for (int d = 0; fits && d < x.rank(); ++d) fits = d == axis || in[i].shape[d] == x.shape[d];
        if (!fits)
          fail(op, "operand " + std::to_string(i) + " " + in[i].str() +
                       " does not match operand 0 " + x.str() + " outside axis " +
                       std::to_string(axis));
        out[axis] = checked_add(op, out[axis], in[i].shape[axis]);
      }
      return {x.dtype, out};
    }
    // Any further operands only order it: their types are free.
    case OpKind::OptimizationBarrier: return x;
    default: break;
  }
  fail(op, "the verifier has no shape rule for this movement op");
}

void check_index_operand(OpKind op, const Type& idx, const Type& data, int64_t axis,
                         const char* data_name) {
  if (idx.dtype != DType::I32 && idx.dtype != DType::I64)
    fail(op, "indices must be i32 or i64, got " + idx.str());
  if (idx.rank() != data.rank())
    fail(op, "indices " + idx.str() + " must have the rank of the " + data_name + " " + data.str());
  check_axis(op, axis, data);
  for (int d = 0; d < data.rank(); ++d)
    if (d != axis && idx.shape[d] > data.shape[d])
      fail(op, "indices " + idx.str() + " are larger than the " + data_name + " " + data.str() +
                   " in dim " + std::to_string(d) + " (only the axis may differ freely)");
}

Type index(OpKind op, const std::vector<Type>& in, const std::vector<AttrValue>& attrs) {
  int64_t axis = i64_at(attrs, 0);
  if (op == OpKind::Gather) {
    check_index_operand(op, in[1], in[0], axis, "data");
    if (in[0].shape[axis] == 0 && in[1].numel() > 0)
      fail(op, "cannot gather from " + in[0].str() + ", which is empty along axis " +
                   std::to_string(axis));
    return {in[0].dtype, in[1].shape};
  }
  check_index_operand(op, in[1], in[0], axis, "base");
  if (in[2].shape != in[1].shape)
    fail(op, "updates " + in[2].str() + " must have the indices' shape " + in[1].str());
  if (in[2].dtype != in[0].dtype)
    fail(op, "updates " + in[2].str() + " must have the base's dtype " + in[0].str());
  return in[0];
}

Type matmul(OpKind op, const Type& a, const Type& b) {
  if (a.rank() < 2 || a.rank() != b.rank())
    fail(op, "operands must have the same rank >= 2, got " + a.str() + " and " + b.str() +
                 "; reshape vectors to matrices and broadcast batch dims first");
  if (a.dtype != b.dtype)
    fail(op, "operands must have the same dtype, got " + a.str() + " and " + b.str());
  int r = a.rank();
  for (int d = 0; d < r - 2; ++d)
    if (a.shape[d] != b.shape[d])
      fail(op, "batch dims of " + a.str() + " and " + b.str() + " differ; broadcast them first");
  if (a.shape[r - 1] != b.shape[r - 2])
    fail(op, "contraction dims differ: " + a.str() + " has k = " + std::to_string(a.shape[r - 1]) +
                 ", " + b.str() + " has k = " + std::to_string(b.shape[r - 2]));
  Shape out = a.shape;
  out[r - 1] = b.shape[r - 1];
  return {a.dtype, out};
}

// x [n, c_in, s...] and w [c_out, c_in / groups, k...] give [n, c_out, o...].
// fft, rfft, irfft: a transform of length n >= 1 along `axis` (ops.def).
Type spectral(OpKind op, const Type& x, const std::vector<AttrValue>& attrs) {
  const int64_t axis = i64_at(attrs, 0);
  check_axis(op, axis, x);
  const int64_t len = x.shape[static_cast<size_t>(axis)];
  Type out = {op_result_dtype(op, x.dtype), x.shape};
  if (op == OpKind::Irfft) {
    const int64_t n = i64_at(attrs, 1);
    if (n < 1) fail(op, "n = " + std::to_string(n) + ": a transform needs n >= 1");
    if (len != n / 2 + 1)
      fail(op, "for n = " + std::to_string(n) + " the input's axis " + std::to_string(axis) +
                   " must hold n/2 + 1 = " + std::to_string(n / 2 + 1) + " frequencies, got " +
                   x.str());
    const int64_t length = i64_at(attrs, 2);
    if (length < 1 || length > n)
      fail(op,
           "length = " + std::to_string(length) + " must be in [1, n = " + std::to_string(n) + "]");
    out.shape[static_cast<size_t>(axis)] = length;
    return out;
  }
  if (len < 1)
    fail(op,
         "axis " + std::to_string(axis) + " of " + x.str() + " is empty: a transform needs n >= 1");
  if (op == OpKind::Rfft) out.shape[static_cast<size_t>(axis)] = len / 2 + 1;
  return out;
}

Type conv(OpKind op, const Type& x, const Type& w, const std::vector<AttrValue>& attrs) {
  const std::string operands = "input " + x.str() + " and weight " + w.str();
  if (x.rank() < 3 || w.rank() != x.rank())
    fail(op, operands + " must have one rank of at least 3 ([n, channels, spatial...])");
  if (x.dtype != w.dtype) fail(op, operands + " must have the same dtype");
  const int sp = x.rank() - 2;
  const char* names[] = {"stride", "dilation", "pad_low", "pad_high"};
  for (size_t i = 0; i < 4; ++i)
    if (static_cast<int>(i64s_at(attrs, i).size()) != sp)
      fail(op, std::string("'") + names[i] + "' has " + std::to_string(i64s_at(attrs, i).size()) +
                   " entries but " + x.str() + " has " + std::to_string(sp) + " spatial dims");
  const auto& stride = i64s_at(attrs, 0);
  const auto& dilation = i64s_at(attrs, 1);
  const auto& low = i64s_at(attrs, 2);
  const auto& high = i64s_at(attrs, 3);
  const int64_t groups = i64_at(attrs, 4);
  if (groups < 1) fail(op, "groups must be at least 1, got " + std::to_string(groups));
  const int64_t c_in = x.shape[1], c_out = w.shape[0];
  if (c_in % groups != 0 || c_out % groups != 0)
    fail(op, operands + ": channels (" + std::to_string(c_in) + " in, " + std::to_string(c_out) +
                 " out) are not divisible by groups " + std::to_string(groups));
  if (w.shape[1] != c_in / groups)
    fail(op, operands + ": the weight's dim 1 must be c_in / groups = " +
                 std::to_string(c_in / groups) + ", got " + std::to_string(w.shape[1]));
  Shape out = {x.shape[0], c_out};
  for (int d = 0; d < sp; ++d) {
    const std::string dim = " of spatial dim " + std::to_string(d);
    if (stride[d] < 1 || dilation[d] < 1)
      fail(op, "stride " + list_str(stride) + " and dilation " + list_str(dilation) +
                   " must be at least 1");
    if (low[d] < 0 || high[d] < 0)
      fail(op, "pads must be non-negative, got pad_low " + list_str(low) + " pad_high " +
                   list_str(high));
    const int64_t k = w.shape[2 + d];
    if (k < 1) fail(op, "weight " + w.str() + " has an empty kernel" + dim);
    int64_t span, padded;
    if (__builtin_mul_overflow(k - 1, dilation[d], &span) || ++span < 1)
      fail(op, "dimension arithmetic overflows int64");
    padded = checked_add(op, checked_add(op, x.shape[2 + d], low[d]), high[d]);
    if (span > padded)
      fail(op, operands + ": the kernel" + dim + " spans " + std::to_string(span) + " (size " +
                   std::to_string(k) + ", dilation " + std::to_string(dilation[d]) +
                   "), more than the padded input's " + std::to_string(padded));
    out.push_back((padded - span) / stride[d] + 1);
  }
  return {x.dtype, out};
}

}  // namespace

bool size_overflows(const Shape& shape, int64_t element_size) {
  int64_t bytes = element_size;
  for (int64_t d : shape)
    if (d > 0 && __builtin_mul_overflow(bytes, d, &bytes)) return true;
  return false;
}

void verify_type(const Type& type, const std::string& what) {
  if (type.rank() > kMaxRank)
    throw VerifyError(what + " " + type.str() + " has rank " + std::to_string(type.rank()) +
                      ", more than the maximum " + std::to_string(kMaxRank));
  for (int64_t d : type.shape)
    if (d < 0) throw VerifyError(what + " " + type.str() + " has a negative dimension");
  if (size_overflows(type.shape, static_cast<int64_t>(dtype_size(type.dtype))))
    throw VerifyError(what + " " + type.str() + " is too large: its size overflows int64");
}

Type infer_type(OpKind op, const std::vector<Type>& in, const std::vector<AttrValue>& attrs,
                const Type& declared) {
  const OpInfo& info = op_info(op);
  if (!arity_admits(info.arity, in.size()))
    fail(op, "expects " + arity_text(info.arity) + ", got " + std::to_string(in.size()));
  std::string prefix(info.text);
  for (size_t i = 0; i < in.size(); ++i)
    verify_type(in[i], prefix + ": operand " + std::to_string(i));
  verify_type(declared, prefix + ": result");
  check_attrs(op, attrs);

  // The first operand carries the dtype rule, except select (its branches) and the ops
  // whose result dtype is declared (the result).
  const bool declared_rule = info.result == ResultRule::Declared;
  DType checked = declared_rule ? declared.dtype : op == OpKind::Select ? in[1].dtype : in[0].dtype;
  if (std::string why = dtype_refusal(op, checked); !why.empty())
    fail(op, std::string(declared_rule ? "result " : "operand ") + why);

  switch (info.category) {
    case OpCategory::Source:
      if (op == OpKind::Iota) check_axis(op, i64_at(attrs, 0), declared);
      if (op == OpKind::RandomUniform) check_random_key(op, in, i64_at(attrs, 0));
      return declared;
    case OpCategory::Cast: return {declared.dtype, in[0].shape};
    case OpCategory::Unary:
    case OpCategory::Binary:
    case OpCategory::Ternary: return elementwise(op, in);
    case OpCategory::Reduce: return reduce(op, in[0], attrs);
    case OpCategory::Scan: check_axis(op, i64_at(attrs, 0), in[0]); return in[0];
    case OpCategory::Movement: return movement(op, in, attrs, declared);
    case OpCategory::Index: return index(op, in, attrs);
    case OpCategory::Contraction:
      if (op == OpKind::Conv) return conv(op, in[0], in[1], attrs);
      if (op == OpKind::MatMul) return matmul(op, in[0], in[1]);
      return spectral(op, in[0], attrs);
    case OpCategory::Custom: return declared;  // the kernel's own declaration
  }
  fail(op, "the verifier has no rule for this op's category");
}

void verify_node(const Node& node) {
  std::vector<Type> types;
  for (size_t i = 0; i < node.operands.size(); ++i) {
    if (!node.operands[i]) fail(node.op, "operand " + std::to_string(i) + " is null");
    types.push_back(node.operands[i]->type);
  }
  Type inferred = infer_type(node.op, types, node.attrs, node.type);
  if (inferred != node.type)
    fail(node.op,
         "declared result type " + node.type.str() + " but the operands give " + inferred.str());
  if (node.op == OpKind::Constant) {
    if (!node.buffer) fail(node.op, "has no buffer");
    if (node.buffer->type() != node.type)
      fail(node.op, "buffer holds " + node.buffer->type().str() + " but the node's type is " +
                        node.type.str());
  }
}

void verify(const Graph& graph) {
  // The values' names are only for an error message: built for the first one, so that a
  // graph that verifies costs no string per node.
  std::optional<ValueNames> names;
  auto name = [&](const Node* n) {
    if (!names) names = value_names(graph);
    auto it = names->find(n);
    return it == names->end() ? std::string("<unnamed>") : it->second;
  };
  std::unordered_set<const Node*> defined;
  for (size_t i = 0; i < graph.params.size(); ++i) {
    const Node* p = graph.params[i].get();
    std::string where = "verify: parameter " + std::to_string(i);
    if (!p) throw VerifyError(where + " is null");
    if (p->op != OpKind::Parameter)
      throw VerifyError(where + " (" + name(p) + ") is a '" + std::string(op_name(p->op)) +
                        "' node; graph parameters must be 'parameter' nodes");
    if (!defined.insert(p).second)
      throw VerifyError(where + " (" + name(p) + ") appears twice in the signature");
    try {
      verify_node(*p);
    } catch (const VerifyError& e) {
      throw VerifyError(where + " (" + name(p) + "): " + e.what());
    }
  }
  // Whether `o` is in the body (after its use, then): asked only for the error message.
  auto in_body = [&](const Node* o) {
    return std::any_of(graph.nodes.begin(), graph.nodes.end(),
                       [&](const NodePtr& n) { return n.get() == o; });
  };
  for (size_t j = 0; j < graph.nodes.size(); ++j) {
    const Node* n = graph.nodes[j].get();
    if (!n) throw VerifyError("verify: body node " + std::to_string(j) + " is null");
    auto where = [&] { return "verify: value " + name(n); };
    if (n->op == OpKind::Parameter)
      throw VerifyError(where() +
                        " is a parameter node in the body; parameters belong in the "
                        "graph's signature (Graph::params)");
    if (defined.contains(n)) throw VerifyError(where() + " appears twice in the body");
    for (size_t i = 0; i < n->operands.size(); ++i) {
      const Node* o = n->operands[i].get();
      if (!o || defined.contains(o)) continue;  // verify_node reports null operands
      throw VerifyError(where() + " (" + std::string(op_name(n->op)) + "): operand " +
                        std::to_string(i) +
                        (in_body(o) ? " (" + name(o) +
                                          ") is defined after its use; the body must be "
                                          "in topological order (and acyclic)"
                                    : " is not a parameter or body node of this graph"));
    }
    try {
      verify_node(*n);
    } catch (const VerifyError& e) {
      throw VerifyError(where() + ": " + e.what());
    }
    defined.insert(n);
  }
  for (size_t i = 0; i < graph.results.size(); ++i) {
    const Node* r = graph.results[i].get();
    if (!r || !defined.contains(r))
      throw VerifyError("verify: result " + std::to_string(i) +
                        (r ? " is not a parameter or body node of this graph" : " is null"));
  }
}

}  // namespace kiln::ir
