// choose_streaming_stores: non-temporal stores of large outputs (see
// choose_streaming_stores.h).
#include "codegen/choose_streaming_stores.h"

#include <algorithm>

#include "codegen/kernel_passes.h"

namespace kiln::codegen {

namespace {

// Outputs at least this large are streamed: they would only push the inputs out of cache.
constexpr int64_t kStreamingBytes = int64_t{16} << 20;

// The alignment of every vector `s` stores with lanes along `vector_var` (their blocks
// start at multiples of `lanes`), or 0 when it must not stream.
int64_t stream_alignment(const Kernel& k, const Store& s, int vector_var, int lanes) {
  const BufferParam& bp = k.buffers[s.buffer];
  const int64_t elem = static_cast<int64_t>(dtype_size(bp.dtype));
  if (bp.local || bp.read || bp.dtype == DType::C64 || bp.numel * elem < kStreamingBytes) return 0;
  const int64_t a = std::min<int64_t>(64, lanes * elem);
  if (a < 16 || (lanes * elem) % a != 0) return 0;
  // The index must be the vector variable plus terms that keep the alignment.
  Linear l = linearize(s.index);
  if ((l.constant * elem) % a != 0) return 0;
  bool has_var = false;
  for (const auto& [atom, coef] : l.terms) {
    if (atom->kind == ExprKind::Var && atom->slot == vector_var) {
      if (coef != 1) return 0;
      has_var = true;
    } else if (atom->kind != ExprKind::Var || (coef * elem) % a != 0) {
      return 0;
    }
  }
  return has_var ? a : 0;
}

}  // namespace

void choose_streaming_stores(Kernel& k, int lanes) {
  const bool outer = k.vector_mode == VectorMode::Outer && !k.outer.empty();
  for (Stage& st : k.stages) {
    int v = -1;
    if (outer)
      v = k.outer.back().var;
    else if (k.vector_mode == VectorMode::Inner)
      v = inner_vector_var(st);
    // An inner vector loop's blocks start at multiples of the lanes only without dynamic
    // bounds; the outer loop's always do.
    bool blocks_aligned = true;
    if (!outer)
      for (const Stage& other : k.stages)
        for (const Loop& lp : other.loops)
          if (lp.var == v && lp.begin) blocks_aligned = false;
    for (Store& s : st.stores)
      s.stream_alignment = v >= 0 && blocks_aligned ? stream_alignment(k, s, v, lanes) : 0;
  }
}

}  // namespace kiln::codegen
