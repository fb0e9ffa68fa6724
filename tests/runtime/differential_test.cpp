// The differential suite: every op of ir::all_ops(), over every dtype the IR verifier
// accepts for it, on shapes of size 0 and 1, odd sizes, non-contiguous views and
// broadcasts, run on the device under test and compared with the reference evaluator
// (tests/tolerance.h bounds the difference). Then edge cases the generic sweep does not
// reach: integer and float edges, casts of extreme values, row computations, ties.
//
// The file is compiled into one test program per built device, which names its device in
// KILN_TEST_DEVICE: test_runtime ("reference"), test_runtime_cpu ("cpu"),
// test_runtime_opencl ("opencl"); the tests' names start with KILN_TEST_DEVICE_ID
// (Reference/, Cpu/, Opencl/), so that they differ between the programs. There is no hand list of
// ops or dtypes: an op is asked of the verifier with operands of each dtype, and an op whose
// category (or, for movement, index and source ops, the op itself) has no generator below fails
// Differential.Op/<op> naming it.
#include "tests/differential.h"

#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <functional>
#include <map>

#include "frontend/evaluate.h"
#include "ir/op.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

namespace kiln::ir {
// Test names and messages show the op's IR spelling.
void PrintTo(OpKind op, std::ostream* os) { *os << op_name(op); }
}  // namespace kiln::ir

namespace kiln::testing {
namespace {

// One graph to compare: what it checks, the graph, its inputs and its bound.
struct Case {
  std::string name;
  ir::Graph graph;
  std::vector<BufferPtr> inputs;
  std::optional<Tolerance> tol;
};

// Builds a case with `body` and appends it when the verifier accepts the graph (a
// VerifyError means the op does not take these operands); returns whether it did.
bool add_case(std::vector<Case>& out, const std::string& name,
              const std::function<void(GraphBuilder&)>& body, Values values = Values::Normal,
              std::optional<Tolerance> tol = std::nullopt, uint64_t seed = 1) {
  GraphBuilder b;
  try {
    body(b);
    ir::verify(b.g);
  } catch (const VerifyError&) {
    return false;
  }
  std::vector<BufferPtr> inputs = random_inputs(b.g, seed, values);
  out.push_back({name, std::move(b.g), std::move(inputs), tol});
  return true;
}

std::string type_str(DType t, const Shape& s) { return Type{t, s}.str(); }

// ---- Operands: plain parameters, or the same shapes reached through views.

enum class Layout { Plain, Transposed, Broadcast };

// A value of type {t, s} made from a parameter: the parameter itself, a transpose of a
// parameter of the reversed shape (strided reads), or a parameter broadcast along its
// first dimension (repeated reads).
NodePtr operand(GraphBuilder& b, DType t, const Shape& s, Layout layout) {
  if (layout == Layout::Plain || s.size() < 2) return b.param({t, s});
  if (layout == Layout::Transposed) {
    Shape rev(s.rbegin(), s.rend());
    std::vector<int64_t> perm;
    for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) perm.push_back(d);
    return b.add(OpKind::Permute, {b.param({t, rev})}, {perm});
  }
  Shape row(s.begin() + 1, s.end()), one = s;
  one[0] = 1;
  auto r = b.add(OpKind::Reshape, {b.param({t, row})}, {}, Type{t, one});
  return b.add(OpKind::Broadcast, {r}, {}, Type{t, s});
}

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Plain: return "";
    case Layout::Transposed: return " transposed";
    case Layout::Broadcast: return " broadcast";
  }
  return "";
}

struct Shaped {
  Shaped(Shape s, Layout l = Layout::Plain) : shape(std::move(s)), layout(l) {}
  Shape shape;
  Layout layout;
};

// Elementwise shapes: scalar, empty, one, odd, 2-d, empty inside, longer than a vector
// tail; and 2-d through a transpose and a broadcast.
const Shaped kElementwiseShapes[] = {{{}},
                                     {{0}},
                                     {{1}},
                                     {{37}},
                                     {{3, 19}},
                                     {{2, 0, 3}},
                                     {{4099}},
                                     {{5, 19}, Layout::Transposed},
                                     {{5, 19}, Layout::Broadcast}};

// The operand dtypes of an elementwise op whose operands are all of `t`, except select's
// condition.
std::vector<DType> operand_dtypes(OpKind op, DType t) {
  const ir::OpInfo& info = ir::op_info(op);
  std::vector<DType> out(static_cast<size_t>(info.arity), t);
  if (info.category == ir::OpCategory::Ternary) out[0] = DType::Bool;
  return out;
}

