// Losses and metrics (kiln/losses.h), composed from kiln's ops.
#include <kiln/losses.h>

#include "frontend/builder.h"

namespace kiln {

namespace {

Tensor reduce(const Tensor& per_element, Reduction r, Loc loc) {
  switch (r) {
    case Reduction::None: return per_element;
    case Reduction::Mean: return mean(per_element, {}, false, loc);
    case Reduction::Sum: return sum(per_element, {}, false, loc);
  }
  return per_element;
}

void same_shape(const char* op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw ShapeError(std::string(op) + ": input " + frontend::type_str(a) + " and target " +
                     frontend::type_str(b) + " must have one shape");
}

// Class scores [N, C, ...] against class indices [N, ...].
void check_class_indices(const char* op, const Tensor& scores, const Tensor& target) {
  if (scores.ndim() < 2)
    throw ShapeError(std::string(op) + ": class scores " + frontend::type_str(scores) +
                     " need a batch axis and a class axis (axis 1)");
  Shape expected = scores.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected)
    throw ShapeError(std::string(op) + ": class indices " + frontend::type_str(target) +
                     " must have the scores' shape " + shape_str(scores.shape()) +
                     " without the class axis 1");
  if (!is_integer(target.dtype()))
    throw DTypeError(std::string(op) + ": class indices must be integers, got " +
                     frontend::type_str(target));
}

// -log_probs at the target class, [N, ...].
Tensor picked(const Tensor& log_probs, const Tensor& target, Loc loc) {
  Tensor idx = expand_dims(cast(target, DType::I64, loc), 1, loc);
  return neg(squeeze(take_along_axis(log_probs, idx, 1, loc), 1, loc), loc);
}

Tensor as_float(const Tensor& x, Loc loc) { return frontend::to_inexact(x, loc); }

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options,
                     Loc loc) {
  const double s = options.label_smoothing;
  if (!(s >= 0.0 && s <= 1.0))
    throw Error("cross_entropy: label_smoothing " + std::to_string(s) + " is not in [0, 1]");
  if (!is_floating(logits.dtype()))
    throw DTypeError("cross_entropy: logits must be floating, got " + frontend::type_str(logits));
  if (logits.ndim() < 2)
    throw ShapeError("cross_entropy: logits " + frontend::type_str(logits) +
                     " need a batch axis and a class axis (axis 1)");
  const Tensor logp = log_softmax(logits, 1, loc);
  const double classes = static_cast<double>(logits.shape(1));
  if (is_floating(target.dtype())) {  // class probabilities
    same_shape("cross_entropy", logits, target);
    Tensor t = s > 0 ? add(multiply(target, 1.0 - s, loc), s / classes, loc) : target;
    return reduce(neg(sum(multiply(t, logp, loc), 1, false, loc), loc), options.reduction, loc);
  }
  check_class_indices("cross_entropy", logits, target);
  Tensor loss = picked(logp, target, loc);
  if (s > 0) {
    // (1 - s) * nll + s * mean over classes of -log p.
    Tensor uniform = neg(mean(logp, 1, false, loc), loc);
    loss = add(multiply(loss, 1.0 - s, loc), multiply(uniform, s, loc), loc);
  }
  return reduce(loss, options.reduction, loc);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, Loc loc) {
  check_class_indices("nll_loss", log_probs, target);
  return reduce(picked(log_probs, target, loc), reduction, loc);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction, Loc loc) {
  same_shape("mse_loss", input, target);
  return reduce(square(subtract(as_float(input, loc), target, loc), loc), reduction, loc);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, Loc loc) {
  same_shape("l1_loss", input, target);
  return reduce(abs(subtract(as_float(input, loc), target, loc), loc), reduction, loc);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction,
                  Loc loc) {
  if (!(delta > 0)) throw Error("huber_loss: delta " + std::to_string(delta) + " must be > 0");
  same_shape("huber_loss", input, target);
  Tensor d = abs(subtract(as_float(input, loc), target, loc), loc);
  Tensor quadratic = multiply(square(d, loc), 0.5, loc);
  Tensor linear = multiply(subtract(d, 0.5 * delta, loc), delta, loc);
  return reduce(where(less(d, delta, loc), quadratic, linear, loc), reduction, loc);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction, Loc loc) {
  same_shape("binary_cross_entropy_with_logits", logits, target);
  Tensor x = as_float(logits, loc);
  Tensor loss = add(subtract(maximum(x, 0, loc), multiply(x, target, loc), loc),
                    log(add(exp(neg(abs(x, loc), loc), loc), 1, loc), loc), loc);
  return reduce(loss, reduction, loc);
}

