// Neural-network modules with named parameters, in the shape of PyTorch's torch.nn: a
// Module owns tensors under dotted names ("0.weight", "encoder.bias"), gives them as a
// kiln::Params (parameters, state_dict) and takes them back (load_state_dict). A module
// only builds lazy graph nodes, and its forward can run with any Params in place of its
// own (Module::forward(params, x)), so a loss written with it is a ParamsFunction that
// kiln::grad differentiates. Initialisers follow PyTorch's defaults, from explicit keys.
// Included at the end of <kiln/kiln.h>. Guide: docs/nn.md. Tests: tests/frontend/nn_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {
// The same aliases as kiln/autodiff.h's (redeclaring an alias of the same type is allowed):
// a file that includes autodiff.h first reaches this header before autodiff.h's body.
using Params = std::map<std::string, Tensor>;
using UnaryFunction = std::function<Tensor(const Tensor&)>;
// The value of x through which no gradient flows (kiln/autodiff.h).
Tensor stop_gradient(const Tensor& x);
}  // namespace kiln

namespace kiln::nn {

class Module;

// What one forward call reads besides its input, and where it puts what it updates.
struct CallOptions {
  // Parameters and buffers by full name in place of the module's own; names left out keep
  // the module's (as torch.func.functional_call).
  Params params;
  // The randomness of Dropout in training mode; each Dropout folds in its own index (in
  // the graph, for a key tensor: key_input keeps a training step one graph across steps).
  std::optional<Key> key;
  // Receives the buffers a training-mode call updates (BatchNorm's running statistics),
  // by full name, as lazy tensors. Without it, operator() stores them in the module.
  Params* updated_buffers = nullptr;
};

// The view a module's forward has of one call: its tensors by local name, resolved against
// the call's overrides under the module's prefix.
class Scope {
 public:
  // A module's parameter or buffer ("weight"): the call's override, else the module's own.
  Tensor get(const std::string& name) const;
  // The scope of a child module registered as `name`.
  Scope child(const std::string& name) const;
  // A key for the next random draw of this call (kiln::Error naming `who` when the call
  // has none).
  Key next_key(const std::string& who) const;
  // Records a buffer's new value (BatchNorm in training mode).
  void update_buffer(const std::string& name, const Tensor& value) const;

 private:
  friend class Module;
  struct Call {
    const CallOptions* options;
    Params updates;
    uint64_t draws = 0;
  };
  Scope(const Module* module, std::string prefix, Call* call)
      : module_(module), prefix_(std::move(prefix)), call_(call) {}
  const Module* module_;
  std::string prefix_;
  Call* call_;
};

// The base of every module. Modules are movable, not copyable (a copy would have to choose
// whether it shares its children's tensors).
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // y = module(x) with the module's own tensors. In training mode, updated buffers are
  // stored back in the module (as PyTorch does), as lazy tensors.
  Tensor operator()(const Tensor& x, const CallOptions& options = {});
  // The same with a key for Dropout.
  Tensor operator()(const Tensor& x, const Key& key);
  // The functional form: the forward with `params` in place of the module's tensors of
  // those names (others keep theirs). The module is not changed; updated buffers go to
  // options.updated_buffers when given. This is what a loss given to kiln::grad calls.
  Tensor forward(const Params& params, const Tensor& x, CallOptions options = {}) const;

  // The trainable tensors by full name (children's under "child.name").
  Params parameters() const;
  // The tensors that are state but not trained (BatchNorm's running statistics).
  Params buffers() const;
  // parameters() and buffers() together: what a checkpoint holds.
  Params state_dict() const;
  // Replaces the module's tensors by those of `state`. Strict: every name must be present
  // and no other; not strict: only the names given are replaced, and unknown names are
  // still an error. A shape or dtype that differs from the module's is an error. Nothing is
  // replaced when any check fails.
  void load_state_dict(const Params& state, bool strict = true);

  // Training mode (Dropout drops, BatchNorm uses and updates batch statistics), for this
  // module and its children; eval() is train(false).
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // The named children, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

  // The module's forward; read tensors through `s` so that a call's overrides apply.
  virtual Tensor forward(const Tensor& x, const Scope& s) const = 0;

