// Creation ops: filled tensors, ranges, identity matrices and constants from host data.
#include <cmath>
#include <cstring>

#include "frontend/builder.h"

namespace kiln {

using frontend::filled;
using frontend::make;

namespace {

void check_shape(std::string_view op, const Shape& shape) {
  if (static_cast<int>(shape.size()) > kMaxRank)
    throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " has rank " +
                     std::to_string(shape.size()) + "; kiln supports at most rank " +
                     std::to_string(kMaxRank));
  for (int64_t d : shape)
    if (d < 0)
      throw ShapeError(std::string(op) + ": shape " + shape_str(shape) +
                       " has a negative dimension; dimensions must be >= 0");
}

// start + i * step for i in [0, n), computed in `compute` and then cast to `dtype`.
Tensor affine_range(int64_t n, const Scalar& start, const Scalar& step, DType compute, DType dtype,
                    Loc loc) {
  Tensor i = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{compute, {n}}, loc);
  Tensor v = add(multiply(i, step, loc), start, loc);
  return frontend::cast_to(v, dtype, loc);
}

}  // namespace

Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype, Loc loc) {
  check_shape("full", shape);
  return filled("full", value, dtype.value_or(value.default_dtype()), shape, loc);
}

Tensor zeros(const Shape& shape, DType dtype, Loc loc) { return full(shape, 0, dtype, loc); }
Tensor ones(const Shape& shape, DType dtype, Loc loc) { return full(shape, 1, dtype, loc); }

Tensor full_like(const Tensor& x, Scalar value, std::optional<DType> dtype, Loc loc) {
  return full(x.shape(), value, dtype.value_or(x.dtype()), loc);
}
Tensor zeros_like(const Tensor& x, std::optional<DType> dtype, Loc loc) {
  return full_like(x, 0, dtype, loc);
}
Tensor ones_like(const Tensor& x, std::optional<DType> dtype, Loc loc) {
  return full_like(x, 1, dtype, loc);
}

Tensor arange(Scalar stop, std::optional<DType> dtype, Loc loc) {
  return arange(0, stop, 1, dtype, loc);
}

Tensor arange(Scalar start, Scalar stop, Scalar step, std::optional<DType> dtype, Loc loc) {
  for (const Scalar* s : {&start, &stop, &step})
    if (s->kind() == Scalar::Kind::Complex)
      throw DTypeError("arange: start, stop and step must be real, got " + s->str());
  if (step.as_double() == 0) throw ShapeError("arange: step is 0; use a positive or negative step");
  bool all_int = start.kind() != Scalar::Kind::Float && stop.kind() != Scalar::Kind::Float &&
                 step.kind() != Scalar::Kind::Float;
  DType out = dtype.value_or(all_int ? DType::I32 : DType::F32);
  if (is_complex(out) || is_bool(out))
    throw DTypeError("arange: dtype " + std::string(dtype_name(out)) +
                     " has no ordered range; use an integer or floating dtype");
  int64_t n;
  if (all_int) {
    int64_t a = start.as_int(), b = stop.as_int(), s = step.as_int();
    int64_t span = s > 0 ? b - a : a - b;
    int64_t abs_step = s > 0 ? s : -s;
    n = span <= 0 ? 0 : (span + abs_step - 1) / abs_step;
  } else {
    double len = std::ceil((stop.as_double() - start.as_double()) / step.as_double());
    if (!std::isfinite(len))
      throw ShapeError("arange: start " + start.str() + ", stop " + stop.str() + ", step " +
                       step.str() + " give no finite length; use finite bounds");
    n = len > 0 ? static_cast<int64_t>(len) : 0;
  }
  // Integers compute in i64 (no overflow for any i32 range), floats in f32 or f64.
  DType compute = is_integer(out) ? DType::I64 : (out == DType::F64 ? DType::F64 : DType::F32);
  return affine_range(n, start, step, compute, out, loc);
}

Tensor linspace(double start, double stop, int64_t num, bool endpoint, DType dtype, Loc loc) {
  if (num < 0) throw ShapeError("linspace: num is " + std::to_string(num) + "; it must be >= 0");
  if (is_complex(dtype) || is_bool(dtype))
    throw DTypeError("linspace: dtype " + std::string(dtype_name(dtype)) +
                     " is not supported; use an integer or floating dtype");
  int64_t div = endpoint ? num - 1 : num;
  double step = div > 0 ? (stop - start) / static_cast<double>(div) : 0.0;
  DType compute = dtype == DType::F64 ? DType::F64 : DType::F32;
  Tensor i = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{compute, {num}}, loc);
  Tensor v = add(multiply(i, step, loc), start, loc);
  if (endpoint && num > 1)  // the last value is exactly stop, whatever the rounding
    v = where(kiln::equal(i, static_cast<double>(num - 1), loc), stop, v, loc);
  return frontend::cast_to(v, dtype, loc);
}

Tensor eye(int64_t n, std::optional<int64_t> m, int64_t k, DType dtype, Loc loc) {
  int64_t cols = m.value_or(n);
  check_shape("eye", {n, cols});
  Shape shape{n, cols};
  Tensor row = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{DType::I64, shape}, loc);
  Tensor col = make(ir::OpKind::Iota, {}, {int64_t{1}}, Type{DType::I64, shape}, loc);
  return cast(kiln::equal(add(row, k, loc), col, loc), dtype, loc);
}

Tensor from_host(const void* data, DType host, int64_t count, const Shape& shape,
                 std::optional<DType> dtype, Loc loc) {
  check_shape("from_data", shape);
  if (numel(shape) != count)
    throw ShapeError("from_data: " + std::to_string(count) + " values do not fill shape " +
                     shape_str(shape) + " (" + std::to_string(numel(shape)) +
                     " elements); pass a shape whose product is the number of values");
  auto buffer = std::make_shared<Buffer>(Type{host, shape});
  if (count > 0) std::memcpy(buffer->data(), data, buffer->nbytes());
  if (host == DType::Bool) {  // store canonical 0 / 1 bytes
    auto* p = buffer->as<uint8_t>();
    for (int64_t i = 0; i < count; ++i) p[i] = p[i] != 0;
  }
  Tensor t = frontend::constant(std::move(buffer), loc);
  return dtype ? frontend::cast_to(t, *dtype, loc) : t;
}

}  // namespace kiln
