// DiskCache: validated, atomically written cache files.
#include "runtime/disk_cache.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/kernel_ir.h"
#include "support/log.h"

namespace kiln::runtime {

namespace {

struct Header {
  char magic[8];
  uint32_t version;  // follows the magic (tests damage it there)
  uint32_t reserved;
  uint64_t key;
  uint64_t payload_size;
  uint64_t checksum;
};

}  // namespace

std::string hex_key(uint64_t key) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(key));
  return buf;
}

DiskCache::DiskCache(std::string dir, const char* magic, uint32_t version, std::string extension,
                     std::string what)
    : dir_(std::move(dir)),
      version_(version),
      extension_(std::move(extension)),
      what_(std::move(what)) {
  std::memcpy(magic_, magic, sizeof magic_);
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    support::log_warn(what_ + ": cannot create " + dir_ + " (" + ec.message() +
                      "); the disk cache is off");
    dir_.clear();
  }
}

std::string DiskCache::path_for(uint64_t key) const {
  return dir_ + "/" + hex_key(key) + extension_;
}

std::optional<std::string> DiskCache::read(uint64_t key, std::string& why) const {
  std::ifstream in(path_for(key), std::ios::binary);
  if (!enabled() || !in) {
    why = "absent";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  Header h;
  if (data.size() < sizeof h) {
    why = "truncated header";
    return std::nullopt;
  }
  std::memcpy(&h, data.data(), sizeof h);
  if (std::memcmp(h.magic, magic_, sizeof magic_) != 0) {
    why = "not a file of the " + what_;
    return std::nullopt;
  }
  if (h.version != version_) {
    why = "format version " + std::to_string(h.version) + ", expected " + std::to_string(version_);
    return std::nullopt;
  }
  if (h.key != key) {
    why = "stale: made for another key";
    return std::nullopt;
  }
  if (h.payload_size == 0 || data.size() != sizeof h + h.payload_size) {
    why = "truncated or oversized";
    return std::nullopt;
  }
  std::string payload = data.substr(sizeof h);
  if (codegen::fnv1a(payload) != h.checksum) {
    why = "checksum mismatch";
    return std::nullopt;
  }
  return payload;
}

void DiskCache::write(uint64_t key, const std::string& payload) const {
  if (!enabled()) return;
  Header h;
  std::memcpy(h.magic, magic_, sizeof magic_);
  h.version = version_;
  h.reserved = 0;
  h.key = key;
  h.payload_size = payload.size();
  h.checksum = codegen::fnv1a(payload);
  static std::atomic<int> counter{0};
  const std::string final_path = path_for(key);
  const std::string tmp =
      final_path + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(counter++);
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    if (!out) {
      support::log_warn(what_ + ": cannot write " + tmp);
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) {
    support::log_warn(what_ + ": cannot rename " + tmp + ": " + ec.message());
    std::filesystem::remove(tmp, ec);
  }
}

std::string DiskCache::default_dir(const std::string& sub) {
  const std::string suffix = sub.empty() ? "" : "/" + sub;
  if (const char* env = std::getenv("KILN_CACHE_DIR")) {
    std::string d = env;
    if (d == "off" || d == "0") return "";
    if (!d.empty()) return d + suffix;
  }
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/kiln" + suffix;
  return "";
}

}  // namespace kiln::runtime
