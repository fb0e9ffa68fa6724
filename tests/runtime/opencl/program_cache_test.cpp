// The OpenCL program cache: a disk hit after the memory is forgotten, entries that are
// corrupt, truncated or stale rebuilt rather than trusted, and threads asking at once.
#include "runtime/opencl/program_cache.h"

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "opencl_test_util.h"

namespace kiln::testing {
namespace {

using runtime::opencl::ProgramCache;
using runtime::opencl::ProgramSource;

const char* kSource = "__kernel void twice(__global float* p) { p[get_global_id(0)] *= 2.0f; }";

struct CacheDir {
  std::filesystem::path path;
  CacheDir() {
    path = std::filesystem::temp_directory_path() / ("kiln-clcache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
  }
  ~CacheDir() { std::filesystem::remove_all(path); }
};

// Runs the program's kernel on {1, 2, 3} and returns the result.
std::vector<float> run_twice(runtime::opencl::OpenCLDevice& d, cl_program program) {
  std::vector<float> v = {1, 2, 3};
  cl_int status = CL_SUCCESS;
  runtime::opencl::KernelHandle k(clCreateKernel(program, "twice", &status));
  EXPECT_EQ(status, CL_SUCCESS);
  runtime::opencl::MemHandle mem = d.allocate(12, CL_MEM_READ_WRITE, "test");
  cl_mem m = mem.get();
  clEnqueueWriteBuffer(d.queue(), m, CL_TRUE, 0, 12, v.data(), 0, nullptr, nullptr);
  clSetKernelArg(k.get(), 0, sizeof m, &m);
  size_t n = 3;
  clEnqueueNDRangeKernel(d.queue(), k.get(), 1, nullptr, &n, nullptr, 0, nullptr, nullptr);
  clEnqueueReadBuffer(d.queue(), m, CL_TRUE, 0, 12, v.data(), 0, nullptr, nullptr);
  return v;
}

TEST(OpenCLProgramCache, SecondLookupComesFromDisk) {
  KILN_REQUIRE_OPENCL(device);
  CacheDir dir;
  ProgramCache cache(device->context(), device->info(), dir.path.string());
  auto a = cache.get(kSource, "", "test program");
  EXPECT_EQ(a.source, ProgramSource::Built);
  EXPECT_EQ(cache.get(kSource, "", "test program").source, ProgramSource::Memory);
  EXPECT_TRUE(std::filesystem::exists(cache.path_for(cache.key_of(kSource, ""))));
  // A fresh cache over the same folder: a second process.
  ProgramCache again(device->context(), device->info(), dir.path.string());
  auto b = again.get(kSource, "", "test program");
  EXPECT_EQ(b.source, ProgramSource::Disk);
  EXPECT_EQ(run_twice(*device, b.program), (std::vector<float>{2, 4, 6}));
  // Other build options are another program.
  EXPECT_NE(cache.key_of(kSource, ""), cache.key_of(kSource, "-cl-mad-enable"));
}

TEST(OpenCLProgramCache, ThreadsAskingAtOnceGetOneProgram) {
  KILN_REQUIRE_OPENCL(device);
  CacheDir dir;
  ProgramCache cache(device->context(), device->info(), dir.path.string());
  std::vector<cl_program> got(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] { got[t] = cache.get(kSource, "", "test program").program; });
  for (std::thread& t : threads) t.join();
  for (cl_program p : got) EXPECT_EQ(p, got[0]) << "built once, shared by every thread";
  EXPECT_EQ(run_twice(*device, got[0]), (std::vector<float>{2, 4, 6}));
}

TEST(OpenCLProgramCache, BadEntriesAreRebuilt) {
  KILN_REQUIRE_OPENCL(device);
  CacheDir dir;
  ProgramCache cache(device->context(), device->info(), dir.path.string());
  cache.get(kSource, "", "test program");
  const std::string path = cache.path_for(cache.key_of(kSource, ""));
  const auto good_size = std::filesystem::file_size(path);
  auto damage = [&](const std::function<void()>& how) {
    how();
    ProgramCache fresh(device->context(), device->info(), dir.path.string());
    auto p = fresh.get(kSource, "", "test program");
    EXPECT_EQ(p.source, ProgramSource::Built);
    EXPECT_EQ(run_twice(*device, p.program), (std::vector<float>{2, 4, 6}));
    // The entry was rewritten: the next process loads it.
    ProgramCache next(device->context(), device->info(), dir.path.string());
    EXPECT_EQ(next.get(kSource, "", "test program").source, ProgramSource::Disk);
  };
  damage([&] { std::filesystem::resize_file(path, good_size / 2); });  // truncated
  damage([&] {                                                         // a flipped byte
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(good_size) - 3);
    f.put('\x5a');
  });
  damage([&] { std::ofstream(path, std::ios::trunc) << "not a program"; });  // garbage
}

}  // namespace
}  // namespace kiln::testing
