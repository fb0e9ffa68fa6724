// emit_kernel: the loop structure, memory accesses and stages of a kernel in LLVM IR.
#include "codegen/llvm/emit_kernel.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "codegen/choose_pairwise_sums.h"
#include "codegen/choose_streaming_stores.h"
#include "codegen/kernel_passes.h"
#include "codegen/llvm/emit_context.h"
#include "codegen/llvm/emit_ops.h"
#include "ir/error.h"

namespace kiln::codegen::llvm_backend {

int kernel_lanes(const Kernel& k, int lanes) {
  if (k.vector_mode == VectorMode::None) return 1;
  return std::max(lanes / std::max(k.vector_narrowing, 1), 1) * std::max(k.vector_unroll, 1);
}

int64_t work_items(const Kernel& k, int lanes) {
  lanes = kernel_lanes(k, lanes);
  int64_t n = 1;
  for (size_t i = 0; i < k.outer.size(); ++i) {
    int64_t e = k.outer[i].extent;
    if (i + 1 == k.outer.size() && k.vector_mode == VectorMode::Outer) e = (e + lanes - 1) / lanes;
    n *= e;
  }
  return n;
}

namespace {

using llvm::Value;

[[noreturn]] void internal(const std::string& what) {
  throw CompileError("cpu backend: internal error: " + what);
}

// A loop-carried value of a kiln dtype, kept in allocas that LLVM promotes to registers.
struct Slot {
  llvm::AllocaInst* re = nullptr;
  llvm::AllocaInst* im = nullptr;
};

class KernelEmitter {
 public:
  KernelEmitter(const Kernel& k, llvm::Module& m, const TargetInfo& t)
      : k_(k), c_(m, t), W_(std::max(kernel_lanes(k, t.lanes), 2)) {}

  llvm::Function* run(const std::string& name) {
    auto& b = c_.b;
    llvm::Type* i8pp = b.getInt8PtrTy()->getPointerTo();
    llvm::Type* i64p = b.getInt64Ty()->getPointerTo();
    auto* fty =
        llvm::FunctionType::get(b.getVoidTy(), {i8pp, i64p, b.getInt64Ty(), b.getInt64Ty()}, false);
    fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, c_.module);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    if (W_ >= 16) {
      fn_->addFnAttr("prefer-vector-width", "512");
      fn_->addFnAttr("min-legal-vector-width", "512");
    }
    auto arg = fn_->arg_begin();
    Value* bufs = &*arg++;
    Value* scalars = &*arg++;
    Value* begin = &*arg++;
    Value* end = &*arg++;
    c_.entry = llvm::BasicBlock::Create(c_.ctx, "entry", fn_);
    b.SetInsertPoint(c_.entry);
    for (size_t i = 0; i < k_.buffers.size(); ++i) {
      const BufferParam& bp = k_.buffers[i];
      llvm::Type* et = elem_type(bp.dtype);
      if (bp.local) {
        // A row buffer of this instance, on its stack.
        int64_t n = std::max<int64_t>(bp.numel, 1) * (bp.dtype == DType::C64 ? 2 : 1);
        llvm::AllocaInst* a =
            c_.entry_alloca(llvm::ArrayType::get(et, static_cast<uint64_t>(n)), "row");
        a->setAlignment(llvm::Align(64));
        buf_ptr_.push_back(b.CreateBitCast(a, et->getPointerTo()));
        continue;
      }
      Value* p = b.CreateLoad(b.getInt8PtrTy(), b.CreateConstGEP1_64(b.getInt8PtrTy(), bufs, i));
      buf_ptr_.push_back(b.CreateBitCast(p, et->getPointerTo()));
    }
    for (size_t i = 0; i < k_.scalars.size(); ++i) {
      Value* raw = b.CreateLoad(b.getInt64Ty(), b.CreateConstGEP1_64(b.getInt64Ty(), scalars, i));
      scalar_vals_.push_back(decode_scalar(k_.scalars[i], raw));
    }
    scopes_.emplace_back();
    emit_outer(begin, end);
    // Streaming stores are weakly ordered: make them visible before the kernel returns.
    if (streaming_) b.CreateFence(llvm::AtomicOrdering::SequentiallyConsistent);
    b.CreateRetVoid();
    return fn_;
  }

 private:
  // ---- types and memory ----

  llvm::Type* elem_type(DType t) {
    return t == DType::C64 ? c_.b.getFloatTy() : c_.storage_type(t);
  }

  Val decode_scalar(DType t, Value* raw) {
    auto& b = c_.b;
    switch (t) {
      case DType::Bool: return {b.CreateICmpNE(raw, b.getInt64(0))};
      case DType::I8:
      case DType::U8:
      case DType::I32: return {b.CreateTrunc(raw, c_.scalar_type(t))};
      case DType::I64: return {raw};
      case DType::F16:
      case DType::BF16:
      case DType::F32: return {b.CreateBitCast(b.CreateTrunc(raw, b.getInt32Ty()), b.getFloatTy())};
      case DType::F64: return {b.CreateBitCast(raw, b.getDoubleTy())};
      case DType::C64: {
        Value* re = b.CreateBitCast(b.CreateTrunc(raw, b.getInt32Ty()), b.getFloatTy());
        Value* im =
            b.CreateBitCast(b.CreateTrunc(b.CreateLShr(raw, 32), b.getInt32Ty()), b.getFloatTy());
        return {re, im};
      }
    }
    return {raw};
  }

  Slot make_slot(DType t, int width) {
    Slot s;
    s.re = c_.entry_alloca(c_.type(t, width));
    if (is_complex(t)) s.im = c_.entry_alloca(c_.type(t, width));
    return s;
  }
  Val load_slot(const Slot& s) {
    Val v{c_.b.CreateLoad(s.re->getAllocatedType(), s.re)};
    if (s.im) v.im = c_.b.CreateLoad(s.im->getAllocatedType(), s.im);
    return v;
  }
  void store_slot(const Slot& s, Val v) {
    c_.b.CreateStore(v.re, s.re);
    if (s.im) c_.b.CreateStore(v.im, s.im);
  }

  void mark_invariant(llvm::Instruction* load, int buf) {
    if (!k_.buffers[buf].written)
      load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(c_.ctx, {}));
  }

  // ---- loops ----

  // for (iv = begin; iv + step <= end; iv += step) body(iv); returns iv after the loop.
  Value* counted_loop(Value* begin, Value* end, int64_t step,
                      const std::function<void(Value*)>& body) {
    auto& b = c_.b;
    llvm::BasicBlock* pre = b.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(c_.ctx, "loop", fn_);
    auto* body_bb = llvm::BasicBlock::Create(c_.ctx, "body", fn_);
    auto* exit = llvm::BasicBlock::Create(c_.ctx, "exit", fn_);
    b.CreateBr(header);
    b.SetInsertPoint(header);
    llvm::PHINode* iv = b.CreatePHI(b.getInt64Ty(), 2);
    iv->addIncoming(begin, pre);
    Value* cond = step == 1 ? b.CreateICmpSLT(iv, end)
                            : b.CreateICmpSLE(b.CreateAdd(iv, b.getInt64(step)), end);
    b.CreateCondBr(cond, body_bb, exit);
    b.SetInsertPoint(body_bb);
    scopes_.emplace_back();
    body(iv);
    scopes_.pop_back();
    Value* next = b.CreateAdd(iv, b.getInt64(step));
    iv->addIncoming(next, b.GetInsertBlock());
    b.CreateBr(header);
    b.SetInsertPoint(exit);
    return iv;
  }

