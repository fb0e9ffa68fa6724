// Element types for the reference evaluator: how each DType is stored and computed, the
// visitor that turns a runtime DType into a compile-time one, the wide accumulators of
// reductions, and the value conversions of `cast`. Internal to eval/*.cpp.
#pragma once

#include <bit>
#include <cmath>
#include <complex>
#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/node.h"

namespace kiln::evaluator {

// Value categories as bits: the dtypes an op's formula is compiled for.
enum Kinds : unsigned {
  kBool = 1,
  kInt = 2,
  kFloat = 4,
  kComplex = 8,
  kAny = kBool | kInt | kFloat | kComplex,
};

// The value categories the op table lets `op` take (its Accepts column, ir/ops.def). An
// op's formula is compiled only for these, so no formula exists for a dtype the verifier
// refuses; f32-only `complex` compiles for every float, its run-time check refuses the rest.
constexpr unsigned kinds_of(ir::Accepts accepts) {
  switch (accepts) {
    case ir::Accepts::Any: return kAny;
    case ir::Accepts::Numeric: return kInt | kFloat | kComplex;
    case ir::Accepts::Real: return kBool | kInt | kFloat;
    case ir::Accepts::IntOrFloat: return kInt | kFloat;
    case ir::Accepts::Floating:
    case ir::Accepts::F32: return kFloat;
    case ir::Accepts::Inexact: return kFloat | kComplex;
    case ir::Accepts::IntOrBool: return kBool | kInt;
    case ir::Accepts::C64: return kComplex;
  }
  return 0;
}
constexpr unsigned accepted_kinds(ir::OpKind op) {
  switch (op) {
#define KILN_OP(kind, text, arity, category, accepts, result, cost, math, attrs) \
  case ir::OpKind::kind:                                                         \
    return kinds_of(ir::Accepts::accepts);
#include "ir/ops.def"
#undef KILN_OP
  }
  return 0;
}

template <class V>
inline constexpr bool is_complex_v = false;
template <class T>
inline constexpr bool is_complex_v<std::complex<T>> = true;

template <class V>
constexpr unsigned kind_of() {
  if constexpr (std::same_as<V, bool>) return kBool;
  if constexpr (std::integral<V>) return kInt;
  if constexpr (std::floating_point<V>) return kFloat;
  return kComplex;
}

// Whether the op table lets `op` take values of C++ type V (see accepted_kinds).
template <class V>
constexpr bool table_accepts(ir::OpKind op) {
  return (kind_of<V>() & accepted_kinds(op)) != 0;
}

// Elem<D>: Storage is what the buffer holds, Value what arithmetic uses. f16 and bf16 are
// computed in float and rounded when stored; bool is one byte read as (byte != 0).
template <DType D, class T>
struct PlainElem {
  using Storage = T;
  using Value = T;
  static constexpr DType dtype = D;
  static Value load(Storage s) { return s; }
  static Storage store(Value v) { return v; }
};

template <DType D>
struct Elem;
template <>
struct Elem<DType::Bool> {
  using Storage = uint8_t;
  using Value = bool;
  static constexpr DType dtype = DType::Bool;
  static Value load(Storage s) { return s != 0; }
  static Storage store(Value v) { return v ? 1 : 0; }
};
template <>
struct Elem<DType::I8> : PlainElem<DType::I8, int8_t> {};
template <>
struct Elem<DType::U8> : PlainElem<DType::U8, uint8_t> {};
template <>
struct Elem<DType::I32> : PlainElem<DType::I32, int32_t> {};
template <>
struct Elem<DType::I64> : PlainElem<DType::I64, int64_t> {};
template <>
struct Elem<DType::F16> {
  using Storage = uint16_t;
  using Value = float;
  static constexpr DType dtype = DType::F16;
  static Value load(Storage s) { return f16_to_float(s); }
  static Storage store(Value v) { return float_to_f16(v); }
};
template <>
struct Elem<DType::BF16> {
  using Storage = uint16_t;
  using Value = float;
  static constexpr DType dtype = DType::BF16;
  static Value load(Storage s) { return bf16_to_float(s); }
  static Storage store(Value v) { return float_to_bf16(v); }
};
template <>
struct Elem<DType::F32> : PlainElem<DType::F32, float> {};
template <>
struct Elem<DType::F64> : PlainElem<DType::F64, double> {};
template <>
struct Elem<DType::C64> : PlainElem<DType::C64, std::complex<float>> {};

// The element type that stores a value of C++ type R as it is (no rounding).
template <class R>
struct NaturalElem;
template <>
struct NaturalElem<bool> : Elem<DType::Bool> {};
template <>
struct NaturalElem<int8_t> : Elem<DType::I8> {};
template <>
struct NaturalElem<uint8_t> : Elem<DType::U8> {};
template <>
struct NaturalElem<int32_t> : Elem<DType::I32> {};
template <>
struct NaturalElem<int64_t> : Elem<DType::I64> {};
template <>
struct NaturalElem<float> : Elem<DType::F32> {};
template <>
struct NaturalElem<double> : Elem<DType::F64> {};
template <>
struct NaturalElem<std::complex<float>> : Elem<DType::C64> {};

// Calls f(Elem<t>{}) with t known at compile time.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(Elem<DType::Bool>{});
    case DType::I8: return f(Elem<DType::I8>{});
    case DType::U8: return f(Elem<DType::U8>{});
    case DType::I32: return f(Elem<DType::I32>{});
    case DType::I64: return f(Elem<DType::I64>{});
    case DType::F16: return f(Elem<DType::F16>{});
    case DType::BF16: return f(Elem<DType::BF16>{});
    case DType::F32: return f(Elem<DType::F32>{});
    case DType::F64: return f(Elem<DType::F64>{});
    case DType::C64: return f(Elem<DType::C64>{});
  }
  throw Error("reference evaluator: invalid dtype code " + std::to_string(static_cast<int>(t)));
}

