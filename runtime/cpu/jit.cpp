// ObjectLoader: ORC LLJIT with the process's symbols and kiln's builtins.
#include "runtime/cpu/jit.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Object/SymbolSize.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "codegen/llvm/builtins.h"
#include "codegen/llvm/compiler.h"
#include "ir/error.h"

namespace kiln::runtime::cpu {

namespace {

std::string message(llvm::Error err) { return llvm::toString(std::move(err)); }

// The sizes of an object file's symbols, by name (none where it cannot be read).
std::unordered_map<std::string, uint64_t> symbol_sizes(const std::string& object) {
  std::unordered_map<std::string, uint64_t> sizes;
  auto file =
      llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "kiln-kernels"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return sizes;
  }
  for (const auto& [sym, size] : llvm::object::computeSymbolSizes(**file)) {
    auto name = sym.getName();
    if (name)
      sizes[name->str()] = size;
    else
      llvm::consumeError(name.takeError());
  }
  return sizes;
}

// With KILN_PERF_MAP=1, each loaded kernel's address, size and name go to
// /tmp/perf-<pid>.map, where `perf report` finds the names of JIT code.
void add_to_perf_map(const std::string& object, const std::vector<std::string>& names,
                     const std::vector<KernelFn>& fns) {
  static const bool wanted = [] {
    const char* v = std::getenv("KILN_PERF_MAP");
    return v && *v && std::string(v) != "0";
  }();
  if (!wanted) return;
  std::unordered_map<std::string, uint64_t> sizes = symbol_sizes(object);
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return;
  for (size_t i = 0; i < names.size(); ++i)
    std::fprintf(f, "%lx %lx %s\n", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(fns[i])),
                 static_cast<unsigned long>(std::max<uint64_t>(sizes[names[i]], 1)),
                 names[i].c_str());
  std::fclose(f);
}

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
  add_to_perf_map(object, names, out);
  return out;
}

}  // namespace kiln::runtime::cpu
