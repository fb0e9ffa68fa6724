// Cutting graphs around custom kernels, and the process's custom kernel runner.
#include "runtime/custom_kernel.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "ir/error.h"
#include "runtime/device.h"

namespace kiln::runtime {

namespace {

using ir::Node;
using ir::NodePtr;

std::mutex& runner_mutex() {
  static std::mutex m;
  return m;
}
CustomKernelRunner& runner_slot() {
  static CustomKernelRunner r;
  return r;
}

bool is_custom(const Node& n) { return n.op == ir::OpKind::Custom; }

// What identifies one launch: every attribute but the output number, and the operands.
struct LaunchKey {
  std::vector<ir::AttrValue> attrs;
  std::vector<const Node*> operands;
  bool operator<(const LaunchKey& o) const {
    return std::tie(operands, attrs) < std::tie(o.operands, o.attrs);
  }
};

LaunchKey key_of(const Node& n) {
  LaunchKey k;
  k.attrs = n.attrs;
  const auto& specs = n.info().attrs;
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == "output") k.attrs[i] = int64_t{0};
  for (const auto& o : n.operands) k.operands.push_back(o.get());
  return k;
}

// A graph computing `roots` where the nodes in `known` are parameters with those values.
struct Segment {
  ir::Graph graph;
  std::vector<BufferPtr> inputs;
};

Segment extract(const ir::Graph& g, const std::vector<const Node*>& roots,
                const std::unordered_map<const Node*, BufferPtr>& known) {
  std::unordered_set<const Node*> needed;
  std::vector<const Node*> stack(roots.begin(), roots.end());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!needed.insert(n).second || known.count(n)) continue;
    for (const auto& o : n->operands) stack.push_back(o.get());
  }
  Segment s;
  std::unordered_map<const Node*, NodePtr> copy;
  auto value_of = [&](const Node* n) -> NodePtr {
    if (auto it = copy.find(n); it != copy.end()) return it->second;
    auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, n->type, n->loc);
    p->name = "v" + std::to_string(s.graph.params.size());
    s.graph.params.push_back(p);
    s.inputs.push_back(known.at(n));
    copy[n] = p;
    return p;
  };
  auto visit = [&](const NodePtr& n) {
    if (!needed.count(n.get()) || copy.count(n.get())) return;
    if (known.count(n.get())) {
      value_of(n.get());
      return;
    }
    if (n->op == ir::OpKind::Constant) {
      auto c = ir::make_constant(n->buffer, n->loc);
      s.graph.nodes.push_back(c);
      copy[n.get()] = c;
      return;
    }
    std::vector<NodePtr> operands;
    for (const auto& o : n->operands)
      operands.push_back(copy.count(o.get()) ? copy.at(o.get()) : value_of(o.get()));
    auto c = ir::make_node(n->op, std::move(operands), n->attrs, n->type, n->loc);
    s.graph.nodes.push_back(c);
    copy[n.get()] = c;
  };
  for (const NodePtr& p : g.params) visit(p);
  for (const NodePtr& n : g.nodes) visit(n);
  for (const Node* r : roots) s.graph.results.push_back(copy.count(r) ? copy.at(r) : value_of(r));
  s.graph.name = g.name;
  return s;
}

}  // namespace

void set_custom_kernel_runner(CustomKernelRunner runner) {
  std::lock_guard lock(runner_mutex());
  runner_slot() = std::move(runner);
}

std::vector<BufferPtr> run_custom_kernel(const Node& node, const std::vector<BufferPtr>& operands) {
  available_devices();  // registers the built-in backends, which install the runner
  CustomKernelRunner r;
  {
    std::lock_guard lock(runner_mutex());
    r = runner_slot();
  }
  const std::string name = node.attrs.empty() ? "?" : node.attr_str("name");
  if (!r)
    throw UnsupportedError("custom kernel '" + name +
                           "' needs an OpenCL device, and this kiln was built without OpenCL "
                           "(cmake -DKILN_WITH_OPENCL=ON with an ICD loader: Debian package "
                           "ocl-icd-opencl-dev; on the CPU install PoCL: pocl-opencl-icd)");
  return r(node, operands);
}

bool has_custom_kernels(const ir::Graph& graph) {
  for (const NodePtr& n : graph.nodes)
    if (is_custom(*n)) return true;
  return false;
}

std::vector<BufferPtr> run_with_custom_kernels(const ir::Graph& g,
                                               const std::vector<BufferPtr>& inputs,
                                               const SegmentRunner& segment,
                                               const CustomKernelRunner& kernel) {
  std::unordered_map<const Node*, BufferPtr> known;
  for (size_t i = 0; i < g.params.size(); ++i) known[g.params[i].get()] = inputs[i];
  for (;;) {
    // Custom kernels still to run, and what depends on them.
    std::unordered_set<const Node*> blocked;
    std::vector<const Node*> ready;
    for (const NodePtr& n : g.nodes) {
      if (known.count(n.get())) continue;
      bool after = false;
      for (const auto& o : n->operands) after = after || blocked.count(o.get());
      if (is_custom(*n) && !after) ready.push_back(n.get());
      if (is_custom(*n) || after) blocked.insert(n.get());
    }
    if (ready.empty()) break;
    // Their inputs, computed together.
    std::vector<const Node*> roots;
    std::unordered_set<const Node*> seen;
    for (const Node* c : ready)
      for (const auto& o : c->operands)
        if (!known.count(o.get()) && o->op != ir::OpKind::Constant && seen.insert(o.get()).second)
          roots.push_back(o.get());
    if (!roots.empty()) {
      Segment s = extract(g, roots, known);
      std::vector<BufferPtr> values = segment(s.graph, s.inputs);
      for (size_t i = 0; i < roots.size(); ++i) known[roots[i]] = values.at(i);
    }
    // Each kernel once, for all of its output nodes.
    std::map<LaunchKey, std::vector<const Node*>> launches;
    for (const Node* c : ready) launches[key_of(*c)].push_back(c);
    for (const auto& [key, nodes] : launches) {
      std::vector<BufferPtr> operands;
      for (const auto& o : nodes[0]->operands)
        operands.push_back(o->op == ir::OpKind::Constant ? o->buffer : known.at(o.get()));
      std::vector<BufferPtr> outputs = kernel(*nodes[0], operands);
      for (const Node* n : nodes) known[n] = outputs.at(static_cast<size_t>(n->attr_i64("output")));
    }
  }
  // The rest of the graph.
  std::vector<const Node*> roots;
  for (const NodePtr& r : g.results) roots.push_back(r.get());
  Segment s = extract(g, roots, known);
  return segment(s.graph, s.inputs);
}

}  // namespace kiln::runtime
