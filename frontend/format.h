// The text of a tensor's values, as operator<< and to_string write it: nested brackets
// in NumPy style with aligned columns, long dimensions summarized with "...", then
// " : dtype[shape]".
#pragma once

#include <string>

#include "ir/node.h"

namespace kiln::frontend {

// Tensors with more elements than this print only the edges of each long dimension.
inline constexpr int64_t kSummarizeAbove = 1000;
// How many leading and trailing entries a summarized dimension shows.
inline constexpr int64_t kEdgeItems = 3;

std::string format_values(const Buffer& buffer);

// One element as text: "true", "-3", "0.5", "nan", "1+2j".
std::string format_element(const Buffer& buffer, int64_t index);

}  // namespace kiln::frontend
