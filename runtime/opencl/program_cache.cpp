// ProgramCache: memory -> disk (program binaries) -> build, with validated disk entries.
#include "runtime/opencl/program_cache.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <vector>

#include "codegen/kernel_ir.h"
#include "ir/error.h"
#include "support/log.h"

namespace kiln::runtime::opencl {

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'C', 'L', 'B', '1'};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS)
    return "(no build log)";
  std::string log(size, '\0');
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log.empty() ? "(empty build log)" : log;
}

// The source with line numbers, as the build log refers to them.
std::string numbered(const std::string& source) {
  std::string out;
  std::istringstream in(source);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%5d| ", ++n);
    out += buf + line + "\n";
  }
  return out;
}

}  // namespace

ProgramCache::ProgramCache(cl_context context, const DeviceInfo& device, std::string dir)
    : context_(context),
      device_(device),
      disk_(std::move(dir), kMagic, kFormatVersion, ".clbin", "opencl program cache") {}

std::string ProgramCache::default_dir() { return DiskCache::default_dir("opencl"); }

uint64_t ProgramCache::key_of(const std::string& source, const std::string& options) const {
  std::string text = source + "\n--options " + options + "\n--device " + device_.name + "|" +
                     device_.version + "|" + device_.driver_version + "|" +
                     device_.platform_version;
  return codegen::fnv1a(text);
}

std::string ProgramCache::path_for(uint64_t key) const { return disk_.path_for(key); }

ProgramHandle ProgramCache::build_from_source(const std::string& source, const std::string& options,
                                              const std::string& what) const {
  const char* text = source.c_str();
  size_t length = source.size();
  cl_int status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithSource(context_, 1, &text, &length, &status));
  check(status, "clCreateProgramWithSource for " + what);
  status = clBuildProgram(program.get(), 1, &device_.device, options.c_str(), nullptr, nullptr);
  if (status == CL_BUILD_PROGRAM_FAILURE || status == CL_INVALID_BUILD_OPTIONS ||
      status == CL_COMPILER_NOT_AVAILABLE) {
    throw CompileError("opencl: " + what + " failed to build on " + device_.name + " (" +
                       cl_status_name(status) + ", options '" + options + "'). Build log:\n" +
                       build_log(program.get(), device_.device) + "\nSource:\n" + numbered(source));
  }
  check(status, "clBuildProgram for " + what);
  return program;
}

ProgramHandle ProgramCache::load_binary(const std::string& binary, const std::string& options,
                                        std::string& why) const {
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(binary.data());
  size_t size = binary.size();
  cl_int binary_status = CL_SUCCESS, status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithBinary(context_, 1, &device_.device, &size, &bytes,
                                                  &binary_status, &status));
  if (status != CL_SUCCESS || binary_status != CL_SUCCESS) {
    why = "the driver rejects the binary (" +
          cl_status_name(status != CL_SUCCESS ? status : binary_status) + ")";
    return {};
  }
  status = clBuildProgram(program.get(), 1, &device_.device, options.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS) {
    why = "the binary does not build (" + cl_status_name(status) + ")";
    return {};
  }
  return program;
}

void ProgramCache::write_entry(uint64_t key, cl_program program) const {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) !=
          CL_SUCCESS ||
      size == 0) {
    support::log_debug("opencl program cache: the driver gives no binary; not cached on disk");
    return;
  }
  std::string binary(size, '\0');
  unsigned char* ptr = reinterpret_cast<unsigned char*>(binary.data());
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) != CL_SUCCESS)
    return;
  disk_.write(key, binary);
}

CachedProgram ProgramCache::get(const std::string& source, const std::string& options,
                                const std::string& what) {
  const uint64_t key = key_of(source, options);
  std::lock_guard<std::mutex> lock(mutex_);
  CachedProgram r;
  if (auto it = memory_.find(key); it != memory_.end()) {
    r.program = it->second.get();
    r.source = ProgramSource::Memory;
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  if (disk_.enabled()) {
    std::string why;
    if (std::optional<std::string> binary = disk_.read(key, why)) {
      ProgramHandle p = load_binary(*binary, options, why);
      if (p) {
        r.program = p.get();
        r.source = ProgramSource::Disk;
        r.seconds = seconds_since(start);
        memory_[key] = std::move(p);
        return r;
      }
    }
    if (why != "absent")
      support::log_warn("opencl program cache: entry " + path_for(key) + " is not usable (" + why +
                        "); rebuilding it");
  }
  ProgramHandle p = build_from_source(source, options, what);
  r.program = p.get();
  r.source = ProgramSource::Built;
  r.seconds = seconds_since(start);
  if (disk_.enabled()) write_entry(key, p.get());
  memory_[key] = std::move(p);
  if (support::log_enabled(support::LogLevel::Debug))
    support::log_debug("opencl: built " + what + " in " + std::to_string(r.seconds * 1e3) + " ms");
  return r;
}

}  // namespace kiln::runtime::opencl
