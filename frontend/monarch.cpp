// Block-diagonal and Monarch matrices (kiln/m2.h): blockdiag_multiply as one batched
// matmul over the blocks, monarch_multiply as two of them with the permutations between
// them as reshapes and transposes, and the BlockdiagLinear / MonarchLinear modules.
// Tests: tests/frontend/m2bert_test.cpp.
#include <kiln/m2.h>

#include <cmath>

namespace kiln {

namespace {

Shape leading(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 1); }

Shape with_last(Shape s, std::initializer_list<int64_t> last) {
  s.insert(s.end(), last);
  return s;
}

}  // namespace

Tensor blockdiag_multiply(const Tensor& x, const Tensor& w, Loc loc) {
  if (w.ndim() != 3)
    throw ShapeError("blockdiag_multiply: the weight " + w.type().str() +
                     " must be [nblocks, q, p]");
  const int64_t nblocks = w.shape()[0], q = w.shape()[1], p = w.shape()[2];
  if (x.ndim() < 1 || x.shape().back() != nblocks * p)
    throw ShapeError("blockdiag_multiply: x " + x.type().str() + " must end in nblocks * p = " +
                     std::to_string(nblocks * p) + " features for the weight " + w.type().str());
  const Shape batch = leading(x);
  int64_t rows = 1;
  for (int64_t d : batch) rows *= d;
  // [rows, nblocks, p] -> [nblocks, rows, p] @ [nblocks, p, q] -> [nblocks, rows, q].
  Tensor xb = swapaxes(reshape(x, {rows, nblocks, p}, loc), 0, 1, loc);
  Tensor y = matmul(xb, swapaxes(w, 1, 2, loc), loc);
  return reshape(swapaxes(y, 0, 1, loc), with_last(batch, {nblocks * q}), loc);
}

Tensor monarch_multiply(const Tensor& x, const Tensor& w1, const Tensor& w2, Loc loc) {
  if (w1.ndim() != 3 || w2.ndim() != 3)
    throw ShapeError("monarch_multiply: the factors " + w1.type().str() + " and " +
                     w2.type().str() + " must be [k, q, p] and [l, s, r]");
  const int64_t k = w1.shape()[0], q = w1.shape()[1];
  const int64_t l = w2.shape()[0], s = w2.shape()[1], r = w2.shape()[2];
  if (l * r != k * q)
    throw ShapeError("monarch_multiply: the factors " + w1.type().str() + " and " +
                     w2.type().str() + " do not chain (l * r = " + std::to_string(l * r) +
                     " != k * q = " + std::to_string(k * q) + ")");
  Tensor h = blockdiag_multiply(x, w1, loc);
  const Shape batch = leading(h);
  const int last = static_cast<int>(batch.size());  // the axis after the batch axes
  // Feature f = i * l + j becomes j * r + i: the second factor's blocks gather a stride.
  h = reshape(swapaxes(reshape(h, with_last(batch, {r, l}), loc), last, last + 1, loc),
              with_last(batch, {l * r}), loc);
  h = blockdiag_multiply(h, w2, loc);
  return reshape(swapaxes(reshape(h, with_last(batch, {l, s}), loc), last, last + 1, loc),
                 with_last(batch, {s * l}), loc);
}

}  // namespace kiln

namespace kiln::nn {

namespace {

int64_t blocks_of(const char* who, int64_t features, int64_t nblocks) {
  if (features <= 0 || nblocks <= 0)
    throw Error(std::string(who) + ": features and nblocks must be positive, got " +
                std::to_string(features) + " and " + std::to_string(nblocks));
  return (features + nblocks - 1) / nblocks;
}

// The reference's init: a dense kaiming_uniform(a = sqrt(5)) matrix of the padded size,
// scaled by sqrt(dense size / stored size), of which the blocks are kept.
Tensor block_init(const Key& key, const Shape& shape, int64_t dense_in, double scale, DType dtype) {
  const double bound = scale / std::sqrt(static_cast<double>(dense_in));
  return uniform(key, shape, dtype, -bound, bound);
}

// Zero-pads the features to `padded`, applies `product`, crops to `out`, adds the bias.
template <class Product>
Tensor structured(const Tensor& x, int64_t in, int64_t padded, int64_t out, bool bias,
                  const Scope& s, const char* who, Product product) {
  if (x.ndim() < 1 || x.shape().back() != in)
    throw ShapeError(std::string(who) + ": x " + x.type().str() + " must end in " +
                     std::to_string(in) + " features");
  std::vector<std::pair<int64_t, int64_t>> pads(x.ndim(), {0, 0});
  pads.back().second = padded - in;
  Tensor y = product(padded > in ? pad(x, pads) : x);
  if (y.shape().back() > out) y = slice(y, static_cast<int>(y.ndim()) - 1, 0, out);
  return bias ? y + s.get("bias") : y;
}

Tensor bias_init(const Key& key, int64_t out, DType dtype) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(out));
  return uniform(key, {out}, dtype, -bound, bound);
}

}  // namespace

BlockdiagLinear::BlockdiagLinear(int64_t in_features, int64_t out_features, int64_t nblocks,
                                 const Key& key, bool bias, DType dtype)
    : in_(in_features), out_(out_features), bias_(bias) {
  const int64_t i = blocks_of("BlockdiagLinear", in_features, nblocks);
  const int64_t o = blocks_of("BlockdiagLinear", out_features, nblocks);
  in_padded_ = i * nblocks;
  std::vector<Key> keys = split(key, 2);
  register_parameter("weight", block_init(keys[0], {nblocks, o, i}, in_padded_,
                                          std::sqrt(static_cast<double>(nblocks)), dtype));
  if (bias) register_parameter("bias", bias_init(keys[1], out_features, dtype));
}

Tensor BlockdiagLinear::forward(const Tensor& x, const Scope& s) const {
  return structured(x, in_, in_padded_, out_, bias_, s, "BlockdiagLinear",
                    [&](const Tensor& v) { return blockdiag_multiply(v, s.get("weight")); });
}

MonarchLinear::MonarchLinear(int64_t in_features, int64_t out_features, int64_t nblocks,
                             const Key& key, bool bias, DType dtype)
    : in_(in_features), out_(out_features), bias_(bias) {
  const int64_t i = blocks_of("MonarchLinear", in_features, nblocks);
  const int64_t o = blocks_of("MonarchLinear", out_features, nblocks);
  in_padded_ = i * nblocks;
  const Shape s1 = i < o ? Shape{nblocks, i, i} : Shape{nblocks, o, i};
  const Shape s2 = i < o ? Shape{nblocks, o, i} : Shape{nblocks, o, o};
  std::vector<Key> keys = split(key, 3);
  register_parameter("blkdiag1", block_init(keys[0], s1, s1[2], 1.0, dtype));
  register_parameter("blkdiag2", block_init(keys[1], s2, s2[2], 1.0, dtype));
  if (bias) register_parameter("bias", bias_init(keys[2], out_features, dtype));
}

Tensor MonarchLinear::forward(const Tensor& x, const Scope& s) const {
  return structured(x, in_, in_padded_, out_, bias_, s, "MonarchLinear", [&](const Tensor& v) {
    return monarch_multiply(v, s.get("blkdiag1"), s.get("blkdiag2"));
  });
}

}  // namespace kiln::nn
