// ONNX import rules: nn ops.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

void add_nn_ops(OpTable& table) { (void)table; }

}  // namespace kiln::onnx::detail
