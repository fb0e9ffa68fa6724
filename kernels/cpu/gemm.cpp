// CpuGemm: the blocked GEMM driver (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "codegen/contraction.h"
#include "codegen/llvm/emit_kernel.h"
#include "codegen/llvm/target.h"
#include "ir/host_memory.h"

namespace kiln::kernels::cpu {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Adds (or copies) the valid rows x cols of a full MR x NR tile into C.
template <typename T>
void put_tile(const void* tile, int64_t nr, void* c, int64_t ldc, int64_t rows, int64_t cols,
              bool accumulate) {
  const T* t = static_cast<const T*>(tile);
  T* out = static_cast<T*>(c);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * ldc + j] = accumulate ? out[i * ldc + j] + t[i * nr + j] : t[i * nr + j];
}

// A growable per-thread buffer for packed panels of A and tail tiles.
uint8_t* thread_buffer(int which, size_t bytes) {
  thread_local std::vector<uint8_t> buffers[2];
  std::vector<uint8_t>& b = buffers[which];
  if (b.size() < bytes + 64) b.resize(bytes + 64);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(b.data()) + 63) & ~uintptr_t{63});
}

}  // namespace

struct CpuGemm::Blocking {
  int64_t kc, nc, mc;
  int64_t row_blocks;  // blocks of mc rows
  int64_t chunks;      // ranges of B's panels per row block
};

// One batch's block of columns and depth, as the tasks see it.
struct CpuGemm::Call {
  const Blocking* blk;
  uint8_t* const* buffers;
  const uint64_t* scalars;
  uint8_t* c;  // the accumulator matrix of the batch (output or scratch), row stride N
  uint8_t* packed_b;
  int64_t batch, jc, nc, pc, kc;
};

CpuGemm::CpuGemm(const codegen::Kernel& kernel, codegen::GemmKernels gemm,
                 const std::vector<KernelFn>& fns)
    : gemm_(std::move(gemm)) {
  const codegen::Contraction& c = *kernel.contraction;
  acc_ = c.acc;
  esize_ = acc_ == DType::F64 ? 8 : 4;
  batch_ = c.batch.size();
  M_ = c.m.size();
  N_ = c.n.size();
  K_ = c.k.size();
  num_buffers_ = static_cast<int>(kernel.buffers.size());
  num_scalars_ = static_cast<int>(kernel.scalars.size());
  pack_a_ = fns.at(0);
  pack_a_tail_ = fns.at(1);
  pack_b_ = fns.at(2);
  pack_b_tail_ = fns.at(3);
  epilogue_ = fns.at(4);
  micro_ = reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(5)));
  micro_tail_ = reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(6)));
  micro_wide_ = reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(7)));
  micro_narrow_ = reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(8)));
  micro_narrow_tail_ = reinterpret_cast<MicroKernel>(reinterpret_cast<uintptr_t>(fns.at(9)));
  batch_extents_ = c.batch.extents;
  b_in_place_ = gemm_.b_in_place.has_value();
  const int lanes = codegen::llvm_backend::host_target().info.lanes;
  narrow_ = narrow_columns(gemm_, acc_ == DType::F64 ? lanes / 2 : lanes);
  using codegen::llvm_backend::work_items;
  a_items_ = work_items(gemm_.pack_a, lanes);
  a_tail_items_ = work_items(gemm_.pack_a_tail, lanes);
  b_items_ = work_items(gemm_.pack_b, lanes) / gemm_.tile.kc;
  b_tail_items_ = work_items(gemm_.pack_b_tail, lanes) / gemm_.tile.kc;
  epilogue_lanes_ = codegen::llvm_backend::kernel_lanes(gemm_.epilogue, lanes);
}

CpuGemm::Blocking CpuGemm::blocking(int threads) const {
  const codegen::CpuGemmTile& t = gemm_.tile;
  Blocking b;
  b.kc = std::max<int64_t>(1, std::min(t.kc, K_));  // a small product packs only its depth
  // A block of B (KC x NC) stays in the last-level cache, a block of A (MC x KC) in L2.
  b.nc = round_up(std::min<int64_t>(N_, acc_ == DType::F64 ? 1536 : 3072), t.nr);
  const int64_t mc_max = 480;
  const int64_t panels = ceil_div(std::min(N_, b.nc), t.nr);
  // Ranges of panels must start on a vector of the epilogue.
  if (threads == 1 || M_ >= 4 * t.mr * threads || t.nr % epilogue_lanes_ != 0) {
    // Row blocks, as many per thread.
    int64_t blocks = round_up(ceil_div(M_, mc_max), threads);
    b.mc = round_up(ceil_div(M_, blocks), t.mr);
    b.chunks = 1;
  } else {
    // Few rows: every task takes all of them and a range of B's panels.
    b.mc = M_;
    b.chunks = std::min<int64_t>(panels, 4 * threads);
  }
  b.row_blocks = ceil_div(M_, b.mc);
  return b;
}

