// KernelCache: memory -> disk -> compile, with validated disk entries.
#include "runtime/cpu/kernel_cache.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "codegen/llvm/compiler.h"
#include "ir/error.h"
#include "ir/op.h"
#include "kernels/cpu/fft.h"
#include "kernels/cpu/gemm.h"
#include "support/log.h"

namespace kiln::runtime::cpu {

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'O', 'B', 'J', '1'};

uint64_t ops_fingerprint() {
  static const uint64_t h = [] {
    std::string all;
    for (const ir::OpInfo& op : ir::all_ops()) all += std::string(op.text) + ";";
    return codegen::fnv1a(all);
  }();
  return h;
}

// Kernels with a Spectral description compile to a library FFT's pack and epilogue where
// kiln has FFTW and to their loop nest where it has not: the two builds share no entries.
#if KILN_HAS_FFTW
constexpr const char* kLibraries = "|fftw";
#else
constexpr const char* kLibraries = "";
#endif

std::string symbol_name(uint64_t key) { return "kiln_kernel_" + hex_key(key); }

std::vector<std::string> split_names(const std::string& line) {
  std::vector<std::string> names;
  for (size_t b = 0; b <= line.size();) {
    size_t e = std::min(line.find(' ', b), line.size());
    if (e > b) names.push_back(line.substr(b, e - b));
    b = e + 1;
  }
  if (names.empty()) throw CompileError("no symbol name");
  return names;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

KernelCache::KernelCache(ObjectLoader& loader, std::string dir)
    : loader_(loader), disk_(std::move(dir), kMagic, kFormatVersion, ".kobj", "kernel cache") {}

std::string KernelCache::default_dir() { return DiskCache::default_dir(); }

KernelCache& KernelCache::global() {
  static ObjectLoader loader;
  static KernelCache cache(loader, default_dir());
  return cache;
}

uint64_t KernelCache::key_of(const codegen::Kernel& kernel) const {
  return key_of(codegen::kernel_hash(kernel));
}

uint64_t KernelCache::key_of(uint64_t kernel_hash) const {
  // The target's text (its CPU features run long) is hashed once; every eval looks its
  // kernels up by key, so a key costs only the kernel hash's eight bytes.
  static const uint64_t target = codegen::fnv1a(codegen::llvm_backend::host_target().id() + "|ops" +
                                                hex_key(ops_fingerprint()) + kLibraries);
  return codegen::fnv1a(
      std::string_view(reinterpret_cast<const char*>(&kernel_hash), sizeof kernel_hash), target);
}

std::string KernelCache::path_for(uint64_t key) const { return disk_.path_for(key); }

void KernelCache::forget_memory() {
  std::lock_guard<std::mutex> lock(mutex_);
  memory_.clear();
}

CacheResult KernelCache::get(const codegen::Kernel& kernel) {
  return get(kernel, codegen::kernel_hash(kernel));
}

CacheResult KernelCache::get(const codegen::Kernel& kernel, uint64_t kernel_hash) {
  const uint64_t key = key_of(kernel_hash);
  CacheResult r;
  auto found = [&r](const std::vector<KernelFn>& fns, CacheSource source) {
    r.fns = fns;
    r.fn = fns.at(0);
    r.source = source;
  };
  if (std::vector<KernelFn> fns = lookup_memory(key); !fns.empty()) {
    found(fns, CacheSource::Memory);
    return r;
  }
  // Disk and compilation happen outside the lock, so that several kernels can be built at
  // once; two threads building one kernel both succeed and the first entry stays.
  auto start = std::chrono::steady_clock::now();
  if (disk_.enabled()) {
    // The payload: the kernel's symbols separated by spaces, a newline, the object file.
    std::string why;
    if (std::optional<std::string> entry = disk_.read(key, why)) {
      const size_t split = entry->find('\n');
      try {
        if (split == std::string::npos) throw CompileError("no symbol name");
        std::vector<std::string> names = split_names(entry->substr(0, split));
        found(remember(key, loader_.load(entry->substr(split + 1), names)), CacheSource::Disk);
        r.compile_seconds = seconds_since(start);
        return r;
      } catch (const Error& e) {
        why = std::string("does not load: ") + e.what();
      }
    }
    if (why != "absent")
      support::log_warn("kernel cache: entry " + path_for(key) + " is not usable (" + why +
                        "); rebuilding it");
  }
  // A kernel with a contraction compiles to a GEMM's functions (the contraction follows
  // from the kernel's text, so one key never names both forms).
  std::string name = symbol_name(key);
  kernels::cpu::GemmObject compiled;
  if (auto gemm = kernels::cpu::host_gemm_kernels(kernel)) {
    compiled = kernels::cpu::compile_gemm_object(*gemm, name);
  } else if (auto fft = kernels::cpu::host_fft_kernels(kernel)) {
    compiled = kernels::cpu::compile_fft_object(*fft, name);
  } else {
    compiled.names = {name};
    compiled.object = codegen::llvm_backend::compile_object({&kernel}, {name});
  }
  found(remember(key, loader_.load(compiled.object, compiled.names)), CacheSource::Compiled);
  r.compile_seconds = seconds_since(start);
  std::string names;
  for (const std::string& n : compiled.names) names += (names.empty() ? "" : " ") + n;
  disk_.write(key, names + "\n" + compiled.object);
  if (support::log_enabled(support::LogLevel::Debug))
    support::log_debug("compiled kernel " + name + " in " +
                       std::to_string(r.compile_seconds * 1e3) + " ms");
  return r;
}

std::vector<KernelFn> KernelCache::lookup_memory(uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = memory_.find(key);
  return it == memory_.end() ? std::vector<KernelFn>{} : it->second;
}

std::vector<KernelFn> KernelCache::remember(uint64_t key, std::vector<KernelFn> fns) {
  std::lock_guard<std::mutex> lock(mutex_);
  return memory_.emplace(key, std::move(fns)).first->second;
}

bool KernelCache::in_memory(uint64_t kernel_hash) {
  std::lock_guard<std::mutex> lock(mutex_);
  return memory_.count(key_of(kernel_hash)) != 0;
}

}  // namespace kiln::runtime::cpu
