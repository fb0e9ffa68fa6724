// Facts about movement ops shared by canonicalize and fold_views: when a view changes
// nothing, and slice and flip as one per-dimension affine form that composes.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

// Whether the view `node` (reshape, permute, broadcast, slice, pad, flip, or a concat of
// one operand) returns its operand unchanged: same type and every element in place.
bool is_identity_view(const ir::Node& node);

// A slice or flip as "element i of dim d reads start[d] + i * step[d]" of an input of
// shape `in`, giving shape `out`. A flip of dim d is start n-1, step -1.
struct StridedView {
  Shape in;
  Shape out;
  std::vector<int64_t> start;
  std::vector<int64_t> step;

  // The slice or flip `node` in this form (node.op must be Slice or Flip).
  static StridedView of(const ir::Node& node);
  // The view reading `inner`'s input that `outer` applied to `inner`'s output gives.
  static StridedView compose(const StridedView& inner, const StridedView& outer);
  // The cheapest node over `input` reading this view: `input` itself when it is the
  // identity, a flip when each dim is kept or reversed whole, else a slice.
  ir::NodePtr build(const ir::NodePtr& input, DType dtype) const;
};

// Whether permute `perm` over `shape` keeps the dims of size other than 1 in their order,
// so that it moves no element and a reshape can stand for it.
bool permute_is_reshape(const Shape& shape, const std::vector<int64_t>& perm);

}  // namespace kiln::passes
