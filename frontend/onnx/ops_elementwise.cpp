// ONNX import rules: elementwise ops (math, comparisons, logic, casts, constants,
// activations). ONNX broadcasts multidirectionally as NumPy does, as kiln's binary ops do,
// and its operands of one node share a dtype, so kiln's promotion only acts where ONNX
// mixes dtypes on purpose (Pow) or where kiln's op would change the dtype (integer Div,
// Pow of an integer base), which the rules cast back. Opsets 7 to 17: the attributes that
// changed are Clip's bounds (attributes before opset 11, inputs from 11), Dropout's ratio
// (an attribute before 12, an input with training_mode from 12) and mask dtype (the
// input's before 10, bool from 10). Tests: tests/onnx/elementwise_test.cpp and the
// conformance cases (kiln_onnx_conformance).
#include <kiln/math.h>

#include <limits>
#include <random>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

using UnaryFn = Tensor (*)(const Tensor&, Loc);
using BinaryFn = Tensor (*)(const TensorLike&, const TensorLike&, Loc);

// Ops that are one kiln op on their only input.
constexpr std::pair<const char*, UnaryFn> kUnary[] = {
    {"Abs", abs},     {"Neg", neg},         {"Exp", exp},
    {"Log", log},     {"Sqrt", sqrt},       {"Reciprocal", reciprocal},
    {"Floor", floor}, {"Ceil", ceil},       {"Round", round},
    {"Sign", sign},   {"Sin", sin},         {"Cos", cos},
    {"Tan", tan},     {"Asin", asin},       {"Acos", acos},
    {"Atan", atan},   {"Sinh", sinh},       {"Cosh", cosh},
    {"Asinh", asinh}, {"Acosh", acosh},     {"Atanh", atanh},
    {"Tanh", tanh},   {"Sigmoid", sigmoid}, {"Erf", erf},
    {"IsNaN", isnan}, {"Not", logical_not}, {"Relu", relu},
};

// Ops that are one kiln op on their two inputs.
constexpr std::pair<const char*, BinaryFn> kBinary[] = {
    {"Add", add},
    {"Sub", subtract},
    {"Mul", multiply},
    {"Equal", equal},
    {"Greater", greater},
    {"Less", less},
    {"GreaterOrEqual", greater_equal},
    {"LessOrEqual", less_equal},
    {"And", logical_and},
    {"Or", logical_or},
    {"Xor", logical_xor},
};

// Variadic ops (one or more inputs, all broadcast together): a fold of a binary kiln op.
constexpr std::pair<const char*, BinaryFn> kVariadic[] = {
    {"Max", maximum},
    {"Min", minimum},
    {"Sum", add},
};

Tensor fold(NodeContext& ctx, BinaryFn fn) {
  Tensor r = ctx.input(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) r = fn(r, ctx.input(i), Loc::current());
  return r;
}

// Activations with float attributes: each attribute's name and ONNX default, and the
// function of the input and the attribute values (in the listed order). Scalars are weak,
// so the input's dtype is kept.
struct Activation {
  const char* name;
  std::vector<std::pair<const char*, double>> attrs;
  Tensor (*fn)(const Tensor& x, const std::vector<double>& a);
};

// max(0, min(1, alpha x + beta)): HardSigmoid, and HardSwish's gate.
Tensor hard_sigmoid(const Tensor& x, double alpha, double beta) {
  return clip(add(multiply(x, alpha), beta), 0, 1);
}

