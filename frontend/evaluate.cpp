// Graph extraction from live nodes, running on a device, and materializing the results.
#include "frontend/evaluate.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "ir/hash.h"
#include "ir/node_index.h"
#include "runtime/device.h"
#include "runtime/driver.h"

namespace kiln::frontend {

namespace {

// What every thread shares about live nodes (see evaluate.h).
struct LiveNodes {
  // Held exclusively to turn nodes into values and to claim or release them, shared by
  // walks over live nodes.
  std::shared_mutex mutex;
  // The nodes some evaluate() has claimed and is computing: as many as the roots of the
  // evaluations running at the moment, so a plain list (which allocates nothing once warm)
  // beats a hash set.
  std::vector<const ir::Node*> in_flight;
  bool claimed(const ir::Node* n) const {
    return std::find(in_flight.begin(), in_flight.end(), n) != in_flight.end();
  }
  // Evaluations waiting for claimed nodes, and their wake-up when claims end.
  int waiters = 0;
  std::condition_variable_any settled;
};

LiveNodes& live() {
  // Never destroyed: tensors in static storage may be released after it would be.
  static auto* nodes = new LiveNodes;
  return *nodes;
}

// A value still in a device's memory is an input instead: inlining would read it back.
bool inline_constant(const ir::Node& n) {
  return n.op == ir::OpKind::Constant && n.type.numel() <= kInlineConstantLimit &&
         (!n.buffer || n.buffer->on_host());
}

// Visits every node of root's history that is not `seen` yet, operands first and without
// recursion (histories can be long chains), on `stack`; nodes that hold a value are not
// looked into. `visit` makes its node seen.
template <class Seen, class Visit>
void walk_history(const ir::Node* root, std::vector<std::pair<const ir::Node*, size_t>>& stack,
                  const Seen& seen, const Visit& visit) {
  stack.assign(1, {root, 0});
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (seen(node)) {
      stack.pop_back();
      continue;
    }
    if (!node->buffer && next < node->operands.size()) {
      const ir::Node* operand = node->operands[next++].get();
      if (!seen(operand)) stack.push_back({operand, 0});
      continue;
    }
    const ir::Node& done = *node;
    stack.pop_back();
    visit(done);
  }
}

// The history of some roots in the order extraction copies it, as plain pointers to live
// nodes (valid under a HistoryReadLock): the values that become parameters, the body
// (inline constants and ops, operands first) and the roots. The plan cache's key is
// hashed from it before anything is copied.
struct History {
  static constexpr uint32_t kBody = uint32_t{1} << 31;  // positions of body nodes
  std::vector<const ir::Node*> params, nodes, results;
  ir::NodeIndex positions;  // params[i] -> i, nodes[j] -> kBody | j
  std::vector<std::pair<const ir::Node*, size_t>> stack;

  // Every node computing `roots` that is not in the history yet (walk_history's order).
  // Roots given twice are results once; with skip_evaluated, roots holding a value are none.
  void add(const std::vector<ir::NodePtr>& roots, bool skip_evaluated) {
    for (const ir::NodePtr& root : roots) {
      if (skip_evaluated && root->buffer) continue;
      if (std::find(results.begin(), results.end(), root.get()) != results.end()) continue;
      walk(root.get());
      results.push_back(root.get());
    }
  }
  uint64_t hash() const { return ir::structural_hash(params, nodes, results); }
  void clear() {
    params.clear();
    nodes.clear();
    results.clear();
    positions.clear();
  }

