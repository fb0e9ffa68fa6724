// Optimizers as graph updates, learning-rate schedules and gradient clipping. An update
// takes the parameters, their gradients (kiln::grad), the optimizer's state and the
// learning rate as tensors and returns new ones, lazily: the whole training step (forward,
// gradients, update) is one graph. The learning rate and the step count are tensors, and
// as_input() makes a value an input of the graphs that read it, so a step with another
// learning rate or step count reuses the compiled plan. Included at the end of
// <kiln/kiln.h>. Tests: tests/frontend/optim_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <map>
#include <string>
#include <utility>

namespace kiln {

// Named tensors, as kiln/autodiff.h names them (repeated here: either header may be read
// first).
using Params = std::map<std::string, Tensor>;

// `value` as a graph input: where a later graph reads it, it is a parameter of that graph
// (its buffer passed in), not an inline constant, so graphs that differ only in its value
// share one plan. A lazy tensor is returned as it is (it is part of the graph anyway).
Tensor as_input(const Tensor& value, Loc loc = Loc::current());
// Each of `values` as an input: what a training loop applies to the parameters it feeds
// to the next step (small ones, such as a bias, would otherwise be inlined by value).
Params as_input(const Params& values, Loc loc = Loc::current());
// A 0-d input holding `value` (as_input of a new constant).
Tensor scalar_input(double value, DType dtype = DType::F32, Loc loc = Loc::current());

// The optimizer's tensors: per-parameter slots named "<slot>.<parameter>" (momentum
// buffers, moments) and the number of updates made (0-d i32).
struct OptimizerState {
  Params slots;
  Tensor step = full({}, 0, DType::I32);
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // The state before the first update (zero slots, step 0).
  virtual OptimizerState init(const Params& params) const = 0;
  // One update: the new parameters and state. `grads` has the names of `params`; `lr` is
  // a 0-d tensor (scalar_input, or a schedule's value).
  virtual std::pair<Params, OptimizerState> update(const Params& params, const Params& grads,
                                                   const OptimizerState& state,
                                                   const Tensor& lr) const = 0;
};

// PyTorch's SGD: g = grad + weight_decay * p; with momentum, buf = momentum * buf +
// (1 - dampening) * g (buf = g at the first update) and g = buf, or g + momentum * buf
// with nesterov; p -= lr * g.
struct SgdOptions {
  double momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};
class Sgd : public Optimizer {
 public:
  explicit Sgd(SgdOptions options = {});
  OptimizerState init(const Params& params) const override;
  std::pair<Params, OptimizerState> update(const Params& params, const Params& grads,
                                           const OptimizerState& state,
                                           const Tensor& lr) const override;

 private:
  SgdOptions o_;
};

// Adam with bias correction: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
// p -= lr * m_hat / (sqrt(v_hat) + eps). weight_decay adds weight_decay * p to g (Adam's
// L2), or, `decoupled` (AdamW), multiplies p by 1 - lr * weight_decay first.
struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;
};
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  OptimizerState init(const Params& params) const override;
  std::pair<Params, OptimizerState> update(const Params& params, const Params& grads,
                                           const OptimizerState& state,
                                           const Tensor& lr) const override;

 private:
  AdamOptions o_;
};
// AdamW: Adam with decoupled weight decay (default 0.01, as PyTorch's).
Adam adamw(AdamOptions options = {.weight_decay = 0.01, .decoupled = true});

// Learning-rate schedules: the rate at update `step` (a 0-d tensor, e.g. the state's), as
// a 0-d f32 tensor.
// base * gamma ^ floor(step / step_size).
Tensor step_lr(double base, int64_t step_size, double gamma, const Tensor& step,
               Loc loc = Loc::current());
// Cosine from base down to min_lr over total_steps, then min_lr.
Tensor cosine_lr(double base, int64_t total_steps, double min_lr, const Tensor& step,
                 Loc loc = Loc::current());
// base * min(1, (step + 1) / warmup_steps).
Tensor linear_warmup(double base, int64_t warmup_steps, const Tensor& step,
                     Loc loc = Loc::current());

// The gradients scaled by min(1, max_norm / (norm + 1e-6)), where norm is the 2-norm of
// all of them together; and that norm (0-d f32).
std::pair<Params, Tensor> clip_by_global_norm(const Params& grads, double max_norm,
                                              Loc loc = Loc::current());

// Checkpoints: parameters and optimizer state in one safetensors file, named
// "param.<name>", "state.<slot>" and "state.step" (a host sync: the tensors are evaluated
// and written). Loading gives them back as they were, so a run resumed from a checkpoint
// computes bit for bit what the run that did not stop computes. A file without a step or
// with names of another kind is an IOError naming the file.
void save_checkpoint(const std::string& path, const Params& params, const OptimizerState& state,
                     Loc loc = Loc::current());
std::pair<Params, OptimizerState> load_checkpoint(const std::string& path,
                                                  Loc loc = Loc::current());

}  // namespace kiln
