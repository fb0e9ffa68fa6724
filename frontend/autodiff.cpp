// Reverse-mode autodiff over the lazy graph (frontend/kiln/autodiff.h). The graph of an
// output is walked once, iteratively (graphs can be a million nodes deep), from the output
// back to the requested inputs; each node's cotangent is the sum of what its users' rules
// (frontend/autodiff_rules.cpp) send it. The result is a new lazy graph over the same
// nodes. jvp is the transpose of vjp: vjp is linear in its cotangent, so differentiating
// <vjp(u), v> with respect to u gives J v. Tests: tests/autodiff/.
#include <kiln/autodiff.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "frontend/autodiff_rules.h"
#include "frontend/builder.h"
#include "frontend/evaluate.h"

namespace kiln {

namespace {

// Nodes made by stop_gradient, checked by identity (the weak pointer tells a live node from
// a new one at a reused address), and the registered vjps of custom kernels.
struct Registry {
  std::mutex mutex;
  std::unordered_map<const ir::Node*, std::weak_ptr<ir::Node>> stopped;
  size_t prune_at = 1024;
  std::unordered_map<std::string, CustomVjp> custom_vjps;
};

Registry& registry() {
  static Registry r;
  return r;
}

bool is_stopped(const ir::NodePtr& n) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.stopped.find(n.get());
  return it != r.stopped.end() && it->second.lock() == n;
}

std::optional<CustomVjp> custom_vjp(const std::string& kernel) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.custom_vjps.find(kernel);
  if (it == r.custom_vjps.end()) return std::nullopt;
  return it->second;
}

// "exp (f32[3] at model.cpp:12)": a node as the user wrote it, for messages.
std::string describe(const ir::Node& n) {
  std::string s = std::string(ir::op_name(n.op)) + " (" + n.type.str();
  if (n.loc.file_name() && *n.loc.file_name())
    s += " at " + std::string(n.loc.file_name()) + ":" + std::to_string(n.loc.line());
  return s + ")";
}

void check_floating(std::string_view what, const std::string& role, const Tensor& t) {
  if (!is_floating(t.dtype()))
    throw DTypeError(std::string(what) + ": " + role + " is " + t.type().str() +
                     "; only floating tensors (f16, bf16, f32, f64) have gradients; cast it to "
                     "a floating dtype first");
}

// A node on a path from an input to the output: the live node (whose identity and value
// the derivative uses) and a copy of it taken under the lock of live nodes, whose op,
// operands and attributes stay as they were if another thread evaluates the node meanwhile
// (docs/threads.md).
struct PathNode {
  ir::NodePtr live;
  std::shared_ptr<const ir::Node> copy;
};