 private:
  void walk(const ir::Node* root) {
    walk_history(
        root, stack, [this](const ir::Node* n) { return positions.contains(n); },
        [this](const ir::Node& n) {
          if (n.buffer && !inline_constant(n)) {
            positions.insert(&n, static_cast<uint32_t>(params.size()));
            params.push_back(&n);
          } else {
            positions.insert(&n, kBody | static_cast<uint32_t>(nodes.size()));
            nodes.push_back(&n);
          }
        });
  }
};

// This thread's history, reused by every eval: warm, a walk allocates nothing. Used only
// under a HistoryReadLock and cleared before each use.
History& scratch_history() {
  thread_local History history;
  history.clear();
  return history;
}

// Copies `h` into `out`: small constants inline, every other value a parameter with its
// buffer as the input. The copies are new nodes: passes may rewrite them without touching
// the user's tensors.
void extract_history(const History& h, Extraction& out) {
  std::vector<ir::NodePtr> params, nodes;
  params.reserve(h.params.size());
  nodes.reserve(h.nodes.size());
  for (const ir::Node* n : h.params) {
    auto p = ir::make_node(ir::OpKind::Parameter, {}, {}, n->type, n->loc);
    p->name = "arg" + std::to_string(params.size());
    params.push_back(p);
    out.inputs.push_back(n->buffer);
  }
  auto copy_of = [&](const ir::Node* n) {
    const uint32_t at = h.positions.find(n);
    return at & History::kBody ? nodes[at & ~History::kBody] : params[at];
  };
  for (const ir::Node* n : h.nodes) {
    if (n->buffer) {
      nodes.push_back(ir::make_constant(n->buffer, n->loc));
      continue;
    }
    std::vector<ir::NodePtr> operands;
    operands.reserve(n->operands.size());
    for (const ir::NodePtr& o : n->operands) operands.push_back(copy_of(o.get()));
    nodes.push_back(ir::make_node(n->op, std::move(operands), n->attrs, n->type, n->loc));
  }
  for (const ir::Node* r : h.results) out.graph.results.push_back(copy_of(r));
  out.graph.params = std::move(params);
  out.graph.nodes = std::move(nodes);
}

// Releases nodes one at a time: a node this list holds the last reference to hands its
// operands to the list before it is destroyed, so no destructor recurses. Under a
// HistoryReadLock: a node seen with no other owner may have been rewritten by another
// thread's evaluate() just before that thread let go of it, and the lock orders that
// rewrite before this read.
void release_all(std::vector<ir::NodePtr> pending) {
  HistoryReadLock lock;
  while (!pending.empty()) {
    ir::NodePtr p = std::move(pending.back());
    pending.pop_back();
    if (p.use_count() == 1) {
      for (auto& o : p->operands) pending.push_back(std::move(o));
      p->operands.clear();
    }
  }
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

// The roots one evaluate() computes itself, claimed in LiveNodes::in_flight until their
// values are stored or their evaluation failed, and the roots that other evaluations are
// computing. An evaluation never waits while it holds claims (it computes its own first),
// so waits cannot form a cycle.
class Claim {
 public:
  explicit Claim(const std::vector<ir::NodePtr>& roots) {
    LiveNodes& l = live();
    std::unique_lock lock(l.mutex);
    for (const ir::NodePtr& root : roots) {
      if (root->buffer) continue;
      if (l.claimed(root.get())) {
        others.push_back(root);
      } else {
        l.in_flight.push_back(root.get());
        mine.push_back(root);
      }
    }
  }
  // A claim still held here is of a failed evaluation: its nodes stay lazy, and a waiter
  // computes them.
  ~Claim() {
    if (mine.empty()) return;
    std::unique_lock lock(live().mutex);
    end_locked();
  }
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;

  // Stores results[i] as the value of mine[i] and ends the claims, in one exclusive
  // section: a reader sees each node lazy with all of its operands, or as a value. The
  // histories are released after it.
  void store(const std::vector<BufferPtr>& results) {
    std::vector<ir::NodePtr> dropped;
    {
      std::unique_lock lock(live().mutex);
      for (size_t i = 0; i < mine.size(); ++i) {
        ir::Node& node = *mine[i];
        node.op = ir::OpKind::Constant;
        node.attrs.clear();
        node.buffer = results[i];
        for (ir::NodePtr& operand : node.operands) dropped.push_back(std::move(operand));
        node.operands = {};
      }
      end_locked();
    }
    if (!dropped.empty()) release_all(std::move(dropped));
  }

  // Waits until no evaluation holds a claim on any of `others` (each now holds its value,
  // or its evaluation failed).
  void wait_for_others() const {
    LiveNodes& l = live();
    std::unique_lock lock(l.mutex);
    ++l.waiters;
    l.settled.wait(lock, [&] {
      for (const ir::NodePtr& n : others)
        if (l.claimed(n.get())) return false;
      return true;
    });
    --l.waiters;
  }

  std::vector<ir::NodePtr> mine, others;

 private:
  void end_locked() {
    LiveNodes& l = live();
    for (const ir::NodePtr& n : mine)
      l.in_flight.erase(std::find(l.in_flight.begin(), l.in_flight.end(), n.get()));
    mine.clear();
    if (l.waiters > 0) l.settled.notify_all();
  }
};

// Computes the claimed roots on `device` and stores their values. A history whose graph
// the device has a plan for runs without being copied.
void compute(Claim& claim, const std::shared_ptr<runtime::Device>& device) {
  if (!device) throw DeviceError("eval: no device to run on; pass one or set a default");
  Extraction ex;
  std::shared_ptr<const runtime::CompiledGraph> plan;
  {
    HistoryReadLock lock;
    History& h = scratch_history();
    h.add(claim.mine, /*skip_evaluated=*/false);
    // A device that interprets graphs has no plans to find.
    if (!device->interprets()) plan = device->plans().find(h.hash());
    if (plan) {
      ex.inputs.reserve(h.params.size());
      for (const ir::Node* p : h.params) ex.inputs.push_back(p->buffer);
    } else {
      extract_history(h, ex);
    }
  }
  GraphRelease release{ex.graph};
  // The driver runs it on the device (runtime/driver.h).
  std::vector<BufferPtr> results =
      plan ? runtime::run_plan(*device, plan, ex.inputs) : device->run(ex.graph, ex.inputs);
  if (results.size() != claim.mine.size())
    throw DeviceError("eval: device " + device->name() + " returned " +
                      std::to_string(results.size()) + " results for a graph of " +
                      std::to_string(claim.mine.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    const Type& want = claim.mine[i]->type;
    if (!results[i] || results[i]->type() != want)
      throw DeviceError("eval: device " + device->name() + " returned " +
                        (results[i] ? results[i]->type().str() : std::string("no buffer")) +
                        " for result " + std::to_string(i) + " of type " + want.str());
  }
  claim.store(results);
}

}  // namespace

HistoryReadLock::HistoryReadLock() : lock_(live().mutex) {}

bool holds_value(const ir::Node& node) {
  HistoryReadLock lock;
  return node.buffer != nullptr;
}

ir::NodePtr copy_history(
    ir::Node* root, NodeCopies& copies,
    const std::function<ir::NodePtr(const ir::Node& value)>& copy_value,
    const std::function<ir::NodePtr(const ir::Node& op, std::vector<ir::NodePtr> operands)>&
        copy_op) {
  if (auto it = copies.find(root); it != copies.end()) return it->second;
  std::vector<std::pair<const ir::Node*, size_t>> stack;
  walk_history(
      root, stack, [&](const ir::Node* n) { return copies.count(n) > 0; },
      [&](const ir::Node& n) {
        if (n.buffer) {
          copies[&n] = copy_value(n);
          return;
        }
        std::vector<ir::NodePtr> operands;
        operands.reserve(n.operands.size());
        for (const auto& o : n.operands) operands.push_back(copies.at(o.get()));
        copies[&n] = copy_op(n, std::move(operands));
      });
  return copies.at(root);
}

void release_chain(ir::NodePtr node) {
  {
    // Values and constants (most last handles, after an eval) have nothing to walk.
    HistoryReadLock lock;
    if (node->operands.empty()) return;
  }
  std::vector<ir::NodePtr> pending;
  pending.push_back(std::move(node));
  release_all(std::move(pending));
}

Extraction extract_graph(const std::vector<ir::NodePtr>& roots, bool skip_evaluated) {
  HistoryReadLock lock;
  History& h = scratch_history();
  h.add(roots, skip_evaluated);
  Extraction out;
  extract_history(h, out);
  for (const ir::NodePtr& root : roots)
    if (std::find(h.results.begin(), h.results.end(), root.get()) != h.results.end() &&
        std::find(out.targets.begin(), out.targets.end(), root) == out.targets.end())
      out.targets.push_back(root);
  return out;
}

uint64_t plan_key(const std::vector<ir::NodePtr>& roots) {
  HistoryReadLock lock;
  History& h = scratch_history();
  h.add(roots, /*skip_evaluated=*/false);
  return h.hash();
}

void evaluate(const std::vector<Tensor>& tensors, const std::shared_ptr<runtime::Device>& device) {
  std::vector<ir::NodePtr> roots;
  roots.reserve(tensors.size());
  for (const Tensor& t : tensors) roots.push_back(t.node());
  for (;;) {
    Claim claim(roots);
    if (!claim.mine.empty()) compute(claim, device);
    if (claim.others.empty()) return;
    // Values that other threads are computing: wait for them, then take up any whose
    // evaluation failed.
    claim.wait_for_others();
    roots = claim.others;
  }
}

}  // namespace kiln::frontend
