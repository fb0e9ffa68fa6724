// Helpers of the CPU differential tests: a small graph builder (types come from the
// verifier's inference), seeded random inputs per dtype, and a comparison of the CPU
// device's results with the reference evaluator's, with tolerances per dtype.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "runtime/cpu/cpu_device.h"
#include "runtime/evaluator.h"
#include "runtime/stats.h"

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
    if (kind == Values::Index) return static_cast<int64_t>(rng() % (3 * index_range)) - index_range;
    if (kind == Values::Small) return static_cast<int64_t>(rng() % 7) - 3;
    if (kind == Values::Positive) return static_cast<int64_t>(rng() % 5) + 1;
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(span == 0 ? rng() : rng() % span);
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

struct Tol {
  double rtol = -1;  // < 0: the dtype's default
  double atol = 0;
};

inline double default_rtol(DType t) {
  switch (t) {
    case DType::F16: return 2e-3;
    case DType::BF16: return 1.6e-2;
    case DType::F32:
    case DType::C64: return 4e-6;
    case DType::F64: return 1e-12;
    default: return 0;
  }
}

inline double element(const Buffer& b, int64_t i, bool imag = false) {
  return element_as_double(b, i, imag);
}

// Compares element by element; returns "" or a description of the first mismatches.
inline std::string compare(const Buffer& got, const Buffer& want, Tol tol) {
  if (got.type() != want.type()) return "type " + got.type().str() + " != " + want.type().str();
  const double rtol = tol.rtol >= 0 ? tol.rtol : default_rtol(want.dtype());
  std::string out;
  int bad = 0;
  const int64_t n = want.type().numel();
  for (int64_t i = 0; i < n; ++i) {
    for (int part = 0; part < (want.dtype() == DType::C64 ? 2 : 1); ++part) {
      bool ok;
      if (!is_inexact(want.dtype()) && want.dtype() == DType::I64) {
        ok = got.as<int64_t>()[i] == want.as<int64_t>()[i];
      } else {
        double g = element(got, i, part == 1), w = element(want, i, part == 1);
        if (std::isnan(w) || std::isnan(g))
          ok = std::isnan(w) && std::isnan(g);
        else if (std::isinf(w) || std::isinf(g))
          ok = g == w;
        else
          ok = std::abs(g - w) <= tol.atol + rtol * std::max(std::abs(g), std::abs(w));
      }
      if (!ok && bad++ < 5)
        out += " [" + std::to_string(i) + (part ? "].im" : "]") + " got " +
               std::to_string(element(got, i, part == 1)) + " want " +
               std::to_string(element(want, i, part == 1));
    }
  }
  if (bad) out = std::to_string(bad) + " of " + std::to_string(n) + " differ:" + out;
  return out;
}

inline runtime::cpu::CpuDevice& cpu() {
  static runtime::cpu::CpuDevice d;
  return d;
}

// Runs `g` on the CPU device and the reference evaluator with the given inputs and
// expects equal results.
inline void expect_matches_reference(const ir::Graph& g, const std::vector<BufferPtr>& inputs,
                                     Tol tol = {}, const std::string& what = "") {
  std::vector<BufferPtr> want;
  try {
    want = runtime::evaluate(g, inputs);
  } catch (const Error&) {
    // The reference does not define this graph: nothing to compare, but the CPU device
    // must still either run it or throw a kiln::Error, never crash.
    try {
      cpu().run(g, inputs);
    } catch (const Error&) {
    }
    return;
  }
  std::vector<BufferPtr> got;
  try {
    got = cpu().run(g, inputs);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": the CPU device threw: " << e.what() << "\n" << ir::print_graph(g);
    return;
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) {
    std::string diff = compare(*got[r], *want[r], tol);
    if (!diff.empty())
      ADD_FAILURE() << what << ": result " << r << ": " << diff << "\n" << ir::print_graph(g);
  }
}

inline void expect_matches_reference(const ir::Graph& g, uint64_t seed,
                                     Values kind = Values::Normal, Tol tol = {},
                                     const std::string& what = "") {
  std::vector<BufferPtr> inputs;
  for (size_t i = 0; i < g.params.size(); ++i)
    inputs.push_back(random_buffer(g.params[i]->type, seed + i, kind));
  expect_matches_reference(g, inputs, tol, what);
}

inline int64_t launches_of(const ir::Graph& g, const std::vector<BufferPtr>& inputs) {
  int64_t before = stats().launches;
  cpu().run(g, inputs);
  return stats().launches - before;
}

}  // namespace kiln::testing
