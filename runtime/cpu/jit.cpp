// ObjectLoader: ORC LLJIT with the process's symbols and kiln's builtins.
#include "runtime/cpu/jit.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>

#include "codegen/llvm/builtins.h"
#include "codegen/llvm/compiler.h"
#include "ir/error.h"

namespace kiln::runtime::cpu {

namespace {

std::string message(llvm::Error err) { return llvm::toString(std::move(err)); }

}  // namespace

ObjectLoader::ObjectLoader() {
  codegen::llvm_backend::host_target();  // initializes the native target
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) throw CompileError("cpu backend: cannot start the JIT: " + message(jit.takeError()));
  jit_ = std::move(*jit);
  auto& main = jit_->getMainJITDylib();
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit_->getDataLayout().getGlobalPrefix());
  if (!gen)
    throw CompileError("cpu backend: cannot search the process's symbols: " +
                       message(gen.takeError()));
  main.addGenerator(std::move(*gen));
  llvm::orc::SymbolMap builtins;
  for (auto& [name, address] : codegen::llvm_backend::builtin_symbols())
    builtins[jit_->mangleAndIntern(name)] =
        llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(address),
                                 llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  if (auto err = main.define(llvm::orc::absoluteSymbols(std::move(builtins))))
    throw CompileError("cpu backend: cannot define the builtins: " + message(std::move(err)));
}

ObjectLoader::~ObjectLoader() = default;

std::vector<KernelFn> ObjectLoader::load(const std::string& object,
                                         const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto lib = jit_->createJITDylib("kernels" + std::to_string(next_library_++));
  if (!lib) throw CompileError("cpu backend: " + message(lib.takeError()));
  lib->addToLinkOrder(jit_->getMainJITDylib());
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "kiln-kernels");
  if (auto err = jit_->addObjectFile(*lib, std::move(buffer)))
    throw CompileError("cpu backend: cannot load kernel object: " + message(std::move(err)));
  std::vector<KernelFn> out;
  for (const std::string& name : names) {
    auto sym = jit_->lookup(*lib, name);
    if (!sym)
      throw CompileError("cpu backend: kernel " + name +
                         " did not link: " + message(sym.takeError()));
    out.push_back(reinterpret_cast<KernelFn>(static_cast<uintptr_t>(sym->getAddress())));
  }
  return out;
}

}  // namespace kiln::runtime::cpu
