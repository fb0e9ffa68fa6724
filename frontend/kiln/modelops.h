// Model-porting ops composed from kiln's graph ops: division and logarithm that stay
// finite, a softmax under a keep-mask, BERT's padding removal (bert_padding: unpad_input,
// pad_input, index_first_axis) and low-rank factorizations (randomized SVD, power
// iteration). All are lazy graph code; the one host sync (counting a mask's tokens) is a
// separate, named function. Guide: docs/modelops.md. Tests: tests/frontend/modelops_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <cstdint>
#include <optional>

namespace kiln {

// a / b where |b| > eps, and 0 where |b| <= eps (eps >= 0; the default divides by every
// nonzero b). The division reads 1 in place of the refused denominators, so neither the
// value nor the gradient holds inf or NaN there. Dtypes as divide.
Tensor safe_divide(const TensorLike& a, const TensorLike& b, double eps = 0,
                   Loc loc = Loc::current());
// log(max(x, eps)): finite for x <= 0 (log(eps) there, gradient 0); NaN stays NaN. eps
// defaults to the smallest positive normal number of x's dtype (f32: 1.18e-38, so
// log(0) gives -87.34; f64: -708.40). Integer and bool inputs become f32.
Tensor safe_log(const Tensor& x, std::optional<double> eps = std::nullopt,
                Loc loc = Loc::current());
// softmax(x) along `axis` over the entries where `mask` (bool, broadcast to x's shape) is
// true; masked entries are 0, and a row with no true entry is all 0 (not NaN). Gradients
// are finite everywhere.
Tensor masked_softmax(const Tensor& x, const Tensor& mask, int axis = -1, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// bert_padding: the tokens of a padded batch [batch, seqlen, ...] as one packed
// [total_tokens, ...] tensor and back.

// unpad_input's results, as flash-attention's bert_padding returns them.
struct Unpadded {
  Tensor hidden;               // [total_tokens, ...]: the kept tokens in row-major order
  Tensor indices;              // i64 [total_tokens]: each kept token's index in batch * seqlen
  Tensor cu_seqlens;           // i32 [batch + 1]: 0 and the running sums of the sequence lengths
  Tensor max_seqlen_in_batch;  // i32 []: the longest sequence (a tensor: no host sync)
};

// The number of true (nonzero) entries of `attention_mask`, read back to the host: one
// counted host sync (kiln::stats() lists it at the caller's line). The packed tensors'
// shapes depend on it, so it is needed once per mask before the graph can be built.
int64_t count_tokens(const Tensor& attention_mask, Loc loc = Loc::current());

// Removes the padding of hidden [batch, seqlen, ...] where attention_mask [batch, seqlen]
// (bool or integer, nonzero = a token) is false. `total_tokens` must be the mask's count
// (count_tokens): a graph has static shapes. No host sync: the indices are computed in the
// graph (a running count of the mask, scattered). With a wrong count, the tokens past it
// are dropped, or the missing ones read token 0.
Unpadded unpad_input(const Tensor& hidden, const Tensor& attention_mask, int64_t total_tokens,
                     Loc loc = Loc::current());
// The same with total_tokens = count_tokens(attention_mask): one host sync, counted at the
// caller's line.
Unpadded unpad_input(const Tensor& hidden, const Tensor& attention_mask, Loc loc = Loc::current());
// The inverse: hidden [total_tokens, ...] scattered to the rows `indices` of a zero
// [batch * seqlen, ...] tensor, returned as [batch, seqlen, ...].
Tensor pad_input(const Tensor& hidden, const Tensor& indices, int64_t batch, int64_t seqlen,
                 Loc loc = Loc::current());
// x[indices] along the first axis (indices 1-D, integer): [len(indices), x.shape[1:]...].
Tensor index_first_axis(const Tensor& x, const Tensor& indices, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Low rank

// A ≈ U diag(S) V^T: U [m, rank] and V [n, rank] with orthonormal columns, S [rank]
// descending.
struct LowRankSvd {
  Tensor U, S, V;
};
// The top `rank` singular triplets of A [m, n] by randomized SVD (Halko, Martinsson and
// Tropp): a Gaussian test matrix of rank + oversample columns (at most min(m, n)) drawn
// from `key`, `iters` power iterations with re-orthonormalization (Gram-Schmidt with a
// second pass, column by column), then the small SVD of the projected matrix B = Q^T A by
// deflation: each singular vector of B B^T is found by repeated squaring (the power method
// 4096 steps deep, in 12 matmuls), and its singular value as the norm of B^T v.
// Floating A (integers become f32).
LowRankSvd svd_lowrank(const Tensor& A, int64_t rank, int iters, const Key& key,
                       int64_t oversample = 4, Loc loc = Loc::current());

// The largest singular value s of A [m, n] with its unit vectors: A v = s u.
struct SingularTriplet {
  Tensor u, s, v;  // [m], [], [n]
};
// `iters` steps of the power method on A^T A from a Gaussian start drawn from `key`.
SingularTriplet power_iteration(const Tensor& A, int iters, const Key& key,
                                Loc loc = Loc::current());

}  // namespace kiln