// ---- metrics ----

Tensor accuracy(const Tensor& prediction, const Tensor& target, Loc loc) {
  Tensor labels = prediction;
  if (prediction.ndim() == target.ndim() + 1) {
    check_class_indices("accuracy", prediction, target);
    labels = argmax(prediction, 1, false, loc);
  } else {
    same_shape("accuracy", prediction, target);
  }
  return mean(cast(kiln::equal(cast(labels, DType::I64, loc), cast(target, DType::I64, loc), loc),
                   DType::F32, loc),
              {}, false, loc);
}

Tensor mean_squared_error(const Tensor& prediction, const Tensor& target, Loc loc) {
  same_shape("mean_squared_error", prediction, target);
  return mse_loss(prediction, target, Reduction::Mean, loc);
}

namespace {

// Ranks from 1, ties sharing their mean rank: 1 + #(x_j < x_i) + (#(x_j == x_i) - 1) / 2.
Tensor mean_ranks(const Tensor& x, Loc loc) {
  Tensor col = expand_dims(x, 1, loc), row = expand_dims(x, 0, loc);
  Tensor below = sum(cast(kiln::less(row, col, loc), DType::F64, loc), 1, false, loc);
  Tensor ties = sum(cast(kiln::equal(row, col, loc), DType::F64, loc), 1, false, loc);
  return add(below, multiply(add(ties, 1, loc), 0.5, loc), loc);
}

Tensor pearson(const Tensor& a, const Tensor& b, Loc loc) {
  Tensor da = subtract(a, mean(a, {}, false, loc), loc);
  Tensor db = subtract(b, mean(b, {}, false, loc), loc);
  Tensor den = sqrt(
      multiply(sum(square(da, loc), {}, false, loc), sum(square(db, loc), {}, false, loc), loc),
      loc);
  return divide(sum(multiply(da, db, loc), {}, false, loc), den, loc);
}

void same_1d(const char* op, const Tensor& a, const Tensor& b) {
  if (a.ndim() != 1 || a.shape() != b.shape())
    throw ShapeError(std::string(op) + ": needs two 1-D tensors of one length, got " +
                     frontend::type_str(a) + " and " + frontend::type_str(b));
}

}  // namespace

Tensor spearman_correlation(const Tensor& a, const Tensor& b, Loc loc) {
  same_1d("spearman_correlation", a, b);
  return pearson(mean_ranks(cast(a, DType::F64, loc), loc),
                 mean_ranks(cast(b, DType::F64, loc), loc), loc);
}

Tensor matthews_correlation(const Tensor& prediction, const Tensor& target, int64_t num_classes,
                            Loc loc) {
  same_1d("matthews_correlation", prediction, target);
  if (!is_integer(prediction.dtype()) || !is_integer(target.dtype()))
    throw DTypeError("matthews_correlation: needs class indices (integers), got " +
                     frontend::type_str(prediction) + " and " + frontend::type_str(target));
  if (num_classes < 2)
    throw Error("matthews_correlation: num_classes " + std::to_string(num_classes) +
                " must be at least 2");
  // Counts per class: t (true), p (predicted), c (correct); s samples.
  Tensor pt = one_hot(target, num_classes, DType::F64, loc);
  Tensor pp = one_hot(prediction, num_classes, DType::F64, loc);
  Tensor t = sum(pt, 0, false, loc), p = sum(pp, 0, false, loc);
  Tensor c = sum(multiply(pt, pp, loc), {}, false, loc);
  Tensor s = sum(t, {}, false, loc);
  Tensor num = subtract(multiply(c, s, loc), sum(multiply(t, p, loc), {}, false, loc), loc);
  Tensor den = multiply(subtract(square(s, loc), sum(square(p, loc), {}, false, loc), loc),
                        subtract(square(s, loc), sum(square(t, loc), {}, false, loc), loc), loc);
  return where(greater(den, 0, loc), divide(num, sqrt(den, loc), loc), 0.0, loc);
}

}  // namespace kiln
