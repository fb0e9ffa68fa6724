// runtime::evaluate: the reference evaluator with the process's custom kernel runner.
#include "runtime/evaluator.h"

#include "runtime/custom_kernel.h"

namespace kiln::runtime {

std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                EvalCounts& counts) {
  return evaluator::evaluate(graph, inputs, counts, run_custom_kernel);
}

std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs) {
  EvalCounts counts;
  return runtime::evaluate(graph, inputs, counts);
}

}  // namespace kiln::runtime
