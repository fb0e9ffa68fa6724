// einops for kiln: rearrange, reduce and repeat with einops' pattern language, and einsum
// over any number of operands. Each lowers to reshape / permute / broadcast views, the
// reduction ops and batched matmuls, so the fusion passes see through them and a
// rearrange is a view (no copy). Guide: docs/einops.md. Tests: tests/frontend/einops_test.cpp.
#pragma once

#include <kiln/kiln.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

// A malformed einops pattern or einsum spec (syntax, an unknown or repeated axis, operand
// count). A ShapeError, so code that catches the shape errors of sizes that do not fit
// catches these too; the message names the pattern and the axis.
class PatternError : public ShapeError {
 public:
  using ShapeError::ShapeError;
};

// Axis lengths given by name, e.g. {{"h", 8}} for "b (h d) -> b h d".
using AxisSizes = std::vector<std::pair<std::string, int64_t>>;

// The reductions of einops' reduce (losses.h's Reduction is the loss reduction).
enum class ReduceOp : uint8_t { Sum, Mean, Max, Min, Prod };

// Reorders, splits and merges axes: "b (h d) l -> b h l d" with {{"h", 8}}. Both sides
// name the same axes; "..." stands for any number of axes, "()" and "1" for length-1
// axes. Always a view: reshapes and a permute, and nothing when the pattern changes
// nothing.
Tensor rearrange(const Tensor& x, const std::string& pattern, const AxisSizes& sizes = {},
                 Loc loc = Loc::current());
// rearrange, reducing the axes of the left that the right leaves out ("b l d -> b d" with
// ReduceOp::Mean); anonymous axes of the left ("(h 2)") are reduced too.
Tensor reduce(const Tensor& x, const std::string& pattern, ReduceOp reduction,
              const AxisSizes& sizes = {}, Loc loc = Loc::current());
// rearrange, repeating along the axes the right adds ("h w -> h w c" with {{"c", 3}}, or an
// anonymous "h w -> h (w 2)"): a broadcast view.
Tensor repeat(const Tensor& x, const std::string& pattern, const AxisSizes& sizes = {},
              Loc loc = Loc::current());

// Einstein summation in NumPy's notation: "bhld,bhmd->bhlm"; without "->" the output holds
// the indices that occur once, in alphabetical order (after "..."). "..." broadcasts; an
// index repeated in one operand takes its diagonal ("ii->i", trace "ii->"); an index that
// only one operand holds and the output lacks is summed first. Operands are contracted
// pairwise, greedily by the size of the intermediate (opt_einsum's greedy order), each pair
// as a batched matmul. Operand dtypes promote as in matmul.
Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands,
              Loc loc = Loc::current());

}  // namespace kiln
