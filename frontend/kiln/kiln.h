// kiln's public C++ API: the lazy Tensor handle and every op on it. Ops only build graph
// nodes; values are computed at a host sync (eval, item, to_vector, printing), which runs
// the graph on a device. Broadcasting, type promotion and weak scalars follow the rules
// written down in docs/semantics.md. Tests: tests/frontend/.
#pragma once

#include <complex>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <source_location>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/graph.h"
#include "ir/node.h"
#include "ir/shape.h"
#include "runtime/device.h"
#include "runtime/stats.h"

namespace kiln {

// The call site an op records in its node; every op takes one as its last argument.
using Loc = std::source_location;

// C++ element types that map one to one onto a DType (from_data, item, to_vector).
template <class T>
struct host_dtype;
template <>
struct host_dtype<bool> {
  static constexpr DType value = DType::Bool;
};
template <>
struct host_dtype<int8_t> {
  static constexpr DType value = DType::I8;
};
template <>
struct host_dtype<uint8_t> {
  static constexpr DType value = DType::U8;
};
template <>
struct host_dtype<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct host_dtype<int64_t> {
  static constexpr DType value = DType::I64;
};
template <>
struct host_dtype<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct host_dtype<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct host_dtype<complex64> {
  static constexpr DType value = DType::C64;
};
template <class T>
concept HostElement = requires {
  host_dtype<T>::value;
};

// A lazy array: a cheap, copyable handle to a graph node. Copies share the node.
class Tensor {
 public:
  // Wraps a node (throws kiln::Error for a null one). Most code gets tensors from ops.
  explicit Tensor(ir::NodePtr node);
  // The last handle to an unevaluated history frees it iteratively: a long lazy chain
  // must not unwind recursively through node destructors. (No move operations: a handle
  // is never empty.)
  ~Tensor();
  Tensor(const Tensor&) = default;
  Tensor& operator=(const Tensor&) = default;

  DType dtype() const { return node_->type.dtype; }
  const Shape& shape() const { return node_->type.shape; }
  // Length of one dimension; negative axes count from the end.
  int64_t shape(int axis) const;
  int ndim() const { return node_->type.rank(); }
  int64_t size() const { return node_->type.numel(); }
  const Type& type() const { return node_->type; }
  const ir::NodePtr& node() const { return node_; }
  // True once the value is held in host memory (after eval, or for data constants). Safe
  // while another thread evaluates the tensor (docs/threads.md).
  bool is_evaluated() const;

  // Host sync: evaluates and returns the only element. T must match the dtype (f16 and
  // bf16 read as float).
  template <HostElement T>
  T item(Loc loc = Loc::current()) const;
  // Host sync: evaluates and returns all elements in row-major order. T as for item().
  template <HostElement T>
  std::vector<T> to_vector(Loc loc = Loc::current()) const;

 private:
  // Validates the request, records the sync, evaluates; returns the value's buffer.
  BufferPtr read_for_host(const char* what, DType requested, bool need_one, Loc loc) const;

  ir::NodePtr node_;
};

// C++ numbers that can stand for a tensor in an expression.
template <class T>
concept ScalarValue = std::is_arithmetic_v<T> || std::is_same_v<T, complex64>;

// A C++ number inside an expression. Weakly typed: it takes the dtype of the tensor it
// meets (docs/semantics.md), so `x * 2.0` keeps x's dtype.
class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Int, Float, Complex };

  template <ScalarValue T>
  Scalar(T v) {  // NOLINT: implicit on purpose
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::Bool;
      int_ = v;
    } else if constexpr (std::is_integral_v<T>) {
      // An unsigned 64-bit value above int64's range would silently turn negative.
      if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t))
        if (v > static_cast<T>(std::numeric_limits<int64_t>::max()))
          throw DTypeError("scalar " + std::to_string(v) +
                           " does not fit int64, kiln's widest integer; pass a value below 2^63 "
                           "(or a double)");
      kind_ = Kind::Int;
      int_ = static_cast<int64_t>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      kind_ = Kind::Float;
      float_ = static_cast<double>(v);
    } else {
      kind_ = Kind::Complex;
      float_ = v.real();
      imag_ = v.imag();
    }
  }

  Kind kind() const { return kind_; }
  // The value as each C++ type (Bool and Int store the integer, Float and Complex the
  // real part in as_double).
  int64_t as_int() const { return kind_ == Kind::Bool || kind_ == Kind::Int ? int_ : 0; }
  double as_double() const {
    return kind_ == Kind::Float || kind_ == Kind::Complex ? float_ : static_cast<double>(int_);
  }
  complex64 as_complex() const {
    return {static_cast<float>(as_double()), static_cast<float>(imag_)};
  }
  // The dtype a scalar gets on its own: bool, i32, f32 or c64.
  DType default_dtype() const;
  // "2", "2.5", "true", "(1+2j)": for error messages.
  std::string str() const;

 private:
  Kind kind_ = Kind::Int;
  int64_t int_ = 0;
  double float_ = 0;
  double imag_ = 0;
};

