// The differential suite: every IR op, over the dtypes it accepts and shapes from empty to
// odd, views included, on the OpenCL device against the reference evaluator. Reductions
// and softmax run in every kernel shape the renderer has (map, row, split).
#include <functional>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

using Fn1 = std::function<Tensor(const Tensor&)>;
using Fn2 = std::function<Tensor(const Tensor&, const Tensor&)>;

const Shape kShapes[] = {{1}, {3, 1, 5}, {2, 0, 3}, {4099}};

bool supported(runtime::opencl::OpenCLDevice& d, DType t) {
  return t != DType::F64 || d.info().fp64;
}

// Complex test data: real and imaginary parts from test_data.
Tensor complex_data(const Shape& shape, uint64_t seed) {
  Tensor re = test_data(shape, DType::F32, seed), im = test_data(shape, DType::F32, seed + 100);
  std::vector<float> r = re.to_vector<float>(), i = im.to_vector<float>();
  std::vector<complex64> c(r.size());
  for (size_t k = 0; k < c.size(); ++k) c[k] = {r[k], i[k]};
  return from_data(c, shape);
}

Tensor data_of(DType t, const Shape& shape, uint64_t seed) {
  if (t == DType::C64) return complex_data(shape, seed);
  if (t == DType::U8) return test_data(shape, t, seed, 0, 200);
  if (is_integer(t)) return test_data(shape, t, seed, -100, 100);
  return test_data(shape, t, seed);
}

struct UnaryCase {
  const char* name;
  Fn1 fn;
  bool ints, floats, complex;
};

TEST(OpenCLDifferential, Unary) {
  KILN_REQUIRE_OPENCL(device);
  const UnaryCase cases[] = {
      {"neg", [](const Tensor& x) { return -x; }, true, true, true},
      {"abs", [](const Tensor& x) { return abs(x); }, true, true, true},
      {"sign", [](const Tensor& x) { return sign(x); }, true, true, false},
      {"exp", [](const Tensor& x) { return exp(x); }, false, true, true},
      {"exp2", [](const Tensor& x) { return exp2(x); }, false, true, false},
      {"log", [](const Tensor& x) { return log(abs(x) + 0.5); }, false, true, true},
      {"log2", [](const Tensor& x) { return log2(abs(x) + 0.5); }, false, true, false},
      {"log1p", [](const Tensor& x) { return log1p(abs(x)); }, false, true, false},
      {"expm1", [](const Tensor& x) { return expm1(x); }, false, true, false},
      {"sqrt", [](const Tensor& x) { return sqrt(abs(x)); }, false, true, true},
      {"rsqrt", [](const Tensor& x) { return rsqrt(abs(x) + 0.25); }, false, true, false},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x + 0.125); }, false, true, true},
      {"sin", [](const Tensor& x) { return sin(x); }, false, true, true},
      {"cos", [](const Tensor& x) { return cos(x); }, false, true, true},
      {"tan", [](const Tensor& x) { return tan(x); }, false, true, false},
      {"tanh", [](const Tensor& x) { return tanh(x); }, false, true, true},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, false, true, false},
      {"erf", [](const Tensor& x) { return erf(x); }, false, true, false},
      {"floor", [](const Tensor& x) { return floor(x * 3.0); }, true, true, false},
      {"ceil", [](const Tensor& x) { return ceil(x * 3.0); }, true, true, false},
      {"round", [](const Tensor& x) { return round(x * 4.0); }, true, true, false},
      {"isnan", [](const Tensor& x) { return isnan(log(x)); }, false, true, false},
      {"isinf", [](const Tensor& x) { return isinf(reciprocal(floor(x))); }, false, true, false},
      {"not", [](const Tensor& x) { return !(x > 0.5); }, true, true, false},
      {"bitwise_not", [](const Tensor& x) { return ~x; }, true, false, false},
      {"real", [](const Tensor& x) { return real(x); }, false, true, true},
      {"imag", [](const Tensor& x) { return imag(x); }, false, false, true},
      {"conj", [](const Tensor& x) { return conj(x); }, false, false, true},
  };
  // One graph per dtype and shape holds every op that applies: one program build each.
  const DType all[] = {DType::I8,   DType::U8,  DType::I32, DType::I64, DType::F16,
                       DType::BF16, DType::F32, DType::F64, DType::C64};
  for (DType t : all) {
    if (!supported(*device, t)) continue;
    for (const Shape& s : kShapes) {
      SCOPED_TRACE((Type{t, s}.str()));
      Tensor x = data_of(t, s, 11);
      std::vector<Tensor> outs;
      std::vector<std::string> names;
      for (const UnaryCase& c : cases) {
        if ((is_integer(t) && !c.ints) || (is_floating(t) && !c.floats) ||
            (is_complex(t) && !c.complex))
          continue;
        outs.push_back(c.fn(x));
        names.push_back(c.name);
      }
      std::optional<Tolerance> tol;
      if (t == DType::C64)
        tol = Tolerance{1e-4, 1e-5};  // complex formulas differ from std::complex's
      EXPECT_TRUE(matches_reference_packed(*device, outs, tol, names));
    }
  }
}

