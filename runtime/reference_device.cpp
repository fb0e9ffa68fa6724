// The reference device: the reference evaluator behind the Device interface, counting its
// work in kiln::stats().
#include <chrono>

#include "runtime/device.h"
#include "runtime/evaluator.h"
#include "runtime/stats.h"

namespace kiln::runtime {

std::vector<BufferPtr> ReferenceDevice::run(const ir::Graph& graph,
                                            const std::vector<BufferPtr>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  EvalCounts counts;
  auto results = evaluate(graph, inputs, counts);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  add_stats([&](Stats& s) {
    ++s.graphs_run;
    s.nodes_evaluated += counts.nodes_evaluated;
    s.bytes_allocated += counts.bytes_allocated;
    s.run_seconds += seconds.count();
  });
  return results;
}

}  // namespace kiln::runtime
