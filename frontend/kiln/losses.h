// Losses and metrics, composed from kiln's ops: each returns a lazy tensor (nothing runs,
// no host sync), so a loss sits inside the training step's graph and a metric inside the
// evaluation's. Class scores are on axis 1 ([N, C] or [N, C, d1, ...], as in PyTorch).
// Included at the end of <kiln/kiln.h>. Tests: tests/frontend/losses_test.cpp.
#pragma once

#include <kiln/kiln.h>

namespace kiln {

// How per-element losses become the result: kept ([N, ...]), averaged, or summed.
enum class Reduction : uint8_t { None, Mean, Sum };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  // The target distribution is mixed with the uniform one: (1 - s) * target + s / C.
  double label_smoothing = 0.0;
};

// -sum_c target_c * log_softmax(logits)_c over the class axis 1. `target` is either class
// indices (an integer tensor of logits' shape without axis 1; an index outside [0, C)
// contributes only the smoothing term) or class probabilities (a floating tensor of
// logits' shape, e.g. one-hot).
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = {}, Loc loc = Loc::current());
// -log_probs[n, target[n], ...]: the negative log-likelihood of class indices, for
// log-probabilities on axis 1.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                Reduction reduction = Reduction::Mean, Loc loc = Loc::current());
// (input - target)^2, |input - target|, and the Huber loss: 0.5 d^2 where |d| < delta,
// else delta * (|d| - 0.5 delta). Shapes must match.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                Loc loc = Loc::current());
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
               Loc loc = Loc::current());
Tensor huber_loss(const Tensor& input, const Tensor& target, double delta = 1.0,
                  Reduction reduction = Reduction::Mean, Loc loc = Loc::current());
// Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed from the
// logits without overflow: max(x, 0) - x * y + log(1 + exp(-|x|)).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean,
                                        Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Metrics: scalar f32 (accuracy) or f64 (the correlations) tensors.

// The fraction of predictions equal to the target: `prediction` is class scores ([N, C,
// ...], argmax over axis 1) or class indices of the target's shape.
Tensor accuracy(const Tensor& prediction, const Tensor& target, Loc loc = Loc::current());
// mean((prediction - target)^2).
Tensor mean_squared_error(const Tensor& prediction, const Tensor& target, Loc loc = Loc::current());
// Spearman's rank correlation of two 1-D tensors of one length: the Pearson correlation
// of their ranks, tied values taking the mean of their ranks. The ranks come from all
// pairwise comparisons (n^2 work, fused: no n x n buffer).
Tensor spearman_correlation(const Tensor& a, const Tensor& b, Loc loc = Loc::current());
// The Matthews correlation coefficient of class indices in [0, num_classes) (1-D, one
// length; the multiclass form, which is the usual one for two classes): 0 when a row or
// column of the confusion matrix makes it undefined.
Tensor matthews_correlation(const Tensor& prediction, const Tensor& target, int64_t num_classes,
                            Loc loc = Loc::current());

}  // namespace kiln