 protected:
  using Body = std::function<Tensor(const Scope&)>;
  // Runs `body` on a scope of this module for one call; the buffers it updates go to
  // `updates` when given. (For modules whose forward takes more than one tensor.)
  Tensor call(const CallOptions& options, Params* updates, const Body& body) const;
  // The same, storing the updated buffers in the module unless options.updated_buffers
  // takes them.
  Tensor call_and_store(const CallOptions& options, const Body& body);
  void register_parameter(const std::string& name, const Tensor& value);
  void register_buffer(const std::string& name, const Tensor& value);
  void register_module(const std::string& name, std::shared_ptr<Module> child);

 private:
  friend class Scope;
  struct Entry {
    std::string name;
    Tensor value;
    bool trainable;
  };
  // Every tensor of the module and its children, by full name.
  void collect(const std::string& prefix, bool params, bool buffers, Params& out) const;
  // The module (or child) holding full name `name`, and its entry; null when none.
  Entry* find(const std::string& name);
  const Entry* find_local(const std::string& name) const;

  std::vector<Entry> tensors_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module passed to a container by value: moved into a shared_ptr.
template <class M>
concept ModuleValue = std::derived_from<std::remove_cvref_t<M>, Module>;

// ---------------------------------------------------------------------------------------
// Containers and activations.

// Applies its children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  template <ModuleValue... M>
  explicit Sequential(M&&... modules) {
    (append(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(modules))), ...);
  }
  // Adds a module at the end (named by its position).
  void append(std::shared_ptr<Module> module);
  int64_t size() const { return static_cast<int64_t>(children().size()); }
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;
};

// A module without tensors that applies a function (an activation, a reshape).
class Lambda : public Module {
 public:
  explicit Lambda(UnaryFunction fn) : fn_(std::move(fn)) {}
  Tensor forward(const Tensor& x, const Scope&) const override { return fn_(x); }
  using Module::forward;

 private:
  UnaryFunction fn_;
};

// Activations and shape helpers, as modules (torch.nn.ReLU, ...).
struct Identity : Lambda {
  Identity();
};
struct ReLU : Lambda {
  ReLU();
};
struct GELU : Lambda {
  explicit GELU(bool approximate = false);  // approximate: the tanh form ("tanh" in PyTorch)
};
struct SiLU : Lambda {
  SiLU();
};
struct Tanh : Lambda {
  Tanh();
};
struct Sigmoid : Lambda {
  Sigmoid();
};
struct Softmax : Lambda {
  explicit Softmax(int axis = -1);
};
// Merges axes start..end (default: all but the batch axis, as torch.nn.Flatten).
struct Flatten : Lambda {
  explicit Flatten(int start_axis = 1, int end_axis = -1);
};

// ---------------------------------------------------------------------------------------
// Layers. Weights and biases start as PyTorch's do (kaiming_uniform with a = sqrt(5):
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both), drawn from `key`.

// y = x W^T + b: weight [out, in], bias [out].
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, const Key& key, bool bias = true,
         DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  bool bias_;
};

// The options of Conv1d and Conv2d (those of kiln::conv1d / conv2d, without the bias).
struct ConvModuleOptions {
  std::vector<int64_t> stride = {};
  ConvPadding padding = {};
  std::vector<int64_t> dilation = {};
  int64_t groups = 1;
  bool bias = true;
  DType dtype = DType::F32;
};

// Convolution over 1 or 2 spatial dimensions (NCL / NCHW): weight [out, in / groups,
// kernel...], bias [out]; fan_in = in / groups * prod(kernel).
class Conv : public Module {
 public:
  Conv(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel, const Key& key,
       ConvModuleOptions options);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  ConvModuleOptions options_;
  size_t dims_;
};
struct Conv1d : Conv {
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel, const Key& key,
         ConvModuleOptions options = {})
      : Conv(in_channels, out_channels, {kernel}, key, std::move(options)) {}
};
struct Conv2d : Conv {
  // kernel: one size for both dimensions, or {kh, kw}.
  Conv2d(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel, const Key& key,
         ConvModuleOptions options = {});
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, const Key& key,
         ConvModuleOptions options = {})
      : Conv2d(in_channels, out_channels, std::vector<int64_t>{kernel, kernel}, key,
               std::move(options)) {}
};

