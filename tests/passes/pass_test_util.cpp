// Random inputs and exact comparisons for the pass tests.
#include "pass_test_util.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ir/printer.h"
#include "runtime/evaluator.h"

namespace kiln::passes::testing {

namespace {

double random_real(std::mt19937_64& rng) {
  static constexpr double kSpecial[] = {0.0,
                                        -0.0,
                                        1.0,
                                        -1.0,
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::quiet_NaN(),
                                        0.5};
  if (rng() % 5 == 0) return kSpecial[rng() % std::size(kSpecial)];
  return std::uniform_real_distribution<double>(-3.0, 3.0)(rng);
}

int64_t random_integer(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (rng() % 8 == 0) return rng() % 2 ? lo : hi;
  int64_t small = static_cast<int64_t>(rng() % 17) - 8;
  return std::clamp(small, lo, hi);
}

template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

void fill(Buffer& b, std::mt19937_64& rng) {
  int64_t n = b.type().numel();
  size_t size = dtype_size(b.dtype());
  for (int64_t i = 0; i < n; ++i) {
    std::byte* p = b.data() + i * size;
    switch (b.dtype()) {
      case DType::Bool: store<uint8_t>(p, rng() % 2); break;
      case DType::I8: store(p, static_cast<int8_t>(random_integer(rng, -128, 127))); break;
      case DType::U8: store(p, static_cast<uint8_t>(random_integer(rng, 0, 255))); break;
      case DType::I32:
        store(p, static_cast<int32_t>(random_integer(rng, std::numeric_limits<int32_t>::min(),
                                                     std::numeric_limits<int32_t>::max())));
        break;
      case DType::I64:
        store(p, random_integer(rng, std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::max()));
        break;
      case DType::F16: store(p, float_to_f16(static_cast<float>(random_real(rng)))); break;
      case DType::BF16: store(p, float_to_bf16(static_cast<float>(random_real(rng)))); break;
      case DType::F32: store(p, static_cast<float>(random_real(rng))); break;
      case DType::F64: store(p, random_real(rng)); break;
      case DType::C64:
        store(p, complex64(static_cast<float>(random_real(rng)),
                           static_cast<float>(random_real(rng))));
        break;
    }
  }
}

bool is_nan_bits(DType t, const std::byte* p) {
  auto bits16 = [&] {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  };
  switch (t) {
    case DType::F16: return std::isnan(f16_to_float(bits16()));
    case DType::BF16: return std::isnan(bf16_to_float(bits16()));
    case DType::F32: {
      float v;
      std::memcpy(&v, p, 4);
      return std::isnan(v);
    }
    case DType::F64: {
      double v;
      std::memcpy(&v, p, 8);
      return std::isnan(v);
    }
    default: return false;
  }
}

}  // namespace

std::vector<BufferPtr> random_inputs(const ir::Graph& graph, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BufferPtr> inputs;
  for (const ir::NodePtr& p : graph.params) {
    auto b = std::make_shared<Buffer>(p->type);
    fill(*b, rng);
    inputs.push_back(std::move(b));
  }
  return inputs;
}

::testing::AssertionResult same_values(const Buffer& expected, const Buffer& actual) {
  if (expected.type() != actual.type())
    return ::testing::AssertionFailure()
           << "types differ: " << expected.type().str() << " vs " << actual.type().str();
  // Complex elements are compared as two floats each.
  DType part = expected.dtype() == DType::C64 ? DType::F32 : expected.dtype();
  size_t size = dtype_size(part);
  size_t count = expected.nbytes() / size;
  for (size_t i = 0; i < count; ++i) {
    const std::byte* e = expected.data() + i * size;
    const std::byte* a = actual.data() + i * size;
    if (std::memcmp(e, a, size) == 0) continue;
    if (is_nan_bits(part, e) && is_nan_bits(part, a)) continue;
    Buffer one_e(Type{part, {}}), one_a(Type{part, {}});
    std::memcpy(one_e.data(), e, size);
    std::memcpy(one_a.data(), a, size);
    return ::testing::AssertionFailure()
           << "element " << i << " (of the " << dtype_name(part) << " parts) differs: expected "
           << ir::print_dense(one_e) << ", got " << ir::print_dense(one_a);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_results(const ir::Graph& before, const ir::Graph& after,
                                        int trials) {
  for (int seed = 1; seed <= trials; ++seed) {
    auto inputs = random_inputs(before, static_cast<uint64_t>(seed));
    auto expected = runtime::evaluate(before, inputs);
    auto actual = runtime::evaluate(after, inputs);
    if (expected.size() != actual.size())
      return ::testing::AssertionFailure() << "result counts differ";
    for (size_t r = 0; r < expected.size(); ++r)
      if (auto same = same_values(*expected[r], *actual[r]); !same)
        return ::testing::AssertionFailure() << "result " << r << " with input seed " << seed
                                             << ": " << same.message() << "\nbefore:\n"
                                             << ir::print_graph(before) << "after:\n"
                                             << ir::print_graph(after);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace kiln::passes::testing