struct BinaryCase {
  const char* name;
  Fn2 fn;
  bool boolean, ints, floats, complex;
};

TEST(OpenCLDifferential, Binary) {
  KILN_REQUIRE_OPENCL(device);
  const BinaryCase cases[] = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, true, true, true, true},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, false, true, true, true},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, true, true, true, true},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, false, true, true, true},
      {"floor_div", [](const Tensor& a, const Tensor& b) { return floor_divide(a, b); }, false,
       true, false, false},
      {"mod", [](const Tensor& a, const Tensor& b) { return mod(a, b); }, false, true, true, false},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(abs(a), b); }, false, true, true,
       false},
      {"max", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, true, true, true,
       false},
      {"min", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, true, true, true,
       false},
      {"atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }, false, false, true,
       false},
      {"eq", [](const Tensor& a, const Tensor& b) { return a == b; }, true, true, true, true},
      {"ne", [](const Tensor& a, const Tensor& b) { return a != b; }, true, true, true, true},
      {"lt", [](const Tensor& a, const Tensor& b) { return a < b; }, true, true, true, false},
      {"le", [](const Tensor& a, const Tensor& b) { return a <= b; }, true, true, true, false},
      {"gt", [](const Tensor& a, const Tensor& b) { return a > b; }, true, true, true, false},
      {"ge", [](const Tensor& a, const Tensor& b) { return a >= b; }, true, true, true, false},
      {"and", [](const Tensor& a, const Tensor& b) { return a & b; }, true, true, false, false},
      {"or", [](const Tensor& a, const Tensor& b) { return a | b; }, true, true, false, false},
      {"xor", [](const Tensor& a, const Tensor& b) { return a ^ b; }, true, true, false, false},
  };
  const DType all[] = {DType::Bool, DType::I8,   DType::U8,  DType::I32, DType::I64,
                       DType::F16,  DType::BF16, DType::F32, DType::F64, DType::C64};
  for (DType t : all) {
    if (!supported(*device, t)) continue;
    for (const Shape& s : kShapes) {
      SCOPED_TRACE((Type{t, s}.str()));
      Tensor a = data_of(t, s, 21), b = data_of(t, s, 22);
      std::vector<Tensor> outs;
      std::vector<std::string> names;
      for (const BinaryCase& c : cases) {
        if ((t == DType::Bool && !c.boolean) || (is_integer(t) && !c.ints) ||
            (is_floating(t) && !c.floats) || (is_complex(t) && !c.complex))
          continue;
        bool int_pow = is_integer(t) && std::string(c.name) == "pow";
        outs.push_back(c.fn(a, int_pow ? b % 5 : b));
        names.push_back(c.name);
      }
      std::optional<Tolerance> tol;
      if (t == DType::C64) tol = Tolerance{1e-4, 1e-5};
      EXPECT_TRUE(matches_reference_packed(*device, outs, tol, names));
    }
  }
}

// Small edge-case inputs repeated past the size below which the frontend keeps constants
// inline (and the graph passes would fold the whole computation on the host).
template <class T>
Tensor edges(std::vector<T> v) {
  std::vector<T> out;
  for (int r = 0; r < 3; ++r) out.insert(out.end(), v.begin(), v.end());
  return from_data(out, {static_cast<int64_t>(out.size())});
}

