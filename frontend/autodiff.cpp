// Reverse-mode autodiff over the lazy graph (frontend/kiln/autodiff.h). The graph of an
// output is walked once, iteratively (graphs can be a million nodes deep), from the output
// back to the requested inputs; each node's cotangent is the sum of what its users' rules
// (frontend/autodiff_rules.cpp) send it. The result is a new lazy graph over the same
// nodes. jvp is the transpose of vjp: vjp is linear in its cotangent, so differentiating
// <vjp(u), v> with respect to u gives J v. A checkpoint's output is differentiated by
// calling its function again on its inputs seen through optimization_barrier nodes and
// differentiating that copy, so the backward graph reads none of the first call's
// intermediate values. Tests: tests/autodiff/.
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

// A checkpoint's output, optimization_barrier(f(inputs), inputs...): the node and f. The
// node's operands keep the inputs for as long as it lives.
struct Checkpoint {
  std::weak_ptr<ir::Node> node;
  Function f;
};

// Nodes made by stop_gradient and checkpoint, checked by identity (the weak pointer tells a
// live node from a new one at a reused address), and the registered vjps of custom kernels.
struct Registry {
  std::mutex mutex;
  std::unordered_map<const ir::Node*, std::weak_ptr<ir::Node>> stopped;
  std::unordered_map<const ir::Node*, Checkpoint> checkpoints;
  size_t prune_at = 1024;
  std::unordered_map<std::string, CustomVjp> custom_vjps;
};

Registry& registry() {
  static Registry r;
  return r;
}

const std::weak_ptr<ir::Node>& node_of(const std::weak_ptr<ir::Node>& n) { return n; }
const std::weak_ptr<ir::Node>& node_of(const Checkpoint& c) { return c.node; }

// Records `entry` for `node` in one of the registry's maps (under its lock), first dropping
// the entries of dead nodes when the maps have grown.
template <class Entry>
void remember(std::unordered_map<const ir::Node*, Entry>& map, const ir::NodePtr& node,
              Entry entry) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.stopped.size() + r.checkpoints.size() >= r.prune_at) {
    auto dead = [](const auto& e) { return node_of(e.second).expired(); };
    std::erase_if(r.stopped, dead);
    std::erase_if(r.checkpoints, dead);
    r.prune_at = std::max<size_t>(1024, 2 * (r.stopped.size() + r.checkpoints.size()));
  }
  map.insert_or_assign(node.get(), std::move(entry));
}

bool is_stopped(const ir::NodePtr& n) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.stopped.find(n.get());
  return it != r.stopped.end() && it->second.lock() == n;
}

std::optional<Checkpoint> checkpoint_of(const ir::NodePtr& n) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.checkpoints.find(n.get());
  if (it == r.checkpoints.end() || it->second.node.lock() != n) return std::nullopt;
  return it->second;
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

using CotangentMap = std::unordered_map<const ir::Node*, Tensor>;

CotangentMap pull_back(std::string_view what, const Tensor& output, const Tensor& seed,
                       const std::vector<Tensor>& inputs);

// The cotangents a checkpoint sends for its output's cotangent g: its function is called
// again on its inputs seen through optimization_barrier(x, g, after...), whose values the
// graph passes never merge with x's, and that copy is differentiated. The barriers come
// after g and after `after` (what the checkpoint before it in the backward pass sent), so
// the copy is computed when the backward pass reaches it, not with the first call, and
// once the values of the region after it are dead (the scheduler runs kernels in the
// graph's order where dependencies allow). The copy's input cotangents go to the inputs;
// tensors the function reads without taking them as inputs (captured ones) get theirs
// directly, for the requested `leaves`.
std::vector<std::pair<ir::NodePtr, Tensor>> recompute(std::string_view what, const Checkpoint& c,
                                                      const ir::Node& mark, const Tensor& g,
                                                      const std::vector<Tensor>& after,
                                                      const std::vector<Tensor>& leaves) {
  std::vector<ir::NodePtr> inputs(mark.operands.begin() + 1, mark.operands.end());
  std::vector<Tensor> again;
  for (const ir::NodePtr& x : inputs) {
    std::vector<Tensor> ordered{Tensor(x), g};
    for (const Tensor& t : after)
      if (t.node() != g.node()) ordered.push_back(t);
    again.push_back(
        frontend::make(ir::OpKind::OptimizationBarrier, ordered, {}, x->type, Loc::current()));
  }
  Tensor out = c.f(again);
  if (out.type() != g.type())
    throw Error(std::string(what) + ": the checkpointed function returned " + out.type().str() +
                " when called again on the same inputs, " + g.type().str() +
                " the first time; it must compute the same thing every time");
  std::vector<Tensor> wrt;
  std::vector<ir::NodePtr> to;
  for (size_t i = 0; i < again.size(); ++i)
    if (is_inexact(again[i].dtype())) {
      wrt.push_back(again[i]);
      to.push_back(inputs[i]);
    }
  for (const Tensor& x : leaves) {
    wrt.push_back(x);
    to.push_back(x.node());
  }
  CotangentMap got = pull_back(what, out, g, wrt);
  std::vector<std::pair<ir::NodePtr, Tensor>> sent;
  for (size_t i = 0; i < wrt.size(); ++i)
    if (auto it = got.find(wrt[i].node().get()); it != got.end())
      sent.emplace_back(to[i], it->second);
  return sent;
}