// The nodes of output's graph that lie on a path to an input, in topological order
// (operands first). The walk stops at inputs (leaves even when computed from other
// inputs) and at stop_gradient nodes.
std::vector<PathNode> nodes_between(const ir::NodePtr& output,
                                    const std::unordered_set<const ir::Node*>& inputs) {
  frontend::HistoryReadLock lock;
  std::vector<PathNode> order;
  std::unordered_set<const ir::Node*> seen{output.get()};
  std::unordered_set<const ir::Node*> reaches;
  struct Frame {
    ir::NodePtr node;
    size_t next;
  };
  std::vector<Frame> stack{{output, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const ir::Node* n = f.node.get();
    bool leaf = inputs.count(n) || is_stopped(f.node);
    if (!leaf && f.next < n->operands.size()) {
      const ir::NodePtr& op = n->operands[f.next++];
      if (seen.insert(op.get()).second) stack.push_back({op, 0});
      continue;
    }
    bool on_path = inputs.count(n) > 0;
    if (!leaf)
      for (const auto& op : n->operands) on_path = on_path || reaches.count(op.get());
    if (on_path) {
      reaches.insert(n);
      order.push_back({f.node, std::make_shared<const ir::Node>(*n)});
    }
    stack.pop_back();
  }
  return order;
}

// The operands' cotangents of node p for its cotangent g.
frontend::Cotangents node_vjp(std::string_view what, const PathNode& p, const Tensor& g) {
  const ir::Node* n = p.copy.get();
  std::vector<Tensor> in;
  for (const auto& op : n->operands) in.emplace_back(op);
  frontend::GradRule rule = frontend::grad_rule(n->op);
  switch (rule.kind) {
    case frontend::GradKind::Source:
    case frontend::GradKind::Zero: return {};
    case frontend::GradKind::Rule: return rule.vjp(frontend::VjpArgs{*n, in, Tensor(p.live), g});
    case frontend::GradKind::Unsupported:
      throw UnsupportedError(std::string(what) + ": cannot differentiate through " + describe(*n) +
                             ": complex values have no gradient in kiln; differentiate a real "
                             "function of real inputs, or wrap the value in stop_gradient");
    case frontend::GradKind::CustomKernel: {
      const std::string& name = n->attr_str("name");
      auto vjp = custom_vjp(name);
      if (!vjp)
        throw UnsupportedError(std::string(what) + ": custom kernel '" + name +
                               "' has no vjp; register one with kiln::register_custom_vjp(\"" +
                               name + "\", ...) or wrap its inputs in stop_gradient");
      auto out = (*vjp)(in, n->attr_i64("output"), g);
      if (out.size() != in.size())
        throw Error(std::string(what) + ": the vjp registered for custom kernel '" + name +
                    "' returned " + std::to_string(out.size()) + " cotangents for " +
                    std::to_string(in.size()) + " inputs; return one (or nullopt) per input");
      return out;
    }
  }
  return {};
}

std::vector<Tensor> reverse(std::string_view what, const Tensor& output,
                            const std::vector<Tensor>& inputs, const std::optional<Tensor>& cot) {
  check_floating(what, "the output", output);
  for (size_t i = 0; i < inputs.size(); ++i)
    check_floating(what, "input " + std::to_string(i), inputs[i]);
  Tensor seed = [&] {
    if (cot) {
      if (cot->type() != output.type())
        throw ShapeError(std::string(what) + ": the cotangent is " + cot->type().str() +
                         " but the output is " + output.type().str() +
                         "; pass a cotangent of the output's type");
      return *cot;
    }
    if (output.size() != 1)
      throw ShapeError(std::string(what) + ": the output is " + output.type().str() +
                       ", not a single element; reduce it first (sum, mean) or pass a "
                       "cotangent of its type (kiln::vjp)");
    return ones_like(output);
  }();

  std::unordered_set<const ir::Node*> leaves;
  for (const Tensor& x : inputs) leaves.insert(x.node().get());
  std::vector<PathNode> order = nodes_between(output.node(), leaves);
  std::unordered_set<const ir::Node*> on_path;
  for (const auto& p : order) on_path.insert(p.live.get());

  std::unordered_map<const ir::Node*, Tensor> cotangents;
  if (on_path.count(output.node().get())) cotangents.emplace(output.node().get(), seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ir::Node* n = it->copy.get();
    if (leaves.count(it->live.get())) continue;
    auto found = cotangents.find(it->live.get());
    if (found == cotangents.end()) continue;
    Tensor g = found->second;
    cotangents.erase(found);  // the users are all done: release it
    for (const auto& op : n->operands)
      if (on_path.count(op.get()) && is_complex(op->type.dtype))
        throw UnsupportedError(std::string(what) + ": cannot differentiate through " +
                               describe(*n) +
                               " with a complex operand; complex values have "
                               "no gradient in kiln; differentiate a real function of real "
                               "inputs, or wrap the value in stop_gradient");
    frontend::Cotangents grads = [&] {
      frontend::LocationScope at(n->loc);
      return node_vjp(what, *it, g);
    }();
    for (size_t i = 0; i < grads.size(); ++i) {
      const ir::NodePtr& op = n->operands[i];
      if (!grads[i] || !on_path.count(op.get())) continue;
      // Integer and bool values carry no gradient.
      if (!is_floating(op->type.dtype)) continue;
      if (grads[i]->type() != op->type)
        throw Error(std::string(what) + ": the vjp of " + describe(*n) + " gave " +
                    grads[i]->type().str() + " for operand " + std::to_string(i) + " of type " +
                    op->type.str() + "; the rule (or registered custom vjp) is wrong");
      auto [slot, fresh] = cotangents.emplace(op.get(), *grads[i]);
      if (!fresh) slot->second = slot->second + *grads[i];
    }
  }
  std::vector<Tensor> out;
  for (const Tensor& x : inputs) {
    auto found = cotangents.find(x.node().get());
    out.push_back(found != cotangents.end() ? found->second : zeros_like(x));
  }
  return out;
}

// The arguments named by argnums (all when empty).
std::vector<Tensor> pick(std::string_view what, const std::vector<Tensor>& xs,
                         const std::vector<int>& argnums) {
  if (argnums.empty()) return xs;
  std::vector<Tensor> out;
  for (int i : argnums) {
    if (i < 0 || i >= static_cast<int>(xs.size()))
      throw AxisError(std::string(what) + ": argnums names argument " + std::to_string(i) +
                      " but the function got " + std::to_string(xs.size()) + " arguments");
    out.push_back(xs[i]);
  }
  return out;
}

std::vector<Tensor> values(const Params& params) {
  std::vector<Tensor> xs;
  for (const auto& [name, t] : params) xs.push_back(t);
  return xs;
}

Params named(const Params& params, const std::vector<Tensor>& xs) {
  Params out;
  size_t i = 0;
  for (const auto& [name, t] : params) out.emplace(name, xs[i++]);
  return out;
}

}  // namespace