// Unary, binary, ternary: the op on operands of dtype t in every shape; special values,
// positive values (the domain of log, sqrt...) and small ones (integer powers) once more.
void elementwise_cases(OpKind op, DType t, std::vector<Case>& out) {
  const std::string name(ir::op_name(op));
  // Complex pow is exp(b log a): the error of log a grows by |b log a|, up to about ten
  // with these inputs, and devices' f32 exp and log differ by a few ulp (NVIDIA's by 5e-4
  // relative at worst over the suite's inputs).
  std::optional<Tolerance> tol;
  if (op == OpKind::Pow && is_complex(t)) tol = Tolerance{2e-3, 1e-5};
  for (const Shaped& s : kElementwiseShapes) {
    std::string what = name + " " + type_str(t, s.shape) + layout_name(s.layout);
    auto body = [&](GraphBuilder& b) {
      std::vector<NodePtr> operands;
      size_t i = 0;
      for (DType d : operand_dtypes(op, t))
        operands.push_back(operand(b, d, s.shape, i++ == 0 ? s.layout : Layout::Broadcast));
      b.result(b.add(op, operands));
    };
    if (!add_case(out, what, body, Values::Normal, tol)) return;  // the verifier refuses t
    if (s.shape == Shape{37}) {
      if (is_inexact(t)) {
        // Complex infinities and NaN are left out: C99's rules for them (Annex G, which the
        // reference's std::complex follows) are not what the kernels' formulas give.
        if (!is_complex(t))
          add_case(out, what + " specials", body, Values::Specials, std::nullopt, 2);
        add_case(out, what + " positive", body, Values::Positive, tol, 3);
      } else {
        add_case(out, what + " small", body, Values::Small, std::nullopt, 4);
      }
    }
  }
}

// Cast from t to every dtype the verifier allows.
void cast_cases(OpKind op, DType from, std::vector<Case>& out) {
  for (DType to : kAllDTypes)
    for (const Shaped& s :
         {Shaped{{}}, Shaped{{0}}, Shaped{{41}}, Shaped{{5, 19}, Layout::Transposed}}) {
      std::string what = std::string(ir::op_name(op)) + " " + type_str(from, s.shape) + " to " +
                         std::string(dtype_name(to)) + layout_name(s.layout);
      auto body = [&](GraphBuilder& b) {
        b.result(b.add(op, {operand(b, from, s.shape, s.layout)}, {}, Type{to, s.shape}));
      };
      if (!add_case(out, what, body)) break;
      if (s.shape == Shape{41} && is_inexact(from))
        add_case(out, what + " specials", body, Values::Specials, std::nullopt, 8);
    }
}

// Every subset of `rank` axes, the empty one included.
std::vector<std::vector<int64_t>> axis_subsets(size_t rank) {
  std::vector<std::vector<int64_t>> out;
  for (uint32_t mask = 0; mask < (1u << rank); ++mask) {
    std::vector<int64_t> axes;
    for (size_t d = 0; d < rank; ++d)
      if (mask & (1u << d)) axes.push_back(static_cast<int64_t>(d));
    out.push_back(axes);
  }
  return out;
}

int64_t count_over(const Shape& s, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= s[static_cast<size_t>(a)];
  return n;
}

// Reductions over every axis subset of shapes with empty, unit and odd dimensions, with
// and without kept dimensions; a long row; and a transposed input.
void reduce_cases(OpKind op, DType t, std::vector<Case>& out) {
  const Shaped shapes[] = {{{0}},       {{1}},       {{37}},
                           {{5, 0}},    {{0, 5}},    {{6, 7}},
                           {{3, 1, 5}}, {{2, 1000}}, {{7, 3, 5}, Layout::Transposed}};
  bool any = false;
  for (const Shaped& s : shapes) {
    auto subsets = axis_subsets(s.shape.size());
    if (s.shape[0] == 2) subsets = {{1}};  // the long row only along itself
    for (size_t k = 0; k < subsets.size(); ++k) {
      const auto& axes = subsets[k];
      const bool keep = k % 2 == 1;
      std::string what = std::string(ir::op_name(op)) + " " + type_str(t, s.shape) +
                         layout_name(s.layout) + " axes " + std::to_string(axes.size()) +
                         (keep ? " keepdims" : "");
      for (int64_t a : axes) what += " " + std::to_string(a);
      any |= add_case(
          out, what,
          [&](GraphBuilder& b) {
            b.result(b.add(op, {operand(b, t, s.shape, s.layout)}, {axes, keep}));
          },
          // Values in [-1, 1] along the long row, so that its products stay finite.
          s.shape[0] == 2 ? Values::Small : Values::Normal,
          accumulated_tolerance(t, count_over(s.shape, axes)));
      if (s.shape == Shape{6, 7} && axes == std::vector<int64_t>{1} && is_floating(t))
        add_case(
            out, what + " specials",
            [&](GraphBuilder& b) {
              b.result(b.add(op, {b.param({t, s.shape})}, {axes, keep}));
            },
            Values::Specials, accumulated_tolerance(t, 7), 12);
    }
    if (!any && s.shape.size() > 1) return;  // no axis set of a 2-d shape: not this dtype
  }
}

// Scans along every axis.
void scan_cases(OpKind op, DType t, std::vector<Case>& out) {
  const Shaped shapes[] = {{{0}},    {{1}},       {{17}},
                           {{5, 9}}, {{3, 4, 5}}, {{9, 5}, Layout::Transposed}};
  for (const Shaped& s : shapes)
    for (int64_t axis = 0; axis < static_cast<int64_t>(s.shape.size()); ++axis) {
      std::string what = std::string(ir::op_name(op)) + " " + type_str(t, s.shape) +
                         layout_name(s.layout) + " axis " + std::to_string(axis);
      if (!add_case(
              out, what,
              [&](GraphBuilder& b) {
                b.result(b.add(op, {operand(b, t, s.shape, s.layout)}, {axis}));
              },
              Values::Small, accumulated_tolerance(t, s.shape[static_cast<size_t>(axis)])))
        return;
    }
}

