// Identity views and the strided (slice/flip) form used to fold chains of views.
#include "passes/views.h"

#include <algorithm>

namespace kiln::passes {

namespace {

bool all_zero(const std::vector<int64_t>& v) {
  return std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 0; });
}

// Whether dim d of a strided view leaves every element in place.
bool keeps_dim(const StridedView& v, size_t d) {
  if (v.out[d] != v.in[d]) return false;
  return v.in[d] <= 1 || (v.start[d] == 0 && v.step[d] == 1);
}

// Whether dim d of a strided view reverses the whole dim.
bool reverses_dim(const StridedView& v, size_t d) {
  return v.out[d] == v.in[d] && v.in[d] > 1 && v.start[d] == v.in[d] - 1 && v.step[d] == -1;
}

}  // namespace

bool is_identity_view(const ir::Node& node) {
  if (node.operands.size() != 1 || node.operands[0]->type != node.type) return false;
  switch (node.op) {
    case ir::OpKind::Reshape:
    case ir::OpKind::Broadcast:
    case ir::OpKind::Concat: return true;
    case ir::OpKind::Permute: {
      const auto& perm = node.attr_i64s("perm");
      for (size_t i = 0; i < perm.size(); ++i)
        if (perm[i] != static_cast<int64_t>(i)) return false;
      return true;
    }
    case ir::OpKind::Pad:
      return all_zero(node.attr_i64s("low")) && all_zero(node.attr_i64s("high"));
    case ir::OpKind::Slice:
    case ir::OpKind::Flip: {
      StridedView v = StridedView::of(node);
      for (size_t d = 0; d < v.in.size(); ++d)
        if (!keeps_dim(v, d)) return false;
      return true;
    }
    default: return false;
  }
}

StridedView StridedView::of(const ir::Node& node) {
  StridedView v;
  v.in = node.operands.at(0)->type.shape;
  v.out = node.type.shape;
  if (node.op == ir::OpKind::Slice) {
    v.start = node.attr_i64s("start");
    v.step = node.attr_i64s("step");
    return v;
  }
  v.start.assign(v.in.size(), 0);
  v.step.assign(v.in.size(), 1);
  for (int64_t axis : node.attr_i64s("axes")) {
    auto d = static_cast<size_t>(axis);
    v.start[d] = std::max<int64_t>(v.in[d] - 1, 0);
    v.step[d] = -1;
  }
  return v;
}

StridedView StridedView::compose(const StridedView& inner, const StridedView& outer) {
  // Element i of the outer view reads inner element outer.start + i * outer.step, which
  // reads input element inner.start + (outer.start + i * outer.step) * inner.step.
  StridedView v;
  v.in = inner.in;
  v.out = outer.out;
  for (size_t d = 0; d < v.in.size(); ++d) {
    int64_t start = inner.start[d] + outer.start[d] * inner.step[d];
    int64_t step = outer.step[d] * inner.step[d];
    // With fewer than two elements the step reads nothing; with none the start reads
    // nothing either. Normalize so that equal views compare (and print) equal.
    if (v.out[d] <= 1) step = 1;
    if (v.out[d] == 0) start = 0;
    v.start.push_back(start);
    v.step.push_back(step);
  }
  return v;
}

ir::NodePtr StridedView::build(const ir::NodePtr& input, DType dtype) const {
  Type type{dtype, out};
  std::vector<int64_t> flip_axes;
  bool strided = false;
  for (size_t d = 0; d < in.size(); ++d) {
    if (keeps_dim(*this, d)) continue;
    if (reverses_dim(*this, d))
      flip_axes.push_back(static_cast<int64_t>(d));
    else
      strided = true;
  }
  if (strided) return ir::make_node(ir::OpKind::Slice, {input}, {start, step}, type);
  if (!flip_axes.empty()) return ir::make_node(ir::OpKind::Flip, {input}, {flip_axes}, type);
  return input;
}

bool permute_is_reshape(const Shape& shape, const std::vector<int64_t>& perm) {
  int64_t last = -1;
  for (int64_t p : perm) {
    if (shape.at(static_cast<size_t>(p)) == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

}  // namespace kiln::passes
