// The host compiler: target detection, the O3 pipeline, object emission.
#include "codegen/llvm/compiler.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include <cstdlib>
#include <memory>

#include "codegen/llvm/emit_kernel.h"
#include "ir/error.h"

#ifndef KILN_CODEGEN_FINGERPRINT  // set by CMake: a hash of the code-generating sources
#define KILN_CODEGEN_FINGERPRINT "dev"
#endif

namespace kiln::codegen::llvm_backend {

std::string HostTarget::id() const {
  return triple + "|" + cpu + "|" + features + "|llvm" + LLVM_VERSION_STRING + "|lanes" +
         std::to_string(info.lanes) + "|codegen" + std::to_string(kCodegenVersion) + "|" +
         KILN_CODEGEN_FINGERPRINT;
}

const HostTarget& host_target() {
  static const HostTarget target = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    HostTarget t;
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features;
    std::vector<std::string> on;
    if (llvm::sys::getHostCPUFeatures(features)) {
      for (auto& f : features) on.push_back((f.second ? "+" : "-") + f.first().str());
      std::sort(on.begin(), on.end());
    }
    for (size_t i = 0; i < on.size(); ++i) t.features += (i ? "," : "") + on[i];
    auto has = [&](const char* name) {
      auto it = features.find(name);
      return it != features.end() && it->second;
    };
    t.info.lanes = has("avx512f") ? 16 : has("avx") ? 8 : 4;
    // KILN_CPU_LANES=4|8|16 narrows the vectors (to test the code for smaller machines).
    if (const char* env = std::getenv("KILN_CPU_LANES")) {
      int l = std::atoi(env);
      if ((l == 4 || l == 8 || l == 16) && l <= t.info.lanes) t.info.lanes = l;
    }
    t.info.f16c = has("f16c");
    return t;
  }();
  return target;
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const HostTarget& t) {
  host_target();  // initializes LLVM's native target
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) throw CompileError("cpu backend: no LLVM target for " + t.triple + ": " + err);
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(
      target->createTargetMachine(t.triple, t.cpu, t.features, opts, llvm::Reloc::PIC_, llvm::None,
                                  llvm::CodeGenOpt::Aggressive));
  if (!tm) throw CompileError("cpu backend: cannot make an LLVM target machine for " + t.cpu);
  return tm;
}

namespace {

void build_module(llvm::Module& m, llvm::TargetMachine& tm,
                  const std::vector<const Kernel*>& kernels, const std::vector<std::string>& names,
                  const std::function<void(llvm::Module&)>& extra = nullptr) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
  for (size_t i = 0; i < kernels.size(); ++i)
    emit_kernel(*kernels[i], names[i], m, host_target().info);
  if (extra) extra(m);
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(m, &os)) {
    os.flush();
    std::string text;
    llvm::raw_string_ostream ir(text);
    m.print(ir, nullptr);
    ir.flush();
    throw CompileError("cpu backend: generated LLVM IR is malformed: " + msg + "\n" +
                       text.substr(0, 20000));
  }
}

}  // namespace

void optimize_module(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  // Kernels arrive vectorized; the loop vectorizer would only widen remainder loops.
  pto.LoopVectorization = false;
  pto.SLPVectorization = false;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
}

std::string emit_object(llvm::Module& m, llvm::TargetMachine& tm, const std::string& who) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile))
    throw CompileError(who + ": LLVM cannot emit object files for " + tm.getTargetTriple().str());
  pm.run(m);
  return std::string(buffer.data(), buffer.size());
}

std::string compile_object(const std::vector<const Kernel*>& kernels,
                           const std::vector<std::string>& names) {
  return compile_object(kernels, names, nullptr);
}

std::string compile_object(const std::vector<const Kernel*>& kernels,
                           const std::vector<std::string>& names,
                           const std::function<void(llvm::Module&)>& extra) {
  auto tm = make_target_machine(host_target());
  llvm::LLVMContext ctx;
  llvm::Module m("kiln", ctx);
  build_module(m, *tm, kernels, names, extra);
  optimize_module(m, *tm);
  return emit_object(m, *tm, "cpu backend");
}

std::string kernel_llvm_ir(const Kernel& kernel, bool optimized) {
  auto tm = make_target_machine(host_target());
  llvm::LLVMContext ctx;
  llvm::Module m("kiln", ctx);
  build_module(m, *tm, {&kernel}, {"kernel"});
  if (optimized) optimize_module(m, *tm);
  std::string text;
  llvm::raw_string_ostream os(text);
  m.print(os, nullptr);
  os.flush();
  return text;
}

}  // namespace kiln::codegen::llvm_backend
