// The tolerance of every numerical comparison of a device's results with the reference
// evaluator's, one per dtype, and the comparison itself. Every device test (the
// differential suite, the random graphs, the AOT programs) uses these, so a dtype is held
// to the same bound on every device.
//
// An element matches when |got - want| <= atol + rtol * max(|got|, |want|); NaN matches
// only NaN, an infinity only itself; integers and bools match exactly (i64 compared as
// integers, not through double). Complex numbers compare their two parts.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ir/dtype.h"
#include "ir/node.h"

namespace kiln::testing {

struct Tolerance {
  double rtol = 0, atol = 0;
};

// The bound of one elementwise result: a few units in the last place of the dtype, and
// for complex numbers (whose formulas differ between std::complex and the kernels) more.
inline Tolerance tolerance_for(DType t) {
  switch (t) {
    case DType::F16: return {2e-3, 1e-3};
    case DType::BF16: return {1.6e-2, 1e-2};
    case DType::F32: return {2e-5, 1e-6};
    case DType::C64: return {3e-4, 1e-5};
    case DType::F64: return {1e-12, 1e-14};
    default: return {0, 0};
  }
}

// The bound of a result that accumulates `terms` values of about 1 (a reduction, a scan, a
// matmul's dot products, a chain of ops): the devices may add in another order, so the
// error grows with the count.
inline Tolerance accumulated_tolerance(DType t, int64_t terms) {
  Tolerance e = tolerance_for(t);
  const double n = static_cast<double>(std::max<int64_t>(terms, 1));
  return {e.rtol * 4, e.atol + e.rtol * n * 4};
}

// The wider of two bounds.
inline Tolerance wider(Tolerance a, Tolerance b) {
  return {std::max(a.rtol, b.rtol), std::max(a.atol, b.atol)};
}

inline bool is_exact_dtype(DType t) { return !is_inexact(t); }

// Compares `got` with `want` element by element; the failure names the first few
// mismatches as "[index] got vs want".
inline ::testing::AssertionResult buffers_close(const Buffer& got, const Buffer& want,
                                                Tolerance tol) {
  if (got.type() != want.type())
    return ::testing::AssertionFailure()
           << "type " << got.type().str() << " vs " << want.type().str();
  const DType t = want.dtype();
  const int64_t n = want.type().numel();
  int bad = 0;
  std::string report;
  for (int64_t i = 0; i < n; ++i) {
    for (int part = 0; part < (is_complex(t) ? 2 : 1); ++part) {
      if (t == DType::I64) {
        int64_t a = got.as<int64_t>()[i], b = want.as<int64_t>()[i];
        if (a != b && bad++ < 8)
          report +=
              "\n  [" + std::to_string(i) + "] " + std::to_string(a) + " vs " + std::to_string(b);
        continue;
      }
      const double a = element_as_double(got, i, part == 1);
      const double b = element_as_double(want, i, part == 1);
      bool ok;
      if (std::isnan(a) || std::isnan(b))
        ok = std::isnan(a) && std::isnan(b);
      else if (std::isinf(a) || std::isinf(b))
        ok = a == b;
      else if (is_exact_dtype(t))
        ok = a == b;
      else
        ok = std::abs(a - b) <= tol.atol + tol.rtol * std::max(std::abs(a), std::abs(b));
      if (!ok && bad++ < 8) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "\n  [%lld%s] %.9g vs %.9g", static_cast<long long>(i),
                      part ? " im" : "", a, b);
        report += buf;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << n << " elements of " << want.type().str()
                                       << " differ (got vs reference):" << report;
}

inline ::testing::AssertionResult buffers_close(const Buffer& got, const Buffer& want) {
  return buffers_close(got, want, tolerance_for(want.dtype()));
}

}  // namespace kiln::testing
