// ExprRenderer: scoped, structurally shared rendering of KernelIR expressions.
#include "codegen/opencl/expr_renderer.h"

#include <cstdio>
#include <limits>

#include "codegen/opencl/scalar_ops.h"
#include "ir/error.h"

namespace kiln::codegen::opencl {

void CodeWriter::line(const std::string& text) {
  out_.append(static_cast<size_t>(indent_) * 2, ' ');
  out_ += text;
  out_ += '\n';
}

void CodeWriter::open(const std::string& head) {
  line(head.empty() ? "{" : head + " {");
  ++indent_;
}

void CodeWriter::close() {
  --indent_;
  line("}");
}

namespace {

bool narrow_index(const Expr& e) {
  return e.dtype == DType::I64 && e.lo >= std::numeric_limits<int32_t>::min() &&
         e.hi <= std::numeric_limits<int32_t>::max() && e.lo <= e.hi;
}

}  // namespace

std::string ExprRenderer::c_type(const ExprPtr& e) {
  return narrow_index(*e) ? "int" : compute_type(e->dtype);
}

void ExprRenderer::need(DType t) {
  if (t == DType::F64) needs_.fp64 = true;
  if (t == DType::C64) needs_.complex = true;
}

void ExprRenderer::push_scope() { scopes_.emplace_back(); }
void ExprRenderer::pop_scope() { scopes_.pop_back(); }

const std::string* ExprRenderer::find(const ExprPtr& e) const {
  for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s) {
    auto it = s->find(e->hash);
    if (it == s->end()) continue;
    for (const auto& [node, name] : it->second)
      if (expr_equal(node, e)) return &name;
  }
  return nullptr;
}

bool ExprRenderer::is_bound(const ExprPtr& e) const { return find(e) != nullptr; }

void ExprRenderer::bind(const ExprPtr& e, const std::string& text) {
  scopes_.back()[e->hash].emplace_back(e, text);
}

void ExprRenderer::bind_stage(int stage, const std::string& text) { stages_[stage] = text; }

std::string ExprRenderer::temp(const std::string& type, const std::string& text) {
  std::string name = fresh("t");
  out_.line("const " + type + " " + name + " = " + text + ";");
  return name;
}

std::string ExprRenderer::value(const ExprPtr& e) {
  need(e->dtype);
  switch (e->kind) {
    case ExprKind::Const: return const_literal(e->dtype, e->ival, e->re, e->im);
    case ExprKind::Arg: return arg_name(e->slot);
    case ExprKind::Var: return var_name(e->slot);
    case ExprKind::StageValue: {
      auto it = stages_.find(e->slot);
      if (it == stages_.end())
        throw CompileError("opencl renderer: stage value s" + std::to_string(e->slot) +
                           " read where it is not available");
      return it->second;
    }
    default: break;
  }
  if (const std::string* name = find(e)) return *name;
  std::string text = render(e);
  std::string name = temp(c_type(e), text);
  bind(e, name);
  return name;
}

std::string ExprRenderer::render(const ExprPtr& e) {
  auto arg = [&](size_t i) { return value(e->args[i]); };
  switch (e->kind) {
    case ExprKind::Load: {
      if (e->slot < 0 || e->slot >= static_cast<int>(kernel_.buffers.size()))
        throw CompileError("opencl renderer: load from a buffer the kernel does not have");
      return load_element(kernel_.buffers[e->slot].dtype, buffer(e->slot), arg(0));
    }
    case ExprKind::Unary: return unary_op(e->op, e->args[0]->dtype, e->dtype, arg(0));
    case ExprKind::Binary: {
      std::string a = arg(0), b = arg(1);
      const DType in = e->args[0]->dtype;
      // Index arithmetic that provably fits (its range is the node's) needs no wrapping.
      if (in == DType::I64 && narrow_index(*e) &&
          (e->op == ir::OpKind::Add || e->op == ir::OpKind::Sub || e->op == ir::OpKind::Mul)) {
        const char* op = e->op == ir::OpKind::Add   ? " + "
                         : e->op == ir::OpKind::Sub ? " - "
                                                    : " * ";
        return "(" + a + op + b + ")";
      }
      return binary_op(e->op, in, e->dtype, a, b);
    }
    case ExprKind::Select: {
      std::string c = arg(0), a = arg(1), b = arg(2);
      return "(" + c + " ? " + a + " : " + b + ")";
    }
    case ExprKind::Cast: return cast_op(e->args[0]->dtype, e->dtype, arg(0));
    case ExprKind::IndexDiv: {
      std::string a = arg(0), k = int_literal(DType::I64, e->ival);
      if (e->args[0]->lo >= 0) return "(" + a + " / " + k + ")";
      return "kiln_div_i64(" + a + ", " + k + ")";
    }
    case ExprKind::IndexMod: {
      std::string a = arg(0), k = int_literal(DType::I64, e->ival);
      if (e->args[0]->lo >= 0) return "(" + a + " % " + k + ")";
      return "kiln_mod_i64(" + a + ", " + k + ")";
    }
    case ExprKind::Random: {
      std::string counter = arg(0), key = arg(1);
      const char* shift = "8u";
      const char* scale = "0x1p-24f";
      if (e->dtype == DType::F16) shift = "21u", scale = "0x1p-11f";
      if (e->dtype == DType::BF16) shift = "24u", scale = "0x1p-8f";
      std::string r =
          "kiln_random((ulong)" + counter + ", (ulong)" + key + ", " + shift + ", " + scale + ")";
      if (e->dtype == DType::F64) return "((double)" + r + ")";
      if (!is_floating(e->dtype))
        throw UnsupportedError("opencl backend: random_uniform of " +
                               std::string(dtype_name(e->dtype)));
      return r;
    }
    case ExprKind::RandomKey: {
      char counter[32];
      std::snprintf(counter, sizeof counter, "0x%llxul",
                    static_cast<unsigned long long>(static_cast<uint64_t>(e->ival)));
      return "kiln_random_key((ulong)" + arg(0) + ", " + counter + ")";
    }
    default: break;
  }
  throw CompileError("opencl renderer: unexpected expression " + expr_str(e));
}

}  // namespace kiln::codegen::opencl
