// Reductions and row computations (softmax, layer_norm, logsumexp, var) in every kernel
// shape the OpenCL renderer has (map, row, split, the loop form of rows, a GPU's
// configuration), forced on small problems, against the reference evaluator. Every op on
// the automatic choice is the differential suite's (tests/runtime/differential_test.cpp).

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

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

// Small edge-case inputs repeated past the size below which the frontend keeps constants
// inline (and the graph passes would fold the whole computation on the host).
template <class T>
Tensor edges(std::vector<T> v) {
  std::vector<T> out;
  for (int r = 0; r < 3; ++r) out.insert(out.end(), v.begin(), v.end());
  return from_data(out, {static_cast<int64_t>(out.size())});
}

// Devices with every kernel shape forced, to test each on small problems.
std::vector<std::shared_ptr<runtime::opencl::OpenCLDevice>> shaped_devices(
    runtime::opencl::OpenCLDevice& d) {
  std::vector<std::shared_ptr<runtime::opencl::OpenCLDevice>> out;
  using codegen::ShapeHint;
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

TEST(OpenCLKernelShapes, Reductions) {
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
      EXPECT_TRUE(matches_reference_packed(*d, outs, accumulated_tolerance(t, 4099), names));
    }
    // Ties and NaN: the first occurrence wins, NaN counts as the maximum.
    Tensor ties = reshape(edges<float>({1, 3, 3, NAN, 2, NAN, -1, -1, 0, 0, 0, 0}), {9, 4});
    EXPECT_TRUE(
        matches_reference(*d, {argmax(ties, 1), argmin(ties, 1), argmax(ties, 0), max(ties, 1)}));
  }
}

TEST(OpenCLKernelShapes, RowComputations) {
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
          accumulated_tolerance(DType::F32, s[1]), {"softmax", "layer_norm", "logsumexp", "var"}));
    }
  }
}

// Map kernels whose work-items walk another loop than the last (choose_map_order.h: what
// a GPU gets for layout changes): transposes with and without vector lanes, of several
// dtypes, against the reference evaluator, with and without tiles in local memory
// (GroupMapping::tiled; tiles that overhang the loops on either side, several per batch).
// Every buffer is past the 64 KiB under which the pass leaves a kernel alone.
TEST(OpenCLKernelShapes, MapKernelsWalkingAnotherLoop) {
  KILN_REQUIRE_OPENCL(device);
  struct Case {
    std::string name;
    Tensor y;
    bool reordered;  // what the pass decides (lanes must divide the last loop)
  };
  std::vector<Case> cases;
  // Channels-last to channels-first with a two-tap filter along l (lanes 4, then 1).
  for (auto [l, c] : {std::pair<int64_t, int64_t>{256, 192}, {301, 67}}) {
    Tensor x = data_of(DType::F32, {l + 1, c}, 61), w = data_of(DType::F32, {c}, 62);
    Tensor xt = swapaxes(x, 0, 1);
    cases.push_back({"filter " + std::to_string(l) + "x" + std::to_string(c),
                     slice(xt, 1, 0, l) * reshape(w, {c, 1}) + slice(xt, 1, 1, l + 1), true});
  }
  Tensor x3 = data_of(DType::F32, {40, 33, 72}, 63);
  cases.push_back({"permute (1, 2, 0)", permute(x3, {1, 2, 0}) + 1.0, true});
  // y[c, a, b] = x[a, b, c]: a and b merge into one loop of 1320.
  cases.push_back({"permute (2, 0, 1)", permute(x3, {2, 0, 1}) * 2.0, true});
  // Rows of 33: the lanes (4) do not divide the last loop.
  Tensor x4 = data_of(DType::F32, {33, 40, 20}, 66);
  cases.push_back({"permute (2, 1, 0), lanes across rows", permute(x4, {2, 1, 0}) * 2.0, false});
  cases.push_back({"i64 transpose", swapaxes(data_of(DType::I64, {128, 70}, 64), 0, 1) + 3, true});
  cases.push_back(
      {"f16 transpose", swapaxes(data_of(DType::F16, {200, 300}, 65), 0, 1) * 0.5, true});
  // Three batches of [66, 132] transposed: tiles overhanging both loops.
  cases.push_back(
      {"batched transpose", swapaxes(data_of(DType::F32, {3, 132, 66}, 67), 1, 2) - 1.0, true});
  for (bool tiles : {false, true}) {
    codegen::opencl::OpenCLTarget t = device->target();
    t.coalesce_map_order = true;
    t.tile_map_transposes = tiles;
    runtime::opencl::OpenCLDevice d(device->info(), t);
    for (const Case& c : cases) {
      const std::string name = c.name + (tiles ? ", tiled" : "");
      EXPECT_TRUE(matches_reference(d, {c.y}, accumulated_tolerance(DType::F16, 1), {name}));
      frontend::Extraction ex = frontend::extract_graph({c.y.node()}, false);
      auto rendered =
          runtime::opencl::OpenCLDevice::rendered(*runtime::prepare(d, ex.graph, ex.inputs));
      ASSERT_EQ(rendered.size(), 1u) << name;
      EXPECT_EQ(rendered[0].reordered, c.reordered) << name;
      EXPECT_EQ(rendered[0].tiled, tiles && c.reordered) << name;
    }
  }
}

}  // namespace
}  // namespace kiln::testing