const std::vector<Activation>& activations() {
  static const std::vector<Activation> table = {
      {"LeakyRelu",
       {{"alpha", 0.01}},
       [](const Tensor& x, const std::vector<double>& a) {
         return where(less(x, 0), multiply(x, a[0]), x);
       }},
      {"Elu",
       {{"alpha", 1.0}},
       [](const Tensor& x, const std::vector<double>& a) {
         return where(less(x, 0), multiply(expm1(x), a[0]), x);
       }},
      {"Selu",
       {{"alpha", 1.67326319217681884765625}, {"gamma", 1.05070102214813232421875}},
       [](const Tensor& x, const std::vector<double>& a) {
         return multiply(where(greater(x, 0), x, multiply(expm1(x), a[0])), a[1]);
       }},
      {"Celu",
       {{"alpha", 1.0}},
       [](const Tensor& x, const std::vector<double>& a) {
         Tensor negative = multiply(expm1(divide(x, a[0])), a[0]);
         return add(maximum(x, 0), minimum(negative, 0));
       }},
      {"HardSigmoid",
       {{"alpha", 0.2}, {"beta", 0.5}},
       [](const Tensor& x, const std::vector<double>& a) { return hard_sigmoid(x, a[0], a[1]); }},
      {"HardSwish",
       {},
       [](const Tensor& x, const std::vector<double>&) {
         return multiply(x, hard_sigmoid(x, 1.0 / 6, 0.5));
       }},
      // log(1 + e^x) as max(x, 0) + log1p(e^-|x|): no overflow for large x.
      {"Softplus",
       {},
       [](const Tensor& x, const std::vector<double>&) {
         return add(maximum(x, 0), log1p(exp(neg(abs(x)))));
       }},
      {"Softsign",
       {},
       [](const Tensor& x, const std::vector<double>&) { return divide(x, add(abs(x), 1)); }},
      {"ThresholdedRelu",
       {{"alpha", 1.0}},
       [](const Tensor& x, const std::vector<double>& a) { return where(greater(x, a[0]), x, 0); }},
      // Integer inputs are allowed: the float bias and lambda promote them, so the result
      // is cast back to the input's dtype.
      {"Shrink",
       {{"bias", 0.0}, {"lambd", 0.5}},
       [](const Tensor& x, const std::vector<double>& a) {
         Tensor r =
             where(less(x, -a[1]), add(x, a[0]), where(greater(x, a[1]), subtract(x, a[0]), 0));
         return cast(r, x.dtype());
       }},
  };
  return table;
}

// Whether x and y lie on different sides of 0 (0 counts as positive).
Tensor signs_differ(const Tensor& x, const Tensor& y) { return not_equal(less(x, 0), less(y, 0)); }

// ONNX's Div: integer division truncates toward zero (kiln's divide would give f32, its
// floor_divide rounds toward -inf, which differs when the signs differ and there is a
// remainder).
std::vector<Tensor> div_rule(NodeContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  if (!is_integer(a.dtype()) || !is_integer(b.dtype())) return {divide(a, b)};
  Tensor q = floor_divide(a, b);
  if (!is_signed_integer(q.dtype())) return {q};
  Tensor rounded_down = logical_and(not_equal(mod(a, b), 0), signs_differ(a, b));
  return {where(rounded_down, add(q, 1), q)};
}

// Mod: fmod = 0 is the floored modulo (the divisor's sign, Python's %), fmod = 1 the
// truncated one (the dividend's sign, C's fmod), required for floating inputs. For
// integers the truncated one is the floored one moved by b where its sign is not a's; for
// floats, where that subtraction would round, it is the floored modulo of the magnitudes
// with a's sign (exact).
std::vector<Tensor> mod_rule(NodeContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  int64_t fmod = ctx.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) ctx.invalid("fmod must be 0 or 1, not " + std::to_string(fmod));
  if (fmod == 0) {
    if (is_inexact(a.dtype()) || is_inexact(b.dtype()))
      ctx.invalid("fmod must be 1 for floating-point inputs (" + a.type().str() + ", " +
                  b.type().str() + ")");
    return {mod(a, b)};
  }
  if (is_integer(a.dtype()) && is_integer(b.dtype())) {
    Tensor r = mod(a, b);  // |b| > |r|, and r has b's sign: r - b cannot overflow
    return {where(logical_and(not_equal(r, 0), signs_differ(r, a)), subtract(r, b), r)};
  }
  Tensor m = mod(abs(a), abs(b));
  return {where(less(a, 0), neg(m), m)};
}

// Pow: the result has the base's dtype. An integer base with a floating exponent is
// computed in f64 and truncated (as NumPy's power followed by astype does).
std::vector<Tensor> pow_rule(NodeContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  Tensor r = is_integer(a.dtype()) && is_floating(b.dtype())
                 ? pow(cast(a, DType::F64), cast(b, DType::F64))
                 : pow(a, b);
  return {r.dtype() == a.dtype() ? r : cast(r, a.dtype())};
}

// BitShift on unsigned integers (kiln has u8 of ONNX's four): x * 2^y and x // 2^y. 2^y
// wraps to 0 in u8 for y >= 8, where a left shift gives 0 and kiln's x // 0 = 0 gives the
// right shift's 0.
std::vector<Tensor> bitshift_rule(NodeContext& ctx) {
  std::string direction = ctx.attr_string("direction");
  if (direction != "LEFT" && direction != "RIGHT")
    ctx.invalid("direction must be LEFT or RIGHT, not '" + direction + "'");
  const Tensor &x = ctx.input(0), &y = ctx.input(1);
  if (x.dtype() != DType::U8 || y.dtype() != DType::U8)
    ctx.invalid("shifts unsigned integers, not " + x.type().str() + " by " + y.type().str());
  Tensor p = pow(2, y);
  return {direction == "LEFT" ? multiply(x, p) : floor_divide(x, p)};
}