void CpuGemm::pack_b_block(const Call& call, int64_t panel) const {
  const int nr = gemm_.tile.nr;
  const int64_t n0 = call.jc + panel * nr;
  std::vector<uint8_t*> bufs(call.buffers, call.buffers + num_buffers_);
  bufs.push_back(call.packed_b + panel * call.blk->kc * nr * esize_);
  std::vector<uint64_t> scal(call.scalars, call.scalars + num_scalars_);
  scal.insert(scal.end(), {static_cast<uint64_t>(call.batch), static_cast<uint64_t>(call.pc),
                           static_cast<uint64_t>(n0)});
  if (b_in_place_) {
    // A matrix in memory: its partial panel is copied and padded with zeros here (the
    // guarded pack kernel would gather it), unless the narrow micro-kernels read it.
    const int64_t cols = std::min<int64_t>(nr, N_ - n0);
    auto [src, ldb] = in_place_b(call, n0);
    uint8_t* dst = bufs.back();
    for (int64_t k = 0; k < call.kc; ++k) {
      std::memcpy(dst + k * nr * esize_, src + k * ldb * esize_,
                  static_cast<size_t>(cols * esize_));
      std::memset(dst + (k * nr + cols) * esize_, 0, static_cast<size_t>((nr - cols) * esize_));
    }
  } else if (n0 + nr <= N_) {
    pack_b_(bufs.data(), scal.data(), 0, call.kc * b_items_);
  } else {
    pack_b_tail_(bufs.data(), scal.data(), 0, call.kc * b_tail_items_);
  }
}

std::pair<const uint8_t*, int64_t> CpuGemm::in_place_b(const Call& call, int64_t n0) const {
  const codegen::InPlaceB& in = *gemm_.b_in_place;
  int64_t offset = in.offset + call.pc * in.ldb + n0;
  int64_t rest = call.batch;
  for (size_t i = batch_extents_.size(); i-- > 0;) {
    offset += in.batch_strides[i] * (rest % batch_extents_[i]);
    rest /= batch_extents_[i];
  }
  return {call.buffers[in.buffer] + offset * esize_, in.ldb};
}

std::pair<const uint8_t*, int64_t> CpuGemm::panel_of_b(const Call& call, int64_t panel) const {
  const int nr = gemm_.tile.nr;
  const int64_t n0 = call.jc + panel * nr;
  if (b_in_place_ && n0 + nr <= N_) return in_place_b(call, n0);
  return {call.packed_b + panel * call.blk->kc * nr * esize_, nr};
}