// An operand that is either a tensor or a weakly typed C++ scalar.
class TensorLike {
 public:
  TensorLike(const Tensor& t) : value_(t) {}  // NOLINT: implicit on purpose
  TensorLike(Scalar s) : value_(s) {}         // NOLINT
  template <ScalarValue T>
  TensorLike(T v) : value_(Scalar(v)) {}  // NOLINT

  bool is_tensor() const { return value_.index() == 0; }
  const Tensor& tensor() const { return std::get<0>(value_); }
  const Scalar& scalar() const { return std::get<1>(value_); }

 private:
  std::variant<Tensor, Scalar> value_;
};

// A tensor argument that remembers where it was written. Operators, the variadic eval
// and operator<< cannot take a defaulted Loc parameter; a converting constructor can.
struct TensorAt {
  TensorAt(const Tensor& t, Loc loc = Loc::current()) : tensor(t), loc(loc) {}  // NOLINT
  const Tensor& tensor;
  Loc loc;
};

// A set of axes: one axis, a list, or {} / std::nullopt for all axes. Negative axes
// count from the end.
class Axes {
 public:
  Axes() = default;
  Axes(std::nullopt_t) {}                                                       // NOLINT
  Axes(int axis) : axes_{axis}, all_(false) {}                                  // NOLINT
  Axes(std::initializer_list<int> axes) : Axes(std::vector<int>(axes)) {}       // NOLINT
  Axes(std::vector<int> axes) : axes_(std::move(axes)), all_(axes_.empty()) {}  // NOLINT

  bool all() const { return all_; }
  const std::vector<int>& list() const { return axes_; }

 private:
  std::vector<int> axes_;
  bool all_ = true;
};

// One axis of a slice, Python style: missing start/stop mean the whole axis in the
// direction of step; negative indices count from the end; out-of-range ones are clamped.
struct Slice {
  Slice() = default;
  Slice(std::optional<int64_t> start, std::optional<int64_t> stop = std::nullopt,  // NOLINT
        int64_t step = 1)
      : start(start), stop(stop), step(step) {}

  std::optional<int64_t> start;
  std::optional<int64_t> stop;
  int64_t step = 1;
};

// ---------------------------------------------------------------------------------------
// Creation

// A tensor of zeros.
Tensor zeros(const Shape& shape, DType dtype = DType::F32, Loc loc = Loc::current());
// A tensor of ones.
Tensor ones(const Shape& shape, DType dtype = DType::F32, Loc loc = Loc::current());
// A tensor filled with `value`; dtype defaults to the scalar's own (bool, i32, f32, c64).
Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype = std::nullopt,
            Loc loc = Loc::current());
// Zeros with x's shape (and dtype unless given).
Tensor zeros_like(const Tensor& x, std::optional<DType> dtype = std::nullopt,
                  Loc loc = Loc::current());
// Ones with x's shape (and dtype unless given).
Tensor ones_like(const Tensor& x, std::optional<DType> dtype = std::nullopt,
                 Loc loc = Loc::current());
// `value` with x's shape (and dtype unless given).
Tensor full_like(const Tensor& x, Scalar value, std::optional<DType> dtype = std::nullopt,
                 Loc loc = Loc::current());
// 0, 1, ..., stop-1 (NumPy arange); i32 for integer stop (i64 past i32), f32 for a float.
Tensor arange(Scalar stop, std::optional<DType> dtype = std::nullopt, Loc loc = Loc::current());
// start, start+step, ... below stop (above it for a negative step); ceil((stop-start)/step)
// elements; values the dtype cannot hold throw DTypeError.
Tensor arange(Scalar start, Scalar stop, Scalar step = 1, std::optional<DType> dtype = std::nullopt,
              Loc loc = Loc::current());
// `num` evenly spaced values from start to stop (stop excluded when !endpoint).
Tensor linspace(double start, double stop, int64_t num, bool endpoint = true,
                DType dtype = DType::F32, Loc loc = Loc::current());
// An n x m matrix with ones on diagonal k (0: main, >0: above, <0: below).
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, int64_t k = 0,
           DType dtype = DType::F32, Loc loc = Loc::current());

// A constant holding a copy of `count` host elements of `host` dtype at `data` (null only
// for count 0), with `shape`; the typed from_data overloads below are the usual entry.
Tensor from_host(const void* data, DType host, int64_t count, const Shape& shape,
                 std::optional<DType> dtype = std::nullopt, Loc loc = Loc::current());
