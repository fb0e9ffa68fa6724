// Random numbers from explicit counter-based keys. The random_uniform IR op draws Philox
// values from (key, element index); everything else (ranges, normals, bernoulli) is
// composed here from it, so every device gives the same values. A new key is two Philox
// words of the parent key at a counter made of a per-use tag and an index
// (ir::derive_key): computed here for keys known when the graph is built, and recorded as
// the counter for key tensors, whose random_uniform nodes apply their counters in the
// kernel. Tests: tests/frontend/random_test.cpp, random_key_test.cpp.
#include "ir/random.h"

#include <kiln/optim.h>

#include <cmath>
#include <numbers>

#include "frontend/builder.h"

namespace kiln {

using frontend::make;

namespace {

constexpr uint64_t kSplitTag = uint64_t{1} << 63;
constexpr uint64_t kFoldInTag = uint64_t{1} << 62;

// The derivation counter of index i under a tag: tag | 2i (ir::derive_key also reads the
// counter tag | 2i + 1).
uint64_t derive_counter(uint64_t tag, uint64_t index) {
  return tag | ((index << 1) & ~(uint64_t{3} << 62));
}

void check_float_dtype(std::string_view op, DType dtype) {
  if (!is_floating(dtype))
    throw DTypeError(std::string(op) + ": dtype " + std::string(dtype_name(dtype)) +
                     " is not a floating dtype; use f16, bf16, f32 or f64 (cast afterwards for "
                     "other dtypes)");
}

// The dtype random values are computed in: f64 for f64, else f32 (then cast).
DType compute_dtype(DType dtype) { return dtype == DType::F64 ? DType::F64 : DType::F32; }

// Uniform [0, 1) straight from the IR op: a known key is its key attribute, a key tensor
// its operand with its derivations.
Tensor unit_uniform(const Key& key, const Shape& shape, DType dtype, Loc loc) {
  if (!key.is_tensor())
    return make(ir::OpKind::RandomUniform, {},
                {static_cast<int64_t>(key.bits()), std::vector<int64_t>{}}, Type{dtype, shape},
                loc);
  std::vector<int64_t> derive;
  for (uint64_t c : key.derivations()) derive.push_back(static_cast<int64_t>(c));
  return make(ir::OpKind::RandomUniform, {key.tensor()}, {int64_t{0}, std::move(derive)},
              Type{dtype, shape}, loc);
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

Key::Key(const Tensor& bits) : tensor_(bits) {
  if (bits.dtype() != DType::I64)
    throw DTypeError("Key: a key tensor holds the key's 64 bits as a 0-d i64, got " +
                     bits.type().str() + " (key_input(Key(seed)) makes one)");
  if (bits.ndim() != 0)
    throw ShapeError("Key: a key tensor must be 0-d (one i64), got " + bits.type().str() +
                     " (index one element first)");
}

Key::Key(const Key& parent, uint64_t counter)
    : bits_(parent.is_tensor() ? 0 : ir::derive_key(parent.bits_, counter)),
      tensor_(parent.tensor_),
      derive_(parent.derive_) {
  if (is_tensor()) derive_.push_back(counter);
}

uint64_t Key::bits() const {
  if (is_tensor())
    throw Error("Key::bits: this key is a tensor of the graph (" + tensor_->type().str() +
                "); its bits are known only when the graph runs");
  return bits_;
}

const Tensor& Key::tensor() const {
  if (!is_tensor())
    throw Error("Key::tensor: this key is not a tensor (Key(" + std::to_string(bits_) +
                ")); key_input makes one");
  return *tensor_;
}

bool operator==(const Key& a, const Key& b) {
  if (a.is_tensor() != b.is_tensor()) return false;
  if (!a.is_tensor()) return a.bits_ == b.bits_;
  return a.tensor_->node() == b.tensor_->node() && a.derive_ == b.derive_;
}

Key key_input(const Key& key, Loc loc) {
  if (key.is_tensor()) return key;
  Tensor bits =
      from_data(std::vector<int64_t>{static_cast<int64_t>(key.bits())}, Shape{}, std::nullopt, loc);
  return Key(as_input(bits, loc));
}

std::vector<Key> split(const Key& key, int n) {
  if (n < 0) throw ShapeError("split: cannot make " + std::to_string(n) + " keys; n must be >= 0");
  std::vector<Key> out;
  for (int i = 0; i < n; ++i)
    out.push_back(Key(key, derive_counter(kSplitTag, static_cast<uint64_t>(i))));
  return out;
}

Key fold_in(const Key& key, uint64_t data) { return Key(key, derive_counter(kFoldInTag, data)); }

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
