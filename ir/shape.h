// Static shapes (rank 0 to 8, zero-size dimensions allowed) and the value type of a node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace kiln {

inline constexpr int kMaxRank = 8;

using Shape = std::vector<int64_t>;

// Number of elements (1 for rank 0, 0 when any dimension is 0).
int64_t numel(const Shape& shape);
// Row-major strides in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);
// "[32,128]"; "[]" for rank 0.
std::string shape_str(const Shape& shape);

// The type of a value: element dtype and static shape. Prints as "f32[32,128]".
struct Type {
  DType dtype = DType::F32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t numel() const { return kiln::numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  std::string str() const;
  friend bool operator==(const Type&, const Type&) = default;
};

}  // namespace kiln
