// Reference evaluation of the source ops that compute their values: iota and
// random_uniform (Philox, ir/random.h, the same values on every device).
#include "ir/eval/ops.h"
#include "ir/eval/types.h"
#include "ir/random.h"

namespace kiln::evaluator {

BufferPtr eval_iota(const ir::Node& node) {
  const int64_t axis = node.attr_i64("axis");
  check_axis(node, axis, node.type.rank(), "axis");
  auto out = new_output(node);
  visit_dtype(node.type.dtype, [&]<class E>(E) {
    auto* dst = out->as<typename E::Storage>();
    for_each_coord(node.type.shape, [&](int64_t i, std::span<const int64_t> coord) {
      dst[i] = convert<E>(coord[axis]);
    });
  });
  return out;
}

BufferPtr eval_random_uniform(const ir::Node& node, const Buffer* key_value) {
  auto key = static_cast<uint64_t>(node.attr_i64("key"));
  if (key_value) {
    check(key_value->type() == Type{DType::I64, {}}, node,
          "the key operand must be i64[], got " + key_value->type().str());
    key = static_cast<uint64_t>(key_value->as<int64_t>()[0]);
  }
  for (int64_t counter : node.attr_i64s("derive"))
    key = ir::derive_key(key, static_cast<uint64_t>(counter));
  auto out = new_output(node);
  const int64_t n = out->type().numel();
  auto fill = [&](auto draw, auto* dst, auto to_storage) {
    for (int64_t i = 0; i < n; ++i) dst[i] = to_storage(draw(key, static_cast<uint64_t>(i)));
  };
  switch (node.type.dtype) {
    case DType::F32:
      fill(ir::random_uniform_f32, out->as<float>(), [](float v) { return v; });
      break;
    case DType::F64:
      fill(ir::random_uniform_f64, out->as<double>(), [](double v) { return v; });
      break;
    case DType::F16: fill(ir::random_uniform_f16, out->as<uint16_t>(), float_to_f16); break;
    case DType::BF16: fill(ir::random_uniform_bf16, out->as<uint16_t>(), float_to_bf16); break;
    default:
      throw DTypeError("reference evaluator: " + describe(node) +
                       ": random_uniform makes floating dtypes only; cast its result instead");
  }
  return out;
}

}  // namespace kiln::evaluator