TEST(OpenCLDifferential, IntegerEdges) {
  KILN_REQUIRE_OPENCL(device);
  // Wrapping, floor division and modulo by negatives and zero, MIN / -1, integer powers.
  Tensor a = edges<int32_t>({7, -7, 7, -7, 0, 5, -2147483647 - 1, 2147483647, 3, -3});
  Tensor b = edges<int32_t>({2, 2, -2, -2, 3, 0, -1, 1, -1, 0});
  EXPECT_TRUE(matches_reference(
      *device, {floor_divide(a, b), mod(a, b), a + b, a * b, a - b, pow(a, b), -a, abs(a)}));
  Tensor c = edges<int64_t>({INT64_MIN, INT64_MAX, -5, 5, 0, 9});
  Tensor d = edges<int64_t>({-1, 2, 3, -3, 0, 0});
  EXPECT_TRUE(matches_reference(*device, {floor_divide(c, d), mod(c, d), c + d, c * d}));
  Tensor e = edges<int8_t>({-128, 127, -7, 7, 100, 0});
  Tensor f = edges<int8_t>({-1, 2, 2, -2, 100, 0});
  EXPECT_TRUE(matches_reference(*device, {floor_divide(e, f), mod(e, f), e + f, e * f, -e}));
}

TEST(OpenCLDifferential, FloatEdges) {
  KILN_REQUIRE_OPENCL(device);
  const float inf = INFINITY, nan = NAN;
  Tensor a = edges<float>({nan, 1, -0.0f, inf, -inf, 2.5f, -2.5f, 0.5f, 1.5f, -7});
  Tensor b = edges<float>({1, nan, 0.0f, 1, -inf, -2, 2, 0, -3, 3});
  EXPECT_TRUE(matches_reference(
      *device, {maximum(a, b), minimum(a, b), mod(a, b), round(a), sign(a), a / b}));
  EXPECT_TRUE(matches_reference(
      *device, {cast(a, DType::I32), cast(a, DType::U8), cast(a, DType::I64), cast(a, DType::Bool),
                cast(a * 1e20, DType::I32), cast(a, DType::F16), cast(a * 1e5, DType::F16),
                cast(a * 3e38, DType::BF16)}));
}

TEST(OpenCLDifferential, Casts) {
  KILN_REQUIRE_OPENCL(device);
  const DType all[] = {DType::Bool, DType::I8,   DType::U8,  DType::I32, DType::I64,
                       DType::F16,  DType::BF16, DType::F32, DType::F64, DType::C64};
  for (DType from : all) {
    if (!supported(*device, from)) continue;
    SCOPED_TRACE(dtype_name(from));
    Tensor x = is_floating(from) ? data_of(from, {257}, 31) * 100.0 : data_of(from, {257}, 31);
    std::vector<Tensor> outs;
    std::vector<std::string> names;
    for (DType to : all) {
      if (!supported(*device, to)) continue;
      try {
        outs.push_back(cast(x, to));
        names.push_back(std::string("to ") + std::string(dtype_name(to)));
      } catch (const DTypeError&) {
        // A cast the frontend does not offer.
      }
    }
    EXPECT_TRUE(matches_reference_packed(*device, outs, std::nullopt, names));
  }
}

// Devices with every kernel shape forced, to test each on small problems.
std::vector<std::shared_ptr<runtime::opencl::OpenCLDevice>> shaped_devices(
    runtime::opencl::OpenCLDevice& d) {
  std::vector<std::shared_ptr<runtime::opencl::OpenCLDevice>> out;
  using codegen::opencl::ShapeHint;
  for (ShapeHint h : {ShapeHint::Auto, ShapeHint::Map, ShapeHint::Row, ShapeHint::Split}) {
    codegen::opencl::OpenCLTarget t = d.target();
    t.shape_hint = h;
    out.push_back(std::make_shared<runtime::opencl::OpenCLDevice>(d.info(), t));
  }
  // Wide groups and a short register row: the loop form of row kernels, and tails.
  codegen::opencl::OpenCLTarget t = d.target();
  t.row_group_size = 64;
  t.max_register_row = 1;
  t.shape_hint = ShapeHint::Row;
  out.push_back(std::make_shared<runtime::opencl::OpenCLDevice>(d.info(), t));
  // What a GPU gets: wide groups, rows held in registers.
  t = d.target();
  t.is_gpu = true;
  t.compute_units = 100;
  out.push_back(std::make_shared<runtime::opencl::OpenCLDevice>(d.info(), t));
  return out;
}

