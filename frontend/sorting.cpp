// sort, argsort, topk, triu and tril (kiln/sorting.h), composed from kiln's ops. A row's
// order comes from ranks: element i's rank is the number of elements that sort before it
// (strictly smaller, or equal at a lower index), so ranks are a permutation and the sort is
// stable; argsort then scatters each index to its rank. Tests: tests/frontend/sorting_test.cpp.
#include <kiln/sorting.h>

#include <string>

namespace kiln {

namespace {

int checked_axis(const char* op, int axis, const Tensor& x) {
  int rank = x.ndim();
  if (rank == 0 || axis < -rank || axis >= rank)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) +
                     " is out of range for a tensor of shape " + shape_str(x.shape()) +
                     " (sorting needs an axis of a tensor of rank >= 1)");
  return axis < 0 ? axis + rank : axis;
}

// The rank of each element of the last axis among the elements of its row.
Tensor ranks(const Tensor& xl, bool descending, Loc loc) {
  int64_t n = xl.shape(-1);
  Tensor a = expand_dims(xl, -1, loc);  // [..., n, 1]: element i
  Tensor b = expand_dims(xl, -2, loc);  // [..., 1, n]: element j
  Tensor before = descending ? greater(b, a, loc) : less(b, a, loc);
  Tensor i = reshape(arange(n, DType::I64, loc), {n, 1}, loc);
  Tensor j = reshape(arange(n, DType::I64, loc), {1, n}, loc);
  Tensor tie_before = logical_and(kiln::equal(a, b, loc), less(j, i, loc), loc);
  return cast(sum(logical_or(before, tie_before, loc), -1, false, loc), DType::I64, loc);
}

// The lower (or upper) triangle of x's last two axes, relative to diagonal k.
Tensor triangle(const char* op, const Tensor& x, const TensorLike& k, bool upper, Loc loc) {
  if (k.is_tensor() && (k.tensor().ndim() != 0 || !is_integer(k.tensor().dtype())))
    throw ShapeError(std::string(op) + ": k must be a 0-d integer tensor, got " +
                     k.tensor().type().str());
  if (x.ndim() < 2)
    throw ShapeError(std::string(op) + ": x has shape " + shape_str(x.shape()) +
                     "; it needs rank >= 2 (the triangle is taken in the last two axes)");
  int64_t rows = x.shape(-2), cols = x.shape(-1);
  Tensor offset = subtract(reshape(arange(cols, DType::I64, loc), {1, cols}, loc),
                           reshape(arange(rows, DType::I64, loc), {rows, 1}, loc), loc);
  Tensor keep = upper ? greater_equal(offset, k, loc) : less_equal(offset, k, loc);
  return where(keep, x, zeros_like(x, std::nullopt, loc), loc);
}

}  // namespace

Tensor argsort(const Tensor& x, int axis, bool descending, Loc loc) {
  int a = checked_axis("argsort", axis, x);
  int last = x.ndim() - 1;
  Tensor xl = a == last ? x : swapaxes(x, a, last, loc);
  Tensor r = ranks(xl, descending, loc);
  Tensor positions = broadcast_to(arange(xl.shape(-1), DType::I64, loc), r.shape(), loc);
  // Ranks are a permutation of each row, so every slot receives exactly one index.
  Tensor order = scatter_add(zeros_like(r, std::nullopt, loc), r, positions, last, loc);
  return a == last ? order : swapaxes(order, a, last, loc);
}

Tensor sort(const Tensor& x, int axis, bool descending, Loc loc) {
  return take_along_axis(x, argsort(x, axis, descending, loc), checked_axis("sort", axis, x), loc);
}

TopK topk(const Tensor& x, int64_t k, int axis, bool largest, Loc loc) {
  int a = checked_axis("topk", axis, x);
  if (k < 0 || k > x.shape(a))
    throw ShapeError("topk: k is " + std::to_string(k) + ", but axis " + std::to_string(axis) +
                     " of shape " + shape_str(x.shape()) + " has " + std::to_string(x.shape(a)) +
                     " elements; k must be in [0, that]");
  Tensor indices = slice(argsort(x, a, largest, loc), a, 0, k, 1, loc);
  return {take_along_axis(x, indices, a, loc), indices};
}

Tensor triu(const Tensor& x, int64_t k, Loc loc) { return triangle("triu", x, k, true, loc); }

Tensor tril(const Tensor& x, int64_t k, Loc loc) { return triangle("tril", x, k, false, loc); }

Tensor triu(const Tensor& x, const Tensor& k, Loc loc) { return triangle("triu", x, k, true, loc); }

Tensor tril(const Tensor& x, const Tensor& k, Loc loc) {
  return triangle("tril", x, k, false, loc);
}

}  // namespace kiln
