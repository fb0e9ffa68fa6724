// choose_pairwise_sums: blocked, pairwise accumulation of long f32 sums (see
// choose_pairwise_sums.h).
#include "codegen/choose_pairwise_sums.h"

#include <algorithm>
#include <bit>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

void choose_pairwise_sums(Kernel& k) {
  for (Stage& st : k.stages) {
    st.pairwise_block = 0;
    if (st.kind != StageKind::Reduce || st.op != ReduceOp::Sum || st.acc_dtype != DType::F32)
      continue;
    // Shorter sums never fill a block; the values of a split chunk are bounded by its extent.
    if (loop_product(st.loops) > kPairwiseBlock) st.pairwise_block = kPairwiseBlock;
  }
}

int pairwise_levels(int64_t additions, int64_t block) {
  const uint64_t blocks =
      static_cast<uint64_t>((additions + block - 1) / std::max<int64_t>(block, 1));
  return static_cast<int>(std::bit_width(blocks)) + 1;
}

}  // namespace kiln::codegen
