// RNN, LSTM and GRU of kiln::nn (kiln/nn.h): PyTorch's cell equations, unrolled over the
// sequence into the lazy graph (one step's ops per time step), layer after layer.
// Tests: tests/frontend/nn_test.cpp.
#include <kiln/nn.h>

#include <cmath>

namespace kiln::nn {

namespace {

int64_t gates(Recurrent::Cell cell) {
  switch (cell) {
    case Recurrent::Cell::Lstm: return 4;
    case Recurrent::Cell::Gru: return 3;
    default: return 1;
  }
}

}  // namespace

Recurrent::Recurrent(Cell cell, int64_t input_size, int64_t hidden_size, const Key& key,
                     int64_t num_layers, bool bias, DType dtype)
    : cell_(cell), input_(input_size), hidden_(hidden_size), layers_(num_layers), bias_(bias) {
  if (input_size <= 0 || hidden_size <= 0 || num_layers <= 0)
    throw Error("Recurrent: input_size, hidden_size and num_layers must be positive, got " +
                std::to_string(input_size) + ", " + std::to_string(hidden_size) + ", " +
                std::to_string(num_layers));
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const int64_t g = gates(cell) * hidden_size;
  std::vector<Key> keys = split(key, static_cast<int>(4 * num_layers));
  for (int64_t k = 0; k < num_layers; ++k) {
    const std::string l = "_l" + std::to_string(k);
    const int64_t in = k == 0 ? input_size : hidden_size;
    auto draw = [&](int i, const Shape& shape) {
      return uniform(keys[static_cast<size_t>(4 * k + i)], shape, dtype, -bound, bound);
    };
    register_parameter("weight_ih" + l, draw(0, {g, in}));
    register_parameter("weight_hh" + l, draw(1, {g, hidden_size}));
    if (bias) {
      register_parameter("bias_ih" + l, draw(2, {g}));
      register_parameter("bias_hh" + l, draw(3, {g}));
    }
  }
}

RecurrentOutput Recurrent::sequence(const Tensor& x, const std::optional<Tensor>& h0,
                                    const std::optional<Tensor>& c0, const Scope& s) const {
  if (x.ndim() != 3 || x.shape(2) != input_)
    throw ShapeError("Recurrent: input " + x.type().str() + " must be [N, T, " +
                     std::to_string(input_) + "] (batch first)");
  const int64_t n = x.shape(0), steps = x.shape(1);
  const Shape state{layers_, n, hidden_};
  for (const auto* t : {&h0, &c0})
    if (*t && (*t)->shape() != state)
      throw ShapeError("Recurrent: an initial state " + (*t)->type().str() + " must be " +
                       shape_str(state));
  if (c0 && cell_ != Cell::Lstm) throw Error("Recurrent: only an LSTM has a cell state c0");
  std::vector<Tensor> hs, cs;
  std::vector<Tensor> inputs = split(x, steps, 1);  // T tensors [N, 1, in]
  for (Tensor& t : inputs) t = squeeze(t, 1);
  for (int64_t k = 0; k < layers_; ++k) {
    const std::string l = "_l" + std::to_string(k);
    Tensor w_ih = swapaxes(s.get("weight_ih" + l), 0, 1),
           w_hh = swapaxes(s.get("weight_hh" + l), 0, 1);
    std::optional<Tensor> b_ih, b_hh;
    if (bias_) {
      b_ih = s.get("bias_ih" + l);
      b_hh = s.get("bias_hh" + l);
    }
    auto affine = [](const Tensor& v, const Tensor& w, const std::optional<Tensor>& b) {
      Tensor y = matmul(v, w);
      return b ? y + *b : y;
    };
    Tensor h = h0 ? squeeze(slice(*h0, 0, k, k + 1), 0) : zeros({n, hidden_}, x.dtype());
    Tensor c = c0 ? squeeze(slice(*c0, 0, k, k + 1), 0) : zeros({n, hidden_}, x.dtype());
    for (Tensor& in : inputs) {
      Tensor gi = affine(in, w_ih, b_ih), gh = affine(h, w_hh, b_hh);
      switch (cell_) {
        case Cell::RnnTanh: h = tanh(gi + gh); break;
        case Cell::RnnRelu: h = relu(gi + gh); break;
        case Cell::Lstm: {
          std::vector<Tensor> g = split(gi + gh, 4, 1);
          c = sigmoid(g[1]) * c + sigmoid(g[0]) * tanh(g[2]);
          h = sigmoid(g[3]) * tanh(c);
          break;
        }
        case Cell::Gru: {
          std::vector<Tensor> a = split(gi, 3, 1), b = split(gh, 3, 1);
          Tensor r = sigmoid(a[0] + b[0]), z = sigmoid(a[1] + b[1]);
          Tensor cand = tanh(a[2] + r * b[2]);
          h = (1.0 - z) * cand + z * h;
          break;
        }
      }
      in = h;  // the next layer's input at this step
    }
    hs.push_back(h);
    cs.push_back(c);
  }
  RecurrentOutput out{stack(inputs, 1), stack(hs, 0), std::nullopt};
  if (cell_ == Cell::Lstm) out.cell = stack(cs, 0);
  return out;
}

Tensor Recurrent::forward(const Tensor& x, const Scope& s) const {
  return sequence(x, std::nullopt, std::nullopt, s).output;
}

RecurrentOutput Recurrent::run(const Tensor& x, const std::optional<Tensor>& h0,
                               const std::optional<Tensor>& c0) const {
  return run(Params{}, x, h0, c0);
}

RecurrentOutput Recurrent::run(const Params& params, const Tensor& x,
                               const std::optional<Tensor>& h0,
                               const std::optional<Tensor>& c0) const {
  std::optional<RecurrentOutput> out;
  CallOptions options;
  options.params = params;
  call(options, nullptr, [&](const Scope& s) {
    out = sequence(x, h0, c0, s);
    return out->output;
  });
  return *out;
}

}  // namespace kiln::nn
