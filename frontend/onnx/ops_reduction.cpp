// ONNX import rules: reduction ops.
#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

void add_reduction_ops(OpTable& table) { (void)table; }

}  // namespace kiln::onnx::detail
