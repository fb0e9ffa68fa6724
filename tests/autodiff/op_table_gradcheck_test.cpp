// Iterates the op table (ir::all_ops()) and checks each op's autodiff row
// (frontend/autodiff_rules.cpp): every op with a vjp rule has samples here, each of which
// builds that op over f64 inputs, and the rule's vjp of a random cotangent must match
// central differences; ops that pass no gradient must be the ones that have none. A missing
// or wrong rule fails a test that names the op. Runs on the reference evaluator.
#include <kiln/custom_kernel.h>
#include <kiln/kiln.h>

#include <random>

#include "frontend/autodiff_rules.h"
#include "frontend/builder.h"
#include "tests/autodiff/gradcheck.h"

namespace kiln {
namespace {

using ir::OpKind;
using testing::Sample;

// Samples for each op that has a rule: functions of f64 inputs whose graph holds the op.
// Non-differentiable operands (indices, conditions) are constants inside the function.
// A sample through complex values: f32 inputs (one, or two made into complex(x0, x1)),
// `f`, and its result as real and imaginary parts mixed into one f64 value.
Sample spectral_sample(testing::Rng& r, const Shape& shape, int inputs,
                       std::function<Tensor(const Tensor&)> f) {
  Sample s;
  for (int i = 0; i < inputs; ++i) s.inputs.push_back(r.uniform(shape, -1, 1));
  s.f = [f, inputs](const std::vector<Tensor>& x) {
    Tensor in = inputs == 1 ? cast(x[0], DType::F32)
                            : complex(cast(x[0], DType::F32), cast(x[1], DType::F32));
    Tensor y = f(in);
    Tensor mixed = is_complex(y.dtype()) ? real(y) + imag(y) * 0.7 : y;
    return cast(mixed, DType::F64);
  };
  s.tol = 2e-3;
  s.h = 1e-2;
  return s;
}

std::vector<Sample> samples(OpKind op) {
  testing::Rng r;
  auto unary = [&](Tensor (*fn)(const Tensor&, Loc), double lo, double hi) {
    return std::vector<Sample>{
        {{r.uniform({2, 3}, lo, hi)}, [fn](const auto& x) { return fn(x[0], Loc::current()); }}};
  };
  auto binary = [&](Tensor (*fn)(const TensorLike&, const TensorLike&, Loc), double lo, double hi,
                    double lo_b, double hi_b) {
    return std::vector<Sample>{{{r.uniform({2, 3}, lo, hi), r.uniform({2, 3}, lo_b, hi_b)},
                                [fn](const auto& x) { return fn(x[0], x[1], Loc::current()); }}};
  };
  switch (op) {
    case OpKind::Neg: return unary(neg, -2, 2);
    case OpKind::Abs: return unary(abs, 0.2, 2);  // away from the kink
    case OpKind::Exp: return unary(exp, -2, 2);
    case OpKind::Exp2: return unary(exp2, -2, 2);
    case OpKind::Log: return unary(log, 0.3, 3);
    case OpKind::Log2: return unary(log2, 0.3, 3);
    case OpKind::Log1p: return unary(log1p, -0.5, 3);
    case OpKind::Expm1: return unary(expm1, -2, 2);
    case OpKind::Sqrt: return unary(sqrt, 0.3, 3);
    case OpKind::Rsqrt: return unary(rsqrt, 0.3, 3);
    case OpKind::Reciprocal: return unary(reciprocal, 0.3, 3);
    case OpKind::Sin: return unary(sin, -3, 3);
    case OpKind::Cos: return unary(cos, -3, 3);
    case OpKind::Tan: return unary(tan, -1.2, 1.2);
    case OpKind::Tanh: return unary(tanh, -2, 2);
    case OpKind::Sigmoid: return unary(sigmoid, -3, 3);
    case OpKind::Erf: return unary(erf, -2, 2);
    case OpKind::Add: return binary(add, -2, 2, -2, 2);
    case OpKind::Sub: return binary(subtract, -2, 2, -2, 2);
    case OpKind::Mul: return binary(multiply, -2, 2, -2, 2);
    case OpKind::Div: return binary(divide, -2, 2, 0.5, 2);
    case OpKind::Pow: {
      auto s = binary(pow, 0.3, 2, -2, 2);
      // A zero base (constant 0 for positive exponents) passes the exponent no gradient.
      s.push_back({{r.uniform({4}, 0.5, 2)}, [](const auto& x) {
                     return pow(from_data({0.0, 0.5, 2.0, 3.0}, {4}), x[0]);
                   }});
      return s;
    }
    case OpKind::Max: return binary(maximum, -2, 2, -2, 2);
    case OpKind::Min: return binary(minimum, -2, 2, -2, 2);
    case OpKind::Mod:
      return {{{from_data({0.3, 1.7, -2.2, 4.1}, {4}), from_data({1.1, 1.0, 0.9, -1.3}, {4})},
               [](const auto& x) { return mod(x[0], x[1]); }}};
    case OpKind::Atan2: return binary(atan2, -2, 2, -2, 2);
    case OpKind::Select:
      return {{{r.uniform({2, 3}, -1, 1), r.uniform({2, 3}, -1, 1)}, [](const auto& x) {
                 Tensor c = from_data({true, false, true, true, false, false}, {2, 3});
                 return where(c, x[0], x[1]);
               }}};
    // f64 -> f32 -> f64 is linear up to f32 rounding: a long step keeps that rounding small
    // against the step.
    case OpKind::Cast:
      return {{{r.uniform({2, 3}, -2, 2)},
               [](const auto& x) { return cast(cast(x[0], DType::F32), DType::F64) * 1.5; },
               1e-4,
               1e-2}};
    case OpKind::ReduceSum:
      return {{{r.uniform({2, 3, 4}, -1, 1)},
               [](const auto& x) {
                 return sum(x[0], {0, 2});
               }},
              {{r.uniform({2, 3}, -1, 1)}, [](const auto& x) { return sum(x[0], 1, true); }}};
    case OpKind::ReduceProd:
      return {{{r.uniform({2, 3, 2}, 0.5, 1.5)}, [](const auto& x) { return prod(x[0], 1); }},
              {{r.uniform({3, 2, 2}, 0.5, 1.5)},
               [](const auto& x) {
                 return prod(x[0], {0, 2});
               }},
              // Zeros, one and two in a set: exact (no division by x).
              {{from_data({0.0, 2.0, 3.0, 0.0, 0.0, 5.0, 1.5, -2.0}, {2, 4})},
               [](const auto& x) { return prod(x[0], 1); }}};
    case OpKind::ReduceMax:
      return {{{r.uniform({3, 4}, -1, 1)}, [](const auto& x) { return max(x[0], 1); }},
              // An empty axis list (IR text may hold one) reduces nothing.
              {{r.uniform({3}, -1, 1)},
               [](const auto& x) {
                 return frontend::make(OpKind::ReduceMax, {x[0]}, {std::vector<int64_t>{}, false},
                                       x[0].type(), Loc::current());
               }},
              {{r.uniform({2, 3}, -1, 1)}, [](const auto& x) { return max(x[0], {}, true); }}};
    case OpKind::ReduceMin:
      return {{{r.uniform({3, 4}, -1, 1)}, [](const auto& x) { return min(x[0], 0); }}};
    case OpKind::CumSum:
      return {{{r.uniform({2, 4}, -1, 1)}, [](const auto& x) { return cumsum(x[0], 1); }}};
    case OpKind::CumProd:
      return {{{r.uniform({3, 2}, 0.5, 1.5)}, [](const auto& x) { return cumprod(x[0], 0); }},
              // An axis of 11 (the doubling's last step is partial), signs mixed.
              {{r.uniform({2, 11}, -1.5, 1.5)}, [](const auto& x) { return cumprod(x[0], 1); }},
              // One zero in a row, two zeros in a row, a zero first and a zero last: exact
              // (no division by x).
              {{from_data({2.0, 0.0, 3.0, -0.5, 1.5, 0.0, -2.0, 0.0, 0.0, 0.7, 1.2, 0.0}, {3, 4})},
               [](const auto& x) { return cumprod(x[0], 1); }},
              {{from_data({0.0, 1.5, 0.8, 0.0, 2.0, -1.0}, {3, 2})},
               [](const auto& x) { return cumprod(x[0], 0); }}};
    case OpKind::Reshape:
      return {{{r.uniform({2, 6}, -1, 1)}, [](const auto& x) { return reshape(x[0], {3, 4}); }}};
    case OpKind::Permute:
      return {{{r.uniform({2, 3, 4}, -1, 1)}, [](const auto& x) {
                 return permute(x[0], {2, 0, 1});
               }}};
    case OpKind::Broadcast:
      return {{{r.uniform({3, 1}, -1, 1)}, [](const auto& x) {
                 return broadcast_to(x[0], {2, 3, 4});
               }}};
    case OpKind::Slice:
      return {{{r.uniform({5, 7}, -1, 1)},
               [](const auto& x) {
                 return slice(x[0], {Slice(1, 4), Slice(6, 0, -2)});
               }},
              {{r.uniform({9}, -1, 1)}, [](const auto& x) { return slice(x[0], 0, 2, 9, 3); }}};
    case OpKind::Pad:
      return {{{r.uniform({2, 3}, -1, 1)}, [](const auto& x) {
                 return pad(x[0], {{1, 0}, {2, 3}}, 0.5);
               }}};
    case OpKind::Flip:
      return {{{r.uniform({2, 3}, -1, 1)}, [](const auto& x) { return flip(x[0], 1); }},
              {{r.uniform({2, 3}, -1, 1)}, [](const auto& x) {
                 return frontend::make(OpKind::Flip, {x[0]}, {std::vector<int64_t>{}}, x[0].type(),
                                       Loc::current());
               }}};
    case OpKind::Concat:
      return {{{r.uniform({2, 1}, -1, 1), r.uniform({2, 3}, -1, 1)}, [](const auto& x) {
                 return concatenate({x[0], x[1], x[0]}, 1);
               }}};
    case OpKind::OptimizationBarrier:
      // The identity on its first operand; the second only orders it (zero gradient).
      return {{{r.uniform({2, 3}, -1, 1), r.uniform({4}, -1, 1)}, [](const auto& x) {
                 return sin(frontend::make(OpKind::OptimizationBarrier, {x[0], x[1]}, {},
                                           x[0].type(), Loc::current()));
               }}};
    case OpKind::Gather:
      // Repeated, negative and clamped (out-of-range) indices.
      return {{{r.uniform({3, 4}, -1, 1)}, [](const auto& x) {
                 Tensor idx = from_data(std::vector<int64_t>{0, 2, 2, -1, 7, 1}, {3, 2});
                 return gather(x[0], idx, 1);
               }}};
    case OpKind::ScatterAdd:
      // Repeated, negative and dropped (out-of-range) indices.
      return {{{r.uniform({3, 4}, -1, 1), r.uniform({3, 2}, -1, 1)}, [](const auto& x) {
                 Tensor idx = from_data(std::vector<int64_t>{0, 0, 3, -2, 9, 1}, {3, 2});
                 return scatter_add(x[0], idx, x[1], 1);
               }}};
    case OpKind::MatMul:
      return {{{r.uniform({2, 3}, -1, 1), r.uniform({3, 4}, -1, 1)},
               [](const auto& x) { return matmul(x[0], x[1]); }},
              {{r.uniform({2, 2, 3}, -1, 1), r.uniform({2, 3, 2}, -1, 1)},
               [](const auto& x) { return matmul(x[0], x[1]); }}};
    case OpKind::Conv:
      return {
          // 2-D: stride, uneven padding, dilation and groups together.
          {{r.uniform({2, 4, 5, 6}, -1, 1), r.uniform({4, 2, 2, 3}, -1, 1)},
           [](const auto& x) {
             return conv2d(
                 x[0], x[1],
                 {.stride = {2, 1}, .padding = {{1, 0}, {2, 1}}, .dilation = {1, 2}, .groups = 2});
           }},
          // Strides and dilations with common factors: some phases get no taps.
          {{r.uniform({2, 2, 9}, -1, 1), r.uniform({2, 2, 3}, -1, 1)},
           [](const auto& x) {
             return conv1d(x[0], x[1], {.stride = {2}, .padding = {{1, 0}}, .dilation = {2}});
           }},
          {{r.uniform({1, 2, 7, 8}, -1, 1), r.uniform({3, 2, 2, 3}, -1, 1)},
           [](const auto& x) {
             return conv2d(x[0], x[1],
                           {.stride = {2, 3}, .padding = {{0, 1}, {2, 2}}, .dilation = {3, 1}});
           }},
          // 1-D: padding wider than the kernel's reach, a stride that skips the tail.
          {{r.uniform({1, 2, 7}, -1, 1), r.uniform({3, 2, 2}, -1, 1)}, [](const auto& x) {
             return conv1d(x[0], x[1], {.stride = {3}, .padding = {{3, 2}}});
           }}};
    // Complex values inside a real function of real inputs, computed in f32/c64: steps and
    // tolerances fit f32 (the functions are linear or bilinear, so central differences
    // are exact up to rounding).
    case OpKind::Fft:
      return {spectral_sample(r, {2, 6}, 2, [](const Tensor& z) { return fft(z); }),
              spectral_sample(r, {5, 3}, 2, [](const Tensor& z) { return ifft(z, -1, 0); })};
    case OpKind::Rfft:
      return {spectral_sample(r, {2, 6}, 1, [](const Tensor& x) { return rfft(x); }),
              spectral_sample(r, {3, 7}, 1, [](const Tensor& x) { return rfft(x); })};
    case OpKind::Irfft:
      return {spectral_sample(r, {2, 4}, 2, [](const Tensor& z) { return irfft(z, 6); }),
              spectral_sample(r, {2, 4}, 2, [](const Tensor& z) { return irfft(z, 7); })};
    case OpKind::Real:
    case OpKind::Imag:
    case OpKind::Conj:
    case OpKind::Complex:
      return {spectral_sample(r, {2, 3}, 2, [](const Tensor& z) {
        return complex(imag(z), real(z)) * conj(z) + conj(z);
      })};
    default: return {};
  }
}

// The ops that pass no gradient although their result may be floating.
bool is_piecewise_constant(OpKind op) {
  return op == OpKind::Sign || op == OpKind::Floor || op == OpKind::Ceil || op == OpKind::Round;
}

class OpGradient : public ::testing::Test {
 protected:
  DeviceGuard device_{runtime::make_device("reference")};
};

TEST_F(OpGradient, EveryRuleMatchesCentralDifferences) {
  int checked = 0;
  for (const ir::OpInfo& info : ir::all_ops()) {
    SCOPED_TRACE("op " + std::string(info.text));
    if (frontend::grad_rule(info.kind).kind != frontend::GradKind::Rule) continue;
    auto cases = samples(info.kind);
    if (cases.empty()) {
      ADD_FAILURE() << "op " << info.text << " has a vjp rule but no gradient check samples";
      continue;
    }
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE("sample " + std::to_string(i));
      testing::expect_builds_op(cases[i], info.text);
      testing::check_vjp(cases[i]);
      ++checked;
    }
  }
  EXPECT_GE(checked, 50);
}

// Every rule is written with differentiable ops: grad of grad works through every op.
TEST_F(OpGradient, EveryRuleHasCorrectSecondDerivatives) {
  for (const ir::OpInfo& info : ir::all_ops()) {
    if (frontend::grad_rule(info.kind).kind != frontend::GradKind::Rule) continue;
    SCOPED_TRACE("op " + std::string(info.text));
    auto cases = samples(info.kind);
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE("sample " + std::to_string(i));
      testing::check_vjp(testing::second_order(cases[i]));
    }
  }
}

