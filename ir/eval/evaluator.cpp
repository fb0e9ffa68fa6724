// The reference evaluator's graph walk, and the switch over op categories that sends each
// op to its implementation in eval/*.cpp (eval_unary and eval_binary switch over their ops;
// an op without a formula there fails the differential suites, which run every row of the
// op table).
#include "ir/eval/evaluator.h"

#include <unordered_map>
#include <unordered_set>

#include "ir/error.h"
#include "ir/eval/ops.h"
#include "ir/inputs.h"

// A new op category fails the build here until evaluate_op handles it.
#pragma GCC diagnostic error "-Wswitch"

namespace kiln::evaluator {

namespace {
using ir::OpKind;

// The ops of the categories whose members the evaluator implements one function each.
BufferPtr evaluate_source(const ir::Node& node, const std::vector<BufferPtr>& args) {
  switch (node.op) {
    case OpKind::Parameter: fail(node, "a parameter that is not in the graph's parameter list");
    case OpKind::Constant: fail(node, "a constant without data (its buffer is null)");
    case OpKind::Iota: return eval_iota(node);
    case OpKind::RandomUniform:
      return eval_random_uniform(node, args.empty() ? nullptr : args[0].get());
    default: unhandled_op(node);
  }
}

BufferPtr evaluate_movement(const ir::Node& node, const std::vector<BufferPtr>& args) {
  switch (node.op) {
    case OpKind::Reshape: return eval_reshape(node, *args[0]);
    case OpKind::Permute: return eval_permute(node, *args[0]);
    case OpKind::Broadcast: return eval_broadcast(node, *args[0]);
    case OpKind::Slice: return eval_slice(node, *args[0]);
    case OpKind::Pad: return eval_pad(node, *args[0]);
    case OpKind::Flip: return eval_flip(node, *args[0]);
    case OpKind::Concat: return eval_concat(node, args);
    case OpKind::OptimizationBarrier: return eval_reshape(node, *args[0]);  // a copy
    default: unhandled_op(node);
  }
}

BufferPtr evaluate_index(const ir::Node& node, const std::vector<BufferPtr>& args) {
  switch (node.op) {
    case OpKind::Gather: return eval_gather(node, *args[0], *args[1]);
    case OpKind::ScatterAdd: return eval_scatter_add(node, *args[0], *args[1], *args[2]);
    default: unhandled_op(node);
  }
}

BufferPtr evaluate_op(const ir::Node& node, const std::vector<BufferPtr>& args,
                      const CustomKernelRunner& custom) {
  const int arity = node.info().arity;
  check(ir::arity_admits(arity, args.size()), node,
        "takes " + ir::arity_text(arity) + ", got " + std::to_string(args.size()));
  switch (node.info().category) {
    case ir::OpCategory::Source: return evaluate_source(node, args);
    case ir::OpCategory::Unary: return eval_unary(node, *args[0]);
    case ir::OpCategory::Binary: return eval_binary(node, *args[0], *args[1]);
    case ir::OpCategory::Ternary: return eval_select(node, *args[0], *args[1], *args[2]);
    case ir::OpCategory::Cast: return eval_cast(node, *args[0]);
    case ir::OpCategory::Reduce: return eval_reduce(node, *args[0]);
    case ir::OpCategory::Scan: return eval_scan(node, *args[0]);
    case ir::OpCategory::Movement: return evaluate_movement(node, args);
    case ir::OpCategory::Index: return evaluate_index(node, args);
    case ir::OpCategory::Contraction:
      if (node.op == OpKind::Conv) return eval_conv(node, *args[0], *args[1]);
      if (node.op == OpKind::MatMul) return eval_matmul(node, *args[0], *args[1]);
      return eval_spectral(node, *args[0]);
    case ir::OpCategory::Custom:
      if (!custom)
        throw UnsupportedError("reference evaluator: custom kernel '" + node.attr_str("name") +
                               "' runs on a device; evaluate it through one (runtime/device.h)");
      return custom(node, args).at(static_cast<size_t>(node.attr_i64("output")));
  }
  unhandled_op(node);
}

}  // namespace

std::vector<BufferPtr> evaluate(const ir::Graph& graph, const std::vector<BufferPtr>& inputs,
                                EvalCounts& counts, const CustomKernelRunner& custom) {
  ir::check_inputs(graph, inputs);
  std::unordered_map<const ir::Node*, BufferPtr> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[graph.params[i].get()] = inputs[i];

  // Intermediate buffers are dropped after their last use, so a long graph does not hold
  // every value at once.
  std::unordered_map<const ir::Node*, int64_t> uses_left;
  std::unordered_set<const ir::Node*> results;
  for (const auto& node : graph.nodes) {
    if (!node) throw VerifyError("graph '" + graph.name + "' has a null node");
    for (const auto& operand : node->operands) ++uses_left[operand.get()];
  }
  for (const auto& r : graph.results) results.insert(r.get());

  auto value_of = [&](const ir::Node& user, const ir::NodePtr& operand) -> BufferPtr {
    check(operand != nullptr, user, "has a null operand");
    if (auto it = values.find(operand.get()); it != values.end()) return it->second;
    if (operand->buffer && operand->op != OpKind::Parameter) return operand->buffer;
    fail(user, "reads " + std::string(operand->info().text) + " -> " + operand->type.str() +
                   ", which is neither a graph parameter nor a node before it (the body must "
                   "be in topological order)");
  };

  for (const auto& node : graph.nodes) {
    BufferPtr value;
    if (node->buffer && node->op != OpKind::Parameter) {
      value = node->buffer;
    } else {
      std::vector<BufferPtr> args;
      args.reserve(node->operands.size());
      for (const auto& operand : node->operands) args.push_back(value_of(*node, operand));
      value = evaluate_op(*node, args, custom);
      ++counts.nodes_evaluated;
      counts.bytes_allocated += static_cast<int64_t>(value->nbytes());
      for (const auto& operand : node->operands)
        if (--uses_left[operand.get()] == 0 && !results.count(operand.get()))
          values.erase(operand.get());
    }
    check(value->type() == node->type, *node,
          "holds a buffer of type " + value->type().str() + ", not the node's type");
    values[node.get()] = std::move(value);
  }

  std::vector<BufferPtr> out;
  for (const auto& r : graph.results) {
    if (!r) throw VerifyError("graph '" + graph.name + "' has a null result");
    auto it = values.find(r.get());
    if (it != values.end()) {
      out.push_back(it->second);
    } else if (r->buffer && r->op != OpKind::Parameter) {
      out.push_back(r->buffer);
    } else {
      throw VerifyError("graph '" + graph.name + "': result " + std::string(r->info().text) +
                        " -> " + r->type.str() + " is neither a parameter nor a body node");
    }
  }
  return out;
}

std::string describe(const ir::Node& node) {
  std::string s = std::string(node.info().text) + " -> " + node.type.str();
  if (node.loc.line() != 0 && node.loc.file_name() && *node.loc.file_name())
    s += " (made at " + std::string(node.loc.file_name()) + ":" + std::to_string(node.loc.line()) +
         ")";
  return s;
}

void fail(const ir::Node& node, const std::string& what) {
  throw VerifyError("reference evaluator: " + describe(node) + ": " + what);
}

void unsupported_dtype(const ir::Node& node, DType dtype) {
  throw DTypeError("reference evaluator: " + describe(node) + ": " + std::string(node.info().text) +
                   " does not accept " + std::string(dtype_name(dtype)) + " (it takes " +
                   ir::describe(node.info().accepts) + "); cast the operand first");
}

void unhandled_op(const ir::Node& node) {
  throw UnsupportedError("reference evaluator: op '" + std::string(node.info().text) +
                         "' is not implemented");
}

BufferPtr new_output(const ir::Node& node) {
  check(static_cast<int>(node.type.shape.size()) <= kMaxRank, node,
        "rank above " + std::to_string(kMaxRank));
  for (int64_t d : node.type.shape) check(d >= 0, node, "negative dimension");
  return std::make_shared<Buffer>(node.type);
}

void check_axis(const ir::Node& node, int64_t axis, int rank, const char* attr) {
  check(axis >= 0 && axis < rank, node,
        std::string(attr) + " " + std::to_string(axis) + " is outside [0, " + std::to_string(rank) +
            ")");
}

std::string list_str(const std::vector<int64_t>& values) { return shape_str(values); }

}  // namespace kiln::evaluator