template <class E>
typename E::Value load(const Buffer& b, int64_t i) {
  return E::load(b.as<typename E::Storage>()[i]);
}
template <class E>
void store(Buffer& b, int64_t i, typename E::Value v) {
  b.as<typename E::Storage>()[i] = E::store(v);
}

// Accumulator of sums, products and matmuls: double for floats, complex<double> for c64,
// 64-bit integers for integers and bool. Integers accumulate in uint64_t, whose overflow
// wraps (int64_t's would be undefined); converting back gives the two's complement result.
template <class V>
struct WideOf {
  using type = uint64_t;
};
template <std::floating_point V>
struct WideOf<V> {
  using type = double;
};
template <>
struct WideOf<std::complex<float>> {
  using type = std::complex<double>;
};
template <class V>
using Wide = typename WideOf<V>::type;

template <class V>
Wide<V> widen(V v) {
  return static_cast<Wide<V>>(v);
}

// Rounds to float with round-to-odd. A later round-to-nearest to f16 or bf16 is then
// correctly rounded, as one rounding of x would be: float keeps more than twice their
// significand bits plus two. long double holds every i64, u64 and f64 exactly on the
// platforms kiln targets (x86-64: 64 significand bits; aarch64: 113).
inline float to_float_round_odd(long double x) {
  float f = static_cast<float>(x);
  if (std::isfinite(f) && static_cast<long double>(f) != x && (std::bit_cast<uint32_t>(f) & 1) == 0)
    f = std::nextafter(f, x > f ? std::numeric_limits<float>::infinity()
                                : -std::numeric_limits<float>::infinity());
  return f;
}

// Float to integer as `cast` defines it: truncate toward zero, NaN gives 0, values out of
// range saturate.
template <std::integral I>
I saturating_float_to_int(double x) {
  if (std::isnan(x)) return 0;
  double t = std::trunc(x);
  // Both bounds are powers of two (or zero), so exact in double.
  const double lower = static_cast<double>(std::numeric_limits<I>::min());
  const double upper = std::ldexp(1.0, std::numeric_limits<I>::digits);  // max + 1
  if (t <= lower) return std::numeric_limits<I>::min();
  if (t >= upper) return std::numeric_limits<I>::max();
  return static_cast<I>(t);
}

// Converts a value of any arithmetic or complex C++ type to the storage of E, with the
// rules of `cast`: to bool is x != 0; float to int truncates and saturates (NaN -> 0); int
// to int wraps; complex to real keeps the real part; real to complex has imaginary part 0;
// to f16/bf16 rounds once, to nearest even.
template <class E, class S>
typename E::Storage convert(S x) {
  using V = typename E::Value;
  if constexpr (is_complex_v<S>) {
    if constexpr (is_complex_v<V>)
      return E::store(V(x));
    else if constexpr (std::same_as<V, bool>)
      return E::store(x.real() != 0 || x.imag() != 0);
    else
      return convert<E>(x.real());
  } else if constexpr (std::same_as<V, bool>) {
    return E::store(x != 0);
  } else if constexpr (is_complex_v<V>) {
    return E::store(V(static_cast<float>(x), 0.0f));
  } else if constexpr (E::dtype == DType::F16 || E::dtype == DType::BF16) {
    return E::store(to_float_round_odd(static_cast<long double>(x)));
  } else if constexpr (std::floating_point<V>) {
    return E::store(static_cast<V>(x));
  } else if constexpr (std::floating_point<S>) {
    return E::store(saturating_float_to_int<V>(static_cast<double>(x)));
  } else {
    return E::store(static_cast<V>(x));
  }
}

}  // namespace kiln::evaluator
