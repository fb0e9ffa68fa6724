// Shrinking a failing graph to a small reproducer: given a graph, its inputs and a
// predicate that says whether a graph still fails (a device disagrees with the reference,
// throws, ...), shrink() tries smaller graphs and keeps each one that still fails, until no
// try helps:
//   - keep one result only;
//   - bypass a node (its users read an operand of the same type instead), or drop an
//     operand of a concat;
//   - replace a node by a new parameter whose input is the node's value on the reference
//     evaluator (so the rest of the graph computes what it did);
//   - shrink a dimension of the parameters of one shape to 1 or half, the types below
//     them inferred again (a try whose graph the verifier refuses is dropped), their
//     inputs cut to the kept block;
//   - turn a parameter into a constant of its input, so that the IR text alone reproduces.
// Nodes no result reads are dropped after every step. reproducer_text() prints the result
// as IR text (kiln-ir reads it) and the inputs of the parameters left.
// The random-graph differential test (tests/runtime/random_graph_differential_test.cpp)
// reports its failures through it; tests/runtime/shrink_test.cpp tests it on a planted
// disagreement.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/error.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "runtime/evaluator.h"

namespace kiln::testing {

struct Reproducer {
  ir::Graph graph;
  std::vector<BufferPtr> inputs;
};

// Whether `graph` on `inputs` still shows the failure. It must not throw.
using FailurePredicate = std::function<bool(const ir::Graph&, const std::vector<BufferPtr>&)>;

// The body nodes of a graph (not its parameters).
inline size_t body_size(const ir::Graph& g) { return g.nodes.size(); }

namespace shrink_detail {

using ir::NodePtr;
using NodeMap = std::unordered_map<const ir::Node*, NodePtr>;

// The attributes and declared type of `n` once its operands have `types`: the shape follows
// the operand where the op's declared shape did (casts, broadcasts of non-1 dimensions, a
// flattening reshape); a slice keeps its start (clamped) and step, and as many elements as
// fit.
inline std::pair<std::vector<ir::AttrValue>, Type> retyped(const ir::Node& n,
                                                           const std::vector<Type>& types) {
  std::vector<ir::AttrValue> attrs = n.attrs;
  Type t = n.type;
  if (types.empty()) return {attrs, t};
  const Shape& in = types[0].shape;
  switch (n.op) {
    case ir::OpKind::Cast: t.shape = in; break;
    case ir::OpKind::Broadcast:
      if (in.size() == t.shape.size())
        for (size_t d = 0; d < in.size(); ++d)
          if (in[d] != 1) t.shape[d] = in[d];
      break;
    case ir::OpKind::Reshape:
      if (t.shape.size() == 1) t.shape = {types[0].numel()};
      break;
    case ir::OpKind::Slice: {
      auto& start = std::get<std::vector<int64_t>>(attrs[0]);
      const auto& step = std::get<std::vector<int64_t>>(attrs[1]);
      for (size_t d = 0; d < in.size() && d < start.size(); ++d) {
        start[d] = std::clamp<int64_t>(start[d], 0, std::max<int64_t>(in[d] - 1, 0));
        const int64_t by = std::abs(step[d]);
        const int64_t left = in[d] == 0 ? 0 : step[d] > 0 ? in[d] - start[d] : start[d] + 1;
        t.shape[d] = std::min(t.shape[d], (left + by - 1) / by);
      }
      break;
    }
    default: break;
  }
  return {attrs, t};
}

// A copy of `r`'s graph with `replace` applied (a node mapped to another node: one of the
// graph, a new node made of the graph's, or a new parameter listed in `extra` with its
// input) and `results` as its results, keeping
// only what the results read; unread parameters go with their inputs. With `retype`, every
// copied node's type is inferred again from its operands' (throws VerifyError when the
// verifier refuses one).
inline Reproducer copy(const Reproducer& r, NodeMap replace, const std::vector<NodePtr>& results,
                       const std::vector<std::pair<NodePtr, BufferPtr>>& extra = {},
                       bool retype = false) {
  // What the results read, through the replacements.
  std::unordered_map<const ir::Node*, bool> live;
  std::vector<const ir::Node*> stack;
  auto mapped = [&](const NodePtr& n) -> NodePtr {
    auto it = replace.find(n.get());
    return it == replace.end() ? n : it->second;
  };
  for (const NodePtr& n : results) stack.push_back(mapped(n).get());
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    if (live[n]) continue;
    live[n] = true;
    for (const NodePtr& o : n->operands) stack.push_back(mapped(o).get());
  }
  Reproducer out;
  NodeMap made;  // old (or replacement) node -> its copy
  auto get = [&](const NodePtr& n) { return made.at(mapped(n).get()); };
  auto add_param = [&](const NodePtr& p, const BufferPtr& input) {
    if (!live[p.get()]) return;
    auto q = ir::make_node(ir::OpKind::Parameter, {}, {}, p->type);
    q->name = "p" + std::to_string(out.graph.params.size());
    out.graph.params.push_back(q);
    out.inputs.push_back(input);
    made[p.get()] = q;
  };
  for (size_t i = 0; i < r.graph.params.size(); ++i) add_param(r.graph.params[i], r.inputs[i]);
  for (const auto& [p, input] : extra) add_param(p, input);
  // The body in order; a node replaced by a new one (not a parameter) has it in its place,
  // a parameter replaced by a constant has it first.
  std::vector<NodePtr> order = r.graph.params;
  order.insert(order.end(), r.graph.nodes.begin(), r.graph.nodes.end());
  for (const NodePtr& old : order) {
    const NodePtr n = mapped(old);
    if (!live[n.get()] || made.count(n.get()) || n->op == ir::OpKind::Parameter) continue;
    std::vector<NodePtr> operands;
    for (const NodePtr& o : n->operands) operands.push_back(get(o));
    NodePtr c;
    if (n->op == ir::OpKind::Constant) {
      c = ir::make_constant(n->buffer);
    } else {
      std::vector<ir::AttrValue> attrs = n->attrs;
      Type t = n->type;
      if (retype) {
        std::vector<Type> types;
        for (const NodePtr& o : operands) types.push_back(o->type);
        auto [new_attrs, declared] = retyped(*n, types);
        attrs = std::move(new_attrs);
        t = ir::infer_type(n->op, types, attrs, declared);
      }
      c = ir::make_node(n->op, std::move(operands), std::move(attrs), t);
    }
    out.graph.nodes.push_back(c);
    made[n.get()] = c;
  }
  for (const NodePtr& n : results) out.graph.results.push_back(get(n));
  return out;
}

// The value of `n` on the reference evaluator, or nullptr when it does not define it.
inline BufferPtr reference_value(const Reproducer& r, const NodePtr& n) {
  Reproducer only = copy(r, {}, {n});
  try {
    return runtime::evaluate(only.graph, only.inputs)[0];
  } catch (const Error&) {
    return nullptr;
  }
}

// The block of `in` at the origin with shape `to` (each dimension at most in's).
inline BufferPtr cut(const Buffer& in, const Shape& to) {
  auto out = std::make_shared<Buffer>(Type{in.dtype(), to});
  const size_t size = dtype_size(in.dtype());
  const Shape& from = in.type().shape;
  std::vector<int64_t> index(to.size(), 0);
  for (int64_t i = 0; i < out->type().numel(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < to.size(); ++d) src = src * from[d] + index[d];
    std::memcpy(out->data() + static_cast<size_t>(i) * size,
                in.data() + static_cast<size_t>(src) * size, size);
    for (size_t d = to.size(); d-- > 0;)
      if (++index[d] < to[d])
        break;
      else
        index[d] = 0;
  }
  return out;
}

}  // namespace shrink_detail

