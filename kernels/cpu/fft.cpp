// CpuFft: the library FFT's driver and the object code of its kernels (see fft.h).
#include "kernels/cpu/fft.h"

#include <algorithm>
#include <atomic>

#include "codegen/llvm/compiler.h"
#include "codegen/llvm/emit_kernel.h"
#include "codegen/llvm/target.h"
#include "ir/host_memory.h"

namespace kiln::kernels::cpu {

namespace {

std::atomic<int64_t> g_runs{0};

}  // namespace

std::optional<codegen::FftKernels> host_fft_kernels(const codegen::Kernel& kernel) {
#if KILN_HAS_FFTW
  if (!kernel.spectral) return std::nullopt;
  codegen::LowerOptions options;
  options.vector_lanes = codegen::llvm_backend::host_target().info.lanes;
  return codegen::make_fft_kernels(kernel, *kernel.spectral, options);
#else
  // Without FFTW the transform runs as its loop nest.
  (void)kernel;
  return std::nullopt;
#endif
}

GemmObject compile_fft_object(const codegen::FftKernels& fft, const std::string& prefix) {
  GemmObject out;
  out.names = {prefix + "_fft_pack", prefix + "_fft_epilogue"};
  out.object = codegen::llvm_backend::compile_object({&fft.pack, &fft.epilogue}, out.names);
  return out;
}

int64_t fft_library_runs() { return g_runs.load(); }

#if KILN_HAS_FFTW

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// `bytes` at a 64-byte boundary of `b`, grown as needed (FFTW plans for aligned arrays).
uint8_t* aligned_in(std::vector<uint8_t>& b, int64_t bytes) {
  if (b.size() < static_cast<size_t>(bytes) + 64) b.resize(static_cast<size_t>(bytes) + 64);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(b.data()) + 63) & ~uintptr_t{63});
}

// A per-thread staging buffer: the input (0) or output (1) rows of a block.
uint8_t* thread_staging(int which, int64_t bytes) {
  thread_local std::vector<uint8_t> buffers[2];
  return aligned_in(buffers[which], bytes);
}

}  // namespace

CpuFft::CpuFft(const codegen::Kernel& kernel, codegen::FftKernels fft,
               const std::vector<KernelFn>& fns, FftPlans& plans)
    : fft_(std::move(fft)), plans_(plans) {
  const codegen::Spectral& s = fft_.spectral;
  in_len_ = fft_in_len(s.kind, s.n);
  out_len_ = fft_out_len(s.kind, s.n);
  in_size_ = dtype_size(s.input_dtype());
  out_size_ = dtype_size(s.acc_dtype());
  num_buffers_ = static_cast<int>(kernel.buffers.size());
  num_scalars_ = static_cast<int>(kernel.scalars.size());
  pack_ = fns.at(0);
  epilogue_ = fns.at(1);
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  pack_items_ =
      codegen::llvm_backend::work_items(fft_.pack, lanes) / std::max<int64_t>(fft_.rows, 1);
  epilogue_items_ =
      codegen::llvm_backend::work_items(fft_.epilogue, lanes) / std::max<int64_t>(fft_.rows, 1);
  // Rows transformed in place of their own input would be read after a block wrote them.
  if (fft_.direct_input && fft_.direct_output &&
      fft_.direct_input->buffer == fft_.direct_output->buffer)
    fft_.direct_input.reset();
}

uint8_t* CpuFft::input_rows(uint8_t* const* buffers, int64_t r0) const {
  if (!fft_.direct_input) return nullptr;
  const codegen::RowsInBuffer& d = *fft_.direct_input;
  return buffers[d.buffer] + (d.offset + r0 * in_len_) * in_size_;
}

uint8_t* CpuFft::output_rows(uint8_t* const* buffers, int64_t r0) const {
  if (!fft_.direct_output) return nullptr;
  const codegen::RowsInBuffer& d = *fft_.direct_output;
  return buffers[d.buffer] + (d.offset + r0 * out_len_) * out_size_;
}