// Normalizes over the last normalized_shape.size() axes: weight ones, bias zeros.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int axes_;
  double eps_;
  bool affine_;
};

// x / sqrt(mean(x^2) + eps) over the last axes, times weight (ones). eps defaults to the
// machine epsilon of x's dtype, as PyTorch's.
class RMSNorm : public Module {
 public:
  explicit RMSNorm(Shape normalized_shape, std::optional<double> eps = std::nullopt,
                   bool elementwise_affine = true, DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int axes_;
  std::optional<double> eps_;
  bool affine_;
};

// Rows of weight [num, dim] picked by integer indices (any shape; the result gains a last
// axis of dim). weight ~ N(0, 1).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, const Key& key,
            DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;
};

// In training mode, zeroes each element with probability p and scales the others by
// 1 / (1 - p), from the call's key; the identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  double p_;
};

// Max or average over kernel windows of the last two axes ([N, C, H, W] or [C, H, W]);
// stride defaults to the kernel; padding is on both sides (-inf for max, 0 for average,
// counted in the average as PyTorch's count_include_pad). Windows that do not fit are
// dropped (floor mode). Ties of max share the gradient equally (docs/autodiff.md).
class Pool2d : public Module {
 public:
  enum class Kind : uint8_t { Max, Avg };
  Pool2d(Kind kind, std::vector<int64_t> kernel, std::vector<int64_t> stride,
         std::vector<int64_t> padding);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  Kind kind_;
  std::vector<int64_t> kernel_, stride_, padding_;
};
struct MaxPool2d : Pool2d {
  explicit MaxPool2d(int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                     int64_t padding = 0)
      : Pool2d(Kind::Max, {kernel, kernel}, {stride.value_or(kernel), stride.value_or(kernel)},
               {padding, padding}) {}
};
struct AvgPool2d : Pool2d {
  explicit AvgPool2d(int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                     int64_t padding = 0)
      : Pool2d(Kind::Avg, {kernel, kernel}, {stride.value_or(kernel), stride.value_or(kernel)},
               {padding, padding}) {}
};

// Batch normalization over axis 1 ([N, C] or [N, C, L] for 1d, [N, C, H, W] for 2d).
// Training mode normalizes with the batch's mean and biased variance and updates the
// buffers running_mean (zeros), running_var (ones, updated with the unbiased variance) and
// num_batches_tracked (i64) as PyTorch does with `momentum`; eval mode uses the running
// statistics. weight ones, bias zeros.
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t num_features, int rank, double eps, double momentum, bool affine, DType dtype);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;

 private:
  int64_t features_;
  int rank_;  // 0: [N, C] or [N, C, L]; else the input's rank
  double eps_, momentum_;
  bool affine_;
};
struct BatchNorm1d : BatchNorm {
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                       bool affine = true, DType dtype = DType::F32)
      : BatchNorm(num_features, 0, eps, momentum, affine, dtype) {}
};
struct BatchNorm2d : BatchNorm {
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                       bool affine = true, DType dtype = DType::F32)
      : BatchNorm(num_features, 4, eps, momentum, affine, dtype) {}
};

// What a query may not attend to (PyTorch's masks; true means "masked out").
struct AttentionMask {
  bool causal = false;                // position i attends to keys 0..i only
  std::optional<Tensor> attn_mask;    // bool [L, S] (or broadcastable to [N, heads, L, S])
  std::optional<Tensor> key_padding;  // bool [N, S]: true where a key is padding
};

