// Matrix products on the device under test against the reference evaluator: a sweep of
// sizes through the tile edges (1, 2, 3, 7, 16, 17, 63, 64, 65, 255 in each of M, N, K),
// every transpose combination read through permute views, broadcast batch dimensions, each
// float dtype (f16 and bf16 accumulate in f32), and fused prologues and epilogues with the
// number of kernels they take. Whether a product runs as a library GEMM or as a loop nest
// (codegen/contraction.h) must not change the numbers.
//
// Compiled into every device's test program like the differential suite (tests/CMakeLists.txt);
// KILN_TEST_DEVICE names the device.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/stats.h"
#include "tests/differential.h"

#if !defined(KILN_TEST_DEVICE) || !defined(KILN_TEST_DEVICE_ID)
#error "KILN_TEST_DEVICE names the device under test, KILN_TEST_DEVICE_ID prefixes its tests"
#endif

#define KILN_GEMM_CAT2(a, b) a##b
#define KILN_GEMM_CAT(a, b) KILN_GEMM_CAT2(a, b)
#define KILN_GEMM_SUITE KILN_GEMM_CAT(KILN_TEST_DEVICE_ID, Gemm)
#define KILN_GEMM_DEVICE(var) KILN_TEST_DEVICE_OR_SKIP(var, KILN_TEST_DEVICE)

