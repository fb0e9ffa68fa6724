// The scratch directory of fuzz_target.h. Files are written with plain POSIX calls, not
// kiln's atomic writer: an fsync per input would dominate the run.
#include "fuzz_target.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace kiln::fuzz {

const std::string& scratch_dir() {
  // Never destroyed: the exit handler that removes the directory runs after the static
  // destructors of objects made before it was registered.
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* pattern = new std::string(std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln-fuzz-XXXXXX");
    if (!::mkdtemp(pattern->data())) finding("cannot create a scratch directory in " + *pattern);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return pattern;
  }();
  return *dir;
}

std::string write_scratch(const std::string& name, std::string_view bytes) {
  std::string path = scratch_dir() + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) finding("cannot write " + path);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) finding("cannot write " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

void remove_scratch(const std::string& name) { ::unlink((scratch_dir() + "/" + name).c_str()); }

}  // namespace kiln::fuzz
