// Automatic differentiation as a transform of kiln's lazy graph: grad, value_and_grad, vjp
// and jvp build the derivative's graph from the function's and return lazy tensors (nothing
// is evaluated). The derivative is itself an ordinary graph, so it can be differentiated
// again (grad of grad). checkpoint trades memory for recomputation. Rules per op:
// frontend/autodiff_rules.cpp; guide: docs/autodiff.md.
// Tests: tests/autodiff/.
#pragma once

#include <kiln/kiln.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

// A function of several tensors (its arguments in order) with one tensor result.
using Function = std::function<Tensor(const std::vector<Tensor>&)>;
// A function of one tensor.
using UnaryFunction = std::function<Tensor(const Tensor&)>;
// A function of a named collection of tensors (for example a model's parameters).
using Params = std::map<std::string, Tensor>;
using ParamsFunction = std::function<Tensor(const Params&)>;

// The cotangents of `inputs` for `output`: the vector-Jacobian product of `cotangent` (of
// output's type; ones when omitted, which needs a one-element output). The graph of output
// is walked from output back to inputs (each input is a leaf even when it was computed
// from another); an input that output does not depend on gets zeros. Inputs and output must
// have floating dtypes (f16, bf16, f32, f64). The building block of everything below.
std::vector<Tensor> gradients(const Tensor& output, const std::vector<Tensor>& inputs,
                              const std::optional<Tensor>& cotangent = std::nullopt);

// f's output and the vjp of `cotangent` with respect to each primal.
std::pair<Tensor, std::vector<Tensor>> vjp(const Function& f, const std::vector<Tensor>& primals,
                                           const Tensor& cotangent);
std::pair<Tensor, Tensor> vjp(const UnaryFunction& f, const Tensor& primal,
                              const Tensor& cotangent);
// f's output and its pullback: a function from a cotangent (of the output's type) to the
// primals' cotangents, which can be called with several cotangents.
using Pullback = std::function<std::vector<Tensor>(const Tensor& cotangent)>;
std::pair<Tensor, Pullback> vjp(const Function& f, const std::vector<Tensor>& primals);

// f's output and its Jacobian-vector product with `tangents` (one per primal, of its type),
// computed as the transpose of the (linear) vjp.
std::pair<Tensor, Tensor> jvp(const Function& f, const std::vector<Tensor>& primals,
                              const std::vector<Tensor>& tangents);
std::pair<Tensor, Tensor> jvp(const UnaryFunction& f, const Tensor& primal, const Tensor& tangent);

// The gradient of a function with a one-element output, with respect to the arguments
// listed in `argnums` (all of them when empty), as a function of the same arguments.
std::function<std::vector<Tensor>(const std::vector<Tensor>&)> grad(Function f,
                                                                    std::vector<int> argnums = {});
// The same for a function of one tensor: grad(grad(f)) is the second derivative.
UnaryFunction grad(UnaryFunction f);
// f's value together with its gradient.
std::function<std::pair<Tensor, std::vector<Tensor>>(const std::vector<Tensor>&)> value_and_grad(
    Function f, std::vector<int> argnums = {});
std::function<std::pair<Tensor, Tensor>(const Tensor&)> value_and_grad(UnaryFunction f);

// The gradient of f with respect to every tensor of `params`, under the same names.
Params grad(const ParamsFunction& f, const Params& params);
// f's value together with that gradient.
std::pair<Tensor, Params> value_and_grad(const ParamsFunction& f, const Params& params);

// x's value, through which no gradient flows (the derivative sees a constant).
Tensor stop_gradient(const Tensor& x);

// Gradient checkpointing: f, computed as usual, but whose intermediate values no derivative
// keeps. Differentiating through the returned function's result calls f again, during the
// backward pass, on the same inputs, and differentiates that second call; the backward graph
// then reads only the first call's inputs and result, and the second call's values live
// only while the backward pass crosses the region (memory for compute: a chain of n layers
// cut into about sqrt(n) checkpointed segments keeps about 2 sqrt(n) layers' activations
// instead of n, for one more forward pass). The recomputation reads its inputs through
// optimization_barrier nodes, so the graph passes never merge it back into the first call.
// f must compute the same values from the same inputs every time. Tensors that f reads
// without taking them as arguments (captured weights) get their gradients too; only values
// computed inside f are recomputed. Without differentiation it is f.
Function checkpoint(Function f);
UnaryFunction checkpoint(UnaryFunction f);

// The vjp of a custom kernel (kiln::custom_kernel), for one of its outputs: given the
// kernel's inputs, the output's index and that output's cotangent, the cotangent of each
// input (nullopt for none). Written with kiln's ops (or further custom kernels).
using CustomVjp = std::function<std::vector<std::optional<Tensor>>(
    const std::vector<Tensor>& inputs, int64_t output, const Tensor& cotangent)>;
// Makes custom kernels named `kernel` differentiable (replaces an earlier registration).
// Without one, differentiating through the kernel throws kiln::UnsupportedError.
void register_custom_vjp(const std::string& kernel, CustomVjp vjp);

}  // namespace kiln
