// Random numbers from explicit counter-based keys. The random_uniform IR op draws Philox
// values from (key, element index); everything else (ranges, normals, bernoulli) is
// composed here from it, so every device gives the same values. New keys are derived on
// the host with a 64-bit mixing function (the splitmix64 finalizer) of the parent key, a
// per-use tag and an index.
#include "ir/random.h"

#include <cmath>
#include <numbers>

#include "frontend/builder.h"

namespace kiln {

using frontend::make;

namespace {

constexpr uint64_t kSplitTag = uint64_t{1} << 63;
constexpr uint64_t kFoldInTag = uint64_t{1} << 62;

// Two Philox words at counters tag | 2i and tag | 2i+1 make the new 64-bit key.
Key derive(const Key& key, uint64_t tag, uint64_t index) {
  uint64_t c = tag | ((index << 1) & ~(uint64_t{3} << 62));
  uint64_t lo = ir::philox_word0(key.bits(), c);
  uint64_t hi = ir::philox_word0(key.bits(), c | 1);
  return Key(lo | (hi << 32));
}

void check_float_dtype(std::string_view op, DType dtype) {
  if (!is_floating(dtype))
    throw DTypeError(std::string(op) + ": dtype " + std::string(dtype_name(dtype)) +
                     " is not a floating dtype; use f16, bf16, f32 or f64 (cast afterwards for "
                     "other dtypes)");
}

// The dtype random values are computed in: f64 for f64, else f32 (then cast).
DType compute_dtype(DType dtype) { return dtype == DType::F64 ? DType::F64 : DType::F32; }

// Uniform [0, 1) straight from the IR op.
Tensor unit_uniform(const Key& key, const Shape& shape, DType dtype, Loc loc) {
  return make(ir::OpKind::RandomUniform, {}, {static_cast<int64_t>(key.bits())}, Type{dtype, shape},
              loc);
}

// The largest value of `dtype` below `hi`: rounding lo + u * (hi - lo) to the dtype can
// land on hi, which [lo, hi) excludes.
double below(double hi, DType dtype) {
  auto down16 = [](uint16_t bits) -> uint16_t {
    if ((bits & 0x7fffu) == 0) return 0x8001u;  // +-0 -> the smallest negative subnormal
    return (bits & 0x8000u) ? bits + 1 : bits - 1;
  };
  switch (dtype) {
    case DType::F64: return std::nextafter(hi, -INFINITY);
    case DType::F32: {
      float h = static_cast<float>(hi);
      return static_cast<double>(h) >= hi ? std::nextafter(h, -INFINITY) : h;
    }
    case DType::F16: {
      uint16_t h = float_to_f16(static_cast<float>(hi));
      if (static_cast<double>(f16_to_float(h)) >= hi) h = down16(h);
      return f16_to_float(h);
    }
    case DType::BF16: {
      uint16_t h = float_to_bf16(static_cast<float>(hi));
      if (static_cast<double>(bf16_to_float(h)) >= hi) h = down16(h);
      return bf16_to_float(h);
    }
    default: return hi;
  }
}

}  // namespace

std::vector<Key> split(const Key& key, int n) {
  if (n < 0) throw ShapeError("split: cannot make " + std::to_string(n) + " keys; n must be >= 0");
  std::vector<Key> out;
  for (int i = 0; i < n; ++i) out.push_back(derive(key, kSplitTag, static_cast<uint64_t>(i)));
  return out;
}

Key fold_in(const Key& key, uint64_t data) { return derive(key, kFoldInTag, data); }

Tensor uniform(const Key& key, const Shape& shape, DType dtype, double lo, double hi, Loc loc) {
  check_float_dtype("uniform", dtype);
  frontend::check_shape("uniform", shape, compute_dtype(dtype));
  if (!(lo < hi) || !std::isfinite(hi - lo))
    throw Error("uniform: the range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                ") is empty or not finite; pass finite bounds with lo < hi");
  DType compute = compute_dtype(dtype);
  Tensor u = unit_uniform(key, shape, compute, loc);
  bool scaled = lo != 0.0 || hi != 1.0;
  if (scaled) u = minimum(add(multiply(u, hi - lo, loc), lo, loc), below(hi, compute), loc);
  if (compute != dtype) u = minimum(cast(u, dtype, loc), below(hi, dtype), loc);
  return u;
}

Tensor normal(const Key& key, const Shape& shape, DType dtype, double mean, double stddev,
              Loc loc) {
  check_float_dtype("normal", dtype);
  frontend::check_shape("normal", shape, compute_dtype(dtype));
  if (!std::isfinite(mean))
    throw Error("normal: the mean " + Scalar(mean).str() + " is not finite; pass a finite mean");
  if (!(stddev >= 0) || !std::isfinite(stddev))
    throw Error("normal: the standard deviation " + Scalar(stddev).str() +
                " is negative or not finite; pass a finite stddev >= 0 (negate the result "
                "instead of the scale)");
  DType compute = compute_dtype(dtype);
  std::vector<Key> keys = split(key, 2);
  Tensor u1 = unit_uniform(keys[0], shape, compute, loc);
  Tensor u2 = unit_uniform(keys[1], shape, compute, loc);
  // Box-Muller; 1 - u1 lies in (0, 1], so the log is finite.
  Tensor radius = sqrt(multiply(log1p(neg(u1, loc), loc), -2.0, loc), loc);
  Tensor z = multiply(radius, cos(multiply(u2, 2.0 * std::numbers::pi, loc), loc), loc);
  if (stddev != 1.0) z = multiply(z, stddev, loc);
  if (mean != 0.0) z = add(z, mean, loc);
  return cast(z, dtype, loc);
}

Tensor bernoulli(const Key& key, const TensorLike& p, const Shape& shape, Loc loc) {
  frontend::check_shape("bernoulli", shape, DType::F32);
  if (p.is_tensor()) {
    Tensor u = unit_uniform(key, shape, DType::F32, loc);
    Tensor prob = broadcast_to(p.tensor(), shape, loc);
    return less(u, prob, loc);
  }
  if (p.scalar().kind() == Scalar::Kind::Complex)
    throw DTypeError("bernoulli: p must be real, got " + p.scalar().str());
  double prob = p.scalar().as_double();
  if (!(prob >= 0 && prob <= 1))
    throw Error("bernoulli: p = " + p.scalar().str() + " is not a probability; pass a p in [0, 1]");
  Tensor u = unit_uniform(key, shape, DType::F32, loc);
  return less(u, prob, loc);
}

}  // namespace kiln
