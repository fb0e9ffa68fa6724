// Graph extraction from live nodes, running on a device, and materializing the results.
#include "frontend/evaluate.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "runtime/device.h"

namespace kiln::frontend {

namespace {

bool inline_constant(const ir::Node& n) {
  return n.op == ir::OpKind::Constant && n.type.numel() <= kInlineConstantLimit;
}

// The graph of live nodes that evaluate() runs: small constants inline, every other value
// a parameter with its buffer as the input.
class Extractor {
 public:
  explicit Extractor(Extraction& out) : out_(out) {}

  ir::NodePtr copy_of(const ir::NodePtr& root) {
    return copy_history(
        root.get(), copies_, [this](const ir::Node& n) { return copy_value(n); },
        [this](const ir::Node& n, std::vector<ir::NodePtr> operands) {
          auto c = ir::make_node(n.op, std::move(operands), n.attrs, n.type, n.loc);
          out_.graph.nodes.push_back(c);
          return c;
        });
  }

 private:
  ir::NodePtr copy_value(const ir::Node& n) {
    if (inline_constant(n)) {
      auto c = ir::make_constant(n.buffer, n.loc);
      out_.graph.nodes.push_back(c);
      return c;
    }
    auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, n.type, n.loc);
    p->name = "arg" + std::to_string(out_.graph.params.size());
    out_.graph.params.push_back(p);
    out_.inputs.push_back(n.buffer);
    return p;
  }

  Extraction& out_;
  NodeCopies copies_;
};

// Releases nodes one at a time: a node this list holds the last reference to hands its
// operands to the list before it is destroyed, so no destructor recurses.
void release_all(std::vector<ir::NodePtr> pending) {
  while (!pending.empty()) {
    ir::NodePtr p = std::move(pending.back());
    pending.pop_back();
    if (p.use_count() == 1) {
      for (auto& o : p->operands) pending.push_back(std::move(o));
      p->operands.clear();
    }
  }
}

// Drops a node's history (its operands and everything only they kept alive).
void drop_history(ir::Node& node) {
  std::vector<ir::NodePtr> operands = std::move(node.operands);
  node.operands = {};
  release_all(std::move(operands));
}

// Destroys an extracted graph from its last node back, so that no destructor releases a
// long chain of operands recursively: every node still held is held by the list.
struct GraphRelease {
  ir::Graph& graph;
  ~GraphRelease() {
    graph.results.clear();
    while (!graph.nodes.empty()) graph.nodes.pop_back();
  }
};

void store_result(ir::Node& node, BufferPtr value) {
  node.op = ir::OpKind::Constant;
  node.attrs.clear();
  node.buffer = std::move(value);
  drop_history(node);
}

}  // namespace

ir::NodePtr copy_history(
    ir::Node* root, NodeCopies& copies,
    const std::function<ir::NodePtr(const ir::Node& value)>& copy_value,
    const std::function<ir::NodePtr(const ir::Node& op, std::vector<ir::NodePtr> operands)>&
        copy_op) {
  if (auto it = copies.find(root); it != copies.end()) return it->second;
  std::vector<std::pair<ir::Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (copies.count(node)) {
      stack.pop_back();
      continue;
    }
    const bool is_value = node->buffer != nullptr;
    if (!is_value && next < node->operands.size()) {
      ir::Node* operand = node->operands[next++].get();
      if (!copies.count(operand)) stack.push_back({operand, 0});
      continue;
    }
    if (is_value) {
      copies[node] = copy_value(*node);
    } else {
      std::vector<ir::NodePtr> operands;
      operands.reserve(node->operands.size());
      for (const auto& o : node->operands) operands.push_back(copies.at(o.get()));
      copies[node] = copy_op(*node, std::move(operands));
    }
    stack.pop_back();
  }
  return copies.at(root);
}

void release_chain(ir::NodePtr node) {
  std::vector<ir::NodePtr> pending;
  pending.push_back(std::move(node));
  release_all(std::move(pending));
}

Extraction extract_graph(const std::vector<ir::NodePtr>& roots, bool skip_evaluated) {
  Extraction out;
  Extractor extractor(out);
  std::unordered_set<const ir::Node*> seen;
  for (const auto& root : roots) {
    if (skip_evaluated && root->buffer) continue;
    if (!seen.insert(root.get()).second) continue;
    out.graph.results.push_back(extractor.copy_of(root));
    out.targets.push_back(root);
  }
  return out;
}

void evaluate(const std::vector<Tensor>& tensors, const std::shared_ptr<runtime::Device>& device) {
  std::vector<ir::NodePtr> roots;
  roots.reserve(tensors.size());
  for (const Tensor& t : tensors) roots.push_back(t.node());
  Extraction ex = extract_graph(roots, /*skip_evaluated=*/true);
  GraphRelease release{ex.graph};
  if (ex.targets.empty()) return;
  if (!device) throw DeviceError("eval: no device to run on; pass one or set a default");
  // The driver runs it on the device (runtime/driver.h).
  std::vector<BufferPtr> results = device->run(ex.graph, ex.inputs);
  if (results.size() != ex.targets.size())
    throw DeviceError("eval: device " + device->name() + " returned " +
                      std::to_string(results.size()) + " results for a graph of " +
                      std::to_string(ex.targets.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    const Type& want = ex.targets[i]->type;
    if (!results[i] || results[i]->type() != want)
      throw DeviceError("eval: device " + device->name() + " returned " +
                        (results[i] ? results[i]->type().str() : std::string("no buffer")) +
                        " for result " + std::to_string(i) + " of type " + want.str());
  }
  for (size_t i = 0; i < results.size(); ++i) store_result(*ex.targets[i], results[i]);
}

}  // namespace kiln::frontend
