// DiskCache: the on-disk half of kiln's compile caches (runtime/cpu/kernel_cache.h for
// kernel objects, runtime/opencl/program_cache.h for OpenCL program binaries), so that a
// second process starts warm. One file per entry, named by its key: a header (the cache's
// magic, its format version, the key, the payload's size and FNV-1a checksum) and the
// payload. An entry that is truncated, corrupt, of another format version or of another
// key is reported unusable with the reason, never returned. Writes go to a temporary name
// and are renamed into place, so a reader never sees half a file; a failed write is logged
// and leaves nothing behind. Tests: tests/runtime/cpu/kernel_cache_test.cpp,
// tests/runtime/opencl/program_cache_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::runtime {

class DiskCache {
 public:
  // `dir` empty: the cache is off. A directory that cannot be created turns it off, with a
  // warning naming `what` ("kernel cache"). `magic` is 8 characters.
  DiskCache(std::string dir, const char* magic, uint32_t version, std::string extension,
            std::string what);

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  std::string path_for(uint64_t key) const;

  // The payload stored for `key`, or nothing with `why` set: "absent", "truncated header",
  // "checksum mismatch", ...
  std::optional<std::string> read(uint64_t key, std::string& why) const;
  // Stores `payload` for `key`, replacing any entry (failures are logged, not thrown).
  void write(uint64_t key, const std::string& payload) const;

  // $KILN_CACHE_DIR, else $HOME/.cache/kiln, with "/" + `sub` appended when given; "" when
  // KILN_CACHE_DIR is "off" or "0", or no home is known.
  static std::string default_dir(const std::string& sub = "");

 private:
  std::string dir_;
  char magic_[8];
  uint32_t version_;
  std::string extension_;
  std::string what_;
};

// The key's 16 hex digits, as entries and symbols are named.
std::string hex_key(uint64_t key);

}  // namespace kiln::runtime