TEST(OpenCLDifferential, Reductions) {
  KILN_REQUIRE_OPENCL(device);
  struct Case {
    Shape shape;
    std::vector<int> axes;
    bool every_device;  // also run in each forced shape (PoCL compiles slowly: few cases)
  };
  const Case cases[] = {{{0}, {0}, false},         {{1}, {0}, false},       {{5, 0}, {1}, false},
                        {{0, 5}, {1}, false},      {{37, 1000}, {1}, true}, {{37, 1000}, {0}, true},
                        {{3, 4, 5}, {0, 2}, true}, {{6, 7, 8}, {1}, false}, {{4099}, {0}, true},
                        {{2, 3, 4}, {}, false},    {{9, 130}, {1}, true}};
  auto devices = shaped_devices(*device);
  for (size_t di = 0; di < devices.size(); ++di) {
    auto& d = devices[di];
    // Every dtype on the automatic choice; f32 in each forced shape.
    std::vector<DType> types = {DType::F32};
    if (di == 0) types = {DType::F32, DType::I32, DType::Bool, DType::F16, DType::I64};
    for (DType t : types) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " shape hint " +
                   std::to_string(static_cast<int>(d->target().shape_hint)));
      const bool all_ops = di == 0 && t == DType::F32;
      std::vector<Tensor> outs;
      std::vector<std::string> names;
      for (const Case& c : cases) {
        if (di != 0 && !c.every_device) continue;
        Tensor x = data_of(t, c.shape, 41);
        Axes axes = c.axes.empty() ? Axes() : Axes(c.axes);
        std::string where =
            " of " + (Type{t, c.shape}.str()) + " over " + std::to_string(c.axes.size()) + " axes";
        auto add = [&](const char* name, const Tensor& y) {
          outs.push_back(y);
          names.push_back(name + where);
        };
        if (t == DType::Bool) {
          add("all", all(x, axes));
          add("any", any(x, axes));
        } else {
          add("sum", sum(x, axes));
          add("max", max(x, axes));
          if (all_ops) add("min", min(x, axes, true));
        }
        if (t == DType::F32) add("prod", prod(x * 0.1 + 1.0, axes));
        if (c.axes.size() == 1 && numel(c.shape) > 0 &&
            c.shape[static_cast<size_t>(c.axes[0])] > 0 && t != DType::Bool) {
          add("argmax", argmax(x, c.axes[0]));
          if (all_ops) add("argmin", argmin(x, c.axes[0], true));
        }
      }
      EXPECT_TRUE(matches_reference_packed(*d, outs, Tolerance{t == DType::F16 ? 2e-3 : 1e-4, 1e-3},
                                           names));
    }
    // Ties and NaN: the first occurrence wins, NaN counts as the maximum.
    Tensor ties = reshape(edges<float>({1, 3, 3, NAN, 2, NAN, -1, -1, 0, 0, 0, 0}), {9, 4});
    EXPECT_TRUE(
        matches_reference(*d, {argmax(ties, 1), argmin(ties, 1), argmax(ties, 0), max(ties, 1)}));
  }
}

TEST(OpenCLDifferential, RowComputations) {
  KILN_REQUIRE_OPENCL(device);
  auto devices = shaped_devices(*device);
  for (size_t di = 0; di < devices.size(); ++di) {
    auto& d = devices[di];
    std::vector<Shape> shapes = {Shape{33, 257}, Shape{4, 4096}};
    if (di == 0) shapes = {Shape{33, 257}, Shape{4, 4096}, Shape{1, 3000}, Shape{5, 8}};
    for (const Shape& s : shapes) {
      SCOPED_TRACE(shape_str(s) + " shape hint " +
                   std::to_string(static_cast<int>(d->target().shape_hint)));
      Tensor x = data_of(DType::F32, s, 51);
      Tensor w = data_of(DType::F32, {s[1]}, 52), b = data_of(DType::F32, {s[1]}, 53);
      EXPECT_TRUE(matches_reference_packed(
          *d, {softmax(x, -1), layer_norm(x, -1, w, b, 1e-5), logsumexp(x, 1), var(x, 1)},
          Tolerance{1e-4, 1e-5}, {"softmax", "layer_norm", "logsumexp", "var"}));
    }
  }
}

TEST(OpenCLDifferential, Scans) {
  KILN_REQUIRE_OPENCL(device);
  for (DType t : {DType::F32, DType::I32, DType::F16, DType::I64}) {
    for (Shape s : {Shape{0}, Shape{1}, Shape{17}, Shape{5, 9}, Shape{3, 4, 5}}) {
      SCOPED_TRACE((Type{t, s}.str()));
      Tensor x = data_of(t, s, 61);
      for (int axis = 0; axis < static_cast<int>(s.size()); ++axis)
        EXPECT_TRUE(matches_reference(
            *device, {cumsum(x, axis), cumprod(x * (is_integer(t) ? 1 : 0.5), axis)},
            Tolerance{1e-4, 1e-4}));
    }
  }
}

