// choose_streaming_stores: sets Store::stream_alignment for a backend of SIMD vectors
// (the CPU's LLVM backend), which then writes the store with non-temporal vector stores of
// that alignment, past the caches, saving the read of each cache line before it is written.
// A store streams when it writes a large output (16 MiB or more) that the kernel does not
// read, contiguously along the vectorized loop (kernel.vector_mode), at positions that
// keep each vector of `lanes` elements on a boundary of min(64, vector bytes), 16 at
// least. The backend streams only where the buffer itself is 64-byte aligned (checked at
// run time). Tests: tests/codegen/streaming_stores_test.cpp.
#pragma once

#include "codegen/kernel_ir.h"

namespace kiln::codegen {

// `lanes`: the elements of one vector store (the backend's lanes times vector_unroll).
void choose_streaming_stores(Kernel& kernel, int lanes);

}  // namespace kiln::codegen
