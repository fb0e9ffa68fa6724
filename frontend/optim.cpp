// Optimizers, schedules and clipping (kiln/optim.h), composed from kiln's ops.
#include <kiln/optim.h>

#include <numbers>

#include "frontend/builder.h"
#include "frontend/evaluate.h"

namespace kiln {

Tensor as_input(const Tensor& value, Loc loc) {
  BufferPtr buffer;
  {
    frontend::HistoryReadLock lock;  // an eval on another thread may be storing it
    buffer = value.node()->buffer;
  }
  if (!buffer) return value;
  auto node = ir::make_node(ir::OpKind::Parameter, {}, {}, value.type(), loc);
  node->buffer = std::move(buffer);
  return Tensor(std::move(node));
}

Tensor scalar_input(double value, DType dtype, Loc loc) {
  return as_input(full({}, value, dtype, loc), loc);
}

Params as_input(const Params& values, Loc loc) {
  Params out;
  for (const auto& [name, t] : values) out.emplace(name, as_input(t, loc));
  return out;
}

namespace {

const Tensor& slot(const OptimizerState& s, const std::string& kind, const std::string& name) {
  auto it = s.slots.find(kind + "." + name);
  if (it == s.slots.end())
    throw Error("optimizer: the state has no slot '" + kind + "." + name +
                "' (was it made by this optimizer's init for these parameters?)");
  return it->second;
}

const Tensor& grad_of(const Params& grads, const std::string& name) {
  auto it = grads.find(name);
  if (it == grads.end()) throw Error("optimizer: no gradient for parameter '" + name + "'");
  return it->second;
}

void check_lr(const Tensor& lr) {
  if (lr.ndim() != 0 || !is_floating(lr.dtype()))
    throw ShapeError("optimizer: the learning rate must be a 0-d floating tensor, got " +
                     frontend::type_str(lr));
}

OptimizerState zero_slots(const Params& params, std::initializer_list<const char*> kinds) {
  OptimizerState s;
  for (const auto& [name, p] : params)
    for (const char* kind : kinds) s.slots.emplace(std::string(kind) + "." + name, zeros_like(p));
  return s;
}

}  // namespace

Sgd::Sgd(SgdOptions options) : o_(options) {}

OptimizerState Sgd::init(const Params& params) const {
  return o_.momentum != 0 ? zero_slots(params, {"momentum"}) : zero_slots(params, {});
}

std::pair<Params, OptimizerState> Sgd::update(const Params& params, const Params& grads,
                                              const OptimizerState& state, const Tensor& lr) const {
  check_lr(lr);
  const Loc loc = Loc::current();
  const Tensor step = as_input(state.step, loc);
  const Tensor first = kiln::equal(step, 0, loc);
  Params out;
  OptimizerState next;
  for (const auto& [name, p] : as_input(params, loc)) {
    Tensor g = as_input(grad_of(grads, name), loc);
    if (o_.weight_decay != 0) g = add(g, multiply(p, o_.weight_decay, loc), loc);
    if (o_.momentum != 0) {
      const Tensor buf = as_input(slot(state, "momentum", name), loc);
      Tensor b =
          where(first, g,
                add(multiply(buf, o_.momentum, loc), multiply(g, 1 - o_.dampening, loc), loc), loc);
      next.slots.emplace("momentum." + name, b);
      g = o_.nesterov ? add(g, multiply(b, o_.momentum, loc), loc) : b;
    }
    out.emplace(name, subtract(p, multiply(cast(lr, p.dtype(), loc), g, loc), loc));
  }
  next.step = add(step, 1, loc);
  return {out, next};
}

Adam::Adam(AdamOptions options) : o_(options) {}

Adam adamw(AdamOptions options) {
  options.decoupled = true;
  return Adam(options);
}

OptimizerState Adam::init(const Params& params) const { return zero_slots(params, {"m", "v"}); }

std::pair<Params, OptimizerState> Adam::update(const Params& params, const Params& grads,
                                               const OptimizerState& state,
                                               const Tensor& lr) const {
  check_lr(lr);
  const Loc loc = Loc::current();
  const Tensor step = as_input(state.step, loc);
  const Tensor t = cast(add(step, 1, loc), DType::F32, loc);
  const Tensor correction1 = subtract(1, pow(o_.beta1, t, loc), loc);
  const Tensor correction2 = subtract(1, pow(o_.beta2, t, loc), loc);
  Params out;
  OptimizerState next;
  for (const auto& [name, p0] : as_input(params, loc)) {
    Tensor p = p0;
    const Tensor rate = cast(lr, p.dtype(), loc);
    Tensor g = as_input(grad_of(grads, name), loc);
    if (o_.weight_decay != 0) {
      if (o_.decoupled)
        p = multiply(p, subtract(1, multiply(rate, o_.weight_decay, loc), loc), loc);
      else
        g = add(g, multiply(p, o_.weight_decay, loc), loc);
    }
    Tensor m = add(multiply(as_input(slot(state, "m", name), loc), o_.beta1, loc),
                   multiply(g, 1 - o_.beta1, loc), loc);
    Tensor v = add(multiply(as_input(slot(state, "v", name), loc), o_.beta2, loc),
                   multiply(square(g, loc), 1 - o_.beta2, loc), loc);
    Tensor m_hat = divide(m, cast(correction1, p.dtype(), loc), loc);
    Tensor v_hat = divide(v, cast(correction2, p.dtype(), loc), loc);
    out.emplace(
        name,
        subtract(p, multiply(rate, divide(m_hat, add(sqrt(v_hat, loc), o_.eps, loc), loc), loc),
                 loc));
    next.slots.emplace("m." + name, m);
    next.slots.emplace("v." + name, v);
  }
  next.step = add(step, 1, loc);
  return {out, next};
}

Tensor step_lr(double base, int64_t step_size, double gamma, const Tensor& step, Loc loc) {
  if (step_size < 1) throw Error("step_lr: step_size must be at least 1");
  Tensor epochs =
      floor(divide(cast(step, DType::F32, loc), static_cast<double>(step_size), loc), loc);
  return multiply(pow(gamma, epochs, loc), base, loc);
}

Tensor cosine_lr(double base, int64_t total_steps, double min_lr, const Tensor& step, Loc loc) {
  if (total_steps < 1) throw Error("cosine_lr: total_steps must be at least 1");
  Tensor s = minimum(cast(step, DType::F32, loc), static_cast<double>(total_steps), loc);
  Tensor c = cos(multiply(s, std::numbers::pi / static_cast<double>(total_steps), loc), loc);
  return add(multiply(add(c, 1, loc), 0.5 * (base - min_lr), loc), min_lr, loc);
}

Tensor linear_warmup(double base, int64_t warmup_steps, const Tensor& step, Loc loc) {
  if (warmup_steps < 1) throw Error("linear_warmup: warmup_steps must be at least 1");
  Tensor f =
      divide(add(cast(step, DType::F32, loc), 1, loc), static_cast<double>(warmup_steps), loc);
  return multiply(minimum(f, 1, loc), base, loc);
}

std::pair<Params, Tensor> clip_by_global_norm(const Params& grads, double max_norm, Loc loc) {
  if (!(max_norm > 0)) throw Error("clip_by_global_norm: max_norm must be > 0");
  Tensor total = full({}, 0.0, DType::F32, loc);
  for (const auto& [name, g] : grads)
    total = add(total, cast(sum(square(g, loc), {}, false, loc), DType::F32, loc), loc);
  Tensor norm = sqrt(total, loc);
  Tensor scale = minimum(divide(max_norm, add(norm, 1e-6, loc), loc), 1, loc);
  Params out;
  for (const auto& [name, g] : grads)
    out.emplace(name, multiply(g, cast(scale, g.dtype(), loc), loc));
  return {out, norm};
}

void save_checkpoint(const std::string& path, const Params& params, const OptimizerState& state,
                     Loc loc) {
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& [name, t] : params) named.emplace_back("param." + name, t);
  for (const auto& [name, t] : state.slots) named.emplace_back("state." + name, t);
  named.emplace_back("state.step", state.step);
  save_safetensors(path, named, {{"format", "kiln checkpoint"}}, loc);
}

std::pair<Params, OptimizerState> load_checkpoint(const std::string& path, Loc loc) {
  Params params;
  OptimizerState state;
  bool has_step = false;
  for (auto& [name, t] : load_safetensors(path, loc)) {
    if (name == "state.step") {
      if (t.ndim() != 0 || t.dtype() != DType::I32)
        throw IOError(path + ": 'state.step' is " + frontend::type_str(t) + ", not i32[]");
      state.step = t;
      has_step = true;
    } else if (name.rfind("param.", 0) == 0) {
      params.emplace(name.substr(6), t);
    } else if (name.rfind("state.", 0) == 0) {
      state.slots.emplace(name.substr(6), t);
    } else {
      throw IOError(path + ": tensor '" + name +
                    "' is not a checkpoint's (names start with 'param.' or 'state.')");
    }
  }
  if (!has_step) throw IOError(path + ": not a checkpoint (no 'state.step')");
  return {params, state};
}

}  // namespace kiln