// Multi-head scaled dot-product attention with batch-first tensors (PyTorch's
// batch_first=True): query [N, L, E], key and value [N, S, E], the result [N, L, E].
// Tensors as PyTorch's: in_proj_weight [3E, E] (xavier_uniform), in_proj_bias [3E]
// (zeros), out_proj.weight [E, E] and out_proj.bias [E] (zeros). A query whose keys are all
// masked gives NaN, as in PyTorch. No attention dropout.
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, const Key& key, bool bias = true,
                     DType dtype = DType::F32);
  // Self-attention of x without a mask (what Sequential calls).
  Tensor forward(const Tensor& x, const Scope& s) const override;
  // The attention of query over key and value with the module's tensors.
  Tensor operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                    const AttentionMask& mask = {}, const CallOptions& options = {});
  // The functional form, as Module::forward(params, x).
  Tensor forward(const Params& params, const Tensor& query, const Tensor& key, const Tensor& value,
                 const AttentionMask& mask = {}, CallOptions options = {}) const;
  using Module::forward;
  using Module::operator();

 private:
  Tensor attend(const Tensor& query, const Tensor& key, const Tensor& value,
                const AttentionMask& mask, const Scope& s) const;
  int64_t embed_dim_, heads_;
  bool bias_;
};

// The result of a recurrent layer over a sequence: every step's hidden state of the last
// layer [N, T, H], and the final hidden (and, for LSTM, cell) state of each layer
// [layers, N, H].
struct RecurrentOutput {
  Tensor output;
  Tensor hidden;
  std::optional<Tensor> cell;
};

// RNN (tanh or ReLU), LSTM and GRU over batch-first sequences x [N, T, in], unrolled into
// the graph step by step, with PyTorch's equations, gate order (LSTM i, f, g, o; GRU r, z,
// n), tensor names (weight_ih_l0 [gates H, in], weight_hh_l0 [gates H, H], bias_ih_l0,
// bias_hh_l0, then _l1, ...) and init (all U(-1/sqrt(H), 1/sqrt(H))). The forward of
// Module gives `output`; run() gives the final states too and takes initial ones (zeros
// when omitted).
class Recurrent : public Module {
 public:
  enum class Cell : uint8_t { RnnTanh, RnnRelu, Lstm, Gru };
  Recurrent(Cell cell, int64_t input_size, int64_t hidden_size, const Key& key,
            int64_t num_layers = 1, bool bias = true, DType dtype = DType::F32);
  Tensor forward(const Tensor& x, const Scope& s) const override;
  using Module::forward;
  // With the module's tensors, or with `params` in their place.
  RecurrentOutput run(const Tensor& x, const std::optional<Tensor>& h0 = std::nullopt,
                      const std::optional<Tensor>& c0 = std::nullopt) const;
  RecurrentOutput run(const Params& params, const Tensor& x,
                      const std::optional<Tensor>& h0 = std::nullopt,
                      const std::optional<Tensor>& c0 = std::nullopt) const;

 private:
  RecurrentOutput sequence(const Tensor& x, const std::optional<Tensor>& h0,
                           const std::optional<Tensor>& c0, const Scope& s) const;
  Cell cell_;
  int64_t input_, hidden_, layers_;
  bool bias_;
};
struct RNN : Recurrent {
  RNN(int64_t input_size, int64_t hidden_size, const Key& key, int64_t num_layers = 1,
      bool relu = false, bool bias = true, DType dtype = DType::F32)
      : Recurrent(relu ? Cell::RnnRelu : Cell::RnnTanh, input_size, hidden_size, key, num_layers,
                  bias, dtype) {}
};
struct LSTM : Recurrent {
  LSTM(int64_t input_size, int64_t hidden_size, const Key& key, int64_t num_layers = 1,
       bool bias = true, DType dtype = DType::F32)
      : Recurrent(Cell::Lstm, input_size, hidden_size, key, num_layers, bias, dtype) {}
};
struct GRU : Recurrent {
  GRU(int64_t input_size, int64_t hidden_size, const Key& key, int64_t num_layers = 1,
      bool bias = true, DType dtype = DType::F32)
      : Recurrent(Cell::Gru, input_size, hidden_size, key, num_layers, bias, dtype) {}
};

// ---------------------------------------------------------------------------------------
// Initialisers (torch.nn.init), drawn from an explicit key.

// U(-bound, bound), bound = gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)): with
// a = sqrt(5) this is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear
// and Conv weights. fan_in = shape[1] * prod(shape[2:]).
Tensor kaiming_uniform(const Key& key, const Shape& shape, double a = 2.23606797749979,
                       DType dtype = DType::F32);
// fan_in of a weight shape, as PyTorch computes it.
int64_t fan_in(const Shape& shape);

}  // namespace kiln::nn
