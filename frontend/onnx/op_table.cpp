// The one table of ONNX import rules, by op type. Each ops_*.cpp file adds its group.
#include <stdexcept>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable all;
    for (auto add :
         {add_elementwise_ops, add_movement_ops, add_nn_ops, add_reduction_ops, add_misc_ops}) {
      OpTable group;
      add(group);
      // Two rules for one op type would leave the first silently unused.
      for (auto& [name, rule] : group)
        if (!all.emplace(name, std::move(rule)).second)
          throw std::logic_error("ONNX op type " + name + " has two import rules");
    }
    return all;
  }();
  return table;
}

}  // namespace kiln::onnx::detail
