// The Module base of kiln::nn (kiln/nn.h): named tensors, their nesting under dotted names,
// state_dict / load_state_dict with their checks, and the call that resolves a module's
// tensors against a Params given to forward. Sequential and the activation modules.
// Tests: tests/frontend/nn_test.cpp.
#include <kiln/nn.h>

#include <algorithm>

#include "frontend/builder.h"

namespace kiln::nn {

namespace {

std::string names_str(const Params& p) {
  std::string out;
  for (const auto& [name, t] : p) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Scope

Tensor Scope::get(const std::string& name) const {
  const std::string full = prefix_ + name;
  const Params& overrides = call_->options->params;
  if (auto it = overrides.find(full); it != overrides.end()) return it->second;
  const Module::Entry* e = module_->find_local(name);
  if (!e) throw Error("nn: the module has no tensor called '" + full + "'");
  return e->value;
}

Scope Scope::child(const std::string& name) const {
  for (const auto& [n, m] : module_->children_)
    if (n == name) return Scope(m.get(), prefix_ + name + ".", call_);
  throw Error("nn: the module has no child called '" + prefix_ + name + "'");
}

Key Scope::next_key(const std::string& who) const {
  if (!call_->options->key)
    throw Error("nn: " + who + " '" + prefix_ +
                "' in training mode needs a key: call module(x, key) or pass CallOptions::key "
                "(or call eval() on the module)");
  return fold_in(*call_->options->key, call_->draws++);
}

void Scope::update_buffer(const std::string& name, const Tensor& value) const {
  call_->updates.insert_or_assign(prefix_ + name, value);
}

// ---------------------------------------------------------------------------------------
// Module

void Module::register_parameter(const std::string& name, const Tensor& value) {
  tensors_.push_back({name, value, true});
}

void Module::register_buffer(const std::string& name, const Tensor& value) {
  tensors_.push_back({name, value, false});
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
  if (!child) throw Error("nn: register_module('" + name + "') got no module");
  children_.emplace_back(name, std::move(child));
}

const Module::Entry* Module::find_local(const std::string& name) const {
  auto it = std::find_if(tensors_.begin(), tensors_.end(),
                         [&](const Entry& e) { return e.name == name; });
  return it == tensors_.end() ? nullptr : &*it;
}

Module::Entry* Module::find(const std::string& name) {
  if (auto* e = find_local(name)) return const_cast<Entry*>(e);
  for (auto& [child_name, child] : children_)
    if (name.size() > child_name.size() + 1 &&
        name.compare(0, child_name.size(), child_name) == 0 && name[child_name.size()] == '.')
      if (Entry* e = child->find(name.substr(child_name.size() + 1))) return e;
  return nullptr;
}

void Module::collect(const std::string& prefix, bool params, bool buffers, Params& out) const {
  for (const Entry& e : tensors_)
    if (e.trainable ? params : buffers) out.emplace(prefix + e.name, e.value);
  for (const auto& [name, child] : children_)
    child->collect(prefix + name + ".", params, buffers, out);
}

Params Module::parameters() const {
  Params out;
  collect("", true, false, out);
  return out;
}

Params Module::buffers() const {
  Params out;
  collect("", false, true, out);
  return out;
}

Params Module::state_dict() const {
  Params out;
  collect("", true, true, out);
  return out;
}

void Module::load_state_dict(const Params& state, bool strict) {
  const Params own = state_dict();
  // Check everything first, so that a failed load leaves the module as it was.
  for (const auto& [name, t] : state) {
    auto it = own.find(name);
    if (it == own.end())
      throw Error("load_state_dict: unexpected tensor '" + name +
                  "' in the state dict; the module's tensors are: " + names_str(own));
    if (t.shape() != it->second.shape())
      throw ShapeError("load_state_dict: '" + name + "' is " + t.type().str() +
                       " in the state dict but the module's is " + it->second.type().str());
    if (t.dtype() != it->second.dtype())
      throw DTypeError("load_state_dict: '" + name + "' is " + t.type().str() +
                       " in the state dict but the module's is " + it->second.type().str() +
                       "; cast it first");
  }
  if (strict)
    for (const auto& [name, t] : own)
      if (!state.count(name))
        throw Error("load_state_dict: missing tensor '" + name + "' (" + t.type().str() +
                    ") in the state dict; pass strict = false to load only some tensors");
  for (const auto& [name, t] : state) find(name)->value = t;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

Tensor Module::call(const CallOptions& options, Params* updates, const Body& body) const {
  Scope::Call call{&options, {}, 0};
  Tensor y = body(Scope(this, "", &call));
  if (updates)
    for (auto& [name, t] : call.updates) updates->insert_or_assign(name, t);
  return y;
}

Tensor Module::call_and_store(const CallOptions& options, const Body& body) {
  if (options.updated_buffers) return call(options, options.updated_buffers, body);
  Params updates;
  Tensor y = call(options, &updates, body);
  for (auto& [name, t] : updates) find(name)->value = t;
  return y;
}

Tensor Module::forward(const Params& params, const Tensor& x, CallOptions options) const {
  options.params = params;
  return call(options, options.updated_buffers, [&](const Scope& s) { return forward(x, s); });
}

Tensor Module::operator()(const Tensor& x, const CallOptions& options) {
  return call_and_store(options, [&](const Scope& s) { return forward(x, s); });
}

Tensor Module::operator()(const Tensor& x, const Key& key) {
  CallOptions options;
  options.key = key;
  return (*this)(x, options);
}

// ---------------------------------------------------------------------------------------
// Containers and activations

void Sequential::append(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x, const Scope& s) const {
  Tensor y = x;
  for (const auto& [name, child] : children()) y = child->forward(y, s.child(name));
  return y;
}

Identity::Identity() : Lambda([](const Tensor& x) { return x; }) {}
ReLU::ReLU() : Lambda([](const Tensor& x) { return relu(x); }) {}
GELU::GELU(bool approximate)
    : Lambda([approximate](const Tensor& x) { return gelu(x, approximate); }) {}
SiLU::SiLU() : Lambda([](const Tensor& x) { return silu(x); }) {}
Tanh::Tanh() : Lambda([](const Tensor& x) { return tanh(x); }) {}
Sigmoid::Sigmoid() : Lambda([](const Tensor& x) { return sigmoid(x); }) {}
Softmax::Softmax(int axis) : Lambda([axis](const Tensor& x) { return softmax(x, axis); }) {}
Flatten::Flatten(int start_axis, int end_axis)
    : Lambda([=](const Tensor& x) { return flatten(x, start_axis, end_axis); }) {}

}  // namespace kiln::nn