// A constant tensor copied from host data (row-major), cast to `dtype` when given.
template <HostElement T>
Tensor from_data(std::span<const T> data, const Shape& shape,
                 std::optional<DType> dtype = std::nullopt, Loc loc = Loc::current()) {
  return from_host(data.data(), host_dtype<T>::value, static_cast<int64_t>(data.size()), shape,
                   dtype, loc);
}
// A constant tensor copied from a vector (row-major), cast to `dtype` when given.
template <HostElement T>
Tensor from_data(const std::vector<T>& data, const Shape& shape,
                 std::optional<DType> dtype = std::nullopt, Loc loc = Loc::current()) {
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(data.begin(), data.end());  // vector<bool> is packed
    return from_host(bytes.data(), DType::Bool, static_cast<int64_t>(bytes.size()), shape, dtype,
                     loc);
  } else {
    return from_data(std::span<const T>(data), shape, dtype, loc);
  }
}
// A constant tensor from a braced list, e.g. from_data({1.f, 2.f, 3.f, 4.f}, {2, 2}).
template <HostElement T>
Tensor from_data(std::initializer_list<T> data, const Shape& shape,
                 std::optional<DType> dtype = std::nullopt, Loc loc = Loc::current()) {
  return from_data(std::vector<T>(data), shape, dtype, loc);
}
// A 1-D constant tensor copied from a vector.
template <HostElement T>
Tensor from_data(const std::vector<T>& data, Loc loc = Loc::current()) {
  return from_data(data, Shape{static_cast<int64_t>(data.size())}, std::nullopt, loc);
}

// ---------------------------------------------------------------------------------------
// Random numbers: explicit counter-based keys. The same key gives the same values on
// every device; derive new keys with split / fold_in instead of reusing one.

// A key for the Philox counter-based generator: 64 bits known when the graph is built
// (Key(seed)), or a key tensor, a 0-d i64 value of the graph that holds the 64 bits
// (key_input, Key(tensor)). A key tensor's derived keys (split, fold_in) are derived inside
// the graph, so they draw exactly what the same derivations of the same bits draw, and a
// graph that takes its key as an input is the same graph whatever the key's value: a
// training step with a new dropout key every step keeps its plan (docs/training.md).
class Key {
 public:
  explicit Key(uint64_t seed) : bits_(seed) {}
  // A key tensor: `bits` must be a 0-d i64 tensor (DTypeError, ShapeError otherwise).
  explicit Key(const Tensor& bits);

  // Whether the key is a tensor of the graph (its bits are known only when it runs).
  bool is_tensor() const { return tensor_.has_value(); }
  // The 64 bits of a key that is not a tensor (kiln::Error for a key tensor).
  uint64_t bits() const;
  // A key tensor's tensor (before its derivations; kiln::Error for other keys) and the
  // counters of the derivations applied to it, in order (ir/random.h: derive_key).
  const Tensor& tensor() const;
  const std::vector<uint64_t>& derivations() const { return derive_; }

  // Keys known when the graph is built are equal when their bits are; key tensors when they
  // are derived the same way from the same tensor.
  friend bool operator==(const Key& a, const Key& b);

 private:
  Key(const Key& parent, uint64_t counter);  // the derived key (split, fold_in)
  friend std::vector<Key> split(const Key& key, int n);
  friend Key fold_in(const Key& key, uint64_t data);

  uint64_t bits_ = 0;
  std::optional<Tensor> tensor_;
  std::vector<uint64_t> derive_;
};

// A key tensor holding `key`'s bits as an input of the graphs that draw from it (a 0-d i64
// parameter): it draws exactly what `key` draws, and graphs that differ only in its value
// share one plan and their kernels. A key tensor is returned as it is.
Key key_input(const Key& key, Loc loc = Loc::current());
// n new independent keys derived from `key`.
std::vector<Key> split(const Key& key, int n = 2);
// A new key derived from `key` and `data` (for example a step or layer index); data is
// taken modulo 2^61.
Key fold_in(const Key& key, uint64_t data);
// Uniform values in [lo, hi) of a floating dtype.
Tensor uniform(const Key& key, const Shape& shape, DType dtype = DType::F32, double lo = 0.0,
               double hi = 1.0, Loc loc = Loc::current());
// Normal values (Box-Muller from two uniforms) with a finite mean and stddev >= 0.
Tensor normal(const Key& key, const Shape& shape, DType dtype = DType::F32, double mean = 0.0,
              double stddev = 1.0, Loc loc = Loc::current());
