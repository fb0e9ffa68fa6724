// check_inputs: the input count, then each buffer's presence and type.
#include "ir/inputs.h"

#include "ir/error.h"

namespace kiln::ir {

namespace {

std::string signature(const Graph& graph) {
  std::string sig;
  for (size_t i = 0; i < graph.params.size(); ++i)
    sig += (i ? ", " : "") + (graph.params[i] ? graph.params[i]->type.str() : std::string("?"));
  return sig;
}

}  // namespace

// Builds the message only on failure: the check runs on every eval.
void check_inputs(const Graph& graph, const std::vector<BufferPtr>& inputs) {
  static constexpr const char* fix =
      "; pass one buffer per parameter, in order, each of the parameter's type (cast or "
      "reshape an input first)";
  if (inputs.size() != graph.params.size())
    throw InputError("graph '" + graph.name + "' takes " + std::to_string(graph.params.size()) +
                     " input(s) (" + signature(graph) + "), got " + std::to_string(inputs.size()) +
                     fix);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!graph.params[i])
      throw VerifyError("graph '" + graph.name + "': parameter #" + std::to_string(i) + " is null");
    const Node& p = *graph.params[i];
    if (inputs[i] && inputs[i]->type() == p.type) continue;
    const std::string name =
        p.name.empty() ? "#" + std::to_string(i) : "'" + p.name + "' (#" + std::to_string(i) + ")";
    throw InputError("parameter " + name + " of graph '" + graph.name + "' expects " +
                     p.type.str() + ", got " +
                     (inputs[i] ? inputs[i]->type().str() : std::string("no buffer")) + fix);
  }
}

}  // namespace kiln::ir
