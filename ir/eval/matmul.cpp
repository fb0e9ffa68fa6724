// Reference evaluation of matmul: a [..., m, k] times b [..., k, n] with identical batch
// dimensions, accumulated wide (double, complex<double>, 64-bit integers).
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/types.h"

namespace kiln::evaluator {

BufferPtr eval_matmul(const ir::Node& node, const Buffer& a, const Buffer& b) {
  const int rank = a.type().rank();
  const std::string operands = a.type().str() + " and " + b.type().str();
  check(rank >= 2 && b.type().rank() == rank, node,
        "operands " + operands + " must have one rank of at least 2");
  check(a.dtype() == b.dtype() && node.type.dtype == a.dtype(), node,
        "operands " + operands + " and the result must have one dtype");
  const Shape batch(a.shape().begin(), a.shape().end() - 2);
  const int64_t m = a.shape()[rank - 2], k = a.shape()[rank - 1], n = b.shape()[rank - 1];
  check(Shape(b.shape().begin(), b.shape().end() - 2) == batch && b.shape()[rank - 2] == k, node,
        "cannot multiply " + operands +
            ": batch dimensions must be equal and a's columns "
            "must match b's rows");
  Shape expected = batch;
  expected.push_back(m);
  expected.push_back(n);
  check(node.type.shape == expected, node, "the result should be " + shape_str(expected));
  const int64_t batches = numel(batch);
  auto out = new_output(node);
  visit_dtype(a.dtype(), [&]<class E>(E) {
    using W = Wide<typename E::Value>;
    auto* dst = out->as<typename E::Storage>();
    for (int64_t t = 0; t < batches; ++t) {
      const int64_t a0 = t * m * k, b0 = t * k * n, c0 = t * m * n;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          W acc = W(0);
          for (int64_t p = 0; p < k; ++p)
            acc += widen(load<E>(a, a0 + i * k + p)) * widen(load<E>(b, b0 + p * n + j));
          dst[c0 + i * n + j] = convert<E>(acc);
        }
      }
    }
  });
  return out;
}

}  // namespace kiln::evaluator