void CpuGemm::task(const Call& call, int64_t index) const {
  const Blocking& blk = *call.blk;
  const int mr = gemm_.tile.mr, nr = gemm_.tile.nr;
  const int64_t kc_max = gemm_.tile.kc;
  const int64_t m0 = (index / blk.chunks) * blk.mc, m1 = std::min(M_, m0 + blk.mc);
  const int64_t panels = ceil_div(call.nc, nr), chunk = index % blk.chunks;
  const int64_t p0 = panels * chunk / blk.chunks, p1 = panels * (chunk + 1) / blk.chunks;
  if (p0 == p1) return;

  // Pack this task's rows of A, panel by panel.
  const int64_t a_panels = ceil_div(m1 - m0, mr);
  uint8_t* packed_a = thread_buffer(0, static_cast<size_t>(a_panels * kc_max * mr * esize_));
  std::vector<uint8_t*> bufs(call.buffers, call.buffers + num_buffers_);
  bufs.push_back(nullptr);
  std::vector<uint64_t> scal(call.scalars, call.scalars + num_scalars_);
  scal.insert(scal.end(), {static_cast<uint64_t>(call.batch), static_cast<uint64_t>(call.pc), 0});
  for (int64_t ip = 0; ip < a_panels; ++ip) {
    bufs.back() = packed_a + ip * kc_max * mr * esize_;
    scal.back() = static_cast<uint64_t>(m0 + ip * mr);
    if (call.kc == kc_max)
      pack_a_(bufs.data(), scal.data(), 0, a_items_);
    else
      pack_a_tail_(bufs.data(), scal.data(), 0, a_tail_items_);
  }

  const bool accumulate = call.pc > 0;
  uint8_t* tile = thread_buffer(1, static_cast<size_t>(mr * nr * esize_));
  for (int64_t jp = p0; jp < p1; ++jp) {
    const int64_t n = call.jc + jp * nr, cols = std::min<int64_t>(nr, N_ - n);
    if (b_in_place_ && M_ <= kWideRows && jp + kWidePanels <= p1 && n + kWidePanels * nr <= N_) {
      // Few rows: kWidePanels panels of B at once, read in place.
      const auto [b, ldb] = in_place_b(call, n);
      micro_wide_(call.kc, packed_a, b, ldb, call.c + (m0 * N_ + n) * esize_, N_, accumulate);
      jp += kWidePanels - 1;
      continue;
    }
    const bool narrow = cols == narrow_ && cols < nr;
    const auto [b, ldb] = narrow && b_in_place_ ? in_place_b(call, n) : panel_of_b(call, jp);
    for (int64_t ip = 0; ip < a_panels; ++ip) {
      const int64_t m = m0 + ip * mr, rows = std::min<int64_t>(mr, m1 - m);
      const uint8_t* a = packed_a + ip * kc_max * mr * esize_;
      uint8_t* c = call.c + (m * N_ + n) * esize_;
      if (rows == mr && cols == nr) {
        micro_(call.kc, a, b, ldb, c, N_, accumulate);
      } else if (rows == gemm_.mr_tail && cols == nr) {
        micro_tail_(call.kc, a, b, ldb, c, N_, accumulate);
      } else if (narrow && rows == mr) {
        micro_narrow_(call.kc, a, b, ldb, c, N_, accumulate);
      } else if (narrow && rows == gemm_.mr_tail) {
        micro_narrow_tail_(call.kc, a, b, ldb, c, N_, accumulate);
      } else {
        micro_(call.kc, a, b, ldb, tile, nr, 0);
        if (acc_ == DType::F64)
          put_tile<double>(tile, nr, c, N_, rows, cols, accumulate);
        else
          put_tile<float>(tile, nr, c, N_, rows, cols, accumulate);
      }
    }
  }
  if (!gemm_.direct_output && call.pc + call.kc >= K_)
    epilogue_rows(call, m0, m1, call.jc + p0 * nr, std::min(N_, call.jc + p1 * nr));
}

void CpuGemm::epilogue_rows(const Call& call, int64_t m0, int64_t m1, int64_t n0,
                            int64_t n1) const {
  std::vector<uint8_t*> bufs(call.buffers, call.buffers + num_buffers_);
  bufs.push_back(call.c);
  // Work items of a row: n in blocks of the epilogue's lanes (n0 is a multiple of them).
  const int64_t l = epilogue_lanes_, row_items = ceil_div(N_, l);
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t row = (call.batch * M_ + m) * row_items;
    epilogue_(bufs.data(), call.scalars, row + n0 / l, row + ceil_div(n1, l));
  }
}

void CpuGemm::run(uint8_t* const* buffers, const uint64_t* scalars,
                  runtime::cpu::ThreadPool& pool) const {
  const int nr = gemm_.tile.nr;
  const Blocking blk = blocking(pool.size());
  std::shared_ptr<uint8_t> scratch, packed_b;
  auto& memory = HostMemoryPool::global();
  packed_b = memory.take(static_cast<size_t>(blk.kc * blk.nc * esize_));
  if (!gemm_.direct_output) scratch = memory.take(static_cast<size_t>(M_ * N_ * esize_));
  const int64_t tasks = blk.row_blocks * blk.chunks;
  // A product of a few hundred thousand multiply-adds takes microseconds: waking the
  // workers would cost about as much as they save.
  const bool serial = M_ * N_ * K_ < (int64_t{1} << 19);
  const int64_t grain = serial ? tasks : 1;
  for (int64_t batch = 0; batch < batch_; ++batch) {
    uint8_t* c =
        gemm_.direct_output ? buffers[gemm_.out_buffer] + batch * M_ * N_ * esize_ : scratch.get();
    for (int64_t jc = 0; jc < N_; jc += blk.nc) {
      for (int64_t pc = 0; pc < K_; pc += blk.kc) {
        Call call{&blk,
                  buffers,
                  scalars,
                  c,
                  packed_b.get(),
                  batch,
                  jc,
                  std::min(blk.nc, N_ - jc),
                  pc,
                  std::min(blk.kc, K_ - pc)};
        const int64_t panels = ceil_div(call.nc, nr);
        if (!b_in_place_)
          pool.parallel_for(panels, serial ? panels : 1, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) pack_b_block(call, p);
          });
        else if (call.nc % nr && call.nc % nr != narrow_)
          pack_b_block(call, panels - 1);  // the partial panel at the end of B
        pool.parallel_for(tasks, grain, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) task(call, t);
        });
      }
    }
  }
}

}  // namespace kiln::kernels::cpu
