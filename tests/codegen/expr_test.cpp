// The KernelIR index simplifier: affine canonical forms, floor division and modulo by
// constants with value ranges, and the recombinations that undo delinearization.
#include "codegen/expr.h"

#include <gtest/gtest.h>

#include "codegen/kernel_ir.h"
#include "ir/error.h"

namespace kiln::codegen {
namespace {

TEST(Expr, AffineFormIsCanonical) {
  ExprPtr i = var(0, 10), j = var(1, 20);
  ExprPtr a = iadd(imul(i, 3), iadd(j, 5));
  ExprPtr b = iadd(iadd(j, 5), imul(i, 3));
  EXPECT_TRUE(expr_equal(a, b));
  EXPECT_TRUE(expr_equal(isub(a, a), index_const(0)));
  EXPECT_TRUE(expr_equal(imul(iadd(i, 1), 4), iadd(imul(i, 4), 4)));
}

TEST(Expr, RangesOfIndexArithmetic) {
  ExprPtr i = var(0, 10);  // [0, 9]
  ExprPtr e = iadd(imul(i, 3), -2);
  EXPECT_EQ(e->lo, -2);
  EXPECT_EQ(e->hi, 25);
  EXPECT_EQ(imod(i, 4)->lo, 0);
  EXPECT_EQ(imod(i, 4)->hi, 3);
  EXPECT_EQ(idiv(i, 4)->hi, 2);
}

TEST(Expr, DivisionAndModuloFoldWithRanges) {
  ExprPtr i = var(0, 7), j = var(1, 5);
  // (8 i + j) / 8 = i and (8 i + j) % 8 = j, since j is in [0, 8).
  EXPECT_TRUE(expr_equal(idiv(iadd(imul(i, 8), j), 8), i));
  EXPECT_TRUE(expr_equal(imod(iadd(imul(i, 8), j), 8), j));
  // A value within [0, k) is its own remainder; its quotient is 0.
  EXPECT_TRUE(expr_equal(imod(i, 7), i));
  EXPECT_TRUE(expr_equal(idiv(i, 7), index_const(0)));
  // Nested floor divisions combine.
  ExprPtr v = var(2, 1000);
  EXPECT_TRUE(expr_equal(idiv(idiv(v, 4), 5), idiv(v, 20)));
  // Constants fold with floor semantics.
  EXPECT_TRUE(expr_equal(idiv(index_const(-7), 2), index_const(-4)));
  EXPECT_TRUE(expr_equal(imod(index_const(-7), 2), index_const(1)));
}

TEST(Expr, DivisionAndModuloSeeThroughAMergedRow) {
  // A row m of [B * 8192, 768] read as [B, 8192, 768] and split into 4 blocks of 192:
  // (768 m + 192 b + c) / (768 * 8192) = m / 8192, and the remainder
  // 768 (m mod 8192) + 192 b + c, whatever B is.
  ExprPtr m = var(0, 65536), b = var(1, 4), c = var(2, 192);
  ExprPtr flat = iadd(iadd(imul(m, 768), imul(b, 192)), c);
  EXPECT_TRUE(expr_equal(idiv(flat, 768 * 8192), idiv(m, 8192)));
  EXPECT_TRUE(
      expr_equal(imod(flat, 768 * 8192), iadd(iadd(imul(imod(m, 8192), 768), imul(b, 192)), c)));
  // So the batch and row taken apart and put back together give the flat index again.
  EXPECT_TRUE(
      expr_equal(iadd(imul(idiv(flat, 768 * 8192), 768 * 8192), imod(flat, 768 * 8192)), flat));
  // Not when the small part can reach the divisor: c of 193 values.
  ExprPtr wide = iadd(iadd(imul(m, 768), imul(b, 192)), var(3, 193));
  EXPECT_EQ(count_div_mod(idiv(wide, 768 * 8192)), 1);
  EXPECT_FALSE(expr_equal(idiv(wide, 768 * 8192), idiv(m, 8192)));
}

TEST(Expr, DelinearizeThenLinearizeIsTheIdentity) {
  ExprPtr v = var(0, 2 * 3 * 5 * 7);
  std::vector<int64_t> shape = {2, 3, 5, 7};
  auto idx = delinearize(v, shape);
  EXPECT_TRUE(expr_equal(linear_index(idx, shape), v));
  EXPECT_EQ(count_div_mod(linear_index(idx, shape)), 0);
  // Through a different factorization of the same size as well.
  auto other = delinearize(linear_index(idx, shape), {6, 35});
  EXPECT_TRUE(expr_equal(linear_index(other, {6, 35}), v));
}

TEST(Expr, StrideAlongALoop) {
  ExprPtr i = var(0, 10), j = var(1, 20);
  ExprPtr e = iadd(imul(i, 20), j);
  EXPECT_TRUE(stride_along(e, 1).affine);
  EXPECT_EQ(stride_along(e, 1).stride, 1);
  EXPECT_EQ(stride_along(e, 0).stride, 20);
  EXPECT_EQ(stride_along(e, 7).stride, 0);
  EXPECT_FALSE(stride_along(imod(j, 3), 1).affine);
}

TEST(Expr, ComparisonsAndSelectsFoldWhenRangesDecide) {
  ExprPtr i = var(0, 10);
  EXPECT_TRUE(ilt(i, index_const(10))->is_int_const(1));
  EXPECT_TRUE(ige(i, index_const(0))->is_int_const(1));
  EXPECT_TRUE(ilt(i, index_const(0))->is_int_const(0));
  EXPECT_FALSE(ilt(i, index_const(5))->is_const());
  ExprPtr a = const_float(DType::F32, 1), b = const_float(DType::F32, 2);
  EXPECT_EQ(select(ige(i, index_const(0)), a, b), a);
  EXPECT_TRUE(expr_equal(iclamp(i, 0, 9), i));
}

TEST(Expr, SubstituteAndReplace) {
  ExprPtr i = var(0, 10), j = var(1, 10);
  ExprPtr e = iadd(imul(i, 10), j);
  std::vector<ExprPtr> subst(2);
  subst[0] = idiv(var(2, 100), 10);
  subst[1] = imod(var(2, 100), 10);
  EXPECT_TRUE(expr_equal(substitute(e, subst), var(2, 100)));
  ExprPtr x = unary(ir::OpKind::Exp, DType::F32, load(DType::F32, 0, e));
  ExprPtr y = binary(ir::OpKind::Add, DType::F32, x, x);
  ExprPtr c = const_float(DType::F32, 3);
  EXPECT_TRUE(expr_equal(replace_subexpr(y, x, c), binary(ir::OpKind::Add, DType::F32, c, c)));
}

TEST(KernelIR, PrinterAndHashIgnoreTheName) {
  Kernel a;
  a.name = "a";
  a.num_vars = 1;
  a.outer = {{0, 16, nullptr, nullptr}};
  a.buffers = {{DType::F32, 16, true, false}, {DType::F32, 16, false, true}};
  Stage s;
  s.stores.push_back({1, var(0, 16),
                      unary(ir::OpKind::Neg, DType::F32, load(DType::F32, 0, var(0, 16))),
                      nullptr});
  a.stages = {s};
  Kernel b = a;
  b.name = "b";
  EXPECT_EQ(kernel_hash(a), kernel_hash(b));
  EXPECT_NO_THROW(verify_kernel(a));
  b.buffers[1].written = false;
  EXPECT_NE(kernel_hash(a), kernel_hash(b));
  try {
    verify_kernel(b);
    FAIL() << "expected CompileError";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("not a written buffer"), std::string::npos);
  }
}

TEST(KernelIR, VerifierRejectsVariablesOutsideTheirLoops) {
  Kernel k;
  k.num_vars = 2;
  k.outer = {{0, 4, nullptr, nullptr}};
  k.buffers = {{DType::F32, 4, false, true}};
  Stage s;
  s.stores.push_back({0, var(1, 4), const_float(DType::F32, 0), nullptr});
  k.stages = {s};
  try {
    verify_kernel(k);
    FAIL() << "expected CompileError";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("outside its loops"), std::string::npos);
  }
}

}  // namespace
}  // namespace kiln::codegen