  // Vector lanes along `var`: its values base + 0..W-1.
  struct VectorState {
    int var;
    Value* lane0;
    bool outer;
  };
  VectorState enter_vector(int var, Value* base, bool outer) {
    VectorState saved{vec_var_, lane0_, outer_vector_};
    auto& b = c_.b;
    std::vector<llvm::Constant*> iota;
    for (int l = 0; l < W_; ++l) iota.push_back(b.getInt64(l));
    vars_[var] = b.CreateAdd(c_.splat(base, W_), llvm::ConstantVector::get(iota));
    vec_var_ = var;
    lane0_ = base;
    outer_vector_ = outer;
    return saved;
  }
  void leave_vector(const VectorState& s) {
    vec_var_ = s.var;
    lane0_ = s.lane0;
    outer_vector_ = s.outer;
  }

  // The outer loops as the digits of an odometer over [begin, end), the last digit the
  // fastest: the outer loops in order, or with walk_outer (choose_outer_walk.h) that loop
  // moved last, after the vector blocks of the last loop.
  void emit_outer(Value* begin, Value* end) {
    auto& b = c_.b;
    const bool outer_vec = k_.vector_mode == VectorMode::Outer && !k_.outer.empty();
    const size_t n = k_.outer.size();
    std::vector<size_t> order;  // digit -> outer loop
    for (size_t i = 0; i < n; ++i)
      if (static_cast<int>(i) != k_.walk_outer) order.push_back(i);
    if (k_.walk_outer >= 0 && outer_vec) order.push_back(static_cast<size_t>(k_.walk_outer));
    if (order.size() != n) internal("walk_outer outside the outer loops or without vectors");
    std::vector<int64_t> dims;
    for (size_t i : order) {
      int64_t e = k_.outer[i].extent;
      if (outer_vec && i + 1 == n) e = (e + W_ - 1) / W_;
      dims.push_back(e);
    }
    std::vector<llvm::AllocaInst*> idx(n);
    Value* rem = begin;
    for (size_t d = n; d-- > 0;) {
      idx[d] = c_.entry_alloca(b.getInt64Ty(), "odometer");
      Value* ext = b.getInt64(std::max<int64_t>(dims[d], 1));
      b.CreateStore(b.CreateURem(rem, ext), idx[d]);
      rem = b.CreateUDiv(rem, ext);
    }
    counted_loop(begin, end, 1, [&](Value*) {
      std::vector<Value*> cur(n);
      Value* block = nullptr;  // the vector block of the last loop
      for (size_t d = 0; d < n; ++d) {
        cur[d] = b.CreateLoad(b.getInt64Ty(), idx[d]);
        if (outer_vec && order[d] + 1 == n)
          block = cur[d];
        else
          vars_[k_.outer[order[d]].var] = cur[d];
      }
      if (outer_vec)
        emit_outer_vector_block(block);
      else
        emit_stages();
      // Advance the odometer by one.
      Value* carry = b.getTrue();
      for (size_t d = n; d-- > 0;) {
        Value* inc = b.CreateAdd(cur[d], b.getInt64(1));
        Value* wrap = b.CreateICmpEQ(inc, b.getInt64(dims[d]));
        Value* next = b.CreateSelect(carry, b.CreateSelect(wrap, b.getInt64(0), inc), cur[d]);
        b.CreateStore(next, idx[d]);
        carry = b.CreateAnd(carry, wrap);
      }
    });
  }

  // One block of W positions of the last outer loop: vector code, the lanes past the loop's
  // end switched off in the last block when the extent is not a multiple of W (their loads
  // and stores are masked; what they compute is dropped). A 14-wide row thus runs as one
  // vector of 16 lanes instead of 14 scalar iterations.
  void emit_outer_vector_block(Value* block) {
    auto& b = c_.b;
    const Loop& last = k_.outer.back();
    Value* base = b.CreateMul(block, b.getInt64(W_));
    auto vector_body = [&](bool masked) {
      scopes_.emplace_back();
      VectorState saved = enter_vector(last.var, base, true);
      if (masked) lane_mask_ = b.CreateICmpSLT(vars_[last.var], c_.i64(last.extent, W_));
      emit_stages();
      lane_mask_ = nullptr;
      leave_vector(saved);
      scopes_.pop_back();
    };
    if (last.extent % W_ == 0) {
      vector_body(false);
      return;
    }
    auto* vec_bb = llvm::BasicBlock::Create(c_.ctx, "block.vector", fn_);
    auto* tail_bb = llvm::BasicBlock::Create(c_.ctx, "block.tail", fn_);
    auto* join = llvm::BasicBlock::Create(c_.ctx, "block.join", fn_);
    b.CreateCondBr(b.CreateICmpSLE(b.CreateAdd(base, b.getInt64(W_)), b.getInt64(last.extent)),
                   vec_bb, tail_bb);
    b.SetInsertPoint(vec_bb);
    vector_body(false);
    b.CreateBr(join);
    b.SetInsertPoint(tail_bb);
    vector_body(true);
    b.CreateBr(join);
    b.SetInsertPoint(join);
  }

  // Whole blocks of a pairwise sum's vector loop: `steps` vector steps, then `done`.
  struct VectorBlocks {
    int64_t steps;  // 0 (as value-initialized): no blocks
    std::function<void()> done;
  };

  // The loops of a stage; the innermost, when it is `vector_var`, as a vector loop and a
  // scalar remainder. body(true) runs in the vector loop. With `blocks`, the vector loop
  // runs whole blocks first, each a loop of a fixed count (which LLVM unrolls), then what
  // is left; blocks_ is true in the body while it runs in a whole block.
  void emit_nest(const std::vector<Loop>& loops, size_t i, int vector_var,
                 const std::function<void(bool)>& body, const VectorBlocks& blocks = {}) {
    if (i == loops.size()) {
      body(false);
      return;
    }
    auto& b = c_.b;
    const Loop& l = loops[i];
    Value* begin = l.begin ? scalar(emit(l.begin)) : b.getInt64(0);
    Value* end = l.end ? scalar(emit(l.end)) : b.getInt64(l.extent);
    if (i + 1 == loops.size() && l.var == vector_var) {
      // With static bounds, a loop that cannot run is not emitted (less to compile).
      const bool fixed = !l.begin;
      Value* after = begin;
      const int64_t block_len = blocks.steps * W_;
      if (blocks.steps > 0 && (!fixed || l.extent >= block_len))
        after = counted_loop(begin, end, block_len, [&](Value* start) {
          in_block_ = true;
          counted_loop(start, b.CreateAdd(start, b.getInt64(block_len)), W_, [&](Value* iv) {
            VectorState saved = enter_vector(l.var, iv, false);
            body(true);
            leave_vector(saved);
          });
          in_block_ = false;
          blocks.done();
        });
      const int64_t left = block_len > 0 ? l.extent % block_len : l.extent;
      if (!fixed || left >= W_)
        after = counted_loop(after, end, W_, [&](Value* iv) {
          VectorState saved = enter_vector(l.var, iv, false);
          body(true);
          leave_vector(saved);
        });
      if (!fixed || l.extent % W_ != 0)
        counted_loop(after, end, 1, [&](Value* iv) {
          vars_[l.var] = iv;
          body(false);
        });
      return;
    }
    counted_loop(begin, end, 1, [&](Value* iv) {
      vars_[l.var] = iv;
      emit_nest(loops, i + 1, vector_var, body, blocks);
    });
  }