// The shape of slice(s, start, step): ceil((n - start) / step) forward, ceil((start + 1) /
// -step) backward.
Shape sliced(const Shape& s, const std::vector<int64_t>& start, const std::vector<int64_t>& step) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d) {
    int64_t left = step[d] > 0 ? s[d] - start[d] : start[d] + 1;
    int64_t by = std::abs(step[d]);
    out.push_back(std::max<int64_t>(0, (left + by - 1) / by));
  }
  return out;
}

// A movement op on a plain and on a transposed operand; each op its own arguments.
// Returns false for an op this generator does not know.
bool movement_cases(OpKind op, DType t, std::vector<Case>& out) {
  using Attrs = std::vector<ir::AttrValue>;
  struct View {
    Shaped in;
    Attrs attrs;
    Shape declared;  // for the ops whose result type is declared
  };
  std::vector<View> views;
  auto view = [&](Shape in, Layout layout, Attrs attrs, Shape declared = {}) {
    views.push_back(View{Shaped{std::move(in), layout}, std::move(attrs), std::move(declared)});
  };
  auto slice = [&](Shape in, Layout layout, std::vector<int64_t> start, std::vector<int64_t> step) {
    Shape out = sliced(in, start, step);
    view(std::move(in), layout, {std::move(start), std::move(step)}, std::move(out));
  };
  using Ints = std::vector<int64_t>;
  const Layout plain = Layout::Plain, transposed = Layout::Transposed;
  switch (op) {
    case OpKind::Reshape:
      view({3, 4, 5}, plain, {}, {20, 3});
      view({0, 3}, plain, {}, {3, 0});
      view(Shape{}, plain, {}, {1, 1});
      view({6, 4}, transposed, {}, {2, 12});
      break;
    case OpKind::Permute:
      view({3, 4, 5}, plain, {Ints{2, 0, 1}});
      view({1, 7}, plain, {Ints{1, 0}});
      view({0, 2}, plain, {Ints{1, 0}});
      view({6, 5}, transposed, {Ints{1, 0}});
      break;
    case OpKind::Broadcast:
      view({5, 1}, plain, {}, {5, 3});
      view({1}, plain, {}, {4});
      view({1, 3}, plain, {}, {0, 3});
      view({1, 4, 1}, plain, {}, {3, 4, 5});
      view({4, 1}, transposed, {}, {4, 6});
      break;
    case OpKind::Slice:
      slice({4, 5, 6}, plain, {1, 4, 5}, {1, -2, -2});
      slice({9}, plain, {0}, {3});
      slice({0, 3}, plain, {0, 2}, {1, -1});
      slice({7, 5}, transposed, {1, 4}, {2, -1});
      break;
    case OpKind::Pad:
      view({4, 5, 6}, plain, {Ints{1, 0, 3}, Ints{2, 0, 1}, 1.0});
      view({0, 3}, plain, {Ints{1, 0}, Ints{1, 0}, 2.5});
      view({1}, plain, {Ints{0}, Ints{0}, 0.0});
      view({3, 5}, transposed, {Ints{0, 2}, Ints{1, 1}, -1.0});
      break;
    case OpKind::Flip:
      view({4, 5, 6}, plain, {Ints{0, 2}});
      view({1}, plain, {Ints{0}});
      view({0, 3}, plain, {Ints{1}});
      view({5, 7}, transposed, {Ints{1}});
      break;
    case OpKind::Concat: {
      // Three operands along an axis: the operand, the operand again, and a narrower one.
      struct Cat {
        Shaped in;
        int64_t axis;
      };
      for (const Cat& c : {Cat{{{4, 5, 6}}, 1}, Cat{{{0, 3}}, 0}, Cat{{{1}}, 0},
                           Cat{{{3, 5}, Layout::Transposed}, 1}}) {
        Shape narrow = c.in.shape;
        narrow[static_cast<size_t>(c.axis)] =
            std::max<int64_t>(0, narrow[static_cast<size_t>(c.axis)] - 1);
        std::string what = "concat " + type_str(t, c.in.shape) + layout_name(c.in.layout) +
                           " axis " + std::to_string(c.axis);
        if (!add_case(out, what, [&](GraphBuilder& b) {
              auto x = operand(b, t, c.in.shape, c.in.layout);
              b.result(b.add(op, {x, x, b.param({t, narrow})}, {c.axis}));
            }))
          break;
      }
      return true;
    }
    case OpKind::OptimizationBarrier: {
      // Alone, after another value (which it must not read), and read by a kernel that
      // computes on it.
      for (const Shaped& in :
           {Shaped{{4, 5}}, Shaped{{0, 3}}, Shaped{{3, 5}, Layout::Transposed}}) {
        std::string what = "optimization_barrier " + type_str(t, in.shape) + layout_name(in.layout);
        add_case(out, what, [&](GraphBuilder& b) {
          b.result(b.add(op, {operand(b, t, in.shape, in.layout)}));
        });
        add_case(out, what + " after a value", [&](GraphBuilder& b) {
          auto x = operand(b, t, in.shape, in.layout);
          auto after = b.param({DType::F32, {7}});
          auto y = b.add(op, {x, b.add(OpKind::Neg, {after})});
          b.result(b.add(OpKind::Concat, {y, x}, {int64_t{0}}));
        });
      }
      return true;
    }
    default: return false;
  }
  for (const View& v : views) {
    std::string what =
        std::string(ir::op_name(op)) + " " + type_str(t, v.in.shape) + layout_name(v.in.layout);
    // Each view on its own: the verifier may take a pad value or a shape for one dtype and
    // not another.
    add_case(out, what, [&](GraphBuilder& b) {
      b.result(b.add(op, {operand(b, t, v.in.shape, v.in.layout)}, v.attrs, Type{t, v.declared}));
    });
  }
  return true;
}

