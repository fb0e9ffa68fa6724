// Creation ops: filled tensors, ranges, identity matrices and constants from host data.
#include <cmath>
#include <cstring>
#include <limits>

#include "frontend/builder.h"

namespace kiln {

using frontend::check_shape;
using frontend::filled;
using frontend::make;

namespace {

// The largest finite value of a floating dtype.
double max_finite(DType t) {
  switch (t) {
    case DType::F16: return 65504.0;
    case DType::BF16: return 3.3895313892515355e38;
    case DType::F32: return std::numeric_limits<float>::max();
    default: return std::numeric_limits<double>::max();
  }
}

// True when `value` (a real scalar) fits `dtype`: within an integer dtype's range once
// truncated as a cast truncates, or finite in a floating one.
bool fits(const Scalar& value, DType dtype) {
  if (value.kind() == Scalar::Kind::Int && is_integer(dtype)) {
    frontend::IntRange r = frontend::int_range(dtype);
    return value.as_int() >= r.lo && value.as_int() <= r.hi;
  }
  double v = value.as_double();
  if (is_integer(dtype)) {  // a float bound converted to an integer dtype
    frontend::IntRange r = frontend::int_range(dtype);
    v = std::trunc(v);  // hi + 1 is exact in double where hi (i64's) is not
    return v >= static_cast<double>(r.lo) && v < static_cast<double>(r.hi) + 1.0;
  }
  return std::abs(v) <= max_finite(dtype);
}

// Throws DTypeError unless `value`, the element of an arange that the argument `arg`
// (`given`) bounds, fits `dtype`: a wrapped integer or an infinite float would be a silently
// wrong result.
void check_range_value(const char* arg, const Scalar& given, const Scalar& value, DType dtype) {
  if (fits(value, dtype)) return;
  std::string holds;
  if (is_integer(dtype)) {
    frontend::IntRange r = frontend::int_range(dtype);
    holds = "range " + std::to_string(r.lo) + ".." + std::to_string(r.hi);
  } else {
    holds = "largest finite value " + Scalar(max_finite(dtype)).str();
  }
  std::string fix = is_integer(dtype) && dtype != DType::I64
                        ? "pass DType::I64, or no dtype: integer bounds get i64 when i32 cannot "
                          "hold the range"
                        : "pass DType::F64";
  std::string which = arg + std::string(" ") + given.str();
  if (value.str() != given.str()) which += " gives the value " + value.str() + ", which";
  throw DTypeError("arange: " + which + " does not fit " + std::string(dtype_name(dtype)) + " (" +
                   holds + "); " + fix);
}

// start + i * step for i in [0, n), computed in `compute` and then cast to `dtype`.
Tensor affine_range(int64_t n, const Scalar& start, const Scalar& step, DType compute, DType dtype,
                    Loc loc) {
  Tensor i = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{compute, {n}}, loc);
  Tensor v = add(multiply(i, step, loc), start, loc);
  return frontend::cast_to(v, dtype, loc);
}

// full under the name the user called (zeros, ones, full), for its messages.
Tensor full_named(std::string_view op, const Shape& shape, const Scalar& value, DType dtype,
                  Loc loc) {
  check_shape(op, shape, dtype);
  return filled(op, value, dtype, shape, loc);
}

}  // namespace

Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype, Loc loc) {
  return full_named("full", shape, value, dtype.value_or(value.default_dtype()), loc);
}

