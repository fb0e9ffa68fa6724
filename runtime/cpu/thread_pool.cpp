// ThreadPool: chunked parallel_for over persistent workers.
#include "runtime/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace kiln::runtime::cpu {

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < std::max(threads, 1); ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {

// Polls `ready` for up to `limit`; true when it became true.
template <class Ready>
bool spin_until(Ready ready, std::chrono::microseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > end) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

}  // namespace

void ThreadPool::run_chunks() {
  for (;;) {
    int64_t begin = next_.fetch_add(chunk_);
    if (begin >= n_) return;
    (*fn_)(begin, std::min(begin + chunk_, n_));
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] { return stop_.load() || generation_.load() != seen; };
    if (!spin_until(ready, kSpin)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, ready);
    }
    if (stop_.load()) return;
    seen = generation_.load();
    run_chunks();
    if (active_.fetch_sub(1) == 1) {
      // The caller may be asleep: wake it under the lock so the wake-up cannot be lost.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int participants = size();
  if (participants == 1 || n < 2 * grain) {  // a split pays only when each gets a grain
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> call(call_mutex_, std::try_to_lock);
  if (!call.owns_lock()) {  // another thread's job has the workers
    fn(0, n);
    return;
  }
  // About four chunks per participant balances uneven chunks without much overhead.
  fn_ = &fn;
  n_ = n;
  chunk_ = std::max<int64_t>(grain, (n + 4 * participants - 1) / (4 * participants));
  next_.store(0);
  active_.store(static_cast<int>(workers_.size()));
  {
    // Under the lock: a worker between its last poll and its sleep sees the new job.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  run_chunks();
  auto done = [&] { return active_.load() == 0; };
  if (!spin_until(done, kSpin)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, done);
  }
  fn_ = nullptr;
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool([] {
    if (const char* env = std::getenv("KILN_NUM_THREADS")) {
      int n = std::atoi(env);
      if (n > 0) return n;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }());
  return pool;
}

}  // namespace kiln::runtime::cpu
