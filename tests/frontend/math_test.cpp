// kiln/math.h: the inverse trigonometric and hyperbolic functions against the C++ library
// (computed in double) on every device, in f32 and f64, at the edges of their domains;
// f16 rounding, dtype rules, and one gradient check through autodiff.
#include <kiln/math.h>

#include <cmath>
#include <limits>

#include "test_util.h"
#include "tests/autodiff/gradcheck.h"
#include "tests/devices.h"

namespace kiln {
namespace {

using testing::expect_close;

struct MathCase {
  const char* name;
  Tensor (*op)(const Tensor&, Loc);
  double (*ref)(double);
  std::vector<double> inputs;
};

std::vector<MathCase> math_cases() {
  // Both ends of each domain, values near the zeros (where naive formulas cancel), large
  // values (where they overflow), and points outside the domain (NaN).
  std::vector<double> unit{-1, -0.9999, -0.5, -1e-5, 0, 1e-5, 0.3, 0.9999, 1, 1.5};
  std::vector<double> line{-1e30, -30, -3, -0.7, -1e-5, 0, 1e-5, 0.5, 2, 30, 1e30};
  std::vector<double> hyperbolic{-85, -30, -3, -0.7, -1e-5, 0, 1e-5, 0.5, 2, 30, 85};
  std::vector<double> from_one{0.5, 1, 1.0001, 1.5, 10, 1e5, 1e30};
  return {
      {"asin", &asin, [](double x) { return std::asin(x); }, unit},
      {"acos", &acos, [](double x) { return std::acos(x); }, unit},
      {"atan", &atan, [](double x) { return std::atan(x); }, line},
      {"sinh", &sinh, [](double x) { return std::sinh(x); }, hyperbolic},
      {"cosh", &cosh, [](double x) { return std::cosh(x); }, hyperbolic},
      {"asinh", &asinh, [](double x) { return std::asinh(x); }, line},
      {"acosh", &acosh, [](double x) { return std::acosh(x); }, from_one},
      {"atanh", &atanh, [](double x) { return std::atanh(x); }, unit},
  };
}

// f(x) for each x as the dtype (f32 or f64) stores it.
std::vector<double> reference(const MathCase& c, DType dtype) {
  std::vector<double> out;
  for (double x : c.inputs) out.push_back(c.ref(dtype == DType::F32 ? static_cast<float>(x) : x));
  return out;
}

class MathOn : public ::testing::TestWithParam<std::string> {};

TEST_P(MathOn, MatchesTheCLibrary) {
  KILN_TEST_DEVICE_OR_SKIP(device, GetParam());
  DeviceGuard on(device);
  std::vector<MathCase> cases = math_cases();
  std::vector<Tensor> f32, f64;
  for (const MathCase& c : cases) {
    Shape s{static_cast<int64_t>(c.inputs.size())};
    f32.push_back(c.op(from_data(c.inputs, s, DType::F32), Loc::current()));
    f64.push_back(c.op(from_data(c.inputs, s), Loc::current()));
  }
  std::vector<Tensor> all = f32;
  all.insert(all.end(), f64.begin(), f64.end());
  eval(all);  // one graph: the device compiles its kernels together
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    expect_close(f32[i], DType::F32, f32[i].shape(), reference(cases[i], DType::F32), 1e-5, 1e-9);
    expect_close(f64[i], DType::F64, f64[i].shape(), reference(cases[i], DType::F64), 1e-12, 1e-15);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, MathOn, ::testing::Values("reference", "cpu", "opencl"));

TEST(Math, HalfPrecisionRoundsOnce) {
  // Computed in f32 and rounded once: within f16's half ulp of the exact value.
  for (const MathCase& c : math_cases()) {
    SCOPED_TRACE(c.name);
    std::vector<double> in, want;
    for (double x : c.inputs) {
      double h = f16_to_float(float_to_f16(static_cast<float>(x)));
      double r = c.ref(h);
      if (std::isinf(h) || std::abs(r) > 65504) continue;  // past f16's range
      in.push_back(h);
      want.push_back(r);
    }
    Shape s{static_cast<int64_t>(in.size())};
    Tensor y = c.op(from_data(in, s, DType::F16), Loc::current());
    expect_close(y, DType::F16, s, want, 1e-3, 1e-7);
  }
}

TEST(Math, DTypes) {
  testing::expect_f32(asinh(from_data({0, 1}, {2})), {2}, {0, std::asinh(1.0)});
  testing::expect_error<DTypeError>(
      [] {
        atanh(from_data<complex64>({{1, 2}}, {1}));
      },
      {"atanh", "complex"});
}

TEST(Math, GradientsFlowThroughTheCompositions) {
  DeviceGuard on(runtime::make_device("reference"));
  testing::Rng rng(3);
  testing::check_vjp(testing::Sample{{rng.uniform({2, 3}, -0.9, 0.9)}, [](const auto& xs) {
                                       const Tensor& x = xs[0];
                                       return asin(x) + acos(x) * 2 + atan(x) * 3 + sinh(x) * 4 +
                                              cosh(x) * 5 + asinh(x) * 6 + atanh(x) * 7 +
                                              acosh(x + 2) * 8;
                                     }});
}

}  // namespace
}  // namespace kiln
