// Reductions over sets of axes, the statistics composed from them (mean, var, std,
// logsumexp), all/any, and the inclusive scans.
#include <cmath>

#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

namespace {

// Shape after reducing `axes` (sorted, non-negative).
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

// Number of elements each output element combines.
int64_t reduced_count(const Shape& shape, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= shape[a];
  return n;
}

// The reduce node; reducing no axes (a rank-0 input) is the identity.
Tensor reduce(ir::OpKind op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims,
              DType out, Loc loc) {
  if (axes.empty()) return frontend::cast_to(x, out, loc);
  return make(op, {x}, {axes, keepdims}, Type{out, reduced_shape(x.shape(), axes, keepdims)}, loc);
}

// Sums and products of small integer dtypes accumulate in i32.
DType accumulate_dtype(DType d) {
  return d == DType::Bool || d == DType::I8 || d == DType::U8 ? DType::I32 : d;
}

// Refuses what the IR's rule for `op` refuses (no order for complex), in its words.
void check_order(std::string_view name, ir::OpKind op, const Tensor& x) {
  frontend::check_dtype(name, op, x.dtype(), [&] { return type_str(x); });
}

Tensor arg_reduce(ir::OpKind op, std::string_view name, const Tensor& x, const Axes& axis,
                  bool keepdims, Loc loc) {
  check_order(name, op, x);
  if (!axis.all() && axis.list().size() != 1)
    throw AxisError(std::string(name) + ": takes one axis, got " + frontend::list_str(axis.list()) +
                    " for " + type_str(x) +
                    "; reshape those axes into one first, or pass none "
                    "for the flattened tensor");
  if (x.ndim() == 0) return zeros({}, DType::I64, loc);
  Tensor src = x;
  int64_t ax;
  if (axis.all()) {
    src = frontend::reshape_to(x, {x.size()}, loc);
    ax = 0;
  } else {
    ax = frontend::normalize_axis(name, axis.list()[0], x.ndim(), x.type());
  }
  if (src.shape()[ax] == 0)
    throw ShapeError(std::string(name) + ": axis " + std::to_string(ax) + " of " + type_str(src) +
                     " has length 0, and an empty sequence has no extremum; reduce a non-empty "
                     "axis");
  Tensor r = make(op, {src}, {std::vector<int64_t>{ax}, !axis.all() && keepdims},
                  Type{DType::I64, reduced_shape(src.shape(), {ax}, !axis.all() && keepdims)}, loc);
  if (axis.all() && keepdims) r = frontend::reshape_to(r, Shape(x.ndim(), 1), loc);
  return r;
}

// Scans run over the flattened tensor when no axis is given.
Tensor scan(ir::OpKind op, std::string_view name, const Tensor& x, std::optional<int> axis,
            Loc loc) {
  Tensor src = x;
  int64_t ax = 0;
  if (!axis)
    src = frontend::reshape_to(x, {x.size()}, loc);
  else
    ax = frontend::normalize_axis(name, *axis, x.ndim(), x.type());
  src = frontend::cast_to(src, accumulate_dtype(src.dtype()), loc);
  return make(op, {src}, {ax}, src.type(), loc);
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("sum", axes, x.type());
  DType d = accumulate_dtype(x.dtype());
  return reduce(ir::OpKind::ReduceSum, frontend::cast_to(x, d, loc), ax, keepdims, d, loc);
}

Tensor prod(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("prod", axes, x.type());
  DType d = accumulate_dtype(x.dtype());
  return reduce(ir::OpKind::ReduceProd, frontend::cast_to(x, d, loc), ax, keepdims, d, loc);
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("mean", axes, x.type());
  Tensor y = frontend::to_inexact(x, loc);
  Tensor s = reduce(ir::OpKind::ReduceSum, y, ax, keepdims, y.dtype(), loc);
  return divide(s, static_cast<double>(reduced_count(x.shape(), ax)), loc);
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  check_order("max", ir::OpKind::ReduceMax, x);
  auto ax = frontend::normalize_axes("max", axes, x.type());
  return reduce(ir::OpKind::ReduceMax, x, ax, keepdims, x.dtype(), loc);
}

Tensor min(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  check_order("min", ir::OpKind::ReduceMin, x);
  auto ax = frontend::normalize_axes("min", axes, x.type());
  return reduce(ir::OpKind::ReduceMin, x, ax, keepdims, x.dtype(), loc);
}

Tensor argmax(const Tensor& x, const Axes& axis, bool keepdims, Loc loc) {
  return arg_reduce(ir::OpKind::ArgMax, "argmax", x, axis, keepdims, loc);
}

Tensor argmin(const Tensor& x, const Axes& axis, bool keepdims, Loc loc) {
  return arg_reduce(ir::OpKind::ArgMin, "argmin", x, axis, keepdims, loc);
}

Tensor var(const Tensor& x, const Axes& axes, int64_t ddof, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("var", axes, x.type());
  Tensor y = frontend::to_inexact(x, loc);
  Tensor m = mean(y, axes, true, loc);
  Tensor d = subtract(y, m, loc);
  Tensor sq = is_complex(d.dtype()) ? square(abs(d, loc), loc) : square(d, loc);
  Tensor s = reduce(ir::OpKind::ReduceSum, sq, ax, keepdims, sq.dtype(), loc);
  // n - ddof <= 0 divides by 0 (inf or NaN), as NumPy does.
  int64_t dof = std::max<int64_t>(reduced_count(x.shape(), ax) - ddof, 0);
  return divide(s, static_cast<double>(dof), loc);
}

Tensor std(const Tensor& x, const Axes& axes, int64_t ddof, bool keepdims, Loc loc) {
  return sqrt(var(x, axes, ddof, keepdims, loc), loc);
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  check_order("logsumexp", ir::OpKind::ReduceMax, x);  // it shifts by the maximum
  auto ax = frontend::normalize_axes("logsumexp", axes, x.type());
  Tensor y = frontend::to_inexact(x, loc);
  // Shift by the maximum so exp cannot overflow; a non-finite maximum (all -inf, or an
  // inf or NaN present) shifts by 0 so those values come through unchanged.
  Tensor m = reduce(ir::OpKind::ReduceMax, y, ax, true, y.dtype(), loc);
  Tensor shift = where(isfinite(m, loc), m, 0, loc);
  Tensor s =
      reduce(ir::OpKind::ReduceSum, exp(subtract(y, shift, loc), loc), ax, true, y.dtype(), loc);
  Tensor r = add(log(s, loc), shift, loc);
  return keepdims ? r : frontend::reshape_to(r, reduced_shape(x.shape(), ax, false), loc);
}

Tensor all(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("all", axes, x.type());
  return reduce(ir::OpKind::ReduceMin, frontend::truth(x, loc), ax, keepdims, DType::Bool, loc);
}

Tensor any(const Tensor& x, const Axes& axes, bool keepdims, Loc loc) {
  auto ax = frontend::normalize_axes("any", axes, x.type());
  return reduce(ir::OpKind::ReduceMax, frontend::truth(x, loc), ax, keepdims, DType::Bool, loc);
}

Tensor cumsum(const Tensor& x, std::optional<int> axis, Loc loc) {
  return scan(ir::OpKind::CumSum, "cumsum", x, axis, loc);
}

Tensor cumprod(const Tensor& x, std::optional<int> axis, Loc loc) {
  return scan(ir::OpKind::CumProd, "cumprod", x, axis, loc);
}

}  // namespace kiln
