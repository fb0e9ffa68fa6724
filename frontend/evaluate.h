// Turning live lazy tensors into an ir::Graph, running it on a device, and storing the
// results back on their nodes (which then drop their history). The public syncs in
// sync.cpp count the sync first and then call evaluate().
//
// Threads (docs/threads.md): live nodes are shared between threads, and a node turns from
// lazy into a value under one process-wide lock. evaluate() rewrites nodes holding it
// exclusively, only for an instant; every walk over live nodes (extract_graph, and the
// callers of copy_history) holds a HistoryReadLock, so it sees each node either lazy with
// all of its operands or as a value, never in between. A node is computed by one
// evaluate() at a time: another that wants it waits for that one. Tests:
// tests/frontend/threads_test.cpp, tests/runtime/threads_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <functional>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace kiln::frontend {

// Constants with at most this many elements stay inline in extracted graphs; larger ones
// (and every evaluated value above the limit, or still in a device's memory) become
// parameters.
inline constexpr int64_t kInlineConstantLimit = 16;

// A graph extracted from live nodes, with what running it needs.
struct Extraction {
  ir::Graph graph;
  std::vector<BufferPtr> inputs;     // one per graph.params, in order
  std::vector<ir::NodePtr> targets;  // the live node behind each graph result
};

// Holds the lock of live nodes shared while it lives: no node reachable from a live tensor
// turns into a value meanwhile, so a walk may follow operands by plain pointers. Walks are
// short (no device work under it); evaluate() takes the lock exclusively only to store.
class HistoryReadLock {
 public:
  HistoryReadLock();

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// Extracts the graph computing `roots` (under a HistoryReadLock of its own). With
// skip_evaluated, roots that already hold a value are left out of the results (there is
// nothing to compute for them). The graph's nodes are copies: passes may rewrite them
// without touching the user's tensors.
Extraction extract_graph(const std::vector<ir::NodePtr>& roots, bool skip_evaluated);

// The plan cache's key (ir/structural_hash) of the graph extract_graph(roots, false) would
// copy, computed over the live nodes without copying them (under a HistoryReadLock of its
// own): what evaluate() looks a device's plan up by.
uint64_t plan_key(const std::vector<ir::NodePtr>& roots);

// Live nodes already copied into a graph being built, and their copies.
using NodeCopies = std::unordered_map<const ir::Node*, ir::NodePtr>;

// Copies the history of `root` into a graph, operands first and without recursion (histories
// can be long chains). Nodes that hold a value (constants, evaluated nodes) are not looked
// into: `copy_value` makes their stand-in; every other node goes to `copy_op` with its
// operands' copies. Nodes already in `copies` are taken as they are; every new copy is
// added. Returns the copy of `root`. The caller holds a HistoryReadLock for as long as
// `copies` is used: its keys are plain pointers to live nodes.
ir::NodePtr copy_history(
    ir::Node* root, NodeCopies& copies,
    const std::function<ir::NodePtr(const ir::Node& value)>& copy_value,
    const std::function<ir::NodePtr(const ir::Node& op, std::vector<ir::NodePtr> operands)>&
        copy_op);

// Drops `node` (and every operand only it kept alive) one node at a time, without the
// recursion of nested destructors.
void release_chain(ir::NodePtr node);

// Whether `node` holds a value, read under the lock of live nodes.
bool holds_value(const ir::Node& node);

// Runs the graph of every tensor without a value on `device` (one graph for all), then
// stores each result on its node as a constant and frees the node's history. Tensors that
// another thread is evaluating already are not computed again: this call waits for them
// (after computing the others), and computes one itself only if that evaluation failed.
// When it returns, every tensor's node holds its value, visible to this thread.
void evaluate(const std::vector<Tensor>& tensors, const std::shared_ptr<runtime::Device>& device);

}  // namespace kiln::frontend
