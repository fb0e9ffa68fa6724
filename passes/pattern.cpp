// Matching and building the patterns of the algebraic rule table.
#include "passes/pattern.h"

#include <cstdio>

#include "ir/error.h"
#include "passes/op_traits.h"

namespace kiln::passes::pattern {

namespace {

bool match_operands(const std::vector<Pattern>& ps, const std::vector<ir::NodePtr>& values,
                    Match& m) {
  for (size_t i = 0; i < ps.size(); ++i)
    if (!match(ps[i], values[i], m)) return false;
  return true;
}

constexpr const char* kVarNames[kMaxVars] = {"x", "y", "c"};

const char* infix(ir::OpKind op) {
  switch (op) {
    case ir::OpKind::Add: return " + ";
    case ir::OpKind::Sub: return " - ";
    case ir::OpKind::Mul: return " * ";
    case ir::OpKind::Div: return " / ";
    default: return nullptr;
  }
}

bool bind(int var, const ir::NodePtr& value, Match& m) {
  ir::NodePtr& slot = m.vars.at(static_cast<size_t>(var));
  if (slot) return slot == value;
  slot = value;
  return true;
}

bool match_unbound(const Pattern& p, const ir::NodePtr& value, Match& m) {
  switch (p.kind) {
    case Pattern::Kind::Var: return bind(p.var, value, m);
    case Pattern::Kind::Constant: {
      auto v = splat_value(*value);
      return v && p.test(*v);
    }
    case Pattern::Kind::Op: {
      if (value->op != p.op || value->operands.size() != p.operands.size()) return false;
      Match attempt = m;
      if (match_operands(p.operands, value->operands, attempt)) {
        m = attempt;
        return true;
      }
      if (p.operands.size() != 2 || !is_commutative(p.op, value->operands[0]->type.dtype))
        return false;
      attempt = m;
      if (!match_operands(p.operands, {value->operands[1], value->operands[0]}, attempt))
        return false;
      m = attempt;
      return true;
    }
    case Pattern::Kind::Splat: return false;
  }
  return false;
}

}  // namespace

bool match(const Pattern& p, const ir::NodePtr& value, Match& m) {
  return match_unbound(p, value, m) && (p.bind < 0 || bind(p.bind, value, m));
}

ir::NodePtr build(const Pattern& p, const Match& m) {
  switch (p.kind) {
    case Pattern::Kind::Var: return m.vars.at(static_cast<size_t>(p.var));
    case Pattern::Kind::Splat: return make_splat(m.root->type, p.value);
    case Pattern::Kind::Op: {
      std::vector<ir::NodePtr> operands;
      for (const Pattern& o : p.operands) operands.push_back(build(o, m));
      return ir::make_node(p.op, std::move(operands), {}, m.root->type, m.root->loc);
    }
    case Pattern::Kind::Constant: break;
  }
  throw VerifyError("simplify_algebra: internal error: the replacement " + to_string(p) +
                    " is a constant test, not a value");
}

std::string to_string(const Pattern& p) {
  switch (p.kind) {
    case Pattern::Kind::Var: return kVarNames[p.var];
    case Pattern::Kind::Constant: return p.name;
    case Pattern::Kind::Splat: {
      char text[32];
      std::snprintf(text, sizeof text, "%g", p.value);
      return std::string("splat(") + text + ")";
    }
    case Pattern::Kind::Op: break;
  }
  if (const char* sep = infix(p.op); sep && p.operands.size() == 2)
    return "(" + to_string(p.operands[0]) + sep + to_string(p.operands[1]) + ")";
  if (p.op == ir::OpKind::Neg) return "-" + to_string(p.operands[0]);
  std::string s(ir::op_name(p.op));
  s += "(";
  for (size_t i = 0; i < p.operands.size(); ++i) s += (i ? ", " : "") + to_string(p.operands[i]);
  return s + ")";
}

Pattern var(int slot) {
  Pattern p;
  p.kind = Pattern::Kind::Var;
  p.var = slot;
  return p;
}

Pattern constant(const char* name, bool (*test)(const SplatValue&)) {
  Pattern p;
  p.kind = Pattern::Kind::Constant;
  p.name = name;
  p.test = test;
  return p;
}

Pattern as(Pattern p, const Pattern& variable) {
  p.bind = variable.var;
  return p;
}

Pattern splat(double value) {
  Pattern p;
  p.kind = Pattern::Kind::Splat;
  p.value = value;
  return p;
}

Pattern op(ir::OpKind kind, std::vector<Pattern> operands) {
  Pattern p;
  p.kind = Pattern::Kind::Op;
  p.op = kind;
  p.operands = std::move(operands);
  return p;
}

}  // namespace kiln::passes::pattern
