// ONNX import rules: the recurrent layers RNN, GRU and LSTM, unrolled over the static
// sequence length with ONNX's equations and gate orders (GRU z, r, h; LSTM i, o, f, c),
// every direction, layout, optional input and sequence_lens. Tests: the conformance cases
// test_rnn_*, test_simple_rnn_*, test_gru_*, test_lstm_*.
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "frontend/onnx/node_context.h"

namespace kiln::onnx::detail {

namespace {

// One of ONNX's recurrent activations with its alpha / beta (NaN: the default).
Tensor activation(NodeContext& ctx, const std::string& name, double alpha, double beta,
                  const Tensor& x) {
  auto or_default = [](double v, double d) { return std::isnan(v) ? d : v; };
  if (name == "Sigmoid") return sigmoid(x);
  if (name == "Tanh") return tanh(x);
  if (name == "Relu") return relu(x);
  if (name == "Affine") return x * or_default(alpha, 1.0) + or_default(beta, 0.0);
  if (name == "LeakyRelu") return where(x >= 0, x, x * or_default(alpha, 0.01));
  if (name == "ThresholdedRelu") return where(x > or_default(alpha, 1.0), x, 0);
  if (name == "ScaledTanh") return tanh(x * or_default(beta, 1.0)) * or_default(alpha, 1.0);
  if (name == "HardSigmoid") return clip(x * or_default(alpha, 0.2) + or_default(beta, 0.5), 0, 1);
  if (name == "Elu") return where(x >= 0, x, (exp(x) - 1) * or_default(alpha, 1.0));
  if (name == "Softsign") return x / (abs(x) + 1);
  if (name == "Softplus") return log1p(exp(x));
  ctx.unsupported("activation '" + name + "' is not supported");
}

enum class CellKind : uint8_t { Rnn, Gru, Lstm };

std::vector<Tensor> recurrent(NodeContext& ctx, CellKind kind) {
  const int gates = kind == CellKind::Rnn ? 1 : kind == CellKind::Gru ? 3 : 4;
  const int64_t hidden = ctx.attr_int("hidden_size", ctx.input(2).shape(-1));
  const std::string direction = ctx.attr_string("direction", "forward");
  const int dirs = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && dirs != 2)
    ctx.invalid("direction '" + direction + "' is not forward, reverse or bidirectional");
  const bool batch_first = ctx.opset() >= 14 && ctx.attr_int("layout", 0) != 0;
  const std::vector<std::string> default_acts =
      kind == CellKind::Rnn   ? std::vector<std::string>{"Tanh"}
      : kind == CellKind::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                              : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  // activations names each direction's functions in order (f, g[, h]), with their
  // activation_alpha / activation_beta in the same order where a function takes them.
  std::vector<std::string> acts = ctx.attr_strings("activations", std::vector<std::string>{});
  if (acts.empty())
    for (int d = 0; d < dirs; ++d)
      acts.insert(acts.end(), default_acts.begin(), default_acts.end());
  if (acts.size() != default_acts.size() * static_cast<size_t>(dirs))
    ctx.invalid("activations names " + std::to_string(acts.size()) + " functions, expected " +
                std::to_string(default_acts.size() * static_cast<size_t>(dirs)));
  // The functions that take an alpha (a beta) consume activation_alpha (_beta) in order.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> alpha(acts.size(), nan), beta(acts.size(), nan);
  {
    const std::vector<double> alphas = ctx.attr_floats("activation_alpha", std::vector<double>{});
    const std::vector<double> betas = ctx.attr_floats("activation_beta", std::vector<double>{});
    size_t next_alpha = 0, next_beta = 0;
    for (size_t k = 0; k < acts.size(); ++k) {
      const std::string& a = acts[k];
      bool takes_alpha = a == "Affine" || a == "LeakyRelu" || a == "ThresholdedRelu" ||
                         a == "ScaledTanh" || a == "HardSigmoid" || a == "Elu";
      bool takes_beta = a == "Affine" || a == "ScaledTanh" || a == "HardSigmoid";
      if (takes_alpha && next_alpha < alphas.size()) alpha[k] = alphas[next_alpha++];
      if (takes_beta && next_beta < betas.size()) beta[k] = betas[next_beta++];
    }
  }
  std::optional<double> clip_at;
  if (ctx.has_attr("clip")) clip_at = ctx.attr_float("clip");
  const bool linear_before_reset =
      kind == CellKind::Gru && ctx.attr_int("linear_before_reset", 0) != 0;
  // input_forget couples LSTM's forget gate to its input gate: f = 1 - i.
  const bool input_forget = kind == CellKind::Lstm && ctx.attr_int("input_forget", 0) != 0;

  Tensor x = ctx.input(0);
  if (batch_first) x = swapaxes(x, 0, 1);  // [T, B, I]
  const int64_t steps = x.shape(0), batch = x.shape(1);
  auto state = [&](size_t i) -> std::optional<Tensor> {
    std::optional<Tensor> s = ctx.optional_input(i);
    if (s && batch_first) s = swapaxes(*s, 0, 1);  // [D, B, H]
    return s;
  };
  std::optional<Tensor> h0 = state(5), c0 = state(6);
  std::optional<Tensor> lens;
  if (ctx.has_input(4)) lens = reshape(cast(ctx.input(4), DType::I64), {batch, 1});

