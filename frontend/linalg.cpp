// Contractions: matmul with NumPy's rules (1-D promotion, broadcast batch dimensions),
// dot and outer. The IR's matmul wants equal batch dimensions, so they are broadcast here.
#include "frontend/builder.h"

namespace kiln {

using frontend::make;
using frontend::type_str;

Tensor matmul(const Tensor& a, const Tensor& b, Loc loc) {
  for (const Tensor* t : {&a, &b})
    if (t->ndim() == 0)
      throw ShapeError("matmul: " + type_str(*t) +
                       " is rank 0; matmul needs at least 1-D operands (use multiply for "
                       "scalars)");
  DType d = promote_types(a.dtype(), b.dtype());
  if (is_bool(d)) d = DType::I32;
  const int64_t k = a.shape().back(), k2 = b.shape()[b.ndim() == 1 ? 0 : b.ndim() - 2];
  if (k != k2)
    throw ShapeError("matmul: " + type_str(a) + " @ " + type_str(b) +
                     ": the contracted dimensions differ (" + std::to_string(k) + " vs " +
                     std::to_string(k2) +
                     "); a's last dimension must equal b's second to last (transpose or "
                     "reshape an operand)");
  if (a.ndim() == 2 && b.ndim() == 2)  // matrices: no batch to broadcast, nothing to reshape
    return make(ir::OpKind::MatMul, {frontend::cast_to(a, d, loc), frontend::cast_to(b, d, loc)},
                {}, Type{d, {a.shape()[0], b.shape()[1]}}, loc);
  // 1-D operands: a gains a leading 1 ([k] -> [1, k]), b a trailing 1 ([k] -> [k, 1]);
  // both are removed from the result.
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], n = bs.back();
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  Shape batch;
  try {
    batch =
        frontend::broadcast_shapes("matmul", {Type{a.dtype(), a_batch}, Type{b.dtype(), b_batch}});
  } catch (const ShapeError&) {
    throw ShapeError("matmul: the batch dimensions of " + type_str(a) + " and " + type_str(b) +
                     " do not broadcast (" + shape_str(a_batch) + " vs " + shape_str(b_batch) +
                     "); each must match or be 1");
  }
  Shape a_full = batch, b_full = batch, out = batch;
  a_full.insert(a_full.end(), {m, k});
  b_full.insert(b_full.end(), {k, n});
  out.insert(out.end(), {m, n});
  Tensor x =
      frontend::expand_to(frontend::reshape_to(frontend::cast_to(a, d, loc), as, loc), a_full, loc);
  Tensor y =
      frontend::expand_to(frontend::reshape_to(frontend::cast_to(b, d, loc), bs, loc), b_full, loc);
  Tensor r = make(ir::OpKind::MatMul, {x, y}, {}, Type{d, out}, loc);
  Shape final_shape = batch;
  if (a.ndim() > 1) final_shape.push_back(m);
  if (b.ndim() > 1) final_shape.push_back(n);
  return frontend::reshape_to(r, final_shape, loc);
}

Tensor dot(const Tensor& a, const Tensor& b, Loc loc) {
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b, loc);
  if (a.ndim() > 2 || b.ndim() > 2)
    throw ShapeError("dot: " + type_str(a) + " and " + type_str(b) +
                     " have rank above 2; use matmul for batched products");
  return matmul(a, b, loc);
}

Tensor outer(const Tensor& a, const Tensor& b, Loc loc) {
  Tensor x = frontend::reshape_to(a, {a.size(), 1}, loc);
  Tensor y = frontend::reshape_to(b, {1, b.size()}, loc);
  return multiply(x, y, loc);
}

}  // namespace kiln
