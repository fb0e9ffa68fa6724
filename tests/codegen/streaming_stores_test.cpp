// choose_streaming_stores on kernels lowered from IR text: which stores may stream past the
// caches, and with what alignment.
#include <gtest/gtest.h>

#include "codegen/choose_streaming_stores.h"
#include "codegen/program.h"
#include "ir/parser.h"

namespace kiln::codegen {
namespace {

// The stream alignment of the one store of `exp` over f32[rows, cols], vectorized with
// `lowered_lanes` lanes and annotated for vector stores of `store_lanes` elements.
int64_t exp_store(int64_t rows, int64_t cols, int lowered_lanes, int store_lanes) {
  const std::string t = "f32[" + std::to_string(rows) + "," + std::to_string(cols) + "]";
  ir::Graph g = ir::parse_graph("func @f(%x: " + t + ") -> (" + t + ") {\n  %0 = exp %x : " + t +
                                "\n  return %0\n}");
  LowerOptions o;
  o.vector_lanes = lowered_lanes;
  Program p = build_program(g, o);
  Kernel k = p.kernels.at(0);
  choose_streaming_stores(k, store_lanes);
  for (const Stage& st : k.stages)
    for (const Store& s : st.stores) return s.stream_alignment;
  ADD_FAILURE() << "no store";
  return -1;
}

TEST(StreamingStores, LargeContiguousOutputStreamsInCacheLines) {
  EXPECT_EQ(exp_store(4096, 4096, 16, 16), 64);  // 64 MiB, vectors of 64 bytes
  EXPECT_EQ(exp_store(4096, 4096, 16, 8), 32);   // vectors of 32 bytes
}

TEST(StreamingStores, SmallOutputsAndNarrowVectorsStoreNormally) {
  EXPECT_EQ(exp_store(64, 64, 16, 16), 0);     // stays in cache
  EXPECT_EQ(exp_store(4096, 4096, 16, 2), 0);  // 8-byte vectors
  EXPECT_EQ(exp_store(4096, 4096, 1, 16), 0);  // a scalar kernel has no vector stores
}

}  // namespace
}  // namespace kiln::codegen