namespace kiln::testing {
namespace {

using ir::AttrValue;

// How a product reads an operand: as stored, or the transpose of a stored matrix read
// through a permute view.
enum class Read { Plain, Transposed };

// a [M, K] (or its stored transpose [K, M]), likewise b [K, N].
NodePtr operand(GraphBuilder& g, DType t, int64_t rows, int64_t cols, Read read) {
  if (read == Read::Plain) return g.param({t, {rows, cols}});
  NodePtr stored = g.param({t, {cols, rows}});
  return g.add(OpKind::Permute, {stored}, {AttrValue(std::vector<int64_t>{1, 0})});
}

// The reference evaluator interprets graphs: it launches no kernels to count.
bool launches_kernels() { return std::string(KILN_TEST_DEVICE) != "reference"; }

Tolerance product_tolerance(DType t, int64_t k) {
  // Inputs are about [-3, 3]: each of the k products is up to 9.
  return accumulated_tolerance(t, 9 * k);
}

struct Product {
  int64_t m, n, k;
  Read ra = Read::Plain, rb = Read::Plain;
};

// All products in one graph (one program to compile: PoCL builds a program per graph).
void expect_products(runtime::Device& device, DType t, const std::vector<Product>& products,
                     const std::string& what) {
  GraphBuilder g;
  int64_t longest = 1;
  for (const Product& p : products) {
    NodePtr a = operand(g, t, p.m, p.k, p.ra);
    NodePtr b = operand(g, t, p.k, p.n, p.rb);
    g.result(g.add(OpKind::MatMul, {a, b}));
    longest = std::max(longest, p.k);
  }
  expect_matches_reference(device, g.g, 1, Values::Normal, product_tolerance(t, longest),
                           std::string(dtype_name(t)) + " " + what);
}

const std::vector<int64_t> kEdges = {1, 2, 3, 7, 16, 17, 63, 64, 65, 255};

TEST(KILN_GEMM_SUITE, SizesThroughTheTileEdgesInEachDimension) {
  KILN_GEMM_DEVICE(device);
  std::vector<Product> products;
  for (int64_t s : kEdges) {
    products.push_back({s, 64, 65});
    products.push_back({63, s, 64});
    products.push_back({65, 17, s});
  }
  products.push_back({255, 17, 129});
  products.push_back({7, 255, 3});
  products.push_back({257, 255, 300});
  expect_products(*device, DType::F32, products, "size sweep");
}

TEST(KILN_GEMM_SUITE, EveryTransposeCombination) {
  KILN_GEMM_DEVICE(device);
  std::vector<Product> products;
  for (Read ra : {Read::Plain, Read::Transposed})
    for (Read rb : {Read::Plain, Read::Transposed})
      for (Product p : {Product{65, 63, 70}, Product{1, 129, 64}, Product{129, 1, 64}}) {
        p.ra = ra;
        p.rb = rb;
        products.push_back(p);
      }
  expect_products(*device, DType::F32, products, "transposes");
}

TEST(KILN_GEMM_SUITE, EachFloatDtype) {
  KILN_GEMM_DEVICE(device);
  for (DType t : {DType::F64, DType::F16, DType::BF16}) {
    std::vector<Product> products;
    for (int64_t s : {1, 17, 64, 65}) products.push_back({s, 63, 66});
    products.push_back({130, 127, 255, Read::Transposed, Read::Plain});
    // Multiples of 8 that are not of the tiles: a tensor-core kernel's vector loads with
    // partial tiles, for each way a half operand can lie.
    if (t == DType::F16) {
      products.push_back({136, 264, 200});
      products.push_back({136, 264, 200, Read::Plain, Read::Transposed});
      products.push_back({136, 264, 200, Read::Transposed, Read::Plain});
    } else if (t == DType::BF16) {
      products.push_back({136, 264, 200});
    }
    expect_products(*device, t, products, "sizes");
  }
}

TEST(KILN_GEMM_SUITE, BatchedWithBroadcastBatchDimensions) {
  KILN_GEMM_DEVICE(device);
  for (DType t : {DType::F32, DType::F16}) {
    // a [3, 1, 33, 40] against b [1, 2, 40, 65]: batch [3, 2], both operands broadcast.
    GraphBuilder g;
    NodePtr a = g.param({t, {3, 1, 33, 40}});
    NodePtr b = g.param({t, {1, 2, 40, 65}});
    NodePtr ab = g.add(OpKind::Broadcast, {a}, {}, Type{t, {3, 2, 33, 40}});
    NodePtr bb = g.add(OpKind::Broadcast, {b}, {}, Type{t, {3, 2, 40, 65}});
    g.result(g.add(OpKind::MatMul, {ab, bb}));
    // A weight shared by a batch: x [4, 50, 64] @ w [64, 72].
    NodePtr x = g.param({t, {4, 50, 64}});
    NodePtr w = g.param({t, {1, 64, 72}});
    NodePtr wb = g.add(OpKind::Broadcast, {w}, {}, Type{t, {4, 64, 72}});
    g.result(g.add(OpKind::MatMul, {x, wb}));
    expect_matches_reference(*device, g.g, 2, Values::Normal, product_tolerance(t, 64),
                             std::string("batched ") + std::string(dtype_name(t)));
  }
}

// y = act(x @ w + bias) + residual, cast to f16: one kernel, prologue scale included. A
// device whose GEMM copies tiles asynchronously from plain loads (NVIDIA's cp.async) stores
// the prologue first (max_operand_prologue_ops = 0): two kernels, the epilogue still fused.
TEST(KILN_GEMM_SUITE, FusedPrologueAndEpilogueAreOneKernel) {
  KILN_GEMM_DEVICE(device);
  const int64_t m = 96, n = 80, k = 130;
  for (OpKind act : {OpKind::Erf, OpKind::Tanh, OpKind::Exp}) {
    GraphBuilder g;
    NodePtr x = g.param({DType::F32, {m, k}});
    NodePtr w = g.param({DType::F32, {n, k}});
    NodePtr bias = g.param({DType::F32, {n}});
    NodePtr res = g.param({DType::F32, {m, n}});
    NodePtr half = g.constant(filled_buffer(Type{DType::F32, {1, 1}}, 0.5));
    NodePtr xs =
        g.add(OpKind::Mul, {x, g.add(OpKind::Broadcast, {half}, {}, Type{DType::F32, {m, k}})});
    NodePtr wt = g.add(OpKind::Permute, {w}, {AttrValue(std::vector<int64_t>{1, 0})});
    NodePtr p = g.add(OpKind::MatMul, {xs, wt});
    NodePtr b2 = g.add(OpKind::Reshape, {bias}, {}, Type{DType::F32, {1, n}});
    NodePtr y =
        g.add(OpKind::Add, {p, g.add(OpKind::Broadcast, {b2}, {}, Type{DType::F32, {m, n}})});
    NodePtr z = g.add(OpKind::Add, {g.add(act, {y}), res});
    g.result(g.add(OpKind::Cast, {z}, {}, Type{DType::F16, {m, n}}));
    expect_matches_reference(*device, g.g, 3, Values::Small, product_tolerance(DType::F16, k),
                             std::string("epilogue ") + std::string(ir::op_name(act)));
    Stats before = stats();
    run_on(*device, g.g, random_inputs(g.g, 4, Values::Small));
    if (launches_kernels()) {
      const int64_t expected = device->lower_options().max_operand_prologue_ops == 0 ? 2 : 1;
      EXPECT_EQ(stats().launches - before.launches, expected)
          << "matmul with its prologue and epilogue should be one kernel (two where the "
             "device stores prologues)";
    }
  }
}

// Two products of the same shape are two kernels (a GEMM computes one), whatever reads them.
TEST(KILN_GEMM_SUITE, TwoProductsAreTwoKernels) {
  KILN_GEMM_DEVICE(device);
  GraphBuilder g;
  NodePtr a = g.param({DType::F32, {64, 96}});
  NodePtr b = g.param({DType::F32, {96, 80}});
  NodePtr c = g.param({DType::F32, {96, 80}});
  g.result(g.add(OpKind::Add, {g.add(OpKind::MatMul, {a, b}), g.add(OpKind::MatMul, {a, c})}));
  expect_matches_reference(*device, g.g, 5, Values::Normal, product_tolerance(DType::F32, 96),
                           "two products");
  Stats before = stats();
  run_on(*device, g.g, random_inputs(g.g, 6));
  if (launches_kernels()) {
    EXPECT_EQ(stats().launches - before.launches, 2);
  }
}

}  // namespace
}  // namespace kiln::testing