void CpuFft::run_rows(uint8_t* const* buffers, const uint64_t* scalars, int64_t r0, int64_t count,
                      const FftPlan& plan, uint8_t* in, uint8_t* out) const {
  // The kernels' buffers and scalars with the staging buffer and row0 appended.
  std::vector<uint8_t*> bufs(buffers, buffers + num_buffers_);
  bufs.push_back(nullptr);
  std::vector<uint64_t> scal(scalars, scalars + num_scalars_);
  scal.push_back(static_cast<uint64_t>(r0));
  uint8_t* src = input_rows(buffers, r0);
  if (!src) {
    src = in;
    bufs.back() = in;
    pack_(bufs.data(), scal.data(), r0 * pack_items_, (r0 + count) * pack_items_);
  }
  uint8_t* dst = output_rows(buffers, r0);
  plan.execute(src, dst ? dst : out);
  if (!dst) {
    bufs.back() = out;
    epilogue_(bufs.data(), scal.data(), r0 * epilogue_items_, (r0 + count) * epilogue_items_);
  }
}

void CpuFft::run(uint8_t* const* buffers, const uint64_t* scalars,
                 runtime::cpu::ThreadPool& pool) const {
  g_runs.fetch_add(1);
  const codegen::Spectral& s = fft_.spectral;
  const int64_t rows = fft_.rows;
  if (rows <= 0) return;
  const int threads = pool.size();
  // The plan of `count` rows from r0: staged rows are aligned, rows in place may not be.
  auto problem = [&](int64_t r0, int64_t count, int fftw_threads) {
    const uint8_t* in = input_rows(buffers, r0);
    const uint8_t* out = output_rows(buffers, r0);
    const bool unaligned = (in && !fft_aligned(in)) || (out && !fft_aligned(out));
    return fft_rows_problem(s.kind, s.n, count, false, unaligned, fftw_threads);
  };
  if (fft_use_fftw_threads(s.n, rows, threads)) {
    // One long transform: the pack and the epilogue over the pool, FFTW's threads between.
    const FftPlan& plan = plans_.plan(problem(0, rows, threads));
    std::vector<uint8_t*> bufs(buffers, buffers + num_buffers_);
    bufs.push_back(nullptr);
    std::vector<uint64_t> scal(scalars, scalars + num_scalars_);
    scal.push_back(0);
    uint8_t* src = input_rows(buffers, 0);
    // Whole-transform staging from kiln's host pool: recycled between runs, not zeroed.
    std::shared_ptr<uint8_t> in_rows, out_rows;
    auto take = [](int64_t bytes) {
      return HostMemoryPool::global().take(static_cast<size_t>(bytes));
    };
    if (!src) {
      in_rows = take(rows * in_len_ * in_size_);
      src = in_rows.get();
      bufs.back() = src;
      pool.parallel_for(rows * pack_items_, 1024,
                        [&](int64_t b, int64_t e) { pack_(bufs.data(), scal.data(), b, e); });
    }
    uint8_t* dst = output_rows(buffers, 0);
    if (!dst) out_rows = take(rows * out_len_ * out_size_);
    uint8_t* staged = dst ? nullptr : out_rows.get();
    plan.execute(src, dst ? dst : staged);
    if (!dst) {
      bufs.back() = staged;
      pool.parallel_for(rows * epilogue_items_, 1024,
                        [&](int64_t b, int64_t e) { epilogue_(bufs.data(), scal.data(), b, e); });
    }
    return;
  }
  const int64_t block =
      fft_block_rows(s.kind, s.n, rows, threads, !fft_.direct_input || !fft_.direct_output);
  const int64_t blocks = ceil_div(rows, block);
  // Plans are made before the tasks start (see FftPlans::run).
  std::vector<const FftPlan*> plans(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b)
    plans[static_cast<size_t>(b)] =
        &plans_.plan(problem(b * block, std::min(block, rows - b * block), 1));
  pool.parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    uint8_t* in = fft_.direct_input ? nullptr : thread_staging(0, block * in_len_ * in_size_);
    uint8_t* out = fft_.direct_output ? nullptr : thread_staging(1, block * out_len_ * out_size_);
    for (int64_t b = b0; b < b1; ++b)
      run_rows(buffers, scalars, b * block, std::min(block, rows - b * block),
               *plans[static_cast<size_t>(b)], in, out);
  });
}

#endif  // KILN_HAS_FFTW

}  // namespace kiln::kernels::cpu
