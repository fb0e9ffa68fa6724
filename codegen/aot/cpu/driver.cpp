// emit_driver: the exported functions of an ahead-of-time CPU object, in LLVM IR.
#include "codegen/aot/cpu/driver.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>

#include "codegen/llvm/emit_kernel.h"

namespace kiln::codegen::aot {

namespace {

using llvm::Value;

// Outer iterations per task for the parallel loop, from a kernel's work per iteration:
// about 32K inner steps per task, so that small kernels do not pay for threads.
int64_t grain_of(const Kernel& k, int lanes) {
  int64_t cost = 1;
  for (const Stage& s : k.stages) {
    int64_t n = 1;
    for (const Loop& l : s.loops) n *= std::max<int64_t>(l.extent, 1);
    cost += n;
  }
  if (k.vector_mode == VectorMode::Outer) cost *= lanes;
  return std::max<int64_t>(1, 32768 / cost);
}

class DriverEmitter {
 public:
  DriverEmitter(const AotModel& m, const std::vector<llvm::Function*>& kernels,
                const std::vector<std::optional<AotGemm>>& gemms, int lanes, llvm::Module& module)
      : m_(m),
        kernels_(kernels),
        gemms_(gemms),
        lanes_(lanes),
        mod_(module),
        ctx_(module.getContext()) {}

  void emit() {
    i8p_ = llvm::Type::getInt8PtrTy(ctx_);
    i64_ = llvm::Type::getInt64Ty(ctx_);
    i32_ = llvm::Type::getInt32Ty(ctx_);
    emit_workspace_size();
    llvm::Function* with_ws = emit_run_with_workspace();
    emit_run(with_ws);
  }

 private:
  size_t arg_count() const { return m_.inputs.size() + m_.outputs.size(); }

  llvm::Function* declare(const std::string& name, llvm::FunctionType* type) {
    return llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, name, mod_);
  }

  void emit_workspace_size() {
    llvm::Function* f =
        declare(m_.name + "_workspace_size", llvm::FunctionType::get(i64_, {}, false));
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    b.CreateRet(b.getInt64(m_.workspace_bytes));
  }

  // A private constant array holding `bytes`, 64-byte aligned.
  llvm::Constant* data_global(const std::string& name, const void* bytes, size_t size) {
    auto* init = llvm::ConstantDataArray::getRaw(
        llvm::StringRef(static_cast<const char*>(bytes), size), size, llvm::Type::getInt8Ty(ctx_));
    auto* g = new llvm::GlobalVariable(mod_, init->getType(), true,
                                       llvm::GlobalValue::PrivateLinkage, init, name);
    g->setAlignment(llvm::Align(64));
    return llvm::ConstantExpr::getBitCast(g, i8p_);
  }

