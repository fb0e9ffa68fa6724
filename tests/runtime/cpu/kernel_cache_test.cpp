// The kernel cache: memory and disk hits, a second process starting warm, disk entries
// that are corrupt, truncated, stale or of another kernel being rebuilt, never trusted, and
// threads asking for the same kernels at once.
#include "runtime/cpu/kernel_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "codegen/llvm/compiler.h"
#include "codegen/llvm/emit_kernel.h"
#include "runtime/driver.h"
#include "tests/runtime/cpu/cpu_test_util.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using runtime::cpu::CacheSource;
using runtime::cpu::KernelCache;
using runtime::cpu::ObjectLoader;

std::string temp_dir(const std::string& tag) {
  fs::path p =
      fs::temp_directory_path() / ("kiln-cache-test-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// out = x * 3 + 1 over 100 floats, compiled to one kernel.
struct TinyKernel {
  ir::Graph g;
  codegen::Program p;
  TinyKernel(int variant = 0) {
    GraphBuilder b;
    auto x = b.param({DType::F32, {100 + variant}});
    auto three = std::make_shared<Buffer>(Type{DType::F32, {100 + variant}});
    for (int i = 0; i < 100 + variant; ++i) three->as<float>()[i] = 3;
    b.result(b.add(ir::OpKind::Add, {b.add(ir::OpKind::Mul, {x, b.constant(three)}), x}));
    g = b.g;
    p = runtime::compile_graph(g, cpu());
  }
  const codegen::Kernel& kernel() const { return p.kernels.at(0); }
};

// Runs the cached function on 0..99 and checks 4x.
void expect_works(runtime::cpu::KernelFn fn, const TinyKernel& t) {
  std::vector<float> x(100), out(100), c(100, 3.0f);
  for (int i = 0; i < 100; ++i) x[i] = static_cast<float>(i);
  // Buffers in the order the launch uses them.
  std::vector<uint8_t*> bufs;
  for (int id : t.p.launches[0].buffers) {
    const auto& v = t.p.values[id];
    if (v.kind == codegen::ProgramValue::Kind::Parameter)
      bufs.push_back(reinterpret_cast<uint8_t*>(x.data()));
    else if (v.kind == codegen::ProgramValue::Kind::Constant)
      bufs.push_back(reinterpret_cast<uint8_t*>(c.data()));
    else
      bufs.push_back(reinterpret_cast<uint8_t*>(out.data()));
  }
  int64_t n = codegen::llvm_backend::work_items(t.kernel(),
                                                codegen::llvm_backend::host_target().info.lanes);
  fn(bufs.data(), nullptr, 0, n);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(out[i], 4.0f * static_cast<float>(i)) << i;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

ObjectLoader& loader() {
  static ObjectLoader l;
  return l;
}

TEST(KernelCache, MemoryThenDisk) {
  std::string dir = temp_dir("hits");
  KernelCache cache(loader(), dir);
  TinyKernel t;
  auto r1 = cache.get(t.kernel());
  EXPECT_EQ(r1.source, CacheSource::Compiled);
  expect_works(r1.fn, t);
  EXPECT_TRUE(fs::exists(cache.path_for(cache.key_of(t.kernel()))));
  EXPECT_EQ(cache.get(t.kernel()).source, CacheSource::Memory);
  cache.forget_memory();
  auto r3 = cache.get(t.kernel());
  EXPECT_EQ(r3.source, CacheSource::Disk);
  expect_works(r3.fn, t);
  fs::remove_all(dir);
}

TEST(KernelCache, ThreadsAskingAtOnceGetOneKernel) {
  std::string dir = temp_dir("threads");
  KernelCache cache(loader(), dir);
  const TinyKernel kernels[2] = {TinyKernel(0), TinyKernel(1)};
  // Eight threads, two kernels, cold then from memory then from disk: every thread that
  // asks for a kernel gets the same function (the first one loaded) and it works.
  for (int phase = 0; phase < 3; ++phase) {
    if (phase == 2) cache.forget_memory();
    std::vector<runtime::cpu::KernelFn> got(8);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < got.size(); ++t)
      threads.emplace_back([&, t] { got[t] = cache.get(kernels[t % 2].kernel()).fn; });
    for (std::thread& t : threads) t.join();
    for (size_t t = 0; t < got.size(); ++t) {
      EXPECT_EQ(got[t], got[t % 2]) << "phase " << phase << ", thread " << t;
      expect_works(got[t], kernels[t % 2]);
    }
  }
  fs::remove_all(dir);
}

// Damages the entry with `damage`, then expects a rebuild, a valid rewritten entry and
// a working kernel.
void expect_rebuilt(const std::string& tag, const std::function<void(std::string& entry)>& damage) {
  std::string dir = temp_dir(tag);
  KernelCache cache(loader(), dir);
  TinyKernel t;
  ASSERT_EQ(cache.get(t.kernel()).source, CacheSource::Compiled);
  std::string path = cache.path_for(cache.key_of(t.kernel()));
  std::string entry = read_file(path);
  damage(entry);
  write_file(path, entry);
  cache.forget_memory();
  auto r = cache.get(t.kernel());
  EXPECT_EQ(r.source, CacheSource::Compiled) << tag;
  expect_works(r.fn, t);
  cache.forget_memory();
  auto again = cache.get(t.kernel());
  EXPECT_EQ(again.source, CacheSource::Disk) << tag << ": the rebuilt entry was not rewritten";
  expect_works(again.fn, t);
  fs::remove_all(dir);
}

TEST(KernelCache, CorruptEntryIsRebuilt) {
  expect_rebuilt("corrupt", [](std::string& e) { e[e.size() / 2] ^= 0x5a; });
}

TEST(KernelCache, TruncatedEntryIsRebuilt) {
  expect_rebuilt("truncated", [](std::string& e) { e.resize(e.size() - 100); });
  expect_rebuilt("header-only", [](std::string& e) { e.resize(20); });
  expect_rebuilt("empty", [](std::string& e) { e.clear(); });
}

TEST(KernelCache, StaleVersionIsRebuilt) {
  // The format version follows the 8-byte magic.
  expect_rebuilt("version", [](std::string& e) { e[8] = static_cast<char>(e[8] + 1); });
}

TEST(KernelCache, EntryOfAnotherKernelIsRebuilt) {
  std::string other_dir = temp_dir("other");
  KernelCache other(loader(), other_dir);
  TinyKernel t2(1);
  other.get(t2.kernel());
  std::string foreign = read_file(other.path_for(other.key_of(t2.kernel())));
  expect_rebuilt("foreign", [&](std::string& e) { e = foreign; });
  fs::remove_all(other_dir);
}

// The child half of SecondProcessStartsWarm: runs a graph in a fresh process and prints
// what the cache did.
TEST(KernelCacheChild, RunGraph) {
  if (!std::getenv("KILN_TEST_CHILD")) GTEST_SKIP() << "runs as a child of SecondProcessStartsWarm";
  GraphBuilder b;
  auto x = b.param({DType::F32, {3, 50}});
  b.result(b.add(ir::OpKind::ReduceSum, {b.add(ir::OpKind::Exp, {x})},
                 {std::vector<int64_t>{1}, false}));
  Stats before = stats();
  cpu().run(b.g, {random_buffer(x->type, 1)});
  Stats after = stats();
  std::printf("CHILD compiled=%lld disk=%lld\n",
              static_cast<long long>(after.kernels_compiled - before.kernels_compiled),
              static_cast<long long>(after.cache_hits_disk - before.cache_hits_disk));
}

TEST(KernelCache, SecondProcessStartsWarm) {
  std::string dir = temp_dir("process");
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  auto run_child = [&] {
    std::string cmd = "KILN_TEST_CHILD=1 KILN_CACHE_DIR='" + dir + "' '" + exe +
                      "' --gtest_filter=KernelCacheChild.RunGraph 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (f && fgets(buf, sizeof buf, f)) out += buf;
    if (f) pclose(f);
    return out;
  };
  std::string first = run_child();
  EXPECT_NE(first.find("CHILD compiled=1 disk=0"), std::string::npos) << first;
  std::string second = run_child();
  EXPECT_NE(second.find("CHILD compiled=0 disk=1"), std::string::npos) << second;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::testing