// Shrinks `start` while `fails` holds, trying at most `budget` graphs.
inline Reproducer shrink(Reproducer start, const FailurePredicate& fails, int budget = 400) {
  using namespace shrink_detail;
  Reproducer best = copy(start, {}, start.graph.results);
  auto accept = [&](Reproducer&& r) {
    if (budget <= 0) return false;
    --budget;
    if (!fails(r.graph, r.inputs)) return false;
    best = std::move(r);
    return true;
  };
  // One pass of every kind of try; repeated while one helps.
  auto one_pass = [&]() {
    bool changed = false;
    for (size_t i = 0; best.graph.results.size() > 1 && i < best.graph.results.size(); ++i)
      if (accept(copy(best, {}, {best.graph.results[i]}))) {
        changed = true;
        break;
      }
    // Nodes from the results up: a replaced node takes what it reads with it.
    for (size_t k = best.graph.nodes.size(); k-- > 0;) {
      if (k >= best.graph.nodes.size()) continue;
      const NodePtr n = best.graph.nodes[k];
      bool done = false;
      for (const NodePtr& o : n->operands)
        if (!done && o->type == n->type)
          done = accept(copy(best, {{n.get(), o}}, best.graph.results));
      if (!done && n->op != ir::OpKind::Constant) {
        if (BufferPtr v = reference_value(best, n)) {
          auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, n->type);
          done = accept(copy(best, {{n.get(), p}}, best.graph.results, {{p, v}}));
        }
      }
      // A concat without one of its operands.
      for (size_t i = 0;
           !done && n->op == ir::OpKind::Concat && n->operands.size() > 1 && i < n->operands.size();
           ++i) {
        std::vector<NodePtr> fewer = n->operands;
        fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
        auto by = ir::make_node(n->op, fewer, n->attrs, n->type);
        try {
          done = accept(copy(best, {{n.get(), by}}, best.graph.results, {}, true));
        } catch (const VerifyError&) {
        }
      }
      changed |= done;
    }
    for (size_t i = 0; i < best.graph.params.size(); ++i) {
      const Shape shape = best.graph.params[i]->type.shape;
      for (size_t d = 0; d < shape.size(); ++d) {
        for (int64_t size : {int64_t{1}, shape[d] / 2}) {
          if (size < 1 || size >= shape[d]) continue;
          // Every parameter of this shape at once, as elementwise ops need.
          Shape smaller = shape;
          smaller[d] = size;
          NodeMap replace;
          std::vector<std::pair<NodePtr, BufferPtr>> extra;
          for (size_t j = 0; j < best.graph.params.size(); ++j) {
            const NodePtr& p = best.graph.params[j];
            if (p->type.shape != shape) continue;
            auto q = ir::make_node(ir::OpKind::Parameter, {}, {}, Type{p->type.dtype, smaller});
            replace[p.get()] = q;
            extra.emplace_back(q, cut(*best.inputs[j], smaller));
          }
          Reproducer r;
          try {
            r = copy(best, replace, best.graph.results, extra, true);
          } catch (const VerifyError&) {
            continue;
          }
          if (accept(std::move(r))) {
            changed = true;
            break;
          }
        }
      }
    }
    return changed;
  };
  while (budget > 0 && one_pass()) {
  }
  // Parameters into constants, last: the IR text then holds the inputs.
  for (size_t i = best.graph.params.size(); i-- > 0;) {
    if (i >= best.graph.params.size()) continue;
    const NodePtr p = best.graph.params[i];
    accept(copy(best, {{p.get(), ir::make_constant(best.inputs[i])}}, best.graph.results));
  }
  return best;
}

// The reproducer as IR text, then the inputs of its parameters (if any are left).
inline std::string reproducer_text(const Reproducer& r) {
  std::string out = ir::print_graph(r.graph);
  if (!r.graph.params.empty()) {
    out += "inputs:\n";
    for (size_t i = 0; i < r.graph.params.size(); ++i)
      out += "  %" + r.graph.params[i]->name + " = " + ir::print_dense(*r.inputs[i]) + "\n";
  }
  return out;
}

}  // namespace kiln::testing