// Gather and scatter_add along each axis, with indices of each integer dtype that are
// negative (wrapping once) and out of range (clamped, or dropped by scatter).
bool index_cases(OpKind op, DType t, std::vector<Case>& out) {
  if (op != OpKind::Gather && op != OpKind::ScatterAdd) return false;
  struct Along {
    Shape data, index;
    int64_t axis;
  };
  const Along alongs[] = {
      {{5, 7}, {3, 7}, 0}, {{5, 7}, {5, 2}, 1}, {{5, 7}, {0, 7}, 0}, {{1}, {4}, 0}};
  for (DType it : kAllDTypes)
    for (const Along& a : alongs) {
      std::string what = std::string(ir::op_name(op)) + " " + type_str(t, a.data) + " by " +
                         type_str(it, a.index) + " axis " + std::to_string(a.axis);
      GraphBuilder b;
      try {
        auto data = b.param({t, a.data});
        auto index = b.param({it, a.index});
        std::vector<NodePtr> operands = {data, index};
        if (op == OpKind::ScatterAdd) operands.push_back(b.param({t, a.index}));
        b.result(b.add(op, operands, {a.axis}));
        ir::verify(b.g);
      } catch (const VerifyError&) {
        break;  // not this data or index dtype
      }
      std::vector<BufferPtr> inputs = random_inputs(b.g, 11);
      inputs[1] =
          random_buffer({it, a.index}, 12, Values::Index, a.data[static_cast<size_t>(a.axis)]);
      out.push_back({what, std::move(b.g), std::move(inputs),
                     accumulated_tolerance(t, a.index[static_cast<size_t>(a.axis)])});
    }
  return true;
}

// Convolutions in 1-D and 2-D with stride, padding, dilation and groups, a unit and an
// empty batch (tests/runtime/conv_differential_test.cpp has the wider sweep).
void conv_cases(OpKind op, DType t, std::vector<Case>& out) {
  struct Conv {
    Shape x, w;
    std::vector<int64_t> stride, dilation, low, high;
    int64_t groups;
  };
  const Conv convs[] = {{{2, 3, 9}, {4, 3, 3}, {1}, {1}, {0}, {0}, 1},
                        {{1, 4, 10}, {4, 1, 4}, {1}, {1}, {3}, {0}, 4},
                        {{2, 4, 7, 6}, {6, 2, 3, 2}, {2, 1}, {1, 2}, {1, 0}, {1, 2}, 2},
                        {{0, 2, 5}, {2, 2, 1}, {1}, {1}, {0}, {0}, 1}};
  for (const Conv& c : convs) {
    std::string what = std::string(ir::op_name(op)) + " " + type_str(t, c.x) + " * " +
                       type_str(t, c.w) + " groups " + std::to_string(c.groups);
    int64_t terms = numel(c.w) / std::max<int64_t>(c.w[0], 1);
    if (!add_case(
            out, what,
            [&](GraphBuilder& b) {
              b.result(b.add(op, {b.param({t, c.x}), b.param({t, c.w})},
                             {c.stride, c.dilation, c.low, c.high, c.groups}));
            },
            Values::Small, accumulated_tolerance(t, terms)))
      return;
  }
}

// Matmul of matrices and batches, with empty and unit dimensions and a zero-length
// contraction.
// Transforms along each axis, of an empty batch, of length 1, and of a transposed view
// (tests/runtime/fft_test.cpp sweeps lengths and fusion).
void spectral_cases(OpKind op, DType t, std::vector<Case>& out) {
  struct Along {
    Shaped x;  // the input (irfft: n/2 + 1 frequencies along the axis)
    int64_t axis, n;
  };
  const Along cases[] = {{{{5, 8}}, 1, 8},    {{{6, 3}}, 0, 6},
                         {{{0, 7}}, 1, 7},    {{{4, 1}}, 1, 1},
                         {{{2, 3, 5}}, 1, 3}, {{{7, 6}, Layout::Transposed}, 1, 6}};
  for (const Along& c : cases) {
    Shape shape = c.x.shape;
    const auto a = static_cast<size_t>(c.axis);
    if (op == OpKind::Irfft) shape[a] = c.n / 2 + 1;
    std::vector<ir::AttrValue> attrs = {c.axis};
    if (op == OpKind::Fft) attrs.push_back(c.n % 2 == 0);  // both directions
    // irfft keeps the first n - 1 values where it can (a fused crop).
    if (op == OpKind::Irfft) attrs.insert(attrs.end(), {c.n, std::max<int64_t>(c.n - 1, 1)});
    std::string what = std::string(ir::op_name(op)) + " " + type_str(t, shape) +
                       layout_name(c.x.layout) + " axis " + std::to_string(c.axis);
    if (!add_case(
            out, what,
            [&](GraphBuilder& b) {
              b.result(b.add(op, {operand(b, t, shape, c.x.layout)}, attrs));
            },
            Values::Small, accumulated_tolerance(t, c.n)))
      return;
  }
}

