// emit_gemm: the GEMM micro-kernel (see emit_gemm.h).
#include "codegen/llvm/emit_gemm.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <vector>

namespace kiln::codegen::llvm_backend {

namespace {

using llvm::Value;

class MicroKernelEmitter {
 public:
  MicroKernelEmitter(llvm::Module& m, DType dtype, int mr, int nr, int lanes, int64_t a_stride,
                     bool prefetch_b, bool b_row_table)
      : m_(m),
        b_(m.getContext()),
        mr_(mr),
        nv_(nr / lanes),
        lanes_(lanes),
        a_stride_(a_stride),
        prefetch_b_(prefetch_b),
        b_row_table_(b_row_table) {
    // A tile of few rows has too few accumulators to cover the FMA latency (about 8 in
    // flight): it keeps several sets, taking turns over k, and adds them at the end.
    sets_ = std::min(4, std::max(1, (8 + mr * nv_ - 1) / (mr * nv_)));
    elem_ = dtype == DType::F64 ? b_.getDoubleTy() : b_.getFloatTy();
    vec_ = llvm::FixedVectorType::get(elem_, static_cast<unsigned>(lanes));
  }

  llvm::Function* run(const std::string& name) {
    llvm::Type* i64 = b_.getInt64Ty();
    llvm::Type* ptr = elem_->getPointerTo();
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {i64, ptr, ptr, i64, ptr, i64, i64}, false);
    fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    if (lanes_ * elem_->getPrimitiveSizeInBits() >= 512) {
      fn_->addFnAttr("prefer-vector-width", "512");
      fn_->addFnAttr("min-legal-vector-width", "512");
    }
    auto arg = fn_->arg_begin();
    Value* K = &*arg++;
    a_ = &*arg++;
    b_ptr_ = &*arg++;
    ldb_ = &*arg++;
    Value* C = &*arg++;
    Value* ldc = &*arg++;
    Value* accumulate = &*arg++;
    for (int i = 1; i <= 2; ++i) fn_->addParamAttr(i, llvm::Attribute::NoAlias);

    auto* entry = block("entry");
    b_.SetInsertPoint(entry);
    if (b_row_table_) table_ = b_.CreateIntToPtr(ldb_, b_.getInt64Ty()->getPointerTo());
    prefetch_tile(C, ldc);
    std::vector<Value*> acc(static_cast<size_t>(sets_ * mr_ * nv_),
                            llvm::Constant::getNullValue(vec_));
    // Four steps of k per iteration while they last, then one at a time.
    Value* K4 = b_.CreateAnd(K, b_.getInt64(~int64_t{3}));
    Value* k = b_.getInt64(0);
    std::tie(k, acc) = loop(entry, b_.getInt64(0), K4, 4, acc, "main");
    std::tie(k, acc) = loop(b_.GetInsertBlock(), k, K, 1, acc, "rest");
    (void)k;
    const size_t tile = static_cast<size_t>(mr_ * nv_);
    for (size_t i = tile; i < acc.size(); ++i) acc[i % tile] = b_.CreateFAdd(acc[i % tile], acc[i]);
    acc.resize(tile);

    auto* add = block("add");
    auto* store = block("store");
    b_.CreateCondBr(b_.CreateICmpNE(accumulate, b_.getInt64(0)), add, store);
    write(add, C, ldc, acc, true);
    write(store, C, ldc, acc, false);
    return fn_;
  }

 private:
  llvm::BasicBlock* block(const char* name) {
    return llvm::BasicBlock::Create(m_.getContext(), name, fn_);
  }

  // A counted loop from `from` to `to` (exclusive) in steps of `step` values of k, each
  // step one rank-1 update of the accumulators. Leaves the builder after the loop.
  std::pair<Value*, std::vector<Value*>> loop(llvm::BasicBlock* pre, Value* from, Value* to,
                                              int step, std::vector<Value*> acc, const char* name) {
    auto* head = block(name);
    auto* body = block(name);
    auto* done = block(name);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode* k = b_.CreatePHI(b_.getInt64Ty(), 2);
    k->addIncoming(from, pre);
    std::vector<llvm::PHINode*> phis;
    for (Value* a : acc) {
      phis.push_back(b_.CreatePHI(vec_, 2));
      phis.back()->addIncoming(a, pre);
    }
    b_.CreateCondBr(b_.CreateICmpSLT(k, to), body, done);
    b_.SetInsertPoint(body);
    std::vector<Value*> cur(phis.begin(), phis.end());
    for (int s = 0; s < step; ++s) update(b_.CreateAdd(k, b_.getInt64(s)), cur, s % sets_);
    Value* next = b_.CreateAdd(k, b_.getInt64(step));
    k->addIncoming(next, b_.GetInsertBlock());
    for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(cur[i], b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(done);
    return {k, std::vector<Value*>(phis.begin(), phis.end())};
  }

  // The rows of C are far apart (a row of the output each), beyond the hardware
  // prefetcher's guess: ask for the tile's lines while the k loop runs.
  void prefetch_tile(Value* C, Value* ldc) {
    const int esize = static_cast<int>(elem_->getPrimitiveSizeInBits() / 8);
    const int row_bytes = nv_ * lanes_ * esize;
    for (int i = 0; i < mr_; ++i) {
      Value* row = b_.CreateBitCast(b_.CreateGEP(elem_, C, b_.CreateMul(b_.getInt64(i), ldc)),
                                    b_.getInt8PtrTy());
      for (int off = 0; off < row_bytes; off += 64)
        fetch(b_.CreateGEP(b_.getInt8Ty(), row, b_.getInt64(off)), 1);
    }
  }

  // A prefetch of the line at `p` into all caches, for a write when `write`.
  void fetch(Value* p, int write) {
    llvm::Function* f =
        llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::prefetch, {b_.getInt8PtrTy()});
    b_.CreateCall(f, {p, b_.getInt32(write), b_.getInt32(3), b_.getInt32(1)});
  }

