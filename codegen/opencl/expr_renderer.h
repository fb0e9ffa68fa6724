// ExprRenderer: KernelIR expressions (codegen/expr.h) as OpenCL C. Every non-leaf node
// becomes one `const T tN = ...;` line the first time it is needed in a scope, and is
// reused by name after that; scopes follow the C blocks the kernel renderer opens, so a
// value computed inside a loop body is never read outside it. Structurally equal nodes
// share one name, which is what lets a row kernel load a row once and use it in every
// stage (render_kernel.cpp). Integer index arithmetic whose value range fits in 32 bits is
// computed in int (GPUs do 64-bit division slowly). Tests: tests/codegen/opencl/render_test.cpp.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/kernel_ir.h"
#include "codegen/opencl/prelude.h"

namespace kiln::codegen::opencl {

// Lines of C with indentation.
class CodeWriter {
 public:
  void line(const std::string& text);
  void open(const std::string& head);  // "head {" (or a bare block), one level deeper
  void close();                        // "}", one level up
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  int indent_ = 0;
};

class ExprRenderer {
 public:
  ExprRenderer(const Kernel& kernel, CodeWriter& out) : kernel_(kernel), out_(out) { push_scope(); }

  // A C operand (a name or a literal) holding `e`'s value, emitting what it needs.
  std::string value(const ExprPtr& e);
  // The C type of value(e): compute_type of its dtype, or int for 32-bit index arithmetic.
  static std::string c_type(const ExprPtr& e);
  // Declares `const type name = text;` and returns the name.
  std::string temp(const std::string& type, const std::string& text);
  // From now on (in this scope) value(e) is `text`.
  void bind(const ExprPtr& e, const std::string& text);
  bool is_bound(const ExprPtr& e) const;
  // StageValue(stage) renders as `text` (a variable name).
  void bind_stage(int stage, const std::string& text);

  void push_scope();
  void pop_scope();
  std::string fresh(const std::string& prefix) { return prefix + std::to_string(next_++); }

  // What the program's prelude must provide for the code rendered so far.
  const PreludeNeeds& needs() const { return needs_; }
  void need(DType t);

  static std::string buffer(int b) { return "b" + std::to_string(b); }
  static std::string var_name(int v) { return "v" + std::to_string(v); }
  static std::string arg_name(int s) { return "a" + std::to_string(s); }

 private:
  std::string render(const ExprPtr& e);
  const std::string* find(const ExprPtr& e) const;

  using Bucket = std::vector<std::pair<ExprPtr, std::string>>;
  const Kernel& kernel_;
  CodeWriter& out_;
  std::vector<std::unordered_map<uint64_t, Bucket>> scopes_;
  std::unordered_map<int, std::string> stages_;
  PreludeNeeds needs_;
  int next_ = 0;
};

}  // namespace kiln::codegen::opencl