void contraction_cases(OpKind op, DType t, std::vector<Case>& out) {
  if (op == OpKind::Conv) return conv_cases(op, t, out);
  if (op != OpKind::MatMul) return spectral_cases(op, t, out);
  struct Pair {
    Shaped a;
    Shape b;
  };
  const Pair pairs[] = {{{{9, 17}}, {17, 5}},
                        {{{2, 9, 17}}, {2, 17, 5}},
                        {{{1, 1}}, {1, 1}},
                        {{{3, 0}}, {0, 4}},
                        {{{0, 3}}, {3, 2}},
                        {{{4, 3}}, {3, 0}},
                        {{{7, 6}, Layout::Transposed}, {7, 3}}};
  for (const Pair& p : pairs) {
    std::string what = std::string(ir::op_name(op)) + " " + type_str(t, p.a.shape) +
                       layout_name(p.a.layout) + " x " + type_str(t, p.b);
    int64_t k = p.b[p.b.size() - 2];
    if (!add_case(
            out, what,
            [&](GraphBuilder& b) {
              b.result(b.add(op, {operand(b, t, p.a.shape, p.a.layout), b.param({t, p.b})}));
            },
            Values::Small, accumulated_tolerance(t, k)))
      return;
  }
}

// Parameters passed through, constants, iota along each axis, random numbers.
bool source_cases(OpKind op, DType t, std::vector<Case>& out) {
  const std::string name(ir::op_name(op));
  const Shape shapes[] = {{}, {0}, {37}, {4, 5}};
  for (const Shape& s : shapes) {
    std::string what = name + " " + type_str(t, s);
    bool ok = true;
    switch (op) {
      case OpKind::Parameter:
        ok = add_case(out, what, [&](GraphBuilder& b) { b.result(b.param({t, s})); });
        break;
      case OpKind::Constant:
        ok = add_case(out, what, [&](GraphBuilder& b) {
          b.result(b.constant(random_buffer({t, s}, 31, Values::Specials)));
        });
        break;
      case OpKind::Iota:
        for (int64_t axis = 0; ok && axis < static_cast<int64_t>(s.size()); ++axis)
          ok = add_case(out, what + " axis " + std::to_string(axis), [&](GraphBuilder& b) {
            b.result(b.add(op, {}, {axis}, Type{t, s}));
          });
        break;
      case OpKind::RandomUniform:
        ok = add_case(
            out, what,
            [&](GraphBuilder& b) {
              b.result(b.add(op, {}, {int64_t{1234}, std::vector<int64_t>{}}, Type{t, s}));
            },
            Values::Normal, Tolerance{0, 0});
        break;
      default: return false;
    }
    if (!ok) break;
  }
  return true;
}

// A custom OpenCL kernel that copies its input, on the dtypes the IR lets it take.
void custom_cases(OpKind op, DType t, std::vector<Case>& out) {
  for (const Shape& s : {Shape{37}, Shape{0}}) {
    Type type{t, s};
    std::string what = std::string(ir::op_name(op)) + " copy " + type.str();
    if (!add_case(out, what, [&](GraphBuilder& b) {
          auto x = b.param(type);
          const int64_t grid = std::max<int64_t>(1, type.numel());
          b.result(b.add(op, {x},
                         {std::string("copy"),
                          std::string("long i = get_global_id(0); if (i < x_numel) y[i] = x[i];"),
                          std::string("x"), std::string("y"), int64_t{0}, type.str(),
                          std::vector<int64_t>{grid}, std::vector<int64_t>{}, std::string()}));
        }))
      return;
  }
}

// The cases of `op` on operands of dtype `t` (none when the verifier takes no such
// graph); false when no generator knows the op.
bool cases_of(OpKind op, DType t, std::vector<Case>& out) {
  switch (ir::op_category(op)) {
    case ir::OpCategory::Unary:
    case ir::OpCategory::Binary:
    case ir::OpCategory::Ternary: elementwise_cases(op, t, out); return true;
    case ir::OpCategory::Cast: cast_cases(op, t, out); return true;
    case ir::OpCategory::Reduce: reduce_cases(op, t, out); return true;
    case ir::OpCategory::Scan: scan_cases(op, t, out); return true;
    case ir::OpCategory::Movement: return movement_cases(op, t, out);
    case ir::OpCategory::Index: return index_cases(op, t, out);
    case ir::OpCategory::Contraction: contraction_cases(op, t, out); return true;
    case ir::OpCategory::Source: return source_cases(op, t, out);
    case ir::OpCategory::Custom: custom_cases(op, t, out); return true;
  }
  return false;
}

// ---- Running cases.

// Whether to run the cases of an op as one graph. OpenCL compilers (PoCL) take a while per
// program, and a graph is one program, so the OpenCL device gets one graph per op and
// dtype; the others, whose kernels compile quickly, run each case on its own, as a user's
// graph would. KILN_TEST_PACK=1 or 0 says otherwise.
bool pack_cases() {
  if (const char* v = std::getenv("KILN_TEST_PACK")) return std::string(v) == "1";
  return std::string(KILN_TEST_DEVICE).rfind("opencl", 0) == 0;
}