  void update(Value* k, std::vector<Value*>& acc, int set) {
    Value* brow =
        b_row_table_
            ? b_.CreateGEP(elem_, b_ptr_,
                           b_.CreateLoad(b_.getInt64Ty(), b_.CreateGEP(b_.getInt64Ty(), table_, k)))
            : b_.CreateGEP(elem_, b_ptr_, b_.CreateMul(k, ldb_));
    if (prefetch_b_) {
      // Rows of a matrix read in place are a row of memory apart: too far for the hardware
      // prefetcher, so ask for the row kPrefetchRows ahead.
      Value* ahead = b_.CreateBitCast(
          b_.CreateGEP(elem_, b_ptr_,
                       b_.CreateMul(b_.CreateAdd(k, b_.getInt64(kPrefetchRows)), ldb_)),
          b_.getInt8PtrTy());
      const int row_bytes = nv_ * lanes_ * static_cast<int>(elem_->getPrimitiveSizeInBits() / 8);
      for (int off = 0; off < row_bytes; off += 64)
        fetch(b_.CreateGEP(b_.getInt8Ty(), ahead, b_.getInt64(off)), 0);
    }
    std::vector<Value*> bv;
    for (int j = 0; j < nv_; ++j) {
      Value* p = b_.CreateGEP(elem_, brow, b_.getInt64(j * lanes_));
      bv.push_back(b_.CreateAlignedLoad(vec_, b_.CreateBitCast(p, vec_->getPointerTo()),
                                        llvm::Align(elem_->getPrimitiveSizeInBits() / 8)));
    }
    Value* acol = b_.CreateGEP(elem_, a_, k);
    for (int i = 0; i < mr_; ++i) {
      Value* a = b_.CreateLoad(elem_, b_.CreateGEP(elem_, acol, b_.getInt64(i * a_stride_)));
      Value* av = b_.CreateVectorSplat(static_cast<unsigned>(lanes_), a);
      for (int j = 0; j < nv_; ++j) {
        Value*& c = acc[static_cast<size_t>((set * mr_ + i) * nv_ + j)];
        c = b_.CreateIntrinsic(llvm::Intrinsic::fma, {vec_}, {av, bv[static_cast<size_t>(j)], c});
      }
    }
  }

  void write(llvm::BasicBlock* bb, Value* C, Value* ldc, const std::vector<Value*>& acc, bool add) {
    b_.SetInsertPoint(bb);
    const llvm::Align align(elem_->getPrimitiveSizeInBits() / 8);
    for (int i = 0; i < mr_; ++i) {
      Value* row = b_.CreateGEP(elem_, C, b_.CreateMul(b_.getInt64(i), ldc));
      for (int j = 0; j < nv_; ++j) {
        Value* p = b_.CreateBitCast(b_.CreateGEP(elem_, row, b_.getInt64(j * lanes_)),
                                    vec_->getPointerTo());
        Value* v = acc[static_cast<size_t>(i * nv_ + j)];
        if (add) v = b_.CreateFAdd(v, b_.CreateAlignedLoad(vec_, p, align));
        b_.CreateAlignedStore(v, p, align);
      }
    }
    b_.CreateRetVoid();
  }

  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  int mr_, nv_, lanes_, sets_ = 1;
  int64_t a_stride_;
  bool prefetch_b_, b_row_table_;
  Value* table_ = nullptr;  // the table of B's rows, where b_row_table_
  static constexpr int kPrefetchRows = 16;
  llvm::Type* elem_ = nullptr;
  llvm::FixedVectorType* vec_ = nullptr;
  llvm::Function* fn_ = nullptr;
  Value *a_ = nullptr, *b_ptr_ = nullptr, *ldb_ = nullptr;
};

}  // namespace

llvm::Function* emit_micro_kernel(llvm::Module& module, const std::string& name, DType dtype,
                                  int mr, int nr, int lanes, int64_t a_stride, bool prefetch_b,
                                  bool b_row_table) {
  return MicroKernelEmitter(module, dtype, mr, nr, lanes, a_stride, prefetch_b, b_row_table)
      .run(name);
}

}  // namespace kiln::codegen::llvm_backend