  // Where each program value lives, as an i8* inside `f`.
  std::vector<Value*> value_pointers(llvm::IRBuilder<>& b, llvm::Function* f) {
    const Program& p = m_.program;
    auto* empty = new llvm::GlobalVariable(
        mod_, llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx_), 64), false,
        llvm::GlobalValue::PrivateLinkage,
        llvm::ConstantAggregateZero::get(llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx_), 64)),
        "empty");
    empty->setAlignment(llvm::Align(64));
    Value* empty_ptr = llvm::ConstantExpr::getBitCast(empty, i8p_);
    Value* workspace = f->getArg(static_cast<unsigned>(arg_count()));
    std::vector<Value*> ptr(p.values.size(), empty_ptr);
    for (size_t i = 0; i < p.values.size(); ++i) {
      const ProgramValue& v = p.values[i];
      if (v.numel == 0) continue;
      switch (v.kind) {
        case ProgramValue::Kind::Parameter:
          ptr[i] = f->getArg(static_cast<unsigned>(v.param));
          break;
        case ProgramValue::Kind::Constant:
          ptr[i] = data_global("const" + std::to_string(i), v.node->buffer->data(),
                               v.node->buffer->nbytes());
          break;
        case ProgramValue::Kind::Result: {
          // The first output that returns this value; kernels write straight into it.
          auto at = std::find(p.results.begin(), p.results.end(), static_cast<int>(i));
          ptr[i] = f->getArg(static_cast<unsigned>(m_.inputs.size() + (at - p.results.begin())));
          break;
        }
        case ProgramValue::Kind::Intermediate:
        case ProgramValue::Kind::Temp:
          if (v.slot >= 0)
            ptr[i] = b.CreateGEP(b.getInt8Ty(), workspace, b.getInt64(m_.slot_offsets[v.slot]));
          break;
      }
    }
    return ptr;
  }

  llvm::Function* emit_run_with_workspace() {
    std::vector<llvm::Type*> params(arg_count() + 1, i8p_);
    llvm::Function* f =
        declare(m_.name + "_run_with_workspace", llvm::FunctionType::get(i32_, params, false));
    for (auto& a : f->args()) a.addAttr(llvm::Attribute::NoAlias);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    std::vector<Value*> ptr = value_pointers(b, f);

    // void kiln_aot_parallel_for(kernel, i8** buffers, const i64* scalars, i64 n, i64 grain)
    llvm::Type* kernel_ptr = kernels_.empty() ? i8p_ : kernels_[0]->getType();
    llvm::FunctionCallee parallel_for = mod_.getOrInsertFunction(
        "kiln_aot_parallel_for",
        llvm::FunctionType::get(
            b.getVoidTy(), {kernel_ptr, i8p_->getPointerTo(), i64_->getPointerTo(), i64_, i64_},
            false));
    // int kiln_aot_gemm(const i64* sizes, const void* kernels, i8** buffers, const i64* scalars)
    llvm::FunctionCallee gemm = mod_.getOrInsertFunction(
        "kiln_aot_gemm",
        llvm::FunctionType::get(
            i32_, {i64_->getPointerTo(), i8p_, i8p_->getPointerTo(), i64_->getPointerTo()}, false));
    llvm::BasicBlock* no_memory = nullptr;
    const Program& p = m_.program;
    for (size_t li = 0; li < p.launches.size(); ++li) {
      const Launch& l = p.launches[li];
      const Kernel& k = p.kernels[l.kernel];
      int64_t n = llvm_backend::work_items(k, lanes_);
      if (n == 0) continue;
      auto* buffers = b.CreateAlloca(i8p_, b.getInt64(std::max<size_t>(l.buffers.size(), 1)));
      for (size_t i = 0; i < l.buffers.size(); ++i)
        b.CreateStore(ptr[l.buffers[i]], b.CreateConstGEP1_64(i8p_, buffers, i));
      Value* scalars = llvm::ConstantPointerNull::get(i64_->getPointerTo());
      if (!l.scalars.empty()) {
        std::vector<uint64_t> slots;
        for (const ScalarSource& s : l.scalars) slots.push_back(scalar_slot(s));
        auto* init = llvm::ConstantDataArray::get(ctx_, slots);
        auto* g =
            new llvm::GlobalVariable(mod_, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                     init, "scalars" + std::to_string(li));
        scalars = llvm::ConstantExpr::getBitCast(g, i64_->getPointerTo());
      }
      if (const std::optional<AotGemm>& g = gemms_[l.kernel]) {
        Value* status = b.CreateCall(gemm, {g->sizes, g->kernels, buffers, scalars});
        if (!no_memory) {
          no_memory = llvm::BasicBlock::Create(ctx_, "no_memory", f);
          llvm::IRBuilder<>(no_memory).CreateRet(b.getInt32(1));
        }
        auto* next = llvm::BasicBlock::Create(ctx_, "launch" + std::to_string(li + 1), f);
        b.CreateCondBr(b.CreateICmpNE(status, b.getInt32(0)), no_memory, next);
        b.SetInsertPoint(next);
        continue;
      }
      b.CreateCall(parallel_for, {kernels_[l.kernel], buffers, scalars, b.getInt64(n),
                                  b.getInt64(grain_of(k, lanes_))});
    }
    // Outputs no kernel wrote: copied from where the value is.
    for (size_t r = 0; r < p.results.size(); ++r) {
      int id = p.results[r];
      const ProgramValue& v = p.values[id];
      Value* out = f->getArg(static_cast<unsigned>(m_.inputs.size() + r));
      if (v.numel == 0 || ptr[id] == out) continue;
      b.CreateMemCpy(out, llvm::MaybeAlign(1), ptr[id], llvm::MaybeAlign(1), v.nbytes());
    }
    b.CreateRet(b.getInt32(0));
    return f;
  }

  // <name>_run: the workspace from aligned_alloc (C11), 1 when it cannot be had.
  void emit_run(llvm::Function* with_ws) {
    std::vector<llvm::Type*> params(arg_count(), i8p_);
    llvm::Function* f = declare(m_.name + "_run", llvm::FunctionType::get(i32_, params, false));
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    std::vector<Value*> args;
    for (auto& a : f->args()) args.push_back(&a);
    if (m_.workspace_bytes == 0) {
      args.push_back(llvm::ConstantPointerNull::get(i8p_));
      b.CreateRet(b.CreateCall(with_ws, args));
      return;
    }
    llvm::FunctionCallee alloc = mod_.getOrInsertFunction(
        "aligned_alloc", llvm::FunctionType::get(i8p_, {i64_, i64_}, false));
    llvm::FunctionCallee release =
        mod_.getOrInsertFunction("free", llvm::FunctionType::get(b.getVoidTy(), {i8p_}, false));
    Value* ws = b.CreateCall(alloc, {b.getInt64(64), b.getInt64(m_.workspace_bytes)});
    auto* fail = llvm::BasicBlock::Create(ctx_, "no_memory", f);
    auto* run = llvm::BasicBlock::Create(ctx_, "run", f);
    b.CreateCondBr(b.CreateIsNull(ws), fail, run);
    b.SetInsertPoint(fail);
    b.CreateRet(b.getInt32(1));
    b.SetInsertPoint(run);
    args.push_back(ws);
    Value* status = b.CreateCall(with_ws, args);
    b.CreateCall(release, {ws});
    b.CreateRet(status);
  }

  const AotModel& m_;
  const std::vector<llvm::Function*>& kernels_;
  const std::vector<std::optional<AotGemm>>& gemms_;
  int lanes_;
  llvm::Module& mod_;
  llvm::LLVMContext& ctx_;
  llvm::PointerType* i8p_ = nullptr;
  llvm::IntegerType* i64_ = nullptr;
  llvm::IntegerType* i32_ = nullptr;
};

}  // namespace

void emit_driver(const AotModel& model, const std::vector<llvm::Function*>& kernels,
                 const std::vector<std::optional<AotGemm>>& gemms, int lanes,
                 llvm::Module& module) {
  DriverEmitter(model, kernels, gemms, lanes, module).emit();
}

}  // namespace kiln::codegen::aot