// The cases as one graph: every case's parameters, nodes and results. With `concat`
// (elementwise cases) the results are flattened and concatenated per dtype, so that each
// dtype's results are one fused kernel.
Case packed(std::vector<Case>& cases, bool concat) {
  Case all{"packed", {}, {}, std::nullopt};
  std::map<DType, std::vector<NodePtr>> by_dtype;
  std::optional<Tolerance> widest;
  bool one_dtype = true;
  for (Case& c : cases) {
    for (size_t i = 0; i < c.graph.params.size(); ++i) {
      c.graph.params[i]->name = "p" + std::to_string(all.graph.params.size());
      all.graph.params.push_back(c.graph.params[i]);
      all.inputs.push_back(c.inputs[i]);
    }
    all.graph.nodes.insert(all.graph.nodes.end(), c.graph.nodes.begin(), c.graph.nodes.end());
    for (const NodePtr& r : c.graph.results) {
      const DType d = r->type.dtype;
      one_dtype = one_dtype && (by_dtype.empty() || by_dtype.count(d));
      const Tolerance tol = c.tol.value_or(tolerance_for(d));
      widest = wider(widest.value_or(tol), tol);
      if (!concat) {
        all.graph.results.push_back(r);
        by_dtype[d];
        continue;
      }
      auto flat = ir::make_node(OpKind::Reshape, {r}, {}, Type{d, {r->type.numel()}});
      all.graph.nodes.push_back(flat);
      by_dtype[d].push_back(flat);
    }
  }
  for (auto& [d, flats] : by_dtype) {
    if (flats.empty()) continue;
    NodePtr r = flats[0];
    if (flats.size() > 1) {
      int64_t n = 0;
      for (const NodePtr& f : flats) n += f->type.numel();
      r = ir::make_node(OpKind::Concat, flats, {int64_t{0}}, Type{d, {n}});
      all.graph.nodes.push_back(r);
    }
    all.graph.results.push_back(r);
  }
  // The widest bound asked for, when every result has one dtype; else each result's
  // dtype's own.
  if (one_dtype) all.tol = widest;
  return all;
}

// Runs the cases of `op`, packed into one graph where pack_cases() says so, except
// reductions: PoCL builds a program of many reduction kernels far more slowly than as many
// programs of one (measured: 50 s against 8 s for reduce_max's cases).
void check(runtime::Device& device, OpKind op, std::vector<Case>& cases) {
  if (cases.empty()) return;
  const bool elementwise = ir::is_elementwise(op);
  if (pack_cases() && cases.size() > 1 && ir::op_category(op) != ir::OpCategory::Reduce) {
    Case all = packed(cases, elementwise);
    // A case the reference does not define, or one that differs: run them one by one, to
    // check each that is defined and name the one that differs.
    bool defined = true;
    try {
      runtime::evaluate(all.graph, all.inputs);
    } catch (const Error&) {
      defined = false;
    }
    if (defined && matches_reference(device, all.graph, all.inputs, all.tol)) return;
  }
  for (const Case& c : cases) expect_matches_reference(device, c.graph, c.inputs, c.tol, c.name);
}

#define KILN_DEVICE_UNDER_TEST(var) KILN_TEST_DEVICE_OR_SKIP(var, KILN_TEST_DEVICE)

class Differential : public ::testing::TestWithParam<OpKind> {};

// Every op, over every dtype the verifier accepts for it.
TEST_P(Differential, Op) {
  KILN_DEVICE_UNDER_TEST(device);
  const OpKind op = GetParam();
  int dtypes = 0, count = 0;
  for (DType t : kAllDTypes) {
    std::vector<Case> cases;
    if (!cases_of(op, t, cases)) {
      FAIL() << "op '" << ir::op_name(op)
             << "' has no generator in tests/runtime/differential_test.cpp (cases_of)";
    }
    if (cases.empty()) continue;
    ++dtypes;
    count += static_cast<int>(cases.size());
    SCOPED_TRACE(std::string(ir::op_name(op)) + " on " + std::string(dtype_name(t)));
    check(*device, op, cases);
  }
  RecordProperty("dtypes", dtypes);
  RecordProperty("cases", count);
  EXPECT_GT(dtypes, 0) << "the verifier accepts op '" << ir::op_name(op)
                       << "' on no dtype the generator tried";
}

std::vector<OpKind> every_op() {
  std::vector<OpKind> out;
  for (const ir::OpInfo& info : ir::all_ops()) out.push_back(info.kind);
  return out;
}

// The indirection expands KILN_TEST_DEVICE_ID before gtest pastes it into names.
#define KILN_INSTANTIATE(prefix, suite, values, name) \
  INSTANTIATE_TEST_SUITE_P(prefix, suite, values, name)

KILN_INSTANTIATE(KILN_TEST_DEVICE_ID, Differential, ::testing::ValuesIn(every_op()),
                 [](const ::testing::TestParamInfo<OpKind>& info) {
                   return std::string(ir::op_name(info.param));
                 });

// The edge cases, on the device under test.
class DifferentialEdges : public ::testing::TestWithParam<std::string> {};

