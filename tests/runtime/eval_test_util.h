// Helpers for the reference evaluator's tests: buffers from literal values (converted here,
// independently of the evaluator's own conversions), one-op graphs over constants, and
// NaN-aware comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/graph.h"
#include "ir/node.h"
#include "runtime/evaluator.h"
#include "tests/expect_error.h"

namespace kiln::test {

using ir::OpKind;
using c64 = std::complex<float>;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A buffer of `dtype` and `shape` holding `values`, each written the way a test means it:
// integers by static_cast (the values given are in range), floats rounded to nearest.
inline BufferPtr buf(DType dtype, Shape shape, std::vector<double> values) {
  auto b = std::make_shared<Buffer>(Type{dtype, std::move(shape)});
  EXPECT_EQ(static_cast<int64_t>(values.size()), b->type().numel()) << "test data size";
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < b->type().numel(); ++i) {
    set_element_from_double(*b, static_cast<int64_t>(i), values[i]);
  }
  return b;
}

// A buffer holding exactly `values` of C++ type T (for values a double cannot carry).
template <class T>
BufferPtr raw_buf(DType dtype, Shape shape, const std::vector<T>& values) {
  auto b = std::make_shared<Buffer>(Type{dtype, std::move(shape)});
  EXPECT_EQ(b->nbytes(), values.size() * sizeof(T)) << "test data size";
  if (b->nbytes() == values.size() * sizeof(T) && !values.empty())
    std::memcpy(b->data(), values.data(), b->nbytes());
  return b;
}

inline BufferPtr cbuf(Shape shape, const std::vector<c64>& values) {
  return raw_buf(DType::C64, std::move(shape), values);
}

// The elements of `b` as doubles (bool as 0/1, 16-bit floats decoded; c64 not allowed).
inline std::vector<double> values(const Buffer& b) {
  std::vector<double> out;
  if (b.dtype() == DType::C64) {
    ADD_FAILURE() << "values() of c64; use cvalues()";
    return out;
  }
  for (int64_t i = 0; i < b.type().numel(); ++i) out.push_back(element_as_double(b, i));
  return out;
}

template <class T>
std::vector<T> raw_values(const Buffer& b) {
  const T* p = b.as<T>();
  return std::vector<T>(p, p + b.nbytes() / sizeof(T));
}

inline std::vector<c64> cvalues(const Buffer& b) { return raw_values<c64>(b); }

// Element-by-element comparison: NaN equals NaN, infinities compare exactly, others
// within `tol` relative (at least absolute near 0). Also checks dtype and shape.
inline ::testing::AssertionResult same(const Buffer& got, const Type& type,
                                       const std::vector<double>& want, double tol = 0) {
  if (got.type() != type)
    return ::testing::AssertionFailure() << "type " << got.type().str() << ", want " << type.str();
  auto v = values(got);
  if (v.size() != want.size())
    return ::testing::AssertionFailure() << v.size() << " elements, want " << want.size();
  for (size_t i = 0; i < v.size(); ++i) {
    bool ok = std::isnan(want[i]) ? std::isnan(v[i])
              : std::isinf(want[i])
                  ? v[i] == want[i]
                  : std::abs(v[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i]));
    if (!ok)
      return ::testing::AssertionFailure()
             << "element " << i << " is " << v[i] << ", want " << want[i];
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult csame(const Buffer& got, const Shape& shape,
                                        const std::vector<c64>& want, float tol = 0) {
  if (got.type() != Type{DType::C64, shape})
    return ::testing::AssertionFailure() << "type " << got.type().str();
  auto v = cvalues(got);
  if (v.size() != want.size())
    return ::testing::AssertionFailure() << v.size() << " elements, want " << want.size();
  for (size_t i = 0; i < v.size(); ++i)
    if (std::abs(v[i] - want[i]) > tol * std::max(1.0f, std::abs(want[i])))
      return ::testing::AssertionFailure()
             << "element " << i << " is (" << v[i].real() << "," << v[i].imag() << "), want ("
             << want[i].real() << "," << want[i].imag() << ")";
  return ::testing::AssertionSuccess();
}

// The graph computing `results` from the nodes they reach; parameters in `params` order.
inline ir::Graph graph_of(std::vector<ir::NodePtr> results, std::vector<ir::NodePtr> params = {}) {
  ir::Graph g;
  g.params = std::move(params);
  std::unordered_set<const ir::Node*> seen;
  for (const auto& p : g.params) seen.insert(p.get());
  std::function<void(const ir::NodePtr&)> visit = [&](const ir::NodePtr& n) {
    if (!seen.insert(n.get()).second) return;
    for (const auto& o : n->operands) visit(o);
    g.nodes.push_back(n);
  };
  for (const auto& r : results) visit(r);
  g.results = std::move(results);
  return g;
}

inline ir::NodePtr cst(BufferPtr b) { return ir::make_constant(std::move(b)); }

inline ir::NodePtr node(OpKind op, std::vector<ir::NodePtr> operands,
                        std::vector<ir::AttrValue> attrs, Type type) {
  return ir::make_node(op, std::move(operands), std::move(attrs), std::move(type));
}

// Evaluates one node over constants.
inline BufferPtr eval(const ir::NodePtr& n) { return runtime::evaluate(graph_of({n}), {})[0]; }

// op(x) with the result dtype `out` (default: x's) and x's shape.
inline BufferPtr unary(OpKind op, const BufferPtr& x, std::optional<DType> out = {}) {
  return eval(node(op, {cst(x)}, {}, Type{out.value_or(x->dtype()), x->shape()}));
}
inline BufferPtr binary(OpKind op, const BufferPtr& a, const BufferPtr& b,
                        std::optional<DType> out = {}) {
  return eval(node(op, {cst(a), cst(b)}, {}, Type{out.value_or(a->dtype()), a->shape()}));
}

using kiln::testing::expect_error;

}  // namespace kiln::test
