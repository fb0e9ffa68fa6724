// Whole-file reads, read-only memory maps and atomic writes, with IOError messages that
// name the file and the system's reason.
#include "frontend/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ir/error.h"
#include "ir/node.h"

namespace kiln::frontend {

namespace {

std::string system_reason() { return std::strerror(errno); }

// Closes a descriptor on every path out of a function.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

int open_for_reading(const std::string& path, struct stat& st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IOError("cannot open '" + path + "' for reading: " + system_reason());
  if (::fstat(fd, &st) != 0) {
    std::string why = system_reason();
    ::close(fd);
    throw IOError("cannot read '" + path + "': " + why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IOError("cannot read '" + path + "': not a regular file");
  }
  return fd;
}

}  // namespace

std::string read_file(const std::string& path) {
  struct stat st {};
  FdCloser fd{open_for_reading(path, st)};
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IOError("cannot read '" + path + "': " + system_reason());
    if (n == 0) break;  // the file shrank while being read
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

struct MappedFile::Mapping {
  std::string path;
  void* address = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (address) ::munmap(address, size);
  }
};

MappedFile MappedFile::open(const std::string& path) {
  struct stat st {};
  FdCloser fd{open_for_reading(path, st)};
  auto mapping = std::make_shared<Mapping>();
  mapping->path = path;
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    void* p = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (p == MAP_FAILED) throw IOError("cannot map '" + path + "': " + system_reason());
    mapping->address = p;
  }
  MappedFile out;
  out.mapping_ = std::move(mapping);
  return out;
}

std::span<const std::byte> MappedFile::bytes() const {
  return {static_cast<const std::byte*>(mapping_->address), mapping_->size};
}

const std::string& MappedFile::path() const { return mapping_->path; }

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // The temporary lives in the target's directory so that rename() cannot cross devices.
  temp_ = path_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(temp_.data());
  if (fd_ < 0) throw IOError("cannot write '" + path_ + "': " + system_reason());
  // mkstemp creates 0600; give the file the permissions an ordinary create would.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::fail(const std::string& what) {
  std::string why = system_reason();
  ::close(fd_);
  ::unlink(temp_.c_str());
  fd_ = -1;
  throw IOError("cannot write '" + path_ + "': " + what + ": " + why);
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw IOError("cannot write '" + path_ + "': the file is already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw IOError("cannot write '" + path_ + "': the file is already closed");
  if (::fsync(fd_) != 0) fail("fsync failed");
  if (::close(fd_) != 0) {
    fd_ = -1;
    std::string why = system_reason();
    ::unlink(temp_.c_str());
    throw IOError("cannot write '" + path_ + "': close failed: " + why);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    std::string why = system_reason();
    ::unlink(temp_.c_str());
    throw IOError("cannot write '" + path_ + "': rename failed: " + why);
  }
}

void write_file_atomic(const std::string& path, std::string_view text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

void check_bools(const Buffer& buffer, const std::string& what) {
  if (buffer.dtype() != DType::Bool) return;
  const uint8_t* p = buffer.as<uint8_t>();
  for (int64_t i = 0; i < buffer.type().numel(); ++i)
    if (p[i] > 1)
      throw IOError(what + " holds " + std::to_string(p[i]) + " at element " + std::to_string(i) +
                    " (only 0 and 1 are booleans)");
}

}  // namespace kiln::frontend
