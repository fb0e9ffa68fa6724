// The one table of ONNX import rules, by op type. Each ops_*.cpp file adds its group.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable t;
    add_elementwise_ops(t);
    add_movement_ops(t);
    add_nn_ops(t);
    add_reduction_ops(t);
    add_misc_ops(t);
    return t;
  }();
  return table;
}

}  // namespace kiln::onnx::detail
