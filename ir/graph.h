// Graph: a function over typed parameters whose body is a list of nodes in topological
// order and whose results are some of those nodes. It owns its nodes; the frontend
// extracts one from the live lazy tensors before anything runs.
#pragma once

#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

struct Graph {
  std::string name = "main";
  std::vector<NodePtr> params;   // Parameter nodes, in signature order
  std::vector<NodePtr> nodes;    // the body, operands before users; no parameters
  std::vector<NodePtr> results;  // each a parameter or a body node
};

}  // namespace kiln::ir
