// Indexing along one axis: take, take_along_axis / gather, scatter_add and one_hot, all
// lowered to the IR's take_along_axis-shaped gather and scatter_add.
#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

namespace {

// Indices as i32 or i64 (i8 and u8 widen to i32); DTypeError for other dtypes.
Tensor index_tensor(std::string_view op, const Tensor& idx, Loc loc) {
  DType d = idx.dtype();
  if (d == DType::I32 || d == DType::I64) return idx;
  if (d == DType::I8 || d == DType::U8) return frontend::cast_to(idx, DType::I32, loc);
  throw DTypeError(std::string(op) + ": indices must be integers, got " + type_str(idx) +
                   "; cast them with cast(idx, DType::I32)");
}

void check_rank(std::string_view op, size_t rank) {
  if (static_cast<int>(rank) > kMaxRank)
    throw ShapeError(std::string(op) + ": the result would have rank " + std::to_string(rank) +
                     "; kiln supports at most rank " + std::to_string(kMaxRank));
}

void check_not_empty(std::string_view op, const Tensor& x, int axis, const Tensor& idx) {
  if (x.shape()[axis] == 0 && idx.size() > 0)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " of " + type_str(x) +
                     " has length 0, so no index " + type_str(idx) +
                     " can select from it; index a non-empty axis");
}

}  // namespace

Tensor take(const Tensor& x, const Tensor& idx, std::optional<int> axis, Loc loc) {
  Tensor i = index_tensor("take", idx, loc);
  Tensor data = axis ? x : frontend::reshape_to(x, {x.size()}, loc);
  int a = frontend::normalize_axis("take", axis.value_or(0), data.ndim(), data.type());
  check_not_empty("take", data, a, i);
  bool scalar_index = i.ndim() == 0;
  if (scalar_index) i = frontend::reshape_to(i, {1}, loc);
  const Shape& xs = data.shape();
  const Shape& is = i.shape();
  Shape pre(xs.begin(), xs.begin() + a), post(xs.begin() + a + 1, xs.end());
  check_rank("take", pre.size() + is.size() + post.size());
  // data: pre + [1]*(r-1) + [n] + post, broadcast over the leading index dimensions.
  Shape data_shape = pre, data_full = pre;
  data_shape.insert(data_shape.end(), is.size() - 1, 1);
  data_full.insert(data_full.end(), is.begin(), is.end() - 1);
  data_shape.push_back(xs[a]);
  data_full.push_back(xs[a]);
  data_shape.insert(data_shape.end(), post.begin(), post.end());
  data_full.insert(data_full.end(), post.begin(), post.end());
  // indices: [1]*len(pre) + idx shape + [1]*len(post), broadcast to the output shape.
  Shape out = pre;
  out.insert(out.end(), is.begin(), is.end());
  out.insert(out.end(), post.begin(), post.end());
  Shape idx_shape(pre.size(), 1);
  idx_shape.insert(idx_shape.end(), is.begin(), is.end());
  idx_shape.insert(idx_shape.end(), post.size(), 1);
  Tensor d = frontend::expand_to(frontend::reshape_to(data, data_shape, loc), data_full, loc);
  Tensor k = frontend::expand_to(frontend::reshape_to(i, idx_shape, loc), out, loc);
  int64_t gather_axis = a + static_cast<int64_t>(is.size()) - 1;
  Tensor r = make(ir::OpKind::Gather, {d, k}, {gather_axis}, Type{x.dtype(), out}, loc);
  if (scalar_index) {
    out.erase(out.begin() + a);
    r = frontend::reshape_to(r, out, loc);
  }
  return r;
}

Tensor take_along_axis(const Tensor& x, const Tensor& idx, int axis, Loc loc) {
  Tensor i = index_tensor("take_along_axis", idx, loc);
  if (i.ndim() != x.ndim())
    throw ShapeError("take_along_axis: indices " + type_str(i) + " and data " + type_str(x) +
                     " differ in rank; indices need the data's rank (use expand_dims)");
  int a = frontend::normalize_axis("take_along_axis", axis, x.ndim(), x.type());
  check_not_empty("take_along_axis", x, a, i);
  // Every dimension but the axis broadcasts between data and indices.
  Shape data_shape = x.shape(), idx_shape = i.shape();
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == a) continue;
    int64_t p = x.shape()[d], q = i.shape()[d];
    if (p != q && p != 1 && q != 1)
      throw ShapeError("take_along_axis: data " + type_str(x) + " and indices " + type_str(i) +
                       " do not broadcast (dimension " + std::to_string(d) + ": " +
                       std::to_string(p) + " vs " + std::to_string(q) +
                       "); dimensions other than the axis must match or be 1");
    data_shape[d] = idx_shape[d] = p == 1 ? q : p;
  }
  Tensor dx = frontend::expand_to(x, data_shape, loc);
  Tensor di = frontend::expand_to(i, idx_shape, loc);
  return make(ir::OpKind::Gather, {dx, di}, {int64_t{a}}, Type{x.dtype(), idx_shape}, loc);
}

Tensor gather(const Tensor& x, const Tensor& idx, int axis, Loc loc) {
  return take_along_axis(x, idx, axis, loc);
}

Tensor scatter_add(const Tensor& base, const Tensor& idx, const TensorLike& updates, int axis,
                   Loc loc) {
  Tensor i = index_tensor("scatter_add", idx, loc);
  frontend::check_dtype("scatter_add", ir::OpKind::ScatterAdd, base.dtype(),
                        [&] { return "base " + type_str(base); });
  if (i.ndim() != base.ndim())
    throw ShapeError("scatter_add: indices " + type_str(i) + " and base " + type_str(base) +
                     " differ in rank; indices need the base's rank (use expand_dims)");
  int a = frontend::normalize_axis("scatter_add", axis, base.ndim(), base.type());
  for (int d = 0; d < base.ndim(); ++d)
    if (d != a && i.shape()[d] > base.shape()[d])
      throw ShapeError("scatter_add: indices " + type_str(i) + " are longer than base " +
                       type_str(base) + " in dimension " + std::to_string(d) +
                       "; outside the axis, index dimensions must be <= the base's");
  if (updates.is_tensor() && promote_types(base.dtype(), updates.tensor().dtype()) != base.dtype())
    throw DTypeError("scatter_add: updates " + type_str(updates.tensor()) + " do not fit base " +
                     type_str(base) +
                     " without losing values; cast the base (or the updates) first");
  Tensor u =
      updates.is_tensor()
          ? broadcast_to(frontend::cast_to(updates.tensor(), base.dtype(), loc), i.shape(), loc)
          : frontend::filled("scatter_add", updates.scalar(), base.dtype(), i.shape(), loc);
  return make(ir::OpKind::ScatterAdd, {base, i, u}, {int64_t{a}}, base.type(), loc);
}

Tensor one_hot(const Tensor& idx, int64_t num_classes, DType dtype, Loc loc) {
  Tensor i = index_tensor("one_hot", idx, loc);
  if (num_classes < 0)
    throw ShapeError("one_hot: num_classes is " + std::to_string(num_classes) +
                     "; it must be >= 0");
  Shape shape = i.shape();
  shape.push_back(num_classes);
  check_rank("one_hot", shape.size());
  Tensor classes = make(ir::OpKind::Iota, {}, {int64_t{i.ndim()}}, Type{i.dtype(), shape}, loc);
  Tensor column = frontend::reshape_to(
      i,
      [&] {
        Shape s = i.shape();
        s.push_back(1);
        return s;
      }(),
      loc);
  return cast(kiln::equal(column, classes, loc), dtype, loc);
}

}  // namespace kiln
