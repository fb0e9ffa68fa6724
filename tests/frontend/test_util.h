// Helpers for the frontend tests: reading values back and comparing them with expected
// values computed in the test (by hand or in closed form), and asserting error messages.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/expect_error.h"

namespace kiln::testing {

// Exact comparison of all elements, after checking the dtype and shape.
template <HostElement T>
void expect_values(const Tensor& t, DType dtype, const Shape& shape, const std::vector<T>& want) {
  ASSERT_EQ(t.dtype(), dtype) << "got " << t.type().str();
  ASSERT_EQ(t.shape(), shape) << "got " << t.type().str();
  EXPECT_EQ(t.to_vector<T>(), want);
}

// Floating comparison with |got - want| <= atol + rtol * |want|; NaN matches NaN and
// infinities must match exactly. Reads f16/bf16/f32 as float, f64 as double, integers
// through a cast to f64.
inline void expect_close(const Tensor& t, DType dtype, const Shape& shape,
                         const std::vector<double>& want, double rtol = 1e-6, double atol = 1e-6) {
  ASSERT_EQ(t.dtype(), dtype) << "got " << t.type().str();
  ASSERT_EQ(t.shape(), shape) << "got " << t.type().str();
  std::vector<double> got;
  if (dtype == DType::F64) {
    got = t.to_vector<double>();
  } else if (is_floating(dtype)) {
    for (float v : t.to_vector<float>()) got.push_back(v);
  } else {  // integers: every value here is exact in f64
    got = cast(t, DType::F64).to_vector<double>();
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << ": got " << got[i] << ", want nan";
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], atol + rtol * std::abs(want[i])) << "element " << i;
    }
  }
}

// f32 results.
inline void expect_f32(const Tensor& t, const Shape& shape, const std::vector<double>& want,
                       double tol = 1e-6) {
  expect_close(t, DType::F32, shape, want, tol, tol);
}

// The ops of a tensor's graph (body only), in order, as IR spellings.
inline std::vector<std::string> graph_ops(const Tensor& t) {
  std::vector<std::string> ops;
  for (const auto& n : graph_of(t).nodes) ops.emplace_back(ir::op_name(n->op));
  return ops;
}

inline bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace kiln::testing