  Value* scalar(Val v) {
    if (c_.width_of(v.re) > 1) internal("a loop bound that varies across lanes");
    return v.re;
  }

  // ---- stages ----

  void emit_stages() {
    stage_vals_.assign(k_.stages.size(), Val{});
    for (size_t s = 0; s < k_.stages.size(); ++s) {
      const Stage& st = k_.stages[s];
      switch (st.kind) {
        case StageKind::Reduce: emit_reduce(s, st); break;
        case StageKind::Loop: emit_loop_stage(st); break;
        case StageKind::Scan: emit_scan(s, st); break;
      }
    }
  }

  int outer_width() const { return outer_vector_ ? W_ : 1; }

  int stage_vector_var(const Stage& st) const {
    if (k_.vector_mode != VectorMode::Inner || outer_vector_) return -1;
    return inner_vector_var(st);
  }

  // A tree reduction of a vector's lanes.
  Val horizontal(ReduceOp op, DType acc, Val v) {
    auto& b = c_.b;
    int w = c_.width_of(v.re);
    while (w > 1) {
      int h = w / 2;
      std::vector<int> lo, hi;
      for (int l = 0; l < h; ++l) lo.push_back(l), hi.push_back(l + h);
      auto part = [&](Value* x, const std::vector<int>& mask) -> Value* {
        if (!x) return nullptr;
        if (h == 1) return b.CreateExtractElement(x, static_cast<uint64_t>(mask[0]));
        return b.CreateShuffleVector(x, mask);
      };
      Val a{part(v.re, lo), part(v.im, lo)}, c{part(v.re, hi), part(v.im, hi)};
      v = reduce_combine(c_, op, acc, a, c);
      w = h;
    }
    return v;
  }

  // ---- pairwise sums (Stage::pairwise_block) ----

  // A binary-counter cascade of block sums of `width` lanes: levels[j] holds the sum of
  // 2^j blocks while bit j of `count` (the blocks pushed) is set. Pushing a block adds the
  // levels of the count's low set bits to it, as the tree of a pairwise sum would, and
  // stores it at the first clear one. `steps` counts the additions of the open block.
  struct Cascade {
    llvm::AllocaInst* levels = nullptr;
    llvm::AllocaInst* count = nullptr;
    llvm::AllocaInst* steps = nullptr;
    int depth = 0;
    int width = 1;
  };

  Cascade make_cascade(const Stage& st, int width, int64_t additions) {
    auto& b = c_.b;
    Cascade cc;
    cc.width = width;
    cc.depth = pairwise_levels(additions, st.pairwise_block);
    llvm::Type* vt = c_.type(st.acc_dtype, width);
    cc.levels =
        c_.entry_alloca(llvm::ArrayType::get(vt, static_cast<uint64_t>(cc.depth)), "levels");
    cc.count = c_.entry_alloca(b.getInt64Ty(), "blocks");
    cc.steps = c_.entry_alloca(b.getInt64Ty(), "steps");
    b.CreateStore(b.getInt64(0), cc.count);
    b.CreateStore(b.getInt64(0), cc.steps);
    return cc;
  }

  llvm::Value* level_ptr(const Cascade& cc, llvm::Value* j) {
    return c_.b.CreateInBoundsGEP(cc.levels->getAllocatedType(), cc.levels, {c_.b.getInt64(0), j});
  }

  // After one more addition into `acc`: when the block is full, pushes it and restarts it.
  void cascade_step(const Stage& st, const Cascade& cc, const Slot& acc) {
    auto& b = c_.b;
    Value* steps = b.CreateAdd(b.CreateLoad(b.getInt64Ty(), cc.steps), b.getInt64(1));
    Value* full = b.CreateICmpEQ(steps, b.getInt64(st.pairwise_block));
    b.CreateStore(b.CreateSelect(full, b.getInt64(0), steps), cc.steps);
    auto* push_bb = llvm::BasicBlock::Create(c_.ctx, "pairwise.push", fn_);
    auto* cont = llvm::BasicBlock::Create(c_.ctx, "pairwise.cont", fn_);
    b.CreateCondBr(full, push_bb, cont, llvm::MDBuilder(c_.ctx).createBranchWeights(1, 15));
    b.SetInsertPoint(push_bb);
    cascade_push(st, cc, acc);
    b.CreateBr(cont);
    b.SetInsertPoint(cont);
  }