std::vector<Tensor> gradients(const Tensor& output, const std::vector<Tensor>& inputs,
                              const std::optional<Tensor>& cotangent) {
  return reverse("gradients", output, inputs, cotangent);
}

std::pair<Tensor, std::vector<Tensor>> vjp(const Function& f, const std::vector<Tensor>& primals,
                                           const Tensor& cotangent) {
  Tensor out = f(primals);
  return {out, reverse("vjp", out, primals, cotangent)};
}

std::pair<Tensor, Tensor> vjp(const UnaryFunction& f, const Tensor& primal,
                              const Tensor& cotangent) {
  Tensor out = f(primal);
  return {out, reverse("vjp", out, {primal}, cotangent)[0]};
}

std::pair<Tensor, Pullback> vjp(const Function& f, const std::vector<Tensor>& primals) {
  Tensor out = f(primals);
  return {out, [out, primals](const Tensor& cotangent) {
            return reverse("vjp", out, primals, cotangent);
          }};
}

std::pair<Tensor, Tensor> jvp(const Function& f, const std::vector<Tensor>& primals,
                              const std::vector<Tensor>& tangents) {
  if (tangents.size() != primals.size())
    throw InputError("jvp: " + std::to_string(tangents.size()) + " tangents for " +
                     std::to_string(primals.size()) + " primals; pass one tangent per primal");
  for (size_t i = 0; i < primals.size(); ++i)
    if (tangents[i].type() != primals[i].type())
      throw ShapeError("jvp: tangent " + std::to_string(i) + " is " + tangents[i].type().str() +
                       " but primal " + std::to_string(i) + " is " + primals[i].type().str() +
                       "; pass tangents of the primals' types");
  Tensor out = f(primals);
  // A fresh node standing for the cotangent: the vjp is linear in it, and its own gradient
  // is what we want. Its value (zeros) never matters.
  Tensor u = frontend::make(ir::OpKind::Reshape, {zeros_like(out)}, {}, out.type(), Loc::current());
  std::vector<Tensor> pulled = reverse("jvp", out, primals, u);
  std::optional<Tensor> inner;
  for (size_t i = 0; i < primals.size(); ++i) {
    Tensor term = sum(pulled[i] * tangents[i]);
    inner = inner ? *inner + term : term;
  }
  if (!inner) return {out, zeros_like(out)};
  return {out, reverse("jvp", *inner, {u}, std::nullopt)[0]};
}

std::pair<Tensor, Tensor> jvp(const UnaryFunction& f, const Tensor& primal, const Tensor& tangent) {
  return jvp([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, {primal}, {tangent});
}

std::function<std::vector<Tensor>(const std::vector<Tensor>&)> grad(Function f,
                                                                    std::vector<int> argnums) {
  return [f = std::move(f), argnums = std::move(argnums)](const std::vector<Tensor>& xs) {
    return reverse("grad", f(xs), pick("grad", xs, argnums), std::nullopt);
  };
}

UnaryFunction grad(UnaryFunction f) {
  return
      [f = std::move(f)](const Tensor& x) { return reverse("grad", f(x), {x}, std::nullopt)[0]; };
}

std::function<std::pair<Tensor, std::vector<Tensor>>(const std::vector<Tensor>&)> value_and_grad(
    Function f, std::vector<int> argnums) {
  return [f = std::move(f), argnums = std::move(argnums)](const std::vector<Tensor>& xs) {
    Tensor out = f(xs);
    return std::pair{
        out, reverse("value_and_grad", out, pick("value_and_grad", xs, argnums), std::nullopt)};
  };
}

std::function<std::pair<Tensor, Tensor>(const Tensor&)> value_and_grad(UnaryFunction f) {
  return [f = std::move(f)](const Tensor& x) {
    Tensor out = f(x);
    return std::pair{out, reverse("value_and_grad", out, {x}, std::nullopt)[0]};
  };
}

Params grad(const ParamsFunction& f, const Params& params) {
  return value_and_grad(f, params).second;
}

std::pair<Tensor, Params> value_and_grad(const ParamsFunction& f, const Params& params) {
  Tensor out = f(params);
  return {out, named(params, reverse("grad", out, values(params), std::nullopt))};
}

Tensor stop_gradient(const Tensor& x) {
  // An identity view: a node of its own to mark, which the graph passes remove.
  Tensor y = frontend::make(ir::OpKind::Reshape, {x}, {}, x.type(), Loc::current());
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.stopped.size() >= r.prune_at) {
    std::erase_if(r.stopped, [](const auto& entry) { return entry.second.expired(); });
    r.prune_at = std::max<size_t>(1024, 2 * r.stopped.size());
  }
  r.stopped[y.node().get()] = y.node();
  return y;
}

void register_custom_vjp(const std::string& kernel, CustomVjp vjp) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.custom_vjps[kernel] = std::move(vjp);
}

}  // namespace kiln
