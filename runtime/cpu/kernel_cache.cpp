// KernelCache: memory -> disk -> compile, with validated disk entries.
#include "runtime/cpu/kernel_cache.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/llvm/compiler.h"
#include "ir/error.h"
#include "ir/op.h"
#include "runtime/log.h"

namespace kiln::runtime::cpu {

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'O', 'B', 'J', '1'};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t name_size;
  uint64_t key;
  uint64_t payload_size;
  uint64_t checksum;
};

uint64_t ops_fingerprint() {
  static const uint64_t h = [] {
    std::string all;
    for (const ir::OpInfo& op : ir::all_ops()) all += std::string(op.text) + ";";
    return codegen::fnv1a(all);
  }();
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string symbol_name(uint64_t key) { return "kiln_kernel_" + hex(key); }

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

KernelCache::KernelCache(ObjectLoader& loader, std::string dir)
    : loader_(loader), dir_(std::move(dir)) {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    log_warn("kernel cache: cannot create " + dir_ + " (" + ec.message() +
             "); the disk cache is off");
    dir_.clear();
  }
}

std::string KernelCache::default_dir() {
  if (const char* env = std::getenv("KILN_CACHE_DIR")) {
    std::string d = env;
    if (d == "off" || d == "0") return "";
    if (!d.empty()) return d;
  }
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/kiln";
  return "";
}

KernelCache& KernelCache::global() {
  static ObjectLoader loader;
  static KernelCache cache(loader, default_dir());
  return cache;
}

uint64_t KernelCache::key_of(const codegen::Kernel& kernel) const {
  return key_of(codegen::kernel_hash(kernel));
}

uint64_t KernelCache::key_of(uint64_t kernel_hash) const {
  static const std::string target =
      codegen::llvm_backend::host_target().id() + "|ops" + hex(ops_fingerprint());
  return codegen::fnv1a(target, kernel_hash);
}

std::string KernelCache::path_for(uint64_t key) const { return dir_ + "/" + hex(key) + ".kobj"; }

void KernelCache::forget_memory() {
  std::lock_guard<std::mutex> lock(mutex_);
  memory_.clear();
}

bool KernelCache::read_entry(uint64_t key, std::string& name, std::string& object,
                             std::string& why) const {
  std::ifstream in(path_for(key), std::ios::binary);
  if (!in) {
    why = "absent";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  Header h;
  if (data.size() < sizeof h) {
    why = "truncated header";
    return false;
  }
  std::memcpy(&h, data.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    why = "not a kiln kernel file";
    return false;
  }
  if (h.version != kFormatVersion) {
    why = "format version " + std::to_string(h.version) + ", expected " +
          std::to_string(kFormatVersion);
    return false;
  }
  if (h.key != key) {
    why = "stale: made for another key";
    return false;
  }
  if (h.name_size > 256 || data.size() != sizeof h + h.name_size + h.payload_size) {
    why = "truncated or oversized";
    return false;
  }
  name = data.substr(sizeof h, h.name_size);
  object = data.substr(sizeof h + h.name_size);
  if (codegen::fnv1a(object, codegen::fnv1a(name)) != h.checksum) {
    why = "checksum mismatch";
    return false;
  }
  return true;
}

void KernelCache::write_entry(uint64_t key, const std::string& name,
                              const std::string& object) const {
  Header h;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kFormatVersion;
  h.name_size = static_cast<uint32_t>(name.size());
  h.key = key;
  h.payload_size = object.size();
  h.checksum = codegen::fnv1a(object, codegen::fnv1a(name));
  static std::atomic<int> counter{0};
  std::string final_path = path_for(key);
  std::string tmp =
      final_path + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    out.write(object.data(), static_cast<std::streamsize>(object.size()));
    if (!out) {
      log_warn("kernel cache: cannot write " + tmp);
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) {
    log_warn("kernel cache: cannot rename " + tmp + ": " + ec.message());
    std::filesystem::remove(tmp, ec);
  }
}

CacheResult KernelCache::get(const codegen::Kernel& kernel) {
  return get(kernel, codegen::kernel_hash(kernel));
}

CacheResult KernelCache::get(const codegen::Kernel& kernel, uint64_t kernel_hash) {
  const uint64_t key = key_of(kernel_hash);
  CacheResult r;
  if (KernelFn fn = lookup_memory(key)) {
    r.fn = fn;
    r.source = CacheSource::Memory;
    return r;
  }
  // Disk and compilation happen outside the lock, so that several kernels can be built at
  // once; two threads building one kernel both succeed and the first entry stays.
  auto start = std::chrono::steady_clock::now();
  if (!dir_.empty()) {
    std::string name, object, why;
    if (read_entry(key, name, object, why)) {
      try {
        r.fn = remember(key, loader_.load(object, {name}).at(0));
        r.source = CacheSource::Disk;
        r.compile_seconds = seconds_since(start);
        return r;
      } catch (const Error& e) {
        why = std::string("does not load: ") + e.what();
      }
    }
    if (why != "absent")
      log_warn("kernel cache: entry " + path_for(key) + " is not usable (" + why +
               "); rebuilding it");
  }
  std::string name = symbol_name(key);
  std::string object = codegen::llvm_backend::compile_object({&kernel}, {name});
  r.fn = remember(key, loader_.load(object, {name}).at(0));
  r.source = CacheSource::Compiled;
  r.compile_seconds = seconds_since(start);
  if (!dir_.empty()) write_entry(key, name, object);
  if (log_enabled(LogLevel::Debug))
    log_debug("compiled kernel " + name + " in " + std::to_string(r.compile_seconds * 1e3) + " ms");
  return r;
}

KernelFn KernelCache::lookup_memory(uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = memory_.find(key);
  return it == memory_.end() ? nullptr : it->second;
}

KernelFn KernelCache::remember(uint64_t key, KernelFn fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  return memory_.emplace(key, fn).first->second;
}

bool KernelCache::in_memory(uint64_t kernel_hash) {
  return lookup_memory(key_of(kernel_hash)) != nullptr;
}

}  // namespace kiln::runtime::cpu