// The cotangents of the `inputs` (distinct nodes) that `output` reaches, for its cotangent
// `seed`.
CotangentMap pull_back(std::string_view what, const Tensor& output, const Tensor& seed,
                       const std::vector<Tensor>& inputs) {
  std::unordered_set<const ir::Node*> leaves;
  for (const Tensor& x : inputs) leaves.insert(x.node().get());
  std::vector<PathNode> order = nodes_between(output.node(), leaves);
  std::unordered_set<const ir::Node*> on_path;
  for (const auto& p : order) on_path.insert(p.live.get());

  CotangentMap cotangents;
  if (on_path.count(output.node().get())) cotangents.emplace(output.node().get(), seed);
  // Adds a cotangent sent to `op` by `n` (as its operand `index`, or -1 from a checkpoint).
  auto send = [&](const ir::Node& n, const ir::NodePtr& op, int index, const Tensor& grad) {
    // Integer and bool values carry no gradient.
    if (!on_path.count(op.get()) || !is_inexact(op->type.dtype)) return;
    if (grad.type() != op->type)
      throw Error(std::string(what) + ": the vjp of " + describe(n) + " gave " + grad.type().str() +
                  (index >= 0 ? " for operand " + std::to_string(index) : " for an input") +
                  " of type " + op->type.str() + "; the rule (or registered custom vjp) is wrong");
    auto [slot, fresh] = cotangents.emplace(op.get(), grad);
    if (!fresh) slot->second = slot->second + grad;
  };
  std::vector<Tensor> last_sent;  // by the last checkpoint met
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ir::Node* n = it->copy.get();
    if (leaves.count(it->live.get())) continue;
    auto found = cotangents.find(it->live.get());
    if (found == cotangents.end()) continue;
    Tensor g = found->second;
    cotangents.erase(found);  // the users are all done: release it
    if (auto c = checkpoint_of(it->live)) {
      auto sent = recompute(what, *c, *n, g, last_sent, inputs);
      last_sent.clear();
      for (auto& [op, grad] : sent) {
        send(*n, op, -1, grad);
        last_sent.push_back(grad);
      }
      continue;
    }
    for (const auto& op : n->operands)
      if (on_path.count(op.get()) && is_complex(op->type.dtype) && !frontend::complex_rule(n->op))
        throw UnsupportedError(std::string(what) + ": cannot differentiate through " +
                               describe(*n) +
                               " with a complex operand; complex values have gradients only "
                               "through fft, rfft, irfft, complex, real, imag, conj, +, -, *, "
                               "sums and views; differentiate a real function of real inputs, or "
                               "wrap the value in stop_gradient");
    frontend::Cotangents grads = [&] {
      frontend::LocationScope at(n->loc);
      return node_vjp(what, *it, g);
    }();
    for (size_t i = 0; i < grads.size(); ++i)
      if (grads[i]) send(*n, n->operands[i], static_cast<int>(i), *grads[i]);
  }
  CotangentMap out;
  for (const Tensor& x : inputs)
    if (auto found = cotangents.find(x.node().get()); found != cotangents.end())
      out.emplace(x.node().get(), found->second);
  return out;
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

  // Each distinct input once (the same tensor may be passed twice).
  std::vector<Tensor> distinct;
  std::unordered_set<const ir::Node*> seen;
  for (const Tensor& x : inputs)
    if (seen.insert(x.node().get()).second) distinct.push_back(x);
  CotangentMap cotangents = pull_back(what, output, seed, distinct);
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
  remember(registry().stopped, y.node(), std::weak_ptr<ir::Node>(y.node()));
  return y;
}

Function checkpoint(Function f) {
  return [f = std::move(f)](const std::vector<Tensor>& inputs) {
    Tensor out = f(inputs);
    // The output, marked: a node of its own that holds the inputs for the second call.
    std::vector<Tensor> operands{out};
    operands.insert(operands.end(), inputs.begin(), inputs.end());
    Tensor y =
        frontend::make(ir::OpKind::OptimizationBarrier, operands, {}, out.type(), Loc::current());
    remember(registry().checkpoints, y.node(), Checkpoint{y.node(), f});
    return y;
  };
}

UnaryFunction checkpoint(UnaryFunction f) {
  Function whole =
      checkpoint([f = std::move(f)](const std::vector<Tensor>& xs) { return f(xs[0]); });
  return [whole = std::move(whole)](const Tensor& x) { return whole({x}); };
}

void register_custom_vjp(const std::string& kernel, CustomVjp vjp) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.custom_vjps[kernel] = std::move(vjp);
}

}  // namespace kiln
