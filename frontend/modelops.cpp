// safe_divide, safe_log, masked_softmax, bert_padding (unpad_input, pad_input,
// index_first_axis) and the low-rank factorizations (svd_lowrank, power_iteration), each
// composed from kiln's graph ops. Guide: docs/modelops.md.
// Tests: tests/frontend/modelops_test.cpp.
#include <kiln/modelops.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "frontend/builder.h"

namespace kiln {

using frontend::type_str;

Tensor safe_divide(const TensorLike& a, const TensorLike& b, double eps, Loc loc) {
  if (!(eps >= 0)) throw ShapeError("safe_divide: eps must be >= 0, got " + std::to_string(eps));
  const Tensor bt = b.is_tensor() ? b.tensor() : full({}, b.scalar(), std::nullopt, loc);
  // Where the denominator is refused, divide by 1 instead: the select then discards a finite
  // value, and the division's gradient there is finite too (0 after the select).
  Tensor ok = greater(abs(bt, loc), eps, loc);
  Tensor q = divide(a, where(ok, bt, 1, loc), loc);
  return where(ok, q, 0, loc);
}

namespace {

// The smallest positive normal number of a floating dtype.
double smallest_normal(DType t) {
  switch (t) {
    case DType::F16: return 6.103515625e-05;
    case DType::F64: return 2.2250738585072014e-308;
    default: return 1.1754943508222875e-38;  // f32 and bf16 share f32's exponent range
  }
}

Tensor norm(const Tensor& v, Loc loc) { return sqrt(sum(v * v, {}, false, loc), loc); }

}  // namespace

Tensor safe_log(const Tensor& x, std::optional<double> eps, Loc loc) {
  Tensor f = frontend::to_inexact(x, loc);
  if (!is_floating(f.dtype()))
    throw DTypeError("safe_log: " + type_str(x) + " is not real; pass a real tensor");
  const double e = eps.value_or(smallest_normal(f.dtype()));
  if (!(e > 0)) throw ShapeError("safe_log: eps must be > 0, got " + std::to_string(e));
  return log(maximum(f, e, loc), loc);
}

Tensor masked_softmax(const Tensor& x, const Tensor& mask, int axis, Loc loc) {
  if (mask.dtype() != DType::Bool)
    throw DTypeError("masked_softmax: mask " + type_str(mask) +
                     " must be bool (true keeps an entry); compare it first, e.g. mask != 0");
  Tensor f = frontend::to_inexact(x, loc);
  Tensor keep = broadcast_to(mask, f.shape(), loc);
  // The shift is the row's largest kept entry (-inf for a row with none, but the masked
  // entries are replaced by 0 before exp, so nothing overflows and no inf - inf is formed).
  const double lowest = -std::numeric_limits<double>::infinity();
  Tensor m = stop_gradient(max(where(keep, f, lowest, loc), axis, true, loc));
  Tensor e = where(keep, exp(where(keep, f - m, 0, loc), loc), 0, loc);
  Tensor total = sum(e, axis, true, loc);
  return safe_divide(e, total, 0, loc);
}

// ---------------------------------------------------------------------------------------
// bert_padding

int64_t count_tokens(const Tensor& attention_mask, Loc loc) {
  return sum(frontend::cast_to(frontend::truth(attention_mask, loc), DType::I64, loc), {}, false,
             loc)
      .item<int64_t>(loc);
}

Unpadded unpad_input(const Tensor& hidden, const Tensor& attention_mask, int64_t total_tokens,
                     Loc loc) {
  if (attention_mask.ndim() != 2 || hidden.ndim() < 2 ||
      hidden.shape()[0] != attention_mask.shape()[0] ||
      hidden.shape()[1] != attention_mask.shape()[1])
    throw ShapeError("unpad_input: hidden " + type_str(hidden) + " and attention_mask " +
                     type_str(attention_mask) +
                     " must be [batch, seqlen, ...] and [batch, seqlen]");
  const int64_t batch = hidden.shape()[0], seqlen = hidden.shape()[1], n = batch * seqlen;
  if (total_tokens < 0 || total_tokens > n)
    throw ShapeError("unpad_input: total_tokens " + std::to_string(total_tokens) +
                     " is outside [0, " + std::to_string(n) + "]; pass count_tokens(mask)");
  Tensor keep = reshape(frontend::truth(attention_mask, loc), {n}, loc);
  // Token t goes to slot (number of kept tokens up to t) - 1; padding goes to slot
  // total_tokens, which is out of range, so scatter_add drops it.
  Tensor slot = cast(cumsum(keep, 0, loc), DType::I64, loc) - 1;
  Tensor target = where(keep, slot, total_tokens, loc);
  Tensor indices = scatter_add(zeros({total_tokens}, DType::I64, loc), target,
                               arange(int64_t{0}, n, 1, DType::I64, loc), 0, loc);
  Shape flat = hidden.shape();
  flat.erase(flat.begin());
  flat[0] = n;
  Tensor seqlens =
      sum(frontend::cast_to(frontend::truth(attention_mask, loc), DType::I32, loc), -1, false, loc);
  return Unpadded{index_first_axis(reshape(hidden, flat, loc), indices, loc), indices,
                  pad(cumsum(seqlens, 0, loc), {{1, 0}}, 0, loc), max(seqlens, {}, false, loc)};
}

Unpadded unpad_input(const Tensor& hidden, const Tensor& attention_mask, Loc loc) {
  return unpad_input(hidden, attention_mask, count_tokens(attention_mask, loc), loc);
}

Tensor pad_input(const Tensor& hidden, const Tensor& indices, int64_t batch, int64_t seqlen,
                 Loc loc) {
  if (hidden.ndim() < 1 || indices.ndim() != 1 || indices.shape()[0] != hidden.shape()[0])
    throw ShapeError("pad_input: indices " + type_str(indices) +
                     " must be 1-D with one index per row of hidden " + type_str(hidden));
  Shape padded = hidden.shape(), one_row(hidden.shape().size(), 1);
  padded[0] = batch * seqlen;
  one_row[0] = hidden.shape()[0];
  Tensor rows = broadcast_to(reshape(indices, one_row, loc), hidden.shape(), loc);
  Tensor out = scatter_add(zeros(padded, hidden.dtype(), loc), rows, hidden, 0, loc);
  Shape shape = hidden.shape();
  shape[0] = seqlen;
  shape.insert(shape.begin(), batch);
  return reshape(out, shape, loc);
}

Tensor index_first_axis(const Tensor& x, const Tensor& indices, Loc loc) {
  if (x.ndim() < 1 || indices.ndim() != 1)
    throw ShapeError("index_first_axis: x " + type_str(x) + " needs an axis and indices " +
                     type_str(indices) + " must be 1-D");
  return take(x, indices, 0, loc);
}

// ---------------------------------------------------------------------------------------
// Low rank

namespace {

// The columns of Y [m, l] made orthonormal, one after the other: each loses its components
// along the columns before it twice (the second pass removes what rounding left of the
// first), then is scaled to unit length; a dependent column becomes 0.
Tensor orthonormalize(const Tensor& Y, Loc loc) {
  std::vector<Tensor> cols;
  for (int64_t j = 0; j < Y.shape()[1]; ++j) {
    Tensor v = slice(Y, 1, j, j + 1, 1, loc);
    if (j > 0) {
      Tensor Q = concatenate(cols, 1, loc);
      for (int pass = 0; pass < 2; ++pass)
        v = v - matmul(Q, matmul(transpose(Q, loc), v, loc), loc);
    }
    cols.push_back(safe_divide(v, norm(v, loc), 0, loc));
  }
  return concatenate(cols, 1, loc);
}

Tensor real_matrix(const char* op, const Tensor& A, Loc loc) {
  if (A.ndim() != 2)
    throw ShapeError(std::string(op) + ": A " + type_str(A) + " must be a matrix [m, n]");
  Tensor f = frontend::to_inexact(A, loc);
  if (!is_floating(f.dtype()))
    throw DTypeError(std::string(op) + ": A " + type_str(A) + " must be real");
  return f;
}

// Squarings of the deflated Gram matrix per singular vector: its top eigenvector raised to
// the power 2^12, which separates eigenvalues whose ratio is 0.998 by a factor of e^-8.
constexpr int kSquarings = 12;

}  // namespace

LowRankSvd svd_lowrank(const Tensor& A, int64_t rank, int iters, const Key& key, int64_t oversample,
                       Loc loc) {
  Tensor M = real_matrix("svd_lowrank", A, loc);
  const int64_t m = M.shape()[0], n = M.shape()[1];
  if (rank < 1 || rank > std::min(m, n) || iters < 0 || oversample < 0)
    throw ShapeError("svd_lowrank: rank " + std::to_string(rank) + " of A " + type_str(A) +
                     " must be in [1, " + std::to_string(std::min(m, n)) +
                     "], iters and oversample >= 0");
  const int64_t l = std::min(rank + oversample, std::min(m, n));
  Tensor Mt = transpose(M, loc);
  Tensor Q = orthonormalize(matmul(M, normal(key, {n, l}, M.dtype(), 0, 1, loc), loc), loc);
  for (int i = 0; i < iters; ++i)
    Q = orthonormalize(matmul(M, orthonormalize(matmul(Mt, Q, loc), loc), loc), loc);
  Tensor B = matmul(transpose(Q, loc), M, loc);  // [l, n]: A ≈ Q B
  Tensor Bt = transpose(B, loc);
  Tensor C = matmul(B, Bt, loc);  // [l, l], its eigenvectors are B's left singular vectors
  std::vector<Tensor> us, ss, vs;
  for (int64_t k = 0; k < rank; ++k) {
    Tensor P = C;
    for (int s = 0; s < kSquarings; ++s) {
      P = matmul(P, P, loc);
      P = safe_divide(P, norm(P, loc), 0, loc);
    }
    // P is now about c * u u^T: its longest column is a multiple of u.
    Tensor col = argmax(sum(P * P, 0, false, loc), {}, false, loc);
    Tensor u = take(P, reshape(col, {1}, loc), 1, loc);  // [l, 1]
    u = safe_divide(u, norm(u, loc), 0, loc);
    Tensor w = matmul(Bt, u, loc);  // [n, 1] = s v
    Tensor s = norm(w, loc);
    C = C - (s * s) * matmul(u, transpose(u, loc), loc);
    us.push_back(u);
    ss.push_back(reshape(s, {1}, loc));
    vs.push_back(safe_divide(w, s, 0, loc));
  }
  return LowRankSvd{matmul(Q, concatenate(us, 1, loc), loc), concatenate(ss, 0, loc),
                    concatenate(vs, 1, loc)};
}

SingularTriplet power_iteration(const Tensor& A, int iters, const Key& key, Loc loc) {
  Tensor M = real_matrix("power_iteration", A, loc);
  if (iters < 1)
    throw ShapeError("power_iteration: iters must be >= 1, got " + std::to_string(iters));
  Tensor Mt = transpose(M, loc);
  Tensor v = normal(key, {M.shape()[1]}, M.dtype(), 0, 1, loc);
  v = safe_divide(v, norm(v, loc), 0, loc);
  Tensor u = v, s = v;
  for (int i = 0; i < iters; ++i) {
    u = matmul(M, v, loc);
    u = safe_divide(u, norm(u, loc), 0, loc);
    v = matmul(Mt, u, loc);
    s = norm(v, loc);
    v = safe_divide(v, s, 0, loc);
  }
  return SingularTriplet{u, s, v};
}

}  // namespace kiln