  // Pushes the open block `acc` onto the cascade and restarts it (and its step count).
  void cascade_push(const Stage& st, const Cascade& cc, const Slot& acc) {
    auto& b = c_.b;
    b.CreateStore(b.getInt64(0), cc.steps);
    llvm::Type* vt = c_.type(st.acc_dtype, cc.width);
    Value* n = b.CreateLoad(b.getInt64Ty(), cc.count);
    Value* block = load_slot(acc).re;
    store_slot(acc, reduce_identity(c_, st.op, st.acc_dtype, cc.width));
    b.CreateStore(b.CreateAdd(n, b.getInt64(1)), cc.count);
    // while (m & 1) { c = levels[j] + c; ++j; m >>= 1; }  levels[j] = c;
    llvm::BasicBlock* pre = b.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(c_.ctx, "pairwise.carry", fn_);
    auto* carry = llvm::BasicBlock::Create(c_.ctx, "pairwise.add", fn_);
    auto* done = llvm::BasicBlock::Create(c_.ctx, "pairwise.store", fn_);
    b.CreateBr(head);
    b.SetInsertPoint(head);
    llvm::PHINode* j = b.CreatePHI(b.getInt64Ty(), 2);
    llvm::PHINode* m = b.CreatePHI(b.getInt64Ty(), 2);
    llvm::PHINode* c = b.CreatePHI(vt, 2);
    j->addIncoming(b.getInt64(0), pre);
    m->addIncoming(n, pre);
    c->addIncoming(block, pre);
    b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(m, b.getInt64(1)), b.getInt64(0)), carry, done);
    b.SetInsertPoint(carry);
    Value* lower = b.CreateLoad(vt, level_ptr(cc, j));
    Value* sum = reduce_combine(c_, st.op, st.acc_dtype, Val{lower}, Val{c}).re;
    j->addIncoming(b.CreateAdd(j, b.getInt64(1)), carry);
    m->addIncoming(b.CreateLShr(m, b.getInt64(1)), carry);
    c->addIncoming(sum, carry);
    b.CreateBr(head);
    b.SetInsertPoint(done);
    b.CreateStore(c, level_ptr(cc, j));
  }

  // The open block plus every level the count holds, lowest first.
  Val cascade_total(const Stage& st, const Cascade& cc, const Slot& acc) {
    auto& b = c_.b;
    llvm::Type* vt = c_.type(st.acc_dtype, cc.width);
    Value* n = b.CreateLoad(b.getInt64Ty(), cc.count);
    Value* total = load_slot(acc).re;
    for (int j = 0; j < cc.depth; ++j) {
      Value* has = b.CreateICmpNE(b.CreateAnd(n, b.getInt64(int64_t{1} << j)), b.getInt64(0));
      // Levels never written are not read: a branch, not a select of an undefined value.
      llvm::BasicBlock* pre = b.GetInsertBlock();
      auto* add_bb = llvm::BasicBlock::Create(c_.ctx, "pairwise.level", fn_);
      auto* join = llvm::BasicBlock::Create(c_.ctx, "pairwise.next", fn_);
      b.CreateCondBr(has, add_bb, join);
      b.SetInsertPoint(add_bb);
      Value* lv = b.CreateLoad(vt, level_ptr(cc, b.getInt64(j)));
      Value* sum = reduce_combine(c_, st.op, st.acc_dtype, Val{total}, Val{lv}).re;
      b.CreateBr(join);
      b.SetInsertPoint(join);
      llvm::PHINode* phi = b.CreatePHI(vt, 2);
      phi->addIncoming(total, pre);
      phi->addIncoming(sum, add_bb);
      total = phi;
    }
    return {total};
  }

  void emit_reduce(size_t s, const Stage& st) {
    auto& b = c_.b;
    const int aw = outer_width();
    const DType acc = st.acc_dtype;
    const bool arg = st.op == ReduceOp::ArgMax || st.op == ReduceOp::ArgMin;
    Slot acc_slot = make_slot(acc, aw);
    store_slot(acc_slot, reduce_identity(c_, st.op, acc, aw));
    llvm::AllocaInst* pos_slot = nullptr;
    if (arg) {
      pos_slot = c_.entry_alloca(c_.type(DType::I64, aw));
      b.CreateStore(c_.i64(0, aw), pos_slot);
    }
    const int iv = stage_vector_var(st);
    Slot vacc;
    if (iv >= 0) {
      vacc = make_slot(acc, W_);
      store_slot(vacc, reduce_identity(c_, st.op, acc, W_));
    }
    // Pairwise: one accumulator of blocks (the vector one when the stage is vectorized,
    // which then also takes the scalar remainder, in its lane 0) and its cascade.
    const bool pairwise = st.pairwise_block > 0 && !arg && !is_complex(acc);
    Cascade cascade;
    if (pairwise) {
      // Additions into the block accumulator: one per vector step and per remainder element
      // of a vectorized innermost loop, one per iteration otherwise.
      int64_t additions = loop_product(st.loops);
      if (iv >= 0) {
        const int64_t inner = st.loops.back().extent;
        additions = additions / std::max<int64_t>(inner, 1) * (inner / W_ + inner % W_);
      }
      cascade = make_cascade(st, iv >= 0 ? W_ : aw, additions);
    }
    const Slot& blocks = iv >= 0 ? vacc : acc_slot;
    // A vectorized sum runs whole blocks of vector steps where it can; the steps outside
    // them (and scalar remainders) count towards the open block one by one. A whole block
    // pushes what the open block held before it too: at most 2 * block - 1 additions.
    VectorBlocks whole{};
    if (pairwise && iv >= 0) {
      whole.steps = st.pairwise_block;
      whole.done = [&] { cascade_push(st, cascade, blocks); };
    }
    emit_nest(
        st.loops, 0, iv,
        [&](bool vec) {
          Val v = emit(st.value);
          for (const Store& store : st.stores) emit_store(store);
          if (pairwise) {
            Val add = c_.splat(v, cascade.width);
            if (iv >= 0 && !vec)
              add = Val{
                  b.CreateInsertElement(reduce_identity(c_, st.op, acc, W_).re, v.re, uint64_t{0})};
            store_slot(blocks, reduce_combine(c_, st.op, acc, load_slot(blocks), add));
            if (!in_block_) cascade_step(st, cascade, blocks);
            return;
          }
          if (vec) {
            store_slot(vacc, reduce_combine(c_, st.op, acc, load_slot(vacc), c_.splat(v, W_)));
            return;
          }
          v = c_.splat(v, aw);
          if (!arg) {
            store_slot(acc_slot, reduce_combine(c_, st.op, acc, load_slot(acc_slot), v));
            return;
          }
          Val best = load_slot(acc_slot);
          Value* pos = c_.splat(emit(st.position).re, aw);
          Value* first = b.CreateICmpEQ(pos, c_.i64(0, aw));
          Value* take = b.CreateOr(first, arg_better(c_, st.op, acc, v, best));
          store_slot(acc_slot, Val{b.CreateSelect(take, v.re, best.re),
                                   v.im ? b.CreateSelect(take, v.im, best.im) : nullptr});
          b.CreateStore(
              b.CreateSelect(take, pos, b.CreateLoad(pos_slot->getAllocatedType(), pos_slot)),
              pos_slot);
        },
        whole);
    if (pairwise) store_slot(blocks, cascade_total(st, cascade, blocks));
    if (iv >= 0) {
      Val total = horizontal(st.op, acc, load_slot(vacc));
      store_slot(acc_slot, reduce_combine(c_, st.op, acc, load_slot(acc_slot), total));
    }
    stage_vals_[s] =
        arg ? Val{b.CreateLoad(pos_slot->getAllocatedType(), pos_slot)} : load_slot(acc_slot);
  }

  void emit_loop_stage(const Stage& st) {
    emit_nest(st.loops, 0, stage_vector_var(st), [&](bool) {
      for (const Store& store : st.stores) emit_store(store);
    });
  }

  void emit_scan(size_t s, const Stage& st) {
    const int aw = outer_width();
    Slot acc_slot = make_slot(st.acc_dtype, aw);
    store_slot(acc_slot, reduce_identity(c_, st.op, st.acc_dtype, aw));
    emit_nest(st.loops, 0, -1, [&](bool) {
      Val v = c_.splat(emit(st.value), aw);
      Val next = reduce_combine(c_, st.op, st.acc_dtype, load_slot(acc_slot), v);
      store_slot(acc_slot, next);
      stage_vals_[s] = next;
      for (const Store& store : st.stores) emit_store(store);
    });
  }

  // ---- expressions ----

  bool varies(const ExprPtr& e) const {
    if (lane0_mode_) return false;
    return (vec_var_ >= 0 && e->depends_on_var(vec_var_)) || (outer_vector_ && e->stage_mask);
  }

  Val emit(const ExprPtr& e) {
    bool dep = vec_var_ >= 0 && e->depends_on_var(vec_var_);
    uint64_t key = reinterpret_cast<uintptr_t>(e.get()) * 2 + (lane0_mode_ && dep ? 1 : 0);
    for (size_t i = scopes_.size(); i-- > 0;) {
      auto it = scopes_[i].find(key);
      if (it != scopes_[i].end()) return it->second;
    }
    Val v = compute(e);
    scopes_.back()[key] = v;
    return v;
  }

  Val emit_lane0(const ExprPtr& e) {
    bool saved = lane0_mode_;
    lane0_mode_ = true;
    Val v = emit(e);
    lane0_mode_ = saved;
    return v;
  }

  static int width_of_vals(EmitContext& c, std::initializer_list<Val> vals) {
    int w = 1;
    for (const Val& v : vals) w = std::max(w, c.width_of(v.re));
    return w;
  }

  Val compute(const ExprPtr& e) {
    auto& b = c_.b;
    switch (e->kind) {
      case ExprKind::Const: {
        if (is_complex(e->dtype)) return {c_.f32(e->re, 1), c_.f32(e->im, 1)};
        if (e->dtype == DType::F16)
          return {c_.f32(f16_to_float(float_to_f16(static_cast<float>(e->re))), 1)};
        if (e->dtype == DType::BF16)
          return {c_.f32(bf16_to_float(float_to_bf16(static_cast<float>(e->re))), 1)};
        if (is_floating(e->dtype)) return {c_.constant(e->dtype, e->re, 1)};
        return {c_.constant_int(e->dtype, e->ival, 1)};
      }
      case ExprKind::Arg: return scalar_vals_.at(e->slot);
      case ExprKind::Var: {
        if (e->slot == vec_var_ && lane0_mode_) return {lane0_};
        auto it = vars_.find(e->slot);
        if (it == vars_.end())
          internal("loop variable v" + std::to_string(e->slot) + " used outside its loop");
        return {it->second};
      }
      case ExprKind::StageValue: return stage_vals_.at(e->slot);
      case ExprKind::Load: return emit_load(e);
      case ExprKind::Unary:
        return emit_unary(c_, e->op, e->args[0]->dtype, e->dtype, emit(e->args[0]));
      case ExprKind::Binary: {
        Val x = emit(e->args[0]), y = emit(e->args[1]);
        int w = width_of_vals(c_, {x, y});
        return emit_binary(c_, e->op, e->args[0]->dtype, e->dtype, c_.splat(x, w), c_.splat(y, w));
      }
      case ExprKind::Select: {
        if (Val v; guarded_load(e, v)) return v;
        Val cond = emit(e->args[0]), x = emit(e->args[1]), y = emit(e->args[2]);
        int w = width_of_vals(c_, {cond, x, y});
        cond = c_.splat(cond, w), x = c_.splat(x, w), y = c_.splat(y, w);
        Val r{b.CreateSelect(cond.re, x.re, y.re)};
        if (x.im) r.im = b.CreateSelect(cond.re, x.im, y.im);
        return r;
      }
      case ExprKind::Cast: return emit_cast(c_, e->args[0]->dtype, e->dtype, emit(e->args[0]));
      case ExprKind::IndexDiv:
      case ExprKind::IndexMod: {
        Value* x = emit(e->args[0]).re;
        Value* k = c_.i64(e->ival, c_.width_of(x));
        bool div = e->kind == ExprKind::IndexDiv;
        if (e->args[0]->lo >= 0) return {div ? b.CreateUDiv(x, k) : b.CreateURem(x, k)};
        Value* q = b.CreateSDiv(x, k);
        Value* r = b.CreateSRem(x, k);
        Value* neg = b.CreateICmpSLT(r, c_.i64(0, c_.width_of(x)));
        if (div) return {b.CreateSelect(neg, b.CreateSub(q, c_.i64(1, c_.width_of(x))), q)};
        return {b.CreateSelect(neg, b.CreateAdd(r, k), r)};
      }
      case ExprKind::Random: {
        Value* counter = emit(e->args[0]).re;
        Value* key = emit(e->args[1]).re;
        return {emit_random(c_, e->dtype, counter, key)};
      }
      case ExprKind::RandomKey:
        return {emit_random_key(c_, emit(e->args[0]).re, static_cast<uint64_t>(e->ival))};
    }
    internal("unknown expression kind");
  }

  // Whether buffer `buf`'s base address is 64-byte aligned (computed once, at entry).
  Value* base_aligned(int buf) {
    auto it = base_aligned_.find(buf);
    if (it != base_aligned_.end()) return it->second;
    // Stores are emitted inside the loops, after the entry block branched to them.
    if (!c_.entry->getTerminator()) internal("a streaming store outside the loops");
    llvm::IRBuilder<> eb(c_.entry->getTerminator());
    Value* addr = eb.CreatePtrToInt(buf_ptr_[buf], eb.getInt64Ty());
    Value* ok = eb.CreateICmpEQ(eb.CreateAnd(addr, eb.getInt64(63)), eb.getInt64(0));
    base_aligned_[buf] = ok;
    return ok;
  }

  AccessPattern pattern(const ExprPtr& index) const {
    if (outer_vector_ && index->stage_mask) return AccessPattern::Strided;
    return access_pattern(index, vec_var_);
  }

  Val scalar_load(int buf, DType t, Value* idx) {
    auto& b = c_.b;
    if (t == DType::C64) {
      Value* p = b.CreateGEP(b.getFloatTy(), buf_ptr_[buf], b.CreateMul(idx, b.getInt64(2)));
      auto* re = b.CreateLoad(b.getFloatTy(), p);
      auto* im = b.CreateLoad(b.getFloatTy(), b.CreateConstGEP1_64(b.getFloatTy(), p, 1));
      mark_invariant(re, buf);
      mark_invariant(im, buf);
      return {re, im};
    }
    llvm::Type* st = c_.storage_type(t);
    auto* v = b.CreateLoad(st, b.CreateGEP(st, buf_ptr_[buf], idx));
    mark_invariant(v, buf);
    return from_storage(c_, t, v);
  }

  Value* gather(llvm::Type* elem, Value* base, Value* idx) {
    auto& b = c_.b;
    Value* ptrs = b.CreateGEP(elem, base, idx);
    llvm::Type* vt = llvm::FixedVectorType::get(elem, W_);
    unsigned align = elem->getPrimitiveSizeInBits() / 8;
    return b.CreateMaskedGather(vt, ptrs, llvm::Align(align), lane_mask_);
  }

  // The constant stride (2 to kMaxLoadStride elements) of a load's index along the vector
  // variable, else 0 (a gather).
  static constexpr int64_t kMaxLoadStride = 4;
  int64_t small_stride(const ExprPtr& index) const {
    if (outer_vector_ && index->stage_mask) return 0;
    Stride s = stride_along(index, vec_var_);
    return s.affine && s.stride >= 2 && s.stride <= kMaxLoadStride ? s.stride : 0;
  }

  // W elements of type `elem`, `stride` apart from `ptr`: one vector load of W * stride
  // elements, the unwanted ones switched off (nothing past the last lane's element is
  // touched), then the wanted ones shuffled together.
  Value* load_lanes(int buf, llvm::Type* elem, Value* ptr, int64_t stride) {
    const int n = static_cast<int>(W_ * stride);
    std::vector<int> lane_of(n, -1), wanted;
    for (int l = 0; l < W_; ++l) {
      lane_of[l * stride] = l;
      wanted.push_back(static_cast<int>(l * stride));
    }
    Value* v = vector_load(buf, llvm::FixedVectorType::get(elem, n), ptr,
                           llvm::Align(elem->getPrimitiveSizeInBits() / 8), element_mask(lane_of));
    return stride == 1 ? v : c_.b.CreateShuffleVector(v, wanted);
  }

  // The load of `index` (lane 0's element at `at`, `stride` apart) as a read of each lane's
  // whole stride, where that lies in the buffer: the phase (the index's terms that are
  // not multiples of the stride, a value in [0, stride): x[2i + j] for j < 2, a 2 x 2
  // pool's taps) is taken off the address and picks the elements by a shuffle. The loads
  // of the stride's other phases are then the same load, which LLVM merges. Null where
  // that does not hold.
  Value* load_whole_strides(int buf, llvm::Type* elem, const ExprPtr& index, Value* at,
                            int64_t stride) {
    auto& b = c_.b;
    Linear l = linearize(index), rest, start;  // index = start + phase
    rest.constant = ((l.constant % stride) + stride) % stride;
    start.constant = l.constant - rest.constant;
    for (const auto& [atom, coef] : l.terms)
      (coef % stride != 0 ? rest : start).terms.emplace_back(atom, coef);
    ExprPtr phase = from_linear(rest), first = from_linear(start);
    if (phase->lo < 0 || phase->hi >= stride || varies(phase)) return nullptr;
    if (first->lo < 0 || first->hi + stride > k_.buffers[static_cast<size_t>(buf)].numel)
      return nullptr;
    made_.push_back(phase);  // emit() remembers expressions by address
    Value* p = scalar(emit(phase));
    Value* ptr = b.CreateGEP(elem, buf_ptr_[buf], b.CreateSub(at, p));
    const int n = static_cast<int>(W_ * stride);
    std::vector<int> lane_of(static_cast<size_t>(n));
    for (int e = 0; e < n; ++e) lane_of[static_cast<size_t>(e)] = e / static_cast<int>(stride);
    Value* v = vector_load(buf, llvm::FixedVectorType::get(elem, n), ptr,
                           llvm::Align(elem->getPrimitiveSizeInBits() / 8), element_mask(lane_of));
    auto pick = [&](int64_t q) {
      std::vector<int> wanted;
      for (int lane = 0; lane < W_; ++lane) wanted.push_back(static_cast<int>(lane * stride + q));
      return b.CreateShuffleVector(v, wanted);
    };
    Value* out = pick(phase->lo);
    for (int64_t q = phase->lo + 1; q <= phase->hi; ++q)
      out = b.CreateSelect(b.CreateICmpEQ(p, b.getInt64(q)), pick(q), out);
    return out;
  }

  // A vector load of type `vt` at `ptr`; with `mask`, only the elements it switches on are
  // read (the others are zero).
  Value* vector_load(int buf, llvm::Type* vt, Value* ptr, llvm::Align align, Value* mask) {
    auto& b = c_.b;
    Value* vp = b.CreateBitCast(ptr, vt->getPointerTo());
    if (mask) return b.CreateMaskedLoad(vt, vp, align, mask, llvm::Constant::getNullValue(vt));
    auto* v = b.CreateAlignedLoad(vt, vp, align);
    mark_invariant(v, buf);
    return v;
  }

  // The mask of a load whose element j belongs to lane lane_of[j] (-1: to none): on where
  // the element is wanted and its lane is on; null when that is every element.
  Value* element_mask(const std::vector<int>& lane_of) {
    auto& b = c_.b;
    if (!lane_mask_) {
      if (std::all_of(lane_of.begin(), lane_of.end(), [](int l) { return l >= 0; })) return nullptr;
      std::vector<llvm::Constant*> bits;
      for (int l : lane_of) bits.push_back(b.getInt1(l >= 0));
      return llvm::ConstantVector::get(bits);
    }
    std::vector<int> pick;
    for (int l : lane_of) pick.push_back(l >= 0 ? l : W_);  // lane W_: the zero vector's
    return b.CreateShuffleVector(lane_mask_, llvm::Constant::getNullValue(lane_mask_->getType()),
                                 pick);
  }

  // A bound a select's condition states on the lanes of one of its branches: x < c (Lt) or
  // x >= c (Ge).
  struct Stated {
    ir::OpKind op;
    ExprPtr x;
    int64_t c;
  };

  // What `cond` states where it holds (`holds`: the comparisons of its conjunction) or where
  // it fails (the negation of a single comparison).
  static std::vector<Stated> stated_by(const ExprPtr& cond, bool holds) {
    std::vector<Stated> out;
    auto comparison = [](const ExprPtr& g) {
      return g->kind == ExprKind::Binary && (g->op == ir::OpKind::Lt || g->op == ir::OpKind::Ge) &&
             g->args[1]->is_const();
    };
    if (!holds) {
      if (comparison(cond))
        out.push_back({cond->op == ir::OpKind::Lt ? ir::OpKind::Ge : ir::OpKind::Lt, cond->args[0],
                       cond->args[1]->ival});
      return out;
    }
    std::function<void(const ExprPtr&)> walk = [&](const ExprPtr& g) {
      if (g->kind == ExprKind::Binary && g->op == ir::OpKind::And) {
        walk(g->args[0]);
        walk(g->args[1]);
      } else if (comparison(g)) {
        out.push_back({g->op, g->args[0], g->args[1]->ival});
      }
    };
    walk(cond);
    return out;
  }

  // `index` with each clamp min(max(a, lo), hi) (or one side of it) whose bounds `stated`
  // gives (a >= lo, a < hi + 1, up to a constant shift: x >= c with x = a + c - lo) replaced
  // by a, when the result is contiguous along the vector; else nullptr.
  ExprPtr unclamped(const ExprPtr& index, const std::vector<Stated>& stated) {
    auto states = [&](ir::OpKind op, const ExprPtr& a, int64_t bound) {
      return std::any_of(stated.begin(), stated.end(), [&](const Stated& s) {
        if (s.op != op) return false;
        const ExprPtr shift = isub(s.x, a);  // x - a
        return shift->is_const() && s.c - shift->ival == bound;
      });
    };
    auto bound = [](const ExprPtr& x, ir::OpKind op) {
      return x->kind == ExprKind::Binary && x->op == op && x->args[1]->is_const();
    };
    Linear l = linearize(index);
    bool changed = false;
    for (auto& [atom, coef] : l.terms) {
      ExprPtr a = atom;
      std::optional<int64_t> hi, lo;
      if (bound(a, ir::OpKind::Min)) hi = a->args[1]->ival, a = a->args[0];
      if (bound(a, ir::OpKind::Max)) lo = a->args[1]->ival, a = a->args[0];
      if (a == atom || (hi && !states(ir::OpKind::Lt, a, *hi + 1)) ||
          (lo && !states(ir::OpKind::Ge, a, *lo)))
        continue;
      atom = a;
      changed = true;
    }
    if (!changed) return nullptr;
    ExprPtr out = from_linear(std::move(l));
    if (pattern(out) != AccessPattern::Contiguous) return nullptr;
    made_.push_back(out);  // emit() remembers expressions by address
    return out;
  }

  // select(cond, x, y) where a branch is a load whose index clamps what the condition bounds
  // on that branch's lanes (a pad's or a conv border's read: min(max(a, lo), hi) in x beside
  // a >= lo and a < hi + 1 in cond; a concatenation's operands, x where cond holds and y
  // where it fails). On those lanes the clamps change nothing, so the load reads the index
  // without them; when that is contiguous along the vector it is one load with the other
  // lanes off (they are never touched, and the select drops them), not a gather.
  bool guarded_load(const ExprPtr& e, Val& out) {
    const ExprPtr& cond = e->args[0];
    if (!varies(cond)) return false;
    auto& b = c_.b;
    Value* holds = nullptr;
    Value* branch[2] = {nullptr, nullptr};
    for (int i = 0; i < 2; ++i) {
      const ExprPtr& load = e->args[1 + i];
      if (load->kind != ExprKind::Load || load->dtype == DType::C64 || !varies(load->args[0]) ||
          pattern(load->args[0]) == AccessPattern::Contiguous)
        continue;
      const ExprPtr index = unclamped(load->args[0], stated_by(cond, i == 0));
      if (!index) continue;
      if (!holds) holds = c_.splat(emit(cond).re, W_);
      Value* on = i == 0 ? holds : b.CreateNot(holds);
      if (lane_mask_) on = b.CreateAnd(on, lane_mask_);
      llvm::Type* st = c_.storage_type(load->dtype);
      Value* ptr = b.CreateGEP(st, buf_ptr_[load->slot], emit_lane0(index).re);
      Value* v = vector_load(load->slot, llvm::FixedVectorType::get(st, W_), ptr,
                             llvm::Align(st->getPrimitiveSizeInBits() / 8), on);
      branch[i] = from_storage(c_, load->dtype, v).re;
    }
    if (!holds) return false;
    for (int i = 0; i < 2; ++i)
      if (!branch[i]) branch[i] = c_.splat(emit(e->args[1 + i]), W_).re;
    out = {b.CreateSelect(holds, branch[0], branch[1])};
    return true;
  }

  Val emit_load(const ExprPtr& e) {
    auto& b = c_.b;
    const DType t = e->dtype;
    const int buf = e->slot;
    const ExprPtr& index = e->args[0];
    if (!varies(index)) return scalar_load(buf, t, scalar(emit(index)));
    AccessPattern p = pattern(index);
    if (p == AccessPattern::Uniform) return scalar_load(buf, t, emit_lane0(index).re);
    if (p == AccessPattern::Contiguous) {
      Value* base = emit_lane0(index).re;
      if (t == DType::C64) {
        Value* ptr = b.CreateGEP(b.getFloatTy(), buf_ptr_[buf], b.CreateMul(base, b.getInt64(2)));
        std::vector<int> even, odd, lane_of;
        for (int l = 0; l < W_; ++l) {
          even.push_back(2 * l), odd.push_back(2 * l + 1);
          lane_of.insert(lane_of.end(), {l, l});
        }
        Value* v = vector_load(buf, llvm::FixedVectorType::get(b.getFloatTy(), 2 * W_), ptr,
                               llvm::Align(4), element_mask(lane_of));
        return {b.CreateShuffleVector(v, even), b.CreateShuffleVector(v, odd)};
      }
      llvm::Type* st = c_.storage_type(t);
      return from_storage(c_, t, load_lanes(buf, st, b.CreateGEP(st, buf_ptr_[buf], base), 1));
    }
    if (int64_t s = small_stride(index); s > 0 && t != DType::C64) {
      // Every s-th element from lane 0's: one load of s * W elements, then a shuffle.
      llvm::Type* st = c_.storage_type(t);
      Value* at = emit_lane0(index).re;
      if (Value* v = load_whole_strides(buf, st, index, at, s)) return from_storage(c_, t, v);
      return from_storage(c_, t, load_lanes(buf, st, b.CreateGEP(st, buf_ptr_[buf], at), s));
    }
    Value* idx = c_.splat(emit(index).re, W_);
    if (t == DType::C64) {
      Value* i2 = b.CreateMul(idx, c_.i64(2, W_));
      Value* re = gather(b.getFloatTy(), buf_ptr_[buf], i2);
      Value* im = gather(b.getFloatTy(), buf_ptr_[buf], b.CreateAdd(i2, c_.i64(1, W_)));
      return {re, im};
    }
    return from_storage(c_, t, gather(c_.storage_type(t), buf_ptr_[buf], idx));
  }

  // One scalar element stored at `idx` of buffer `buf`, under `guard` when it is given.
  void store_element(int buf, DType t, Value* idx, Val v, Value* guard) {
    auto& b = c_.b;
    llvm::BasicBlock* cont = nullptr;
    if (guard) {
      auto* then = llvm::BasicBlock::Create(c_.ctx, "store.then", fn_);
      cont = llvm::BasicBlock::Create(c_.ctx, "store.cont", fn_);
      b.CreateCondBr(guard, then, cont);
      b.SetInsertPoint(then);
    }
    if (t == DType::C64) {
      Value* p = b.CreateGEP(b.getFloatTy(), buf_ptr_[buf], b.CreateMul(idx, b.getInt64(2)));
      b.CreateStore(v.re, p);
      b.CreateStore(v.im, b.CreateConstGEP1_64(b.getFloatTy(), p, 1));
    } else {
      b.CreateStore(to_storage(c_, t, v.re), b.CreateGEP(c_.storage_type(t), buf_ptr_[buf], idx));
    }
    if (cont) {
      b.CreateBr(cont);
      b.SetInsertPoint(cont);
    }
  }

  // A store of the kernel: one scalar element where neither value nor index varies across
  // lanes, else a vector store in the form the index's access pattern allows.
  void emit_store(const Store& s) {
    const DType t = k_.buffers[s.buffer].dtype;
    Val v = emit(s.value);
    if (s.value->dtype != t) v = emit_cast(c_, s.value->dtype, t, v);
    Val guard = s.guard ? emit(s.guard) : Val{};
    const bool idx_varies = varies(s.index);
    int w = std::max(c_.width_of(v.re), idx_varies ? W_ : 1);
    if (guard.re) w = std::max(w, c_.width_of(guard.re));
    if (w == 1) {
      store_element(s.buffer, t, scalar(emit(s.index)), v, guard.re);
      return;
    }
    v = c_.splat(v, W_);
    Value* mask = guard.re ? c_.splat(guard.re, W_) : nullptr;
    if (lane_mask_) mask = mask ? c_.b.CreateAnd(mask, lane_mask_) : lane_mask_;
    switch (idx_varies ? pattern(s.index) : AccessPattern::Uniform) {
      case AccessPattern::Uniform: store_lanes_in_order(s, t, v, mask); return;
      case AccessPattern::Contiguous: store_contiguous(s, t, v, mask); return;
      case AccessPattern::Strided: store_scattered(s, t, v, mask); return;
    }
  }

  // Every lane stores to one element: lane by lane, so that the last one wins as in
  // sequential order (only in degenerate kernels, e.g. an empty output).
  void store_lanes_in_order(const Store& s, DType t, Val v, Value* mask) {
    auto& b = c_.b;
    Value* idx = emit_lane0(s.index).re;
    for (int l = 0; l < W_; ++l) {
      auto lane = [&](Value* x) {
        return x ? b.CreateExtractElement(x, static_cast<uint64_t>(l)) : nullptr;
      };
      store_element(s.buffer, t, idx, Val{lane(v.re), lane(v.im)}, lane(mask));
    }
  }

  // Lanes at consecutive elements: one vector store (masked under a guard; c64 as its
  // interleaved floats), streamed past the caches where the store's stream_alignment says.
  void store_contiguous(const Store& s, DType t, Val v, Value* mask) {
    auto& b = c_.b;
    Value* base = emit_lane0(s.index).re;
    if (t == DType::C64) {
      std::vector<int> inter;
      for (int l = 0; l < W_; ++l) inter.push_back(l), inter.push_back(l + W_);
      Value* both = b.CreateShuffleVector(v.re, v.im, inter);
      Value* ptr =
          b.CreateGEP(b.getFloatTy(), buf_ptr_[s.buffer], b.CreateMul(base, b.getInt64(2)));
      Value* vp = b.CreateBitCast(ptr, both->getType()->getPointerTo());
      if (mask)
        b.CreateMaskedStore(both, vp, llvm::Align(4), b.CreateShuffleVector(mask, mask, inter));
      else
        b.CreateAlignedStore(both, vp, llvm::Align(4));
      return;
    }
    Value* sv = to_storage(c_, t, v.re);
    llvm::Type* st = c_.storage_type(t);
    Value* ptr =
        b.CreateBitCast(b.CreateGEP(st, buf_ptr_[s.buffer], base), sv->getType()->getPointerTo());
    llvm::Align align(st->getPrimitiveSizeInBits() / 8);
    if (mask) {
      b.CreateMaskedStore(sv, ptr, align, mask);
      return;
    }
    if (s.stream_alignment > 0) {
      store_streaming(s.buffer, sv, ptr, align, s.stream_alignment);
      return;
    }
    b.CreateAlignedStore(sv, ptr, align);
  }

  // A large output written once: streamed past the caches (as memcpy does), which saves
  // reading each line before writing it; only when the buffer itself is 64-byte aligned,
  // which kiln's buffers are (a plain store otherwise).
  void store_streaming(int buf, Value* sv, Value* ptr, llvm::Align align, int64_t stream_align) {
    auto& b = c_.b;
    auto* nt_bb = llvm::BasicBlock::Create(c_.ctx, "store.stream", fn_);
    auto* plain_bb = llvm::BasicBlock::Create(c_.ctx, "store.plain", fn_);
    auto* cont = llvm::BasicBlock::Create(c_.ctx, "store.done", fn_);
    b.CreateCondBr(base_aligned(buf), nt_bb, plain_bb);
    b.SetInsertPoint(nt_bb);
    llvm::StoreInst* store =
        b.CreateAlignedStore(sv, ptr, llvm::Align(static_cast<uint64_t>(stream_align)));
    store->setMetadata(llvm::LLVMContext::MD_nontemporal,
                       llvm::MDNode::get(c_.ctx, {llvm::ConstantAsMetadata::get(b.getInt32(1))}));
    b.CreateBr(cont);
    b.SetInsertPoint(plain_bb);
    b.CreateAlignedStore(sv, ptr, align);
    b.CreateBr(cont);
    b.SetInsertPoint(cont);
    streaming_ = true;
  }

  // Lanes at arbitrary elements: a masked scatter (all lanes on without a guard).
  void store_scattered(const Store& s, DType t, Val v, Value* mask) {
    auto& b = c_.b;
    Value* idx = c_.splat(emit(s.index).re, W_);
    if (!mask) mask = llvm::ConstantInt::getTrue(llvm::FixedVectorType::get(b.getInt1Ty(), W_));
    if (t == DType::C64) {
      Value* i2 = b.CreateMul(idx, c_.i64(2, W_));
      b.CreateMaskedScatter(v.re, b.CreateGEP(b.getFloatTy(), buf_ptr_[s.buffer], i2),
                            llvm::Align(4), mask);
      b.CreateMaskedScatter(
          v.im, b.CreateGEP(b.getFloatTy(), buf_ptr_[s.buffer], b.CreateAdd(i2, c_.i64(1, W_))),
          llvm::Align(4), mask);
      return;
    }
    llvm::Type* st = c_.storage_type(t);
    b.CreateMaskedScatter(to_storage(c_, t, v.re), b.CreateGEP(st, buf_ptr_[s.buffer], idx),
                          llvm::Align(st->getPrimitiveSizeInBits() / 8), mask);
  }

  const Kernel& k_;
  EmitContext c_;
  const int W_;
  llvm::Function* fn_ = nullptr;
  std::vector<Value*> buf_ptr_;
  std::vector<Val> scalar_vals_;
  std::unordered_map<int, Value*> vars_;
  std::vector<Val> stage_vals_;
  std::vector<std::unordered_map<uint64_t, Val>> scopes_;
  // Expressions made while emitting (guarded_load's unclamped indices, load_whole_strides'
  // phases), kept alive so that no later one takes an address that scopes_ remembers.
  std::vector<ExprPtr> made_;
  int vec_var_ = -1;
  Value* lane0_ = nullptr;
  bool outer_vector_ = false;
  Value* lane_mask_ = nullptr;  // the lanes on in a partial outer block, else null (all)
  bool lane0_mode_ = false;
  bool streaming_ = false;
  bool in_block_ = false;  // emitting the body of a whole block (emit_nest's VectorBlocks)
  std::unordered_map<int, Value*> base_aligned_;
};

}  // namespace

llvm::Function* emit_kernel(const Kernel& kernel, const std::string& name, llvm::Module& module,
                            const TargetInfo& target) {
  Kernel annotated = kernel;
  choose_streaming_stores(annotated, std::max(kernel_lanes(kernel, target.lanes), 2));
  return KernelEmitter(annotated, module, target).run(name);
}

}  // namespace kiln::codegen::llvm_backend
