// Zip archives held in memory (PyTorch checkpoints and .npz files are zips), read through
// libzip with the checks an archive from an untrusted source needs before any entry is
// handed out: names that would escape a folder (absolute, "..") are refused, each entry's
// declared size is checked against its compressed size and a cap before anything is
// allocated, the entries may not overlap, and an entry that inflates to more or less than
// it declares is refused. Not part of the public API. Tests: tests/tools/checkpoint_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::frontend {

struct ZipLimits {
  // The most bytes one entry may inflate to, and all entries read together.
  uint64_t max_entry_bytes = uint64_t{64} << 30;
  uint64_t max_total_bytes = uint64_t{256} << 30;
};

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint64_t size = 0;             // declared uncompressed size
    uint64_t compressed_size = 0;  // bytes in the archive
    bool deflated = false;         // else stored
    uint64_t index = 0;            // libzip's
  };

  // Opens the archive in `bytes` (which must outlive it); IOError naming `what` when it is
  // not a well-formed zip or breaks a rule above.
  ZipArchive(std::span<const std::byte> bytes, std::string what, ZipLimits limits = {});
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // Whether `bytes` start like a zip archive (a local file header or an empty archive).
  static bool looks_like_zip(std::span<const std::byte> bytes);

  const std::string& what() const { return what_; }
  // In the archive's order.
  const std::vector<Entry>& entries() const { return entries_; }
  // nullptr when no entry has that name.
  const Entry* find(std::string_view name) const;
  // An entry's bytes, inflated and checked (size, CRC, the total cap).
  std::vector<std::byte> read(const Entry& entry);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::string what_;
  ZipLimits limits_;
  std::vector<Entry> entries_;
  uint64_t total_read_ = 0;
};

}  // namespace kiln::frontend