KILN_INSTANTIATE(KILN_TEST_DEVICE_ID, DifferentialEdges, ::testing::Values(KILN_TEST_DEVICE),
                 [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- Edge cases the sweep's random values do not reach.

// Runs the graph of `outputs` (lazy tensors) on the device and the reference.
void expect_tensors_match(runtime::Device& device, const std::vector<Tensor>& outputs,
                          std::optional<Tolerance> tol = std::nullopt,
                          const std::string& what = "") {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  frontend::Extraction ex = frontend::extract_graph(roots, false);
  expect_matches_reference(device, ex.graph, ex.inputs, tol, what);
}

// Small edge-case inputs repeated past the size below which the frontend keeps constants
// inline (and the graph passes would fold the whole computation on the host).
template <class T>
Tensor edges(std::vector<T> v) {
  std::vector<T> out;
  for (int r = 0; r < 3; ++r) out.insert(out.end(), v.begin(), v.end());
  return from_data(out, {static_cast<int64_t>(out.size())});
}

TEST_P(DifferentialEdges, Integers) {
  KILN_DEVICE_UNDER_TEST(device);
  // Wrapping, floor division and modulo by negatives and zero, MIN / -1, integer powers.
  Tensor a = edges<int32_t>({7, -7, 7, -7, 0, 5, -2147483647 - 1, 2147483647, 3, -3});
  Tensor b = edges<int32_t>({2, 2, -2, -2, 3, 0, -1, 1, -1, 0});
  expect_tensors_match(*device,
                       {floor_divide(a, b), mod(a, b), a + b, a * b, a - b, pow(a, b), -a, abs(a)});
  Tensor c = edges<int64_t>({INT64_MIN, INT64_MAX, -5, 5, 0, 9});
  Tensor d = edges<int64_t>({-1, 2, 3, -3, 0, 0});
  expect_tensors_match(*device, {floor_divide(c, d), mod(c, d), c + d, c * d});
  Tensor e = edges<int8_t>({-128, 127, -7, 7, 100, 0});
  Tensor f = edges<int8_t>({-1, 2, 2, -2, 100, 0});
  expect_tensors_match(*device, {floor_divide(e, f), mod(e, f), e + f, e * f, -e});
}

TEST_P(DifferentialEdges, Floats) {
  KILN_DEVICE_UNDER_TEST(device);
  const float inf = INFINITY, nan = NAN;
  Tensor a = edges<float>({nan, 1, -0.0f, inf, -inf, 2.5f, -2.5f, 0.5f, 1.5f, -7});
  Tensor b = edges<float>({1, nan, 0.0f, 1, -inf, -2, 2, 0, -3, 3});
  expect_tensors_match(*device,
                       {maximum(a, b), minimum(a, b), mod(a, b), round(a), sign(a), a / b});
  // Out-of-range and special values into integers and narrow floats.
  expect_tensors_match(
      *device, {cast(a, DType::I32), cast(a, DType::U8), cast(a, DType::I64), cast(a, DType::Bool),
                cast(a * 1e20, DType::I32), cast(a, DType::F16), cast(a * 1e5, DType::F16),
                cast(a * 3e38, DType::BF16)});
}

// Casts of values scaled far beyond the narrow dtypes' ranges, between every pair the
// frontend offers.
TEST_P(DifferentialEdges, CastsOfLargeValues) {
  KILN_DEVICE_UNDER_TEST(device);
  for (DType from : kAllDTypes) {
    if (!is_floating(from)) continue;
    BufferPtr b = random_buffer({from, {257}}, 31);
    std::vector<double> v;
    for (int64_t i = 0; i < 257; ++i) v.push_back(element_as_double(*b, i) * 100.0);
    Tensor x = cast(from_data(v, {257}), from);
    for (DType to : kAllDTypes) {
      try {
        expect_tensors_match(*device, {cast(x, to)}, std::nullopt,
                             std::string(dtype_name(from)) + " to " + std::string(dtype_name(to)));
      } catch (const DTypeError&) {
        // A cast the frontend does not offer.
      }
    }
  }
}

// Rows: softmax, layer_norm, logsumexp and variance, short and long.
TEST_P(DifferentialEdges, RowComputations) {
  KILN_DEVICE_UNDER_TEST(device);
  for (const Shape& s : {Shape{33, 257}, Shape{4, 4096}, Shape{1, 3000}, Shape{5, 8}}) {
    SCOPED_TRACE(shape_str(s));
    auto data = [](const Shape& shape, uint64_t seed) {
      BufferPtr b = random_buffer({DType::F32, shape}, seed);
      return from_data(std::vector<float>(b->as<float>(), b->as<float>() + numel(shape)), shape);
    };
    Tensor x = data(s, 51), w = data({s[1]}, 52), b = data({s[1]}, 53);
    Tolerance tol = accumulated_tolerance(DType::F32, s[1]);
    expect_tensors_match(*device, {softmax(x, -1)}, tol, "softmax");
    expect_tensors_match(*device, {layer_norm(x, -1, w, b, 1e-5)}, tol, "layer_norm");
    expect_tensors_match(*device, {logsumexp(x, 1), var(x, 1)}, tol, "logsumexp, var");
  }
}

// Ties and NaN in arg reductions: the first occurrence wins, NaN counts as the maximum.
TEST_P(DifferentialEdges, ArgReductionTies) {
  KILN_DEVICE_UNDER_TEST(device);
  Tensor ties = reshape(edges<float>({1, 3, 3, NAN, 2, NAN, -1, -1, 0, 0, 0, 0}), {9, 4});
  expect_tensors_match(*device, {argmax(ties, 1), argmin(ties, 1), argmax(ties, 0), max(ties, 1)});
}

// A computation over a view feeding a reduction and elementwise work after a transpose.
TEST_P(DifferentialEdges, ViewsIntoReductions) {
  KILN_DEVICE_UNDER_TEST(device);
  BufferPtr b = random_buffer({DType::F32, {4, 5, 6}}, 71);
  Tensor x = from_data(std::vector<float>(b->as<float>(), b->as<float>() + 120), {4, 5, 6});
  expect_tensors_match(*device,
                       {sum(permute(x, {2, 1, 0}) * 2.0, 1), transpose(reshape(x, {20, 6})) + 1.0},
                       accumulated_tolerance(DType::F32, 5));
}

// Few outer iterations and long reductions (computed as partials and a fold on the
// devices that split them), each with an epilogue after the fold.
TEST_P(DifferentialEdges, LongReductions) {
  KILN_DEVICE_UNDER_TEST(device);
  struct Long {
    Shape shape;
    std::vector<int64_t> axes;
  };
  for (const Long& c : {Long{{300, 301}, {0, 1}}, Long{{3, 20011}, {1}}, Long{{40000}, {0}},
                        Long{{2, 9000, 3}, {1}}})
    for (OpKind op : {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceProd})
      for (DType t : {DType::F32, DType::I32, DType::F16, DType::F64}) {
        GraphBuilder b;
        auto x = b.param({t, c.shape});
        auto r = b.add(op, {x}, {c.axes, false});
        b.result(b.add(OpKind::Mul, {r, r}));
        // Products of values near 1, so that they stay finite and non-zero.
        BufferPtr in =
            random_buffer(x->type, 17, op == OpKind::ReduceProd ? Values::Small : Values::Normal);
        if (op == OpKind::ReduceProd && is_floating(t))
          for (int64_t i = 0; i < numel(c.shape); ++i) {
            double e = 1 + element_as_double(*in, i) * 1e-4;
            if (t == DType::F32) in->as<float>()[i] = static_cast<float>(e);
            if (t == DType::F64) in->as<double>()[i] = e;
            if (t == DType::F16) in->as<uint16_t>()[i] = float_to_f16(1.0f);
          }
        expect_matches_reference(*device, b.g, {in},
                                 accumulated_tolerance(t, count_over(c.shape, c.axes)),
                                 std::string(ir::op_name(op)) + " " + Type{t, c.shape}.str());
      }
}

// A chain of views over contiguous data, into an elementwise op.
TEST_P(DifferentialEdges, ChainedViews) {
  KILN_DEVICE_UNDER_TEST(device);
  GraphBuilder b;
  auto x = b.param({DType::F32, {8, 6, 5}});
  auto p = b.add(OpKind::Permute, {x}, {std::vector<int64_t>{1, 0, 2}});
  auto r = b.add(OpKind::Reshape, {p}, {}, Type{DType::F32, {6, 40}});
  auto s = b.add(OpKind::Slice, {r}, {std::vector<int64_t>{5, 39}, std::vector<int64_t>{-1, -3}},
                 Type{DType::F32, {6, 13}});
  auto f = b.add(OpKind::Flip, {s}, {std::vector<int64_t>{1}});
  auto pad = b.add(OpKind::Pad, {f}, {std::vector<int64_t>{0, 2}, std::vector<int64_t>{1, 0}, 0.0});
  b.result(b.add(OpKind::Exp, {pad}));
  expect_matches_reference(*device, b.g, 23, Values::Normal, std::nullopt, "chained views");
}

// A matmul of transposed operands with a bias and an activation after it.
TEST_P(DifferentialEdges, MatMulOfTransposedOperandsWithEpilogue) {
  KILN_DEVICE_UNDER_TEST(device);
  GraphBuilder b;
  auto x = b.param({DType::F32, {24, 10}});
  auto w = b.param({DType::F32, {16, 24}});
  auto bias = b.param({DType::F32, {16}});
  auto xt = b.add(OpKind::Permute, {x}, {std::vector<int64_t>{1, 0}});
  auto wt = b.add(OpKind::Permute, {w}, {std::vector<int64_t>{1, 0}});
  auto mm = b.add(OpKind::MatMul, {xt, wt});
  auto br = b.add(OpKind::Reshape, {bias}, {}, Type{DType::F32, {1, 16}});
  auto bb = b.add(OpKind::Broadcast, {br}, {}, Type{DType::F32, {10, 16}});
  b.result(b.add(OpKind::Tanh, {b.add(OpKind::Add, {mm, bb})}));
  expect_matches_reference(*device, b.g, 16, Values::Small, accumulated_tolerance(DType::F32, 24),
                           "matmul epilogue");
}

// Results that are parameters, or the same node twice.
TEST_P(DifferentialEdges, ResultsThatAreParametersOrRepeated) {
  KILN_DEVICE_UNDER_TEST(device);
  GraphBuilder b;
  auto x = b.param({DType::I32, {5}});
  auto y = b.add(OpKind::Neg, {x});
  b.result(y);
  b.result(x);
  b.result(y);
  expect_matches_reference(*device, b.g, 42, Values::Normal, std::nullopt, "results");
}

// Outputs above 16 MiB (written with streaming stores where the CPU device can): rows of a
// multiple of 16 floats and odd rows.
TEST_P(DifferentialEdges, LargeOutputs) {
  KILN_DEVICE_UNDER_TEST(device);
  for (int64_t cols : {2048, 2051}) {
    GraphBuilder b;
    auto x = b.param({DType::F32, {2100, cols}});
    auto y = b.param({DType::F32, {cols}});
    auto yr = b.add(OpKind::Reshape, {y}, {}, Type{DType::F32, {1, cols}});
    auto yb = b.add(OpKind::Broadcast, {yr}, {}, Type{DType::F32, {2100, cols}});
    b.result(b.add(OpKind::Mul, {b.add(OpKind::Add, {x, yb}), x}));
    expect_matches_reference(*device, b.g, 9, Values::Normal, std::nullopt,
                             "large " + std::to_string(cols));
  }
}

}  // namespace
}  // namespace kiln::testing
