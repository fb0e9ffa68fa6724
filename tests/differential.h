// Helpers of the differential tests, shared by every device: a graph builder whose types
// come from the verifier's inference, seeded random inputs per dtype, and running a graph
// on a device and on the reference evaluator (the oracle) and comparing the results with
// the tolerances of tests/tolerance.h. The suite itself is tests/runtime/differential_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "runtime/custom_kernel.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/evaluator.h"
#include "tests/devices.h"
#include "tests/tolerance.h"

namespace kiln::testing {

using ir::NodePtr;
using ir::OpKind;

struct GraphBuilder {
  ir::Graph g;

  NodePtr param(Type t) {
    auto p = ir::make_node(OpKind::Parameter, {}, {}, t);
    p->name = "p" + std::to_string(g.params.size());
    g.params.push_back(p);
    return p;
  }
  // The node's type is inferred (or, for ops that take it from the node, `declared`);
  // throws VerifyError when the op does not accept the operands.
  NodePtr add(OpKind op, std::vector<NodePtr> operands, std::vector<ir::AttrValue> attrs = {},
              Type declared = {}) {
    std::vector<Type> types;
    for (auto& o : operands) types.push_back(o->type);
    Type t = ir::infer_type(op, types, attrs, declared);
    auto n = ir::make_node(op, std::move(operands), std::move(attrs), t);
    g.nodes.push_back(n);
    return n;
  }
  NodePtr constant(BufferPtr b) {
    auto n = ir::make_constant(std::move(b));
    g.nodes.push_back(n);
    return n;
  }
  void result(NodePtr n) { g.results.push_back(std::move(n)); }
};

enum class Values { Normal, Specials, Positive, Small, Index };

// Deterministic values of `t`'s dtype: Normal in about [-3, 3] (integers over their range),
// Specials adds zeros, infinities, NaN and huge values, Positive in (0.05, 4], Small in
// [-1, 1], Index integers in [-n, 2n) for gather/scatter indices with n = `index_range`.
inline BufferPtr random_buffer(const Type& t, uint64_t seed, Values kind = Values::Normal,
                               int64_t index_range = 4) {
  auto b = std::make_shared<Buffer>(t);
  std::mt19937_64 rng(seed * 7919 + 17);
  std::uniform_real_distribution<double> uni(-3, 3);
  auto real = [&]() -> double {
    switch (kind) {
      case Values::Positive: return 0.05 + std::abs(uni(rng)) * 1.3;
      case Values::Small: return uni(rng) / 3;
      case Values::Specials: {
        int r = static_cast<int>(rng() % 16);
        const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30, -1e30, 1.0};
        if (r < 8) return specials[r];
        return uni(rng);
      }
      default: return uni(rng);
    }
  };
  auto integer = [&](int64_t lo, int64_t hi) {
    if (kind == Values::Index)
      return static_cast<int64_t>(rng() % static_cast<uint64_t>(3 * index_range)) - index_range;
    if (kind == Values::Small) return static_cast<int64_t>(rng() % 7) - 3;
    if (kind == Values::Positive) return static_cast<int64_t>(rng() % 5) + 1;
    // In unsigned arithmetic: hi - lo overflows int64_t for the full range, and the
    // wrapped sum converts back to the same value in [lo, hi].
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + (span == 0 ? rng() : rng() % span));
  };
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::Bool: b->as<uint8_t>()[i] = rng() & 1; break;
      case DType::I8: b->as<int8_t>()[i] = static_cast<int8_t>(integer(-128, 127)); break;
      case DType::U8: b->as<uint8_t>()[i] = static_cast<uint8_t>(integer(0, 255)); break;
      case DType::I32:
        b->as<int32_t>()[i] =
            static_cast<int32_t>(rng() % 4 == 0 ? integer(INT32_MIN, INT32_MAX) : integer(-50, 50));
        break;
      case DType::I64:
        b->as<int64_t>()[i] = rng() % 4 == 0 ? integer(INT64_MIN, INT64_MAX) : integer(-50, 50);
        break;
      case DType::F16: b->as<uint16_t>()[i] = float_to_f16(static_cast<float>(real())); break;
      case DType::BF16: b->as<uint16_t>()[i] = float_to_bf16(static_cast<float>(real())); break;
      case DType::F32: b->as<float>()[i] = static_cast<float>(real()); break;
      case DType::F64: b->as<double>()[i] = real(); break;
      case DType::C64:
        b->as<complex64>()[i] = complex64(static_cast<float>(real()), static_cast<float>(real()));
        break;
    }
  }
  return b;
}

// A buffer of type `t` with every element `v` (bools: v != 0; complex: v + 0i).
inline BufferPtr filled_buffer(const Type& t, double v) {
  auto b = std::make_shared<Buffer>(t);
  for (int64_t i = 0; i < t.numel(); ++i) set_element_from_double(*b, i, v);
  return b;
}

inline std::vector<BufferPtr> random_inputs(const ir::Graph& g, uint64_t seed,
                                            Values kind = Values::Normal) {
  std::vector<BufferPtr> inputs;
  for (size_t i = 0; i < g.params.size(); ++i)
    inputs.push_back(random_buffer(g.params[i]->type, seed + i, kind));
  return inputs;
}

// Runs `graph` on `device` as the library does (custom kernels cut out for devices that do
// not run them themselves).
inline std::vector<BufferPtr> run_on(runtime::Device& device, const ir::Graph& graph,
                                     const std::vector<BufferPtr>& inputs) {
  return runtime::run_graph(device, graph, inputs);
}

// Runs `g` on `device` and on the reference evaluator and compares every result, with
// `tol` or else the tolerance of each result's dtype. A graph the reference does not define
// (it throws a kiln::Error) is not compared, but the device must then either run it or
// throw a kiln::Error, never crash.
inline ::testing::AssertionResult matches_reference(runtime::Device& device, const ir::Graph& g,
                                                    const std::vector<BufferPtr>& inputs,
                                                    std::optional<Tolerance> tol = std::nullopt) {
  std::vector<BufferPtr> want;
  try {
    want = runtime::evaluate(g, inputs);
  } catch (const Error&) {
    try {
      run_on(device, g, inputs);
    } catch (const Error&) {
    }
    return ::testing::AssertionSuccess();
  }
  std::vector<BufferPtr> got;
  try {
    got = run_on(device, g, inputs);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << device.name() << " threw: " << e.what();
  }
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << got.size() << " results, the reference has " << want.size();
  for (size_t r = 0; r < want.size(); ++r) {
    auto ok = buffers_close(*got[r], *want[r], tol.value_or(tolerance_for(want[r]->dtype())));
    if (!ok) return ok << " (result " << r << ")";
  }
  return ::testing::AssertionSuccess();
}

// As above on seeded random inputs; a failure prints the graph (the reproducer).
inline void expect_matches_reference(runtime::Device& device, const ir::Graph& g,
                                     const std::vector<BufferPtr>& inputs,
                                     std::optional<Tolerance> tol, const std::string& what) {
  auto r = matches_reference(device, g, inputs, tol);
  if (!r) ADD_FAILURE() << what << ": " << r.message() << "\n" << ir::print_graph(g);
}

inline void expect_matches_reference(runtime::Device& device, const ir::Graph& g, uint64_t seed,
                                     Values kind = Values::Normal,
                                     std::optional<Tolerance> tol = std::nullopt,
                                     const std::string& what = "") {
  expect_matches_reference(device, g, random_inputs(g, seed, kind), tol, what);
}

}  // namespace kiln::testing
