// A fixed pool of worker threads for the CPU device: parallel_for splits a range of work
// items into chunks that the workers and the calling thread take in turn, and returns
// when all are done. Sized by KILN_NUM_THREADS, else the hardware's thread count.
// Between jobs, workers and the waiting caller spin for a short while (kSpin) before they
// sleep on a condition variable: the launches of one eval follow each other within
// microseconds, and a futex wake-up per launch cost more than small kernels themselves.
// The pool runs one job at a time; a thread that calls parallel_for while another thread's
// job runs does its work alone instead of waiting (evals from several threads each keep
// going, and one that is compiling kernels on the pool holds no one up).
// Tests: tests/runtime/cpu/device_test.cpp.
#pragma once

#include <atomic>
#include <chrono>
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
  // returns when every chunk has run. Thread safe: while the pool is busy with another
  // call, fn runs over the whole range on the calling thread.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The process's pool (KILN_NUM_THREADS or the hardware thread count).
  static ThreadPool& global();

 private:
  void worker_loop();
  void run_chunks();

  // How long a worker polls for the next job, and the caller for the workers to finish,
  // before sleeping.
  static constexpr std::chrono::microseconds kSpin{100};

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // held by the call whose job the pool runs
  std::mutex mutex_;       // guards the sleeps on wake_ and done_
  std::condition_variable wake_, done_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};  // bumped per job
  std::atomic<int> active_{0};           // workers still in the current job
  // The current job.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
};

}  // namespace kiln::runtime::cpu