std::vector<Tensor> mean_rule(NodeContext& ctx) {
  return {divide(fold(ctx, add), static_cast<int64_t>(ctx.num_inputs()))};
}

std::vector<Tensor> where_rule(NodeContext& ctx) {
  return {where(ctx.input(0), ctx.input(1), ctx.input(2))};
}

DType dtype_attr(NodeContext& ctx, const std::string& name) {
  int64_t to = ctx.attr_int(name);
  std::optional<DType> dtype = dtype_from_onnx(static_cast<int>(to));
  if (!dtype)
    ctx.unsupported("cast to " + onnx_type_name(static_cast<int>(to)) +
                    ": the element type has no kiln dtype");
  return *dtype;
}

std::vector<Tensor> cast_rule(NodeContext& ctx) {
  return {cast(ctx.input(0), dtype_attr(ctx, "to"))};
}

std::vector<Tensor> castlike_rule(NodeContext& ctx) {
  return {cast(ctx.input(0), ctx.input(1).dtype())};
}

// Constant: exactly one of its value attributes (value_* from opset 12).
std::vector<Tensor> constant_rule(NodeContext& ctx) {
  const char* kinds[] = {"value",      "value_float",  "value_floats",  "value_int",
                         "value_ints", "value_string", "value_strings", "sparse_value"};
  std::vector<std::string> given;
  for (const char* k : kinds)
    if (ctx.has_attr(k)) given.push_back(k);
  if (given.size() != 1)
    ctx.invalid("needs exactly one value attribute, has " + std::to_string(given.size()));
  const std::string& kind = given[0];
  if (kind == "value") return {ctx.attr_tensor(kind)};
  if (kind == "value_float") return {full({}, static_cast<float>(ctx.attr_float(kind)))};
  if (kind == "value_int") return {full({}, ctx.attr_int(kind), DType::I64)};
  if (kind == "value_floats") {
    std::vector<double> v = ctx.attr_floats(kind);
    return {from_data(v, {static_cast<int64_t>(v.size())}, DType::F32)};
  }
  if (kind == "value_ints") return {from_data(ctx.attr_ints(kind))};
  if (kind == "sparse_value") ctx.unsupported("sparse constants are not supported");
  ctx.unsupported("attribute '" + kind + "': string tensors have no kiln dtype");
}

// Clip: bounds are the attributes min and max before opset 11 (absent: no bound), optional
// inputs from opset 11. Bounds apply as max then min, so min > max gives max (as NumPy).
std::vector<Tensor> clip_rule(NodeContext& ctx) {
  Tensor x = ctx.input(0);
  std::optional<TensorLike> lo, hi;
  if (ctx.opset() < 11) {
    constexpr double kFloatMax = std::numeric_limits<float>::max();
    double min = ctx.attr_float("min", -kFloatMax), max = ctx.attr_float("max", kFloatMax);
    if (ctx.has_attr("min")) lo = min;
    if (ctx.has_attr("max")) hi = max;
  } else {
    if (ctx.has_input(1)) lo = ctx.input(1);
    if (ctx.has_input(2)) hi = ctx.input(2);
  }
  if (lo) x = maximum(x, *lo);
  if (hi) x = minimum(x, *hi);
  return {x};
}

// PRelu: the slope broadcasts to x's shape (unidirectionally: x's shape is the result's).
std::vector<Tensor> prelu_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::optional<Tensor> slope;
  try {
    slope = broadcast_to(ctx.input(1), x.shape());
  } catch (const ShapeError& e) {
    ctx.invalid("the slope does not broadcast to the input's shape: " + std::string(e.what()));
  }
  return {where(less(x, 0), multiply(x, *slope), x)};
}

// The uniform [0, 1) values NumPy's RandomState(seed).uniform(0, 1, shape) draws: MT19937
// seeded with init_genrand (as std::mt19937), 53 bits from two 32-bit words. ONNX's
// reference Dropout draws its training mask so, from the node's seed.
Tensor reference_uniforms(uint32_t seed, const Shape& shape) {
  std::mt19937 words(seed);
  std::vector<double> u(static_cast<size_t>(numel(shape)));
  for (double& v : u) {
    uint32_t hi = words() >> 5, lo = words() >> 6;
    v = (hi * 67108864.0 + lo) / 9007199254740992.0;
  }
  return from_data(u, shape);
}