TEST_F(OpGradient, OpsWithoutGradientAreTheOnesThatHaveNone) {
  for (const ir::OpInfo& info : ir::all_ops()) {
    auto kind = frontend::grad_rule(info.kind).kind;
    bool floating_result =
        ir::accepts_dtype(info.accepts, DType::F32) &&
        (info.result == ir::ResultRule::Same || info.result == ir::ResultRule::RealPart ||
         info.result == ir::ResultRule::Declared);
    if (kind == frontend::GradKind::Zero) {
      EXPECT_TRUE(!floating_result || is_piecewise_constant(info.kind))
          << "op " << info.text << " passes no gradient but can have a floating result";
    }
    if (kind == frontend::GradKind::Unsupported) {
      EXPECT_TRUE(info.kind == OpKind::Real || info.kind == OpKind::Imag ||
                  info.kind == OpKind::Conj || info.kind == OpKind::Complex)
          << "op " << info.text << " refuses differentiation but is not a complex op";
    }
    if (kind == frontend::GradKind::Source) {
      // Sources take no operand, but random_uniform's optional key (an integer, which no
      // gradient reaches).
      EXPECT_EQ(info.arity, info.kind == OpKind::RandomUniform ? -2 : 0) << "op " << info.text;
    }
  }
}

TEST_F(OpGradient, PiecewiseConstantOpsGiveZero) {
  testing::Rng r;
  Tensor x = r.uniform({4}, 0.1, 0.4);  // away from the jumps of every op below
  using Fn = Tensor (*)(const Tensor&, Loc);
  for (Fn fn : {Fn(sign), Fn(floor), Fn(ceil), Fn(round)}) {
    Tensor g = grad([fn](const Tensor& t) { return sum(fn(t, Loc::current()) * t); })(x);
    // d/dx (c * x) = c where c is locally constant.
    testing::expect_close(g, DType::F64, {4},
                          cast(fn(x, Loc::current()), DType::F64).to_vector<double>());
  }
}

}  // namespace
}  // namespace kiln
