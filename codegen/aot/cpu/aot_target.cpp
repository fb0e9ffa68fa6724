// resolve_cpu_target for ahead-of-time objects.
#include "codegen/aot/cpu/aot_target.h"

#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>

#include "ir/error.h"

namespace kiln::codegen::aot {

namespace {

const llvm::Target& target_for(const std::string& triple) {
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) throw CompileError("aot: no LLVM target for " + triple + ": " + err);
  return *target;
}

}  // namespace

llvm_backend::HostTarget resolve_cpu_target(const std::string& cpu) {
  const llvm_backend::HostTarget& host = llvm_backend::host_target();  // initializes LLVM
  if (cpu.empty() || cpu == "native") return host;
  const llvm::Target& target = target_for(host.triple);
  // Checked on a generic subtarget first: LLVM warns on stderr when made for an unknown CPU.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target.createMCSubtargetInfo(host.triple, "generic", ""));
  std::unique_ptr<llvm::MCSubtargetInfo> sti;
  if (generic && generic->isCPUStringValid(cpu))
    sti.reset(target.createMCSubtargetInfo(host.triple, cpu, ""));
  if (!sti)
    throw Error("aot: unknown CPU '" + cpu + "' for " + host.triple +
                " (use 'native', or an LLVM CPU name such as x86-64, x86-64-v2, x86-64-v3, "
                "x86-64-v4, skylake-avx512, znver3)");
  llvm_backend::HostTarget t;
  t.triple = host.triple;
  t.cpu = cpu;
  t.features = "";  // the CPU's own
  // The same rule as the host's: the widest f32 vector registers give the lanes.
  t.info.lanes = sti->checkFeatures("+avx512f") ? 16 : sti->checkFeatures("+avx") ? 8 : 4;
  t.info.f16c = sti->checkFeatures("+f16c");
  return t;
}

}  // namespace kiln::codegen::aot