// Dropout: the identity and an all-true mask at inference. From opset 12, training_mode
// (a constant or a graph input) may ask for random dropout: the mask keeps where the
// node's seed draws (as ONNX's reference draws it) at least the ratio, and kept values
// are scaled by 1 / (1 - ratio). The mask is the same in every run.
std::vector<Tensor> dropout_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<Tensor> out{x, full_like(x, true, DType::Bool)};
  if (ctx.opset() < 12) {
    (void)ctx.attr_float("ratio", 0.5);
    if (ctx.opset() < 10) out[1] = ones_like(x);  // the mask had the input's dtype
    return out;
  }
  bool seeded = ctx.has_attr("seed");
  int64_t seed = ctx.attr_int("seed", 0);
  // The ratio matters only in training mode (it may be a graph input otherwise).
  bool may_train = ctx.has_input(2) && !(ctx.is_constant(2) && ctx.constant_ints(2).at(0) == 0);
  bool no_drop = ctx.has_input(1) && ctx.is_constant(1) && ctx.constant_doubles(1).at(0) == 0;
  if (!may_train || no_drop) return out;
  if (!seeded)
    ctx.unsupported(
        "training_mode may be true and the node has no seed attribute: kiln draws "
        "the training mask of ONNX's reference from the seed");
  if (seed < 0 || seed > std::numeric_limits<uint32_t>::max())
    ctx.unsupported("seed " + std::to_string(seed) + " is outside [0, 2^32)");
  Tensor ratio = ctx.has_input(1) ? ctx.input(1) : full({}, 0.5);
  Tensor training = ctx.input(2);
  Tensor drawn = greater_equal(reference_uniforms(static_cast<uint32_t>(seed), x.shape()),
                               cast(ratio, DType::F64));
  Tensor scale = cast(divide(1, subtract(1, ratio)), x.dtype());
  out[0] = where(training, where(drawn, multiply(x, scale), 0), x);
  out[1] = logical_or(drawn, logical_not(training));
  return out;
}

std::vector<Tensor> isinf_rule(NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool positive = ctx.attr_int("detect_positive", 1) != 0;
  bool negative = ctx.attr_int("detect_negative", 1) != 0;
  Tensor r = isinf(x);
  if (!positive) r = logical_and(r, less(x, 0));
  if (!negative) r = logical_and(r, greater(x, 0));
  return {r};
}

std::vector<Tensor> identity_rule(NodeContext& ctx) { return {ctx.input(0)}; }

}  // namespace

void add_elementwise_ops(OpTable& table) {
  // (Entries are captured by copy, not through structured bindings: clang 15, the fuzz
  // build's compiler, cannot capture those.)
  for (const auto& entry : kUnary)
    table[entry.first] = [fn = entry.second](NodeContext& ctx) -> std::vector<Tensor> {
      return {fn(ctx.input(0), Loc::current())};
    };
  for (const auto& entry : kBinary)
    table[entry.first] = [fn = entry.second](NodeContext& ctx) -> std::vector<Tensor> {
      return {fn(ctx.input(0), ctx.input(1), Loc::current())};
    };
  for (const auto& entry : kVariadic)
    table[entry.first] = [fn = entry.second](NodeContext& ctx) -> std::vector<Tensor> {
      return {fold(ctx, fn)};
    };
  for (const Activation& act : activations())
    table[act.name] = [&act](NodeContext& ctx) -> std::vector<Tensor> {
      std::vector<double> values;
      for (const auto& [attr, fallback] : act.attrs)
        values.push_back(ctx.attr_float(attr, fallback));
      return {act.fn(ctx.input(0), values)};
    };
  table["Div"] = div_rule;
  table["Mod"] = mod_rule;
  table["Pow"] = pow_rule;
  table["BitShift"] = bitshift_rule;
  table["Mean"] = mean_rule;
  table["Where"] = where_rule;
  table["Cast"] = cast_rule;
  table["CastLike"] = castlike_rule;
  table["Constant"] = constant_rule;
  table["Clip"] = clip_rule;
  table["PRelu"] = prelu_rule;
  table["Dropout"] = dropout_rule;
  table["IsInf"] = isinf_rule;
  table["Identity"] = identity_rule;
}

}  // namespace kiln::onnx::detail
