// Sorting and triangular masks for kiln: sort, argsort, topk, triu and tril. All are lazy
// graph code composed from kiln's elementwise ops, reductions and gathers, so they run on
// every device and fuse like any other op. Sorting ranks each element by comparing it with
// every other element of its row (stable: equal elements keep their order), which is
// O(n^2) work and memory per row of length n along the axis: fine for the lengths models
// sort (top-k over classes or a few thousand scores), not for sorting millions of values.
// Inputs are expected NaN-free (a NaN compares false with everything and makes the ranks
// collide). Tests: tests/frontend/sorting_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <cstdint>

namespace kiln {

// The values of x sorted along `axis`, ascending (descending when asked); stable.
Tensor sort(const Tensor& x, int axis = -1, bool descending = false, Loc loc = Loc::current());
// The indices (i64) that sort x along `axis`: take_along_axis(x, argsort(x)) == sort(x).
// Equal elements keep their order (lower index first) in both directions.
Tensor argsort(const Tensor& x, int axis = -1, bool descending = false, Loc loc = Loc::current());

// The k largest (or smallest) elements along `axis`, in order, and their indices (i64);
// among equal elements the lower index comes first (as ONNX's TopK).
struct TopK {
  Tensor values;
  Tensor indices;
};
TopK topk(const Tensor& x, int64_t k, int axis = -1, bool largest = true, Loc loc = Loc::current());

// x with the elements below diagonal k zeroed, in its last two axes (k = 0: the main
// diagonal, k > 0 above it, k < 0 below it): the upper triangle, kept where col - row >= k.
Tensor triu(const Tensor& x, int64_t k = 0, Loc loc = Loc::current());
// x with the elements above diagonal k zeroed: the lower triangle, kept where col - row <= k.
Tensor tril(const Tensor& x, int64_t k = 0, Loc loc = Loc::current());
// The same with k a 0-d integer tensor of the graph (known only when it runs).
Tensor triu(const Tensor& x, const Tensor& k, Loc loc = Loc::current());
Tensor tril(const Tensor& x, const Tensor& k, Loc loc = Loc::current());

}  // namespace kiln