  std::vector<Tensor> ys, hs, cs;
  for (int d = 0; d < dirs; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    auto act = [&](int i, const Tensor& v) {
      size_t k = static_cast<size_t>(d) * default_acts.size() + static_cast<size_t>(i);
      return activation(ctx, acts[k], alpha[k], beta[k], v);
    };
    auto clipped = [&](const Tensor& v) { return clip_at ? clip(v, -*clip_at, *clip_at) : v; };
    Tensor w = squeeze(slice(ctx.input(1), 0, d, d + 1), 0);   // [G * H, I]
    Tensor r = squeeze(slice(ctx.input(2), 0, d, d + 1), 0);   // [G * H, H]
    Tensor r_candidate = slice(r, 0, 2 * hidden, 3 * hidden);  // GRU's h rows
    Tensor wb = zeros({gates * hidden}, x.dtype()), rb = wb;
    if (ctx.has_input(3)) {
      Tensor b = squeeze(slice(ctx.input(3), 0, d, d + 1), 0);
      wb = slice(b, 0, 0, gates * hidden);
      rb = slice(b, 0, gates * hidden, 2 * gates * hidden);
    }
    // The input's projections for every step at once: [T, B, G * H].
    Tensor xw = matmul(x, transpose(w)) + wb;
    if (kind != CellKind::Gru) xw = xw + rb;
    auto gate = [&](const Tensor& t, int g) { return slice(t, -1, g * hidden, (g + 1) * hidden); };
    Tensor h = h0 ? squeeze(slice(*h0, 0, d, d + 1), 0) : zeros({batch, hidden}, x.dtype());
    Tensor c = c0 ? squeeze(slice(*c0, 0, d, d + 1), 0) : zeros({batch, hidden}, x.dtype());
    std::optional<Tensor> p;
    if (kind == CellKind::Lstm && ctx.has_input(7))
      p = squeeze(slice(ctx.input(7), 0, d, d + 1), 0);
    std::vector<Tensor> outs(static_cast<size_t>(steps), h);
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t t = reverse ? steps - 1 - i : i;
      // With sequence_lens, the reverse direction's step i reads each sequence's own
      // position lens - 1 - i.
      std::optional<Tensor> back;
      if (reverse && lens) back = *lens - 1 - i;  // [B, 1]
      Tensor xt = back ? squeeze(take_along_axis(xw, expand_dims(maximum(*back, 0), 0), 0), 0)
                       : squeeze(slice(xw, 0, t, t + 1), 0);
      Tensor hr = matmul(h, transpose(r));
      Tensor h_new = h, c_new = c;
      if (kind == CellKind::Rnn) {
        h_new = act(0, clipped(xt + hr));
      } else if (kind == CellKind::Gru) {
        Tensor z = act(0, clipped(gate(xt, 0) + gate(hr, 0) + gate(rb, 0)));
        Tensor rg = act(0, clipped(gate(xt, 1) + gate(hr, 1) + gate(rb, 1)));
        Tensor cand = linear_before_reset
                          ? gate(xt, 2) + rg * (gate(hr, 2) + gate(rb, 2))
                          : gate(xt, 2) + matmul(rg * h, transpose(r_candidate)) + gate(rb, 2);
        Tensor hh = act(1, clipped(cand));
        h_new = (1 - z) * hh + z * h;
      } else {
        Tensor pre = xt + hr;
        auto peep = [&](int k, const Tensor& cell) {
          return p ? cell * slice(*p, 0, k * hidden, (k + 1) * hidden) : zeros_like(cell);
        };
        Tensor ig = act(0, clipped(gate(pre, 0) + peep(0, c)));
        Tensor fg = input_forget ? 1 - ig : act(0, clipped(gate(pre, 2) + peep(2, c)));
        Tensor cg = act(1, clipped(gate(pre, 3)));
        c_new = fg * c + ig * cg;
        Tensor og = act(0, clipped(gate(pre, 1) + peep(1, c_new)));
        h_new = og * act(2, c_new);
      }
      if (lens) {  // steps past a sequence's length keep its state and output zeros
        Tensor live = back ? greater_equal(*back, 0) : less(t, *lens);
        h = where(live, h_new, h);
        c = where(live, c_new, c);
        outs[static_cast<size_t>(back ? i : t)] = where(live, h_new, 0);
      } else {
        h = h_new;
        c = c_new;
        outs[static_cast<size_t>(t)] = h_new;
      }
    }
    Tensor y_dir = stack(outs, 0);  // [T, B, H]
    if (reverse && lens) {
      // Step i wrote position lens - 1 - i of each sequence: put them back in place.
      Tensor t_index = reshape(arange(steps, DType::I64), {steps, 1});
      Tensor from = expand_dims(reshape(*lens, {1, batch}) - 1 - t_index, -1);  // [T, B, 1]
      y_dir = where(greater_equal(from, 0), take_along_axis(y_dir, maximum(from, 0), 0), 0);
    }
    ys.push_back(y_dir);
    hs.push_back(h);
    cs.push_back(c);
  }
  Tensor y = stack(ys, 1);  // [T, D, B, H]
  Tensor yh = stack(hs, 0), yc = stack(cs, 0);
  if (batch_first) {
    y = permute(y, {2, 0, 1, 3});
    yh = swapaxes(yh, 0, 1);
    yc = swapaxes(yc, 0, 1);
  }
  if (kind == CellKind::Lstm) return {y, yh, yc};
  return {y, yh};
}

}  // namespace

// Called by add_nn_ops (ops_nn.cpp).
void add_recurrent_ops(OpTable& table) {
  table["RNN"] = [](NodeContext& ctx) { return recurrent(ctx, CellKind::Rnn); };
  table["GRU"] = [](NodeContext& ctx) { return recurrent(ctx, CellKind::Gru); };
  table["LSTM"] = [](NodeContext& ctx) { return recurrent(ctx, CellKind::Lstm); };
}

}  // namespace kiln::onnx::detail
