// The reference evaluator's op implementations, one function per op category, and the
// helpers they share. ir/eval/evaluator.cpp dispatches every OpKind to one of these.
// Internal to eval/*.cpp.
//
// Each function receives the node (for its type and attributes) and its operands' values,
// checks what its loops rely on (shapes, attributes, dtypes), so that even an ill-typed
// graph gives an error rather than a wild read, and returns a new buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/node.h"

namespace kiln::evaluator {

BufferPtr eval_iota(const ir::Node& node);
// `key`: the key operand's value, or null when the node has none (its key attribute).
BufferPtr eval_random_uniform(const ir::Node& node, const Buffer* key);
BufferPtr eval_unary(const ir::Node& node, const Buffer& x);
BufferPtr eval_binary(const ir::Node& node, const Buffer& a, const Buffer& b);
BufferPtr eval_select(const ir::Node& node, const Buffer& cond, const Buffer& a, const Buffer& b);
BufferPtr eval_cast(const ir::Node& node, const Buffer& x);
BufferPtr eval_reduce(const ir::Node& node, const Buffer& x);
BufferPtr eval_scan(const ir::Node& node, const Buffer& x);
BufferPtr eval_reshape(const ir::Node& node, const Buffer& x);
BufferPtr eval_permute(const ir::Node& node, const Buffer& x);
BufferPtr eval_broadcast(const ir::Node& node, const Buffer& x);
BufferPtr eval_slice(const ir::Node& node, const Buffer& x);
BufferPtr eval_pad(const ir::Node& node, const Buffer& x);
BufferPtr eval_flip(const ir::Node& node, const Buffer& x);
BufferPtr eval_concat(const ir::Node& node, std::span<const BufferPtr> xs);
BufferPtr eval_gather(const ir::Node& node, const Buffer& data, const Buffer& idx);
BufferPtr eval_scatter_add(const ir::Node& node, const Buffer& base, const Buffer& idx,
                           const Buffer& upd);
BufferPtr eval_matmul(const ir::Node& node, const Buffer& a, const Buffer& b);
BufferPtr eval_conv(const ir::Node& node, const Buffer& x, const Buffer& w);
// fft, rfft, irfft.
BufferPtr eval_spectral(const ir::Node& node, const Buffer& x);

// "reduce_sum -> f32[3] (made at model.cpp:12)": how errors name a node.
std::string describe(const ir::Node& node);

// Throws VerifyError "reference evaluator: <node>: <what>".
[[noreturn]] void fail(const ir::Node& node, const std::string& what);
// fail() unless `ok`.
inline void check(bool ok, const ir::Node& node, const std::string& what) {
  if (!ok) fail(node, what);
}
// Throws DTypeError: `node`'s op does not accept `dtype` (by the op table's rule).
[[noreturn]] void unsupported_dtype(const ir::Node& node, DType dtype);
// The op table's dtype rule (ir/ops.def) on the checked operand, so that the evaluator
// refuses exactly what the verifier does.
inline void check_accepts(const ir::Node& node, DType dtype) {
  if (!ir::op_accepts(node.op, dtype)) unsupported_dtype(node, dtype);
}
// Throws UnsupportedError: the category function has no case for the node's op.
[[noreturn]] void unhandled_op(const ir::Node& node);

// A new zeroed buffer of the node's type.
BufferPtr new_output(const ir::Node& node);

// Calls f(flat, coord) for every coordinate of `shape` in row-major order.
template <class F>
void for_each_coord(const Shape& shape, F&& f) {
  const int64_t n = numel(shape);
  std::vector<int64_t> coord(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(flat, std::span<const int64_t>(coord));
    for (size_t d = shape.size(); d-- > 0;) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
}

// Checks an axis attribute: 0 <= axis < rank.
void check_axis(const ir::Node& node, int64_t axis, int rank, const char* attr);

// "[1,2,3]" for error messages.
std::string list_str(const std::vector<int64_t>& values);

}  // namespace kiln::evaluator
