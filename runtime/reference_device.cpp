// The reference device: the reference evaluator behind the Device interface. It interprets
// whole graphs, so the kernel half of the interface is never called by the driver.
#include "runtime/device.h"
#include "runtime/evaluator.h"

namespace kiln::runtime {

std::vector<BufferPtr> ReferenceDevice::interpret(const ir::Graph& graph,
                                                  const std::vector<BufferPtr>& inputs,
                                                  DeviceCounts& counts) {
  EvalCounts eval_counts;
  auto results = runtime::evaluate(graph, inputs, eval_counts);
  counts.nodes_evaluated += eval_counts.nodes_evaluated;
  counts.bytes_allocated += eval_counts.bytes_allocated;
  return results;
}

}  // namespace kiln::runtime