Tensor zeros(const Shape& shape, DType dtype, Loc loc) {
  return full_named("zeros", shape, 0, dtype, loc);
}
Tensor ones(const Shape& shape, DType dtype, Loc loc) {
  return full_named("ones", shape, 1, dtype, loc);
}

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
  if (dtype && (is_complex(*dtype) || is_bool(*dtype)))
    throw DTypeError("arange: dtype " + std::string(dtype_name(*dtype)) +
                     " has no ordered range; use an integer or floating dtype");
  bool all_int = start.kind() != Scalar::Kind::Float && stop.kind() != Scalar::Kind::Float &&
                 step.kind() != Scalar::Kind::Float;
  auto too_long = [&](const std::string& count) {
    return ShapeError("arange: start " + start.str() + ", stop " + stop.str() + ", step " +
                      step.str() + " give " + count +
                      " elements, more than a shape can hold; use a shorter range or a larger "
                      "step");
  };
  int64_t n;
  Scalar last = start;  // the last value of the range, when it has one
  if (all_int) {
    // 128-bit: stop - start of two int64 bounds needs 65 bits.
    __int128 a = start.as_int(), b = stop.as_int(), s = step.as_int();
    __int128 span = s > 0 ? b - a : a - b;
    __int128 abs_step = s > 0 ? s : -s;
    __int128 count = span <= 0 ? 0 : (span + abs_step - 1) / abs_step;
    if (count > std::numeric_limits<int64_t>::max()) throw too_long("more than 2^63");
    n = static_cast<int64_t>(count);
    if (n > 0) last = Scalar(static_cast<int64_t>(a + (count - 1) * s));
  } else {
    double len = std::ceil((stop.as_double() - start.as_double()) / step.as_double());
    if (!std::isfinite(len))
      throw ShapeError("arange: start " + start.str() + ", stop " + stop.str() + ", step " +
                       step.str() + " give no finite length; use finite bounds");
    if (len >= 0x1p63) throw too_long(Scalar(len).str());
    n = len > 0 ? static_cast<int64_t>(len) : 0;
    if (n > 0) last = Scalar(start.as_double() + static_cast<double>(n - 1) * step.as_double());
  }
  // Integer bounds give i32 when every value fits it, else i64 (never a wrapped value).
  DType natural = DType::F32;
  if (all_int)
    natural = fits(start, DType::I32) && fits(last, DType::I32) ? DType::I32 : DType::I64;
  DType out = dtype.value_or(natural);
  if (n > 0) {
    check_range_value("start", start, start, out);
    check_range_value("stop", stop, last, out);
  }
  // Integers compute in i64 (no overflow for any i32 range), floats in f32 or f64.
  DType compute = is_integer(out) ? DType::I64 : (out == DType::F64 ? DType::F64 : DType::F32);
  check_shape("arange", {n}, out);
  check_shape("arange", {n}, compute);
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
  check_shape("linspace", {num}, dtype);
  check_shape("linspace", {num}, compute);
  Tensor i = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{compute, {num}}, loc);
  Tensor v = add(multiply(i, step, loc), start, loc);
  if (endpoint && num > 1)  // the last value is exactly stop, whatever the rounding
    v = where(kiln::equal(i, static_cast<double>(num - 1), loc), stop, v, loc);
  return frontend::cast_to(v, dtype, loc);
}

Tensor eye(int64_t n, std::optional<int64_t> m, int64_t k, DType dtype, Loc loc) {
  int64_t cols = m.value_or(n);
  Shape shape{n, cols};
  check_shape("eye", shape, dtype);
  check_shape("eye", shape, DType::I64);  // the row and column indices
  Tensor row = make(ir::OpKind::Iota, {}, {int64_t{0}}, Type{DType::I64, shape}, loc);
  Tensor col = make(ir::OpKind::Iota, {}, {int64_t{1}}, Type{DType::I64, shape}, loc);
  return cast(kiln::equal(add(row, k, loc), col, loc), dtype, loc);
}

Tensor from_host(const void* data, DType host, int64_t count, const Shape& shape,
                 std::optional<DType> dtype, Loc loc) {
  check_shape("from_data", shape, host);
  if (data == nullptr && count > 0)
    throw Error("from_data: the data pointer is null but the count is " + std::to_string(count) +
                "; pass a pointer to " + std::to_string(count) + " " +
                std::string(dtype_name(host)) + " values (null is only valid for 0 values)");
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
