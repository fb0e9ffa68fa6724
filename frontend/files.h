// File access for kiln's readers and writers (.npy, safetensors, IR text): whole-file
// reads and read-only memory maps that report failures as IOError naming the path, and
// atomic writes. A write goes to a temporary file in the target's directory and is renamed
// over the target only once every byte is on disk, so a failed or interrupted write never
// leaves a half-written file behind. Not part of the public API. Tests: tests/tools/.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace kiln {
class Buffer;
}

namespace kiln::frontend {

// The whole file as bytes; IOError naming `path` and the system's reason when it cannot
// be read.
std::string read_file(const std::string& path);

// A read-only memory map of a whole file. Copies share the mapping, which is unmapped when
// the last copy goes.
class MappedFile {
 public:
  // Maps `path`; IOError when it cannot be opened or mapped. An empty file maps to an
  // empty span.
  static MappedFile open(const std::string& path);

  std::span<const std::byte> bytes() const;
  const std::string& path() const;

 private:
  struct Mapping;
  std::shared_ptr<const Mapping> mapping_;
};

// A file being written: bytes go to a temporary file next to `path`; commit() makes it
// durable and renames it to `path`. Destroying it without commit() removes the temporary.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Flushes, syncs and renames over the target; IOError on any failure (the temporary is
  // then removed and the target left as it was).
  void commit();

 private:
  void fail(const std::string& what);
  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

// Writes `text` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view text);

// Checks that a bool buffer read from a file holds only 0 and 1 (IOError naming `what`, the
// value and the element otherwise); other dtypes pass.
void check_bools(const Buffer& buffer, const std::string& what);

}  // namespace kiln::frontend
