// A fixed pool of worker threads for the CPU device: parallel_for splits a range of work
// items into chunks that the workers and the calling thread take in turn, and returns
// when all are done. Sized by KILN_NUM_THREADS, else the hardware's thread count.
// Tests: tests/cpu/device_test.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::runtime::cpu {

class ThreadPool {
 public:
  // `threads` participants in all (the caller is one of them); at least 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) in chunks of at least `grain` items, in parallel;
  // returns when every chunk has run. One call at a time (calls are serialized).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The process's pool (KILN_NUM_THREADS or the hardware thread count).
  static ThreadPool& global();

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // serializes parallel_for calls
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  int active_ = 0;  // workers still in the current job
  // The current job.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
};

}  // namespace kiln::runtime::cpu
