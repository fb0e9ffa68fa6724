// Reading and building constants for the passes: the constant behind a value seen through
// the views that keep each element's value, whether all its elements are equal (a splat),
// and splat constants of a given type.
#pragma once

#include <cstdint>
#include <optional>

#include "ir/node.h"

namespace kiln::passes {

// The Constant node that `value` reads, looking through reshape and broadcast; nullptr
// when there is none. The frontend spells a scalar operand as such a chain.
const ir::Node* constant_source(const ir::Node& value);

// Whether `value` is a constant or a reshape/broadcast of one.
inline bool is_constant_like(const ir::Node& value) { return constant_source(value) != nullptr; }

// The value shared by every element of a splat. Bool and integers are held exactly in
// `integer`; floats in `real` (f16, bf16 and f32 widen to double exactly). The predicates
// follow the dtype: an integer 0 is both a "positive" and a "negative" zero, since
// integers have one zero.
struct SplatValue {
  DType dtype = DType::F32;
  int64_t integer = 0;
  double real = 0;

  bool is_zero() const;
  bool is_positive_zero() const;
  bool is_negative_zero() const;
  bool is_one() const;
  bool is_minus_one() const;  // signed integers and floats
  bool is_floating_two() const;
  bool is_all_ones() const;  // every bit set: true, -1, 255 for u8
};

// The splat `value` holds: nullopt when it is not constant-like, its elements differ (bit
// for bit), it has no elements, or its dtype is complex.
std::optional<SplatValue> splat_value(const ir::Node& value);

// A value of `type` whose every element is `v` converted to type.dtype (bool: v != 0):
// a constant of shape [1,...,1] broadcast to the shape when it has more than one element.
ir::NodePtr make_splat(const Type& type, double v);

}  // namespace kiln::passes
