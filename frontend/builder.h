// Internal helpers shared by the frontend's op files: node construction (verified in debug
// builds), constants, casts, explicit broadcasting, dtype resolution for mixed tensor and
// scalar operands, axis checks, and the pieces of error messages. Not part of the public API.
#pragma once

#include <kiln/kiln.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::frontend {

// Throws ShapeError naming `op` and the shape unless `shape` can hold `dtype` values: rank
// at most kMaxRank, no negative dimension, and a size in bytes that fits int64. Every op
// that takes a shape from the user calls it first, so the error names the user's op.
void check_shape(std::string_view op, const Shape& shape, DType dtype);

// Builds a node over `operands`. Its type always passes check_shape (under the IR op's
// name: the net for shapes computed from operands, such as a broadcast or a matmul); in
// debug builds the IR verifier checks the whole node.
Tensor make(ir::OpKind op, const std::vector<Tensor>& operands, std::vector<ir::AttrValue> attrs,
            Type type, Loc loc);
// The same for operands written in place, `make(op, {a, b}, ...)`, without a vector of them.
Tensor make(ir::OpKind op, std::initializer_list<Tensor> operands, std::vector<ir::AttrValue> attrs,
            Type type, Loc loc);

// A constant node holding `buffer` (verified in debug builds like every other node).
Tensor constant(BufferPtr buffer, Loc loc);

// While it lives, the nodes this thread builds (make, constant) record `loc` instead of
// their own call site. Autodiff builds each op's gradient under the location of the
// forward op it comes from, so the backward graph points at the user's code.
class LocationScope {
 public:
  explicit LocationScope(Loc loc);
  ~LocationScope();
  LocationScope(const LocationScope&) = delete;
  LocationScope& operator=(const LocationScope&) = delete;

 private:
  Loc loc_;
  const Loc* previous_;
};

// "f32[3,4]".
inline std::string type_str(const Tensor& x) { return x.type().str(); }

// Throws DTypeError when the IR's dtype rule for `op` (ir/ops.def) refuses `dtype`, so the
// frontend refuses exactly what the IR does, in the IR's words: "<name>: <operands> must
// have ..., got ...; <fix>", then `advice` when given. `operands()` describes the user's
// operands ("c64[2]", "operands f32[1] and 1.5"); it is called only for the error, so
// building an op that passes allocates nothing here.
[[noreturn]] void throw_dtype_refusal(std::string_view name, ir::OpKind op, DType dtype,
                                      const std::string& operands, std::string_view advice);
template <class DescribeOperands>
void check_dtype(std::string_view name, ir::OpKind op, DType dtype,
                 const DescribeOperands& operands, std::string_view advice = {}) {
  if (!ir::op_accepts(op, dtype)) throw_dtype_refusal(name, op, dtype, operands(), advice);
}
// "[0,2]" for a list of axes or dimensions.
std::string list_str(const std::vector<int64_t>& v);
std::string list_str(const std::vector<int>& v);

// The lowest and highest value of an integer dtype (i64's for the other dtypes).
struct IntRange {
  int64_t lo, hi;
};
IntRange int_range(DType t);

// Throws DTypeError unless `value` fits `dtype` (an integer scalar out of an integer dtype's
// range, or a complex one for a real dtype).
void check_scalar_fits(std::string_view op, const Scalar& value, DType dtype);
// A rank-0 constant of `dtype` holding `value` (floats converted to integer dtypes as a cast).
Tensor scalar_constant(std::string_view op, const Scalar& value, DType dtype, Loc loc);
// `value` as a constant of `dtype` broadcast to `shape`.
Tensor filled(std::string_view op, const Scalar& value, DType dtype, const Shape& shape, Loc loc);

// x itself when it already has `dtype`, else a cast node.
Tensor cast_to(const Tensor& x, DType dtype, Loc loc);
// x cast to f32 when it is bool or integer (transcendentals, true division, mean...).
Tensor to_inexact(const Tensor& x, Loc loc);
// The truth value of x as bool (x != 0).
Tensor truth(const Tensor& x, Loc loc);
// A reshape node without checks (numel must match); x itself when the shape is unchanged.
Tensor reshape_to(const Tensor& x, const Shape& shape, Loc loc);
// x made explicit at `shape`: reshape to its rank with leading 1s, then broadcast. The
// caller has checked that x broadcasts to shape.
Tensor expand_to(const Tensor& x, const Shape& shape, Loc loc);

// NumPy broadcast of the operands' shapes; ShapeError naming `op`, the types and the
// first conflicting dimension.
Shape broadcast_shapes(std::string_view op, const std::vector<Type>& types);

// The dtype operands take together: tensors promote (promote_types), scalars are weak.
DType common_dtype(std::initializer_list<TensorLike> operands);
// An operand as a tensor of `dtype` broadcast to `shape` (which it must broadcast to).
Tensor to_tensor(std::string_view op, const TensorLike& x, DType dtype, const Shape& shape,
                 Loc loc);
// Each operand as a tensor of `dtype`, all broadcast to their common shape.
std::vector<Tensor> unify(std::string_view op, std::initializer_list<TensorLike> operands,
                          DType dtype, Loc loc);
// The type of an operand for messages: a tensor's, or the weak scalar's (rank 0).
Type operand_type(const TensorLike& x);

// axis in [-rank, rank) made non-negative; AxisError naming op and type otherwise.
int normalize_axis(std::string_view op, int axis, int rank, const Type& type);
// Sorted, unique, non-negative axes (all axes when `axes` says so); AxisError for
// out-of-range or repeated axes.
std::vector<int64_t> normalize_axes(std::string_view op, const Axes& axes, const Type& type);

}  // namespace kiln::frontend
