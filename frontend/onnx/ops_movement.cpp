// ONNX import rules: movement ops.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

void add_movement_ops(OpTable& table) { (void)table; }

}  // namespace kiln::onnx::detail