TEST(OpenCLDifferential, Movement) {
  KILN_REQUIRE_OPENCL(device);
  for (DType t : {DType::F32, DType::U8, DType::I64, DType::Bool, DType::C64}) {
    SCOPED_TRACE(dtype_name(t));
    Tensor x = data_of(t, {4, 5, 6}, 71);
    EXPECT_TRUE(matches_reference(
        *device, {reshape(x, {20, 6}), reshape(x, {6, 20}), permute(x, {2, 0, 1})}));
    EXPECT_TRUE(matches_reference(*device, {broadcast_to(reshape(x, {4, 1, 5, 6}), {4, 3, 5, 6})}));
    EXPECT_TRUE(matches_reference(
        *device,
        {slice(x, {Slice(1, 3), Slice(std::nullopt, std::nullopt, -2), Slice(5, 0, -2)})}));
    EXPECT_TRUE(matches_reference(*device, {pad(x, {{1, 2}, {0, 0}, {3, 1}}, 1), flip(x, {0, 2})}));
    EXPECT_TRUE(matches_reference(*device, {concatenate({x, x, slice(x, 1, 0, 2)}, 1)}));
    // Views feeding elementwise work and reductions.
    if (t == DType::F32) {
      EXPECT_TRUE(matches_reference(
          *device, {sum(permute(x, {2, 1, 0}) * 2.0, 1), transpose(reshape(x, {20, 6})) + 1.0},
          Tolerance{1e-5, 1e-5}));
    }
  }
  Tensor empty = data_of(DType::F32, {0, 3}, 72);
  EXPECT_TRUE(matches_reference(
      *device, {pad(empty, {{1, 1}, {0, 0}}, 2.5), concatenate({empty, empty}, 0)}));
}

TEST(OpenCLDifferential, GatherScatter) {
  KILN_REQUIRE_OPENCL(device);
  Tensor data = data_of(DType::F32, {5, 7}, 81);
  // Negative indices wrap once; out-of-range ones clamp (gather) or drop (scatter).
  Tensor idx = from_data<int64_t>(
      {0, -1, 4, 9, -9, 2, 3, 1, 0, -2, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 1}, {3, 7});
  EXPECT_TRUE(matches_reference(*device, {gather(data, idx, 0)}));
  Tensor idx1 = from_data<int32_t>({0, 6, -1, 8, 3, 2, 1, 0, 0, 0}, {5, 2});
  EXPECT_TRUE(matches_reference(*device, {take_along_axis(data, idx1, 1)}));
  Tensor upd = data_of(DType::F32, {3, 7}, 82);
  EXPECT_TRUE(matches_reference(*device, {scatter_add(data, idx, upd, 0)}, Tolerance{1e-6, 1e-6}));
  Tensor ibase = data_of(DType::I32, {5, 7}, 83), iupd = data_of(DType::I32, {3, 7}, 84);
  EXPECT_TRUE(matches_reference(*device, {scatter_add(ibase, idx, iupd, 0)}));
  Tensor hbase = data_of(DType::F16, {5, 7}, 85), hupd = data_of(DType::F16, {3, 7}, 86);
  EXPECT_TRUE(matches_reference(*device, {scatter_add(hbase, idx, hupd, 0)}));
}

TEST(OpenCLDifferential, MatmulAndRandom) {
  KILN_REQUIRE_OPENCL(device);
  Tensor a = data_of(DType::F32, {2, 9, 17}, 91), b = data_of(DType::F32, {2, 17, 5}, 92);
  EXPECT_TRUE(matches_reference(*device, {matmul(a, b)}, Tolerance{1e-5, 1e-5}));
  Tensor ia = data_of(DType::I32, {9, 17}, 93), ib = data_of(DType::I32, {17, 5}, 94);
  EXPECT_TRUE(matches_reference(*device, {matmul(ia, ib)}));
  Key key(1234);
  EXPECT_TRUE(matches_reference(
      *device,
      {uniform(key, {1000}), uniform(key, {3, 33}, DType::F16), uniform(key, {64}, DType::BF16)},
      Tolerance{0, 0}));
  if (device->info().fp64) {
    EXPECT_TRUE(matches_reference(*device, {uniform(key, {100}, DType::F64)}, Tolerance{0, 0}));
  }
}

}  // namespace
}  // namespace kiln::testing