// Booleans true with probability p (a scalar in [0, 1], or a tensor broadcast to shape).
Tensor bernoulli(const Key& key, const TensorLike& p, const Shape& shape, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Elementwise unary. Transcendentals cast integer and bool inputs to f32 first.

// -x (not for bool: use logical_not).
Tensor neg(const Tensor& x, Loc loc = Loc::current());
// |x|; the modulus (f32) for c64.
Tensor abs(const Tensor& x, Loc loc = Loc::current());
// -1, 0 or 1 by the sign of x (0 for 0, NaN for NaN).
Tensor sign(const Tensor& x, Loc loc = Loc::current());
// e^x.
Tensor exp(const Tensor& x, Loc loc = Loc::current());
// 2^x.
Tensor exp2(const Tensor& x, Loc loc = Loc::current());
// Natural logarithm.
Tensor log(const Tensor& x, Loc loc = Loc::current());
// Base-2 logarithm.
Tensor log2(const Tensor& x, Loc loc = Loc::current());
// log(1 + x), accurate near 0.
Tensor log1p(const Tensor& x, Loc loc = Loc::current());
// e^x - 1, accurate near 0.
Tensor expm1(const Tensor& x, Loc loc = Loc::current());
// Square root.
Tensor sqrt(const Tensor& x, Loc loc = Loc::current());
// 1 / sqrt(x).
Tensor rsqrt(const Tensor& x, Loc loc = Loc::current());
// x * x (bool is promoted to i32 first).
Tensor square(const Tensor& x, Loc loc = Loc::current());
// 1 / x (true division: integers give f32).
Tensor reciprocal(const Tensor& x, Loc loc = Loc::current());
// Sine (radians).
Tensor sin(const Tensor& x, Loc loc = Loc::current());
// Cosine (radians).
Tensor cos(const Tensor& x, Loc loc = Loc::current());
// Tangent (radians).
Tensor tan(const Tensor& x, Loc loc = Loc::current());
// Hyperbolic tangent.
Tensor tanh(const Tensor& x, Loc loc = Loc::current());
// 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x, Loc loc = Loc::current());
// The error function.
Tensor erf(const Tensor& x, Loc loc = Loc::current());
// Round toward -inf (integers unchanged).
Tensor floor(const Tensor& x, Loc loc = Loc::current());
// Round toward +inf (integers unchanged).
Tensor ceil(const Tensor& x, Loc loc = Loc::current());
// Round half to even, as NumPy (integers unchanged).
Tensor round(const Tensor& x, Loc loc = Loc::current());
// True where x is NaN (bool).
Tensor isnan(const Tensor& x, Loc loc = Loc::current());
// True where x is +inf or -inf (bool).
Tensor isinf(const Tensor& x, Loc loc = Loc::current());
// True where x is neither NaN nor infinite (bool).
Tensor isfinite(const Tensor& x, Loc loc = Loc::current());
// Real part (x itself for real dtypes).
Tensor real(const Tensor& x, Loc loc = Loc::current());
// Imaginary part (zeros for real dtypes).
Tensor imag(const Tensor& x, Loc loc = Loc::current());
// Complex conjugate (x itself for real dtypes).
Tensor conj(const Tensor& x, Loc loc = Loc::current());
// Converts to `dtype` (float to int truncates toward zero and saturates; NaN gives 0).
Tensor cast(const Tensor& x, DType dtype, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Elementwise binary and ternary: operands broadcast (NumPy) and promote
// (docs/semantics.md); either may be a C++ scalar.

// a + b.
Tensor add(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a - b.
Tensor subtract(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a * b.
Tensor multiply(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a / b, true division: integer operands give f32.
Tensor divide(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// floor(a / b); integer x // 0 gives 0.
Tensor floor_divide(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Floored modulo: the result has the sign of b (Python %); integer x % 0 gives 0.
Tensor mod(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a ** b (for integers, a negative exponent gives 0 unless |a| = 1).
Tensor pow(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Elementwise maximum; NaN if either is NaN.
Tensor maximum(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Elementwise minimum; NaN if either is NaN.
Tensor minimum(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// The complex number re + i im (c64; real parts of any real dtype are taken as f32).
Tensor complex(const TensorLike& re, const TensorLike& im, Loc loc = Loc::current());
// atan2(a, b): the angle of the point (b, a), in radians.
Tensor atan2(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a == b (bool).
Tensor equal(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a != b (bool).
Tensor not_equal(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a < b (bool).
Tensor less(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a <= b (bool).
Tensor less_equal(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a > b (bool).
Tensor greater(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// a >= b (bool).
Tensor greater_equal(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Logical and of the truth values (nonzero is true); bool.
Tensor logical_and(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Logical or of the truth values; bool.
Tensor logical_or(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Logical exclusive or of the truth values; bool.
Tensor logical_xor(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Logical not of the truth value (x == 0); bool.
Tensor logical_not(const Tensor& x, Loc loc = Loc::current());
// Bitwise and of bool or integer tensors.
Tensor bitwise_and(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Bitwise or of bool or integer tensors.
Tensor bitwise_or(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Bitwise exclusive or of bool or integer tensors.
Tensor bitwise_xor(const TensorLike& a, const TensorLike& b, Loc loc = Loc::current());
// Bitwise complement of a bool or integer tensor (logical not for bool).
Tensor bitwise_not(const Tensor& x, Loc loc = Loc::current());
// Clamps x into [lo, hi] (maximum then minimum).
Tensor clip(const TensorLike& x, const TensorLike& lo, const TensorLike& hi,
            Loc loc = Loc::current());
// Picks a where cond is true, else b; cond is taken as truth values; all three broadcast.
Tensor where(const TensorLike& cond, const TensorLike& a, const TensorLike& b,
             Loc loc = Loc::current());

// Operators; each records the call site of its left tensor operand. Comparison operators
// give bool tensors; && || ! are logical, & | ^ ~ bitwise (bool or integer).
#define KILN_BINARY_OPERATOR(OP, FN)                                                         \
  inline Tensor operator OP(TensorAt a, TensorAt b) {                                        \
    return ::kiln::FN(a.tensor, b.tensor, a.loc);                                            \
  }                                                                                          \
  inline Tensor operator OP(TensorAt a, Scalar b) { return ::kiln::FN(a.tensor, b, a.loc); } \
  inline Tensor operator OP(Scalar a, TensorAt b) { return ::kiln::FN(a, b.tensor, b.loc); }
KILN_BINARY_OPERATOR(+, add)
KILN_BINARY_OPERATOR(-, subtract)
KILN_BINARY_OPERATOR(*, multiply)
KILN_BINARY_OPERATOR(/, divide)
KILN_BINARY_OPERATOR(%, mod)
KILN_BINARY_OPERATOR(==, equal)
KILN_BINARY_OPERATOR(!=, not_equal)
KILN_BINARY_OPERATOR(<, less)
KILN_BINARY_OPERATOR(<=, less_equal)
KILN_BINARY_OPERATOR(>, greater)
KILN_BINARY_OPERATOR(>=, greater_equal)
KILN_BINARY_OPERATOR(&&, logical_and)
KILN_BINARY_OPERATOR(||, logical_or)
KILN_BINARY_OPERATOR(&, bitwise_and)
KILN_BINARY_OPERATOR(|, bitwise_or)
KILN_BINARY_OPERATOR(^, bitwise_xor)
#undef KILN_BINARY_OPERATOR
inline Tensor operator-(TensorAt x) { return ::kiln::neg(x.tensor, x.loc); }
inline Tensor operator!(TensorAt x) { return ::kiln::logical_not(x.tensor, x.loc); }
inline Tensor operator~(TensorAt x) { return ::kiln::bitwise_not(x.tensor, x.loc); }

// ---------------------------------------------------------------------------------------
// Reductions. `axes` empty (the default) means all axes; keepdims keeps them as size 1.

// Sum (bool, i8 and u8 accumulate and return i32).
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false, Loc loc = Loc::current());
// Arithmetic mean (integers give f32; NaN over an empty set).
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false,
            Loc loc = Loc::current());
// Product (bool, i8 and u8 give i32).
Tensor prod(const Tensor& x, const Axes& axes = {}, bool keepdims = false,
            Loc loc = Loc::current());
// Maximum (NaN wins; -inf or the lowest integer over an empty set).
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false, Loc loc = Loc::current());
// Minimum (NaN wins; +inf or the highest integer over an empty set).
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false, Loc loc = Loc::current());
// Index (i64) of the first maximum along one axis; over the flattened tensor by default.
Tensor argmax(const Tensor& x, const Axes& axis = {}, bool keepdims = false,
              Loc loc = Loc::current());
// Index (i64) of the first minimum along one axis; over the flattened tensor by default.
Tensor argmin(const Tensor& x, const Axes& axis = {}, bool keepdims = false,
              Loc loc = Loc::current());
// Variance: mean squared deviation, divided by n - ddof instead of n.
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t ddof = 0, bool keepdims = false,
           Loc loc = Loc::current());
// Standard deviation: sqrt(var).
Tensor std(const Tensor& x, const Axes& axes = {}, int64_t ddof = 0, bool keepdims = false,
           Loc loc = Loc::current());
// log(sum(exp(x))), computed stably by shifting by the maximum.
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false,
                 Loc loc = Loc::current());
// True where every element is true (nonzero); true over an empty set.
Tensor all(const Tensor& x, const Axes& axes = {}, bool keepdims = false, Loc loc = Loc::current());
// True where some element is true (nonzero); false over an empty set.
Tensor any(const Tensor& x, const Axes& axes = {}, bool keepdims = false, Loc loc = Loc::current());
// Inclusive running sum along axis (the flattened tensor when none); dtypes as sum.
Tensor cumsum(const Tensor& x, std::optional<int> axis = std::nullopt, Loc loc = Loc::current());
// Inclusive running product along axis (the flattened tensor when none); dtypes as prod.
Tensor cumprod(const Tensor& x, std::optional<int> axis = std::nullopt, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Movement: views, no data is copied.

// The same elements in a new shape; one dimension may be -1 (inferred).
Tensor reshape(const Tensor& x, const Shape& shape, Loc loc = Loc::current());
// Reorders the axes: output axis i is input axis perm[i].
Tensor permute(const Tensor& x, const std::vector<int>& perm, Loc loc = Loc::current());
// Reverses the order of the axes.
Tensor transpose(const Tensor& x, Loc loc = Loc::current());
// Reorders the axes (the same as permute).
Tensor transpose(const Tensor& x, const std::vector<int>& perm, Loc loc = Loc::current());
// Exchanges two axes.
Tensor swapaxes(const Tensor& x, int axis1, int axis2, Loc loc = Loc::current());
// Repeats size-1 (or missing leading) dimensions to reach `shape` (NumPy rules).
Tensor broadcast_to(const Tensor& x, const Shape& shape, Loc loc = Loc::current());
// Inserts size-1 dimensions at the given positions of the result.
Tensor expand_dims(const Tensor& x, const Axes& axes, Loc loc = Loc::current());
// Removes the given size-1 dimensions (all of them when none are given).
Tensor squeeze(const Tensor& x, const Axes& axes = {}, Loc loc = Loc::current());
// Merges axes start..end (inclusive) into one; the whole tensor by default (rank 0 gives [1]).
Tensor flatten(const Tensor& x, int start_axis = 0, int end_axis = -1, Loc loc = Loc::current());
// Python slicing, one Slice per leading axis (later axes are kept whole).
Tensor slice(const Tensor& x, const std::vector<Slice>& slices, Loc loc = Loc::current());
// Python slicing of one axis: x[..., start:stop:step, ...].
Tensor slice(const Tensor& x, int axis, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step = 1, Loc loc = Loc::current());
// Pads each axis with (before, after) elements of `value`; one pair applies to all axes.
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value = 0,
           Loc loc = Loc::current());
// Reverses the order of elements along the axes (all axes by default).
Tensor flip(const Tensor& x, const Axes& axes = {}, Loc loc = Loc::current());
// Joins tensors along an existing axis; dtypes promote.
Tensor concatenate(const std::vector<Tensor>& xs, int axis = 0, Loc loc = Loc::current());
// Joins same-shaped tensors along a new axis; dtypes promote.
Tensor stack(const std::vector<Tensor>& xs, int axis = 0, Loc loc = Loc::current());
// Splits into `sections` equal parts along axis.
std::vector<Tensor> split(const Tensor& x, int64_t sections, int axis = 0,
                          Loc loc = Loc::current());
// Splits before each of the (sorted) indices along axis: {2, 5} gives [:2], [2:5], [5:].
std::vector<Tensor> split_at(const Tensor& x, const std::vector<int64_t>& indices, int axis = 0,
                             Loc loc = Loc::current());
// Repeats the whole tensor reps[i] times along axis i (NumPy tile).
Tensor tile(const Tensor& x, const std::vector<int64_t>& reps, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Indexing. Integer indices; a negative index counts from the end once; indices still out
// of range are clamped (take, gather) or dropped (scatter_add).

// Selects entries along axis by index (NumPy take): the result has x's shape with that
// axis replaced by idx's shape. No axis: indexes the flattened tensor.
Tensor take(const Tensor& x, const Tensor& idx, std::optional<int> axis = std::nullopt,
            Loc loc = Loc::current());
// Picks x[..., idx[..., j, ...], ...] along axis; idx has x's rank (NumPy
// take_along_axis); other dimensions broadcast.
Tensor take_along_axis(const Tensor& x, const Tensor& idx, int axis, Loc loc = Loc::current());
// The same as take_along_axis.
Tensor gather(const Tensor& x, const Tensor& idx, int axis, Loc loc = Loc::current());
// base with updates added at the positions idx names along axis (repeats accumulate);
// idx has base's rank; updates broadcast to idx's shape and take base's dtype.
Tensor scatter_add(const Tensor& base, const Tensor& idx, const TensorLike& updates, int axis,
                   Loc loc = Loc::current());
// A new last axis of length num_classes holding 1 at position idx (all 0 when idx is out
// of range).
Tensor one_hot(const Tensor& idx, int64_t num_classes, DType dtype = DType::F32,
               Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Contractions.

// Matrix product with NumPy matmul rules: 1-D operands gain and then lose a dimension,
// batch dimensions broadcast.
Tensor matmul(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
// Inner product of 1-D tensors, matmul for 2-D ones, multiplication by a rank-0 one.
Tensor dot(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
// Outer product of the flattened tensors: out[i, j] = a[i] * b[j].
Tensor outer(const Tensor& a, const Tensor& b, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Fourier transforms (NumPy's numpy.fft semantics; docs/semantics.md).

// Which direction is scaled: backward (the default) scales the inverse by 1/n, forward the
// forward transform by 1/n, ortho both by 1/sqrt(n).
enum class FftNorm : uint8_t { Backward, Ortho, Forward };

// The discrete Fourier transform along `axis` (c64; real and integer inputs are cast).
// n > 0 crops or zero-pads the axis to n first; n = -1 keeps its length.
Tensor fft(const Tensor& x, int64_t n = -1, int axis = -1, FftNorm norm = FftNorm::Backward,
           Loc loc = Loc::current());
// Its inverse: ifft(fft(x)) == x.
Tensor ifft(const Tensor& x, int64_t n = -1, int axis = -1, FftNorm norm = FftNorm::Backward,
            Loc loc = Loc::current());
// The transform of a real input (f32; a complex input is refused): the n/2 + 1
// non-negative frequencies.
Tensor rfft(const Tensor& x, int64_t n = -1, int axis = -1, FftNorm norm = FftNorm::Backward,
            Loc loc = Loc::current());
// The real signal of length n whose rfft is x (x cropped or zero-padded to n/2 + 1
// frequencies); n = -1 means 2 * (x's length - 1).
Tensor irfft(const Tensor& x, int64_t n = -1, int axis = -1, FftNorm norm = FftNorm::Backward,
             Loc loc = Loc::current());
// fft / ifft over two axes, with sizes s (empty: the axes' lengths).
Tensor fft2(const Tensor& x, const std::vector<int64_t>& s = {}, std::vector<int> axes = {-2, -1},
            FftNorm norm = FftNorm::Backward, Loc loc = Loc::current());
Tensor ifft2(const Tensor& x, const std::vector<int64_t>& s = {}, std::vector<int> axes = {-2, -1},
             FftNorm norm = FftNorm::Backward, Loc loc = Loc::current());

// Padding of a convolution's spatial dimensions: one size for both sides of every
// dimension (`.padding = 1`), one (low, high) pair for every dimension (`.padding = {{2,
// 0}}`), a pair per dimension (`.padding = {{1, 1}, {0, 2}}`), or causal
// (`.padding = ConvPadding::causal()`, 1-D only: dilation * (k - 1) on the left and none on
// the right, so that out[t] reads x up to position t).
struct ConvPadding {
  std::vector<std::pair<int64_t, int64_t>> pairs;  // (low, high): one, or one per dimension
  bool is_causal = false;
  ConvPadding(int64_t both = 0) : pairs{{both, both}} {}  // NOLINT: implicit by design
  ConvPadding(std::initializer_list<std::pair<int64_t, int64_t>> low_high)  // NOLINT
      : pairs(low_high) {}
  ConvPadding(std::vector<std::pair<int64_t, int64_t>> low_high)  // NOLINT
      : pairs(std::move(low_high)) {}
  static ConvPadding causal() {
    ConvPadding p;
    p.is_causal = true;
    return p;
  }
};

// Where the channels are in a convolution's input and result: NCL / NCHW (first, the
// default) or NLC / NHWC (last; read and returned through permuted views, no copies). The
// weight is [c_out, c_in / groups, kernel...] in both.
enum class ConvLayout : uint8_t { ChannelsFirst, ChannelsLast };

// The options of conv1d and conv2d. stride and dilation hold one value for every spatial
// dimension or one per dimension (empty: 1).
struct ConvOptions {
  std::vector<int64_t> stride = {};
  ConvPadding padding = {};
  std::vector<int64_t> dilation = {};
  int64_t groups = 1;  // c_in and c_out divisible by it; groups = c_in = c_out is depthwise
  std::optional<Tensor> bias = std::nullopt;  // [c_out], added to every output position
  ConvLayout layout = ConvLayout::ChannelsFirst;
};

// 1-D convolution (cross-correlation, as in deep learning): x [n, c_in, l] (or [n, l, c_in]
// with ChannelsLast), w [c_out, c_in / groups, k]; the result is [n, c_out, l_out] (or
// [n, l_out, c_out]), l_out = (l + low + high - dilation * (k - 1) - 1) / stride + 1.
// Operand dtypes promote (bool computes as i32).
Tensor conv1d(const Tensor& x, const Tensor& w, const ConvOptions& options = {},
              Loc loc = Loc::current());
// 2-D convolution: x [n, c_in, h, w] (or [n, h, w, c_in]), w [c_out, c_in / groups, kh,
// kw]; the rest as conv1d, per spatial dimension.
Tensor conv2d(const Tensor& x, const Tensor& w, const ConvOptions& options = {},
              Loc loc = Loc::current());

// Long convolutions through FFTs, as Hyena and M2-BERT's sequence mixers compute them.
struct FftConvOptions {
  // Bidirectional: a second kernel [h, l_k] applied to the reversed sequence (each output
  // also sums the inputs after it, through k_rev[0] at the output's own position).
  std::optional<Tensor> k_rev = std::nullopt;
  bool gelu = false;                              // gelu (exact) of the result
  std::optional<Tensor> gate = std::nullopt;      // multiplies the result, u's shape
  ConvLayout layout = ConvLayout::ChannelsFirst;  // u [b, h, l], or [b, l, h]
};
// The causal long convolution of every channel of u [b, h, l] with its own kernel k [h, l_k]
// (taps past l do not reach any output), plus the skip term u * D (D [h]):
//   y[b, c, t] = sum over s <= t of u[b, c, s] * k[c, t - s] + u[b, c, t] * D[c]
// computed as irfft(rfft(u, 2l) * rfft(k, 2l))[:l] in f32, then the options' gelu and gate.
Tensor fftconv(const Tensor& u, const Tensor& k, const Tensor& D,
               const FftConvOptions& options = {}, Loc loc = Loc::current());
// fftconv without the skip term and options: x [b, h, l] (or [b, l, h]), k [h, l_k].
Tensor conv1d_fft(const Tensor& x, const Tensor& k, ConvLayout layout = ConvLayout::ChannelsFirst,
                  Loc loc = Loc::current());
// conv1d_fft plus x * bias[h] (M2-BERT's name for the skip term D).
Tensor conv1d_fft_with_bias(const Tensor& x, const Tensor& k, const Tensor& bias,
                            ConvLayout layout = ConvLayout::ChannelsFirst,
                            Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Neural-network helpers, composed from the ops above (integer inputs become f32, except
// in relu).

// max(x, 0).
Tensor relu(const Tensor& x, Loc loc = Loc::current());
// x * Phi(x) with the exact erf form, or the tanh approximation when `approximate`.
Tensor gelu(const Tensor& x, bool approximate = false, Loc loc = Loc::current());
// x * sigmoid(x).
Tensor silu(const Tensor& x, Loc loc = Loc::current());
// exp(x) / sum(exp(x)) over axes, shifted by the maximum for stability.
Tensor softmax(const Tensor& x, const Axes& axes = -1, Loc loc = Loc::current());
// x - logsumexp(x) over axes.
Tensor log_softmax(const Tensor& x, const Axes& axes = -1, Loc loc = Loc::current());
// (x - mean) / sqrt(var + eps) over axes, then * weight + bias (each optional,
// broadcast against x).
Tensor layer_norm(const Tensor& x, const Axes& axes = -1,
                  const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5,
                  Loc loc = Loc::current());
// x / sqrt(mean(x^2) + eps) over axes, then * weight (optional).
Tensor rms_norm(const Tensor& x, const Axes& axes = -1,
                const std::optional<Tensor>& weight = std::nullopt, double eps = 1e-6,
                Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Evaluation: the only host syncs. Each is counted with its call site (kiln::stats());
// strict mode turns an unexpected one into a SyncError.

// Types that bind to a const Tensor& (the extra arguments of the variadic forms).
template <class T>
concept TensorRef = std::is_convertible_v<const T&, const Tensor&>;

// Computes the tensors in one graph on the current device; each keeps its value and drops
// its history.
void eval(const std::vector<Tensor>& tensors, Loc loc = Loc::current());
// As above, on an explicit device.
void eval(const std::shared_ptr<runtime::Device>& device, const std::vector<Tensor>& tensors,
          Loc loc = Loc::current());
// Computes the given tensors in one graph on the current device.
template <TensorRef... Rest>
void eval(TensorAt first, const Rest&... rest) {
  ::kiln::eval(std::vector<Tensor>{first.tensor, rest...}, first.loc);
}
// Computes the given tensors in one graph on `device`.
template <TensorRef... Rest>
void eval(const std::shared_ptr<runtime::Device>& device, TensorAt first, const Rest&... rest) {
  ::kiln::eval(device, std::vector<Tensor>{first.tensor, rest...}, first.loc);
}

// Host sync: writes the values (NumPy style, then " : dtype[shape]").
std::ostream& operator<<(std::ostream& os, TensorAt x);
// Host sync: the text operator<< writes.
std::string to_string(const Tensor& x, Loc loc = Loc::current());

// The graph an eval of these tensors would run (no sync): evaluated values and large
// constants become parameters, small constants stay inline.
ir::Graph graph_of(const std::vector<Tensor>& tensors);
template <TensorRef... Rest>
ir::Graph graph_of(const Tensor& first, const Rest&... rest) {
  return graph_of(std::vector<Tensor>{first, rest...});
}
// The IR text of graph_of(tensors).
std::string print_ir(const std::vector<Tensor>& tensors);
template <TensorRef... Rest>
std::string print_ir(const Tensor& first, const Rest&... rest) {
  return print_ir(std::vector<Tensor>{first, rest...});
}

// The device eval uses now: the innermost DeviceGuard's, else runtime::default_device().
std::shared_ptr<runtime::Device> current_device();

// Makes eval and the other syncs on this thread use `device` while it lives.
class DeviceGuard {
 public:
  explicit DeviceGuard(std::shared_ptr<runtime::Device> device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  std::shared_ptr<runtime::Device> previous_;
};

// ---------------------------------------------------------------------------------------
// Template definitions.

namespace detail {
// Copies n elements of `buffer` (which holds `requested`, or f16/bf16 read as f32) to out.
void copy_to_host(const Buffer& buffer, DType requested, void* out, int64_t n);
}  // namespace detail

template <HostElement T>
T Tensor::item(Loc loc) const {
  BufferPtr buffer = read_for_host("item", host_dtype<T>::value, true, loc);
  if constexpr (std::is_same_v<T, bool>) {
    uint8_t v = 0;
    detail::copy_to_host(*buffer, DType::Bool, &v, 1);
    return v != 0;
  } else {
    T v{};
    detail::copy_to_host(*buffer, host_dtype<T>::value, &v, 1);
    return v;
  }
}

template <HostElement T>
std::vector<T> Tensor::to_vector(Loc loc) const {
  BufferPtr buffer = read_for_host("to_vector", host_dtype<T>::value, false, loc);
  int64_t n = buffer->type().numel();
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(static_cast<size_t>(n));
    detail::copy_to_host(*buffer, DType::Bool, bytes.data(), n);
    return std::vector<bool>(bytes.begin(), bytes.end());
  } else {
    std::vector<T> out(static_cast<size_t>(n));
    detail::copy_to_host(*buffer, host_dtype<T>::value, out.data(), n);
    return out;
  }
}

}  // namespace kiln

// Saving and loading arrays (.npy, safetensors) and graphs (IR files).
#include <kiln/io.h>
// grad, value_and_grad, vjp, jvp, stop_gradient.
#include <kiln/autodiff.h>
// Losses (cross_entropy, mse_loss, ...) and metrics (accuracy, spearman_correlation, ...).
#include <kiln/losses.h>
// Optimizers (Sgd, Adam, adamw), learning-rate schedules, clip_by_global_norm, as_input.
#include <kiln/optim.h>
// Neural-network modules (Linear, Conv2d, Sequential, ...) with named parameters.
#include <kiln/nn.h>
