#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace netc::rt {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker spins before it sleeps: longer than the gaps
// between the kernels of a step, short enough not to burn a core for long
// when the program does something else.
constexpr auto kSpin = std::chrono::microseconds(2000);

thread_local bool inside_task = false;

int run_serially(void* uc, ParallelTask task, int min, int extent, uint8_t* closure) {
  for (int i = min; i < min + extent; ++i)
    if (int r = task(uc, i, closure)) return r;
  return 0;
}

// The loop being run: (generation, extent, next index) packed in one word,
// so that claiming an index is one compare-and-swap and a stale view of an
// earlier loop can never claim an index of a later one.
constexpr int kIndexBits = 22;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
constexpr int kMaxExtent = int(kIndexMask);

uint64_t pack(uint64_t generation, int extent) {
  return generation << (2 * kIndexBits) | uint64_t(extent) << kIndexBits;
}

class Pool {
public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  int run(void* uc, ParallelTask task, int min, int extent, uint8_t* closure) {
    std::unique_lock lock(busy_, std::try_to_lock);
    if (!lock.owns_lock() || workers_.empty() || extent > kMaxExtent)
      return run_serially(uc, task, min, extent, closure);
    // The fields are written while no index can be claimed (the previous
    // loop's are all taken) and published by the release store of next_.
    task_.store(task, std::memory_order_relaxed);
    user_context_.store(uc, std::memory_order_relaxed);
    closure_.store(closure, std::memory_order_relaxed);
    min_.store(min, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    result_.store(0, std::memory_order_relaxed);
    uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    next_.store(pack(gen & 0xfffff, extent), std::memory_order_release);
    generation_.store(gen, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
    take_tasks();
    while (done_.load(std::memory_order_acquire) < extent) cpu_relax();
    return result_.load(std::memory_order_relaxed);
  }

private:
  // Claims and runs indices of the current loop until none is left. After a
  // successful claim the loop's fields cannot change until its task is
  // done (the next loop starts only when every task is).
  void take_tasks() {
    uint64_t state = next_.load(std::memory_order_acquire);
    for (;;) {
      auto index = static_cast<int>(state & kIndexMask);
      auto extent = static_cast<int>((state >> kIndexBits) & kIndexMask);
      if (index >= extent) return;
      if (!next_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        continue;
      inside_task = true;
      int r = task_.load(std::memory_order_relaxed)(user_context_.load(std::memory_order_relaxed),
                                                    min_.load(std::memory_order_relaxed) + index,
                                                    closure_.load(std::memory_order_relaxed));
      inside_task = false;
      if (r != 0) {
        int expected = 0;
        result_.compare_exchange_strong(expected, r, std::memory_order_relaxed);
      }
      done_.fetch_add(1, std::memory_order_release);
      state = next_.load(std::memory_order_acquire);
    }
  }

  void work() {
    uint32_t seen = generation_.load();
    while (!stop_.load(std::memory_order_relaxed)) {
      auto until = std::chrono::steady_clock::now() + kSpin;
      uint32_t gen = generation_.load(std::memory_order_acquire);
      for (int spins = 0; gen == seen; ++spins) {
        cpu_relax();
        if (spins % 256 == 255 && std::chrono::steady_clock::now() > until) {
          // No lost wake-up: the caller stores the generation, then reads
          // sleepers_; here sleepers_ is raised, then wait() compares.
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          generation_.wait(seen, std::memory_order_seq_cst);
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          until = std::chrono::steady_clock::now() + kSpin;
        }
        gen = generation_.load(std::memory_order_acquire);
      }
      seen = gen;
      if (stop_.load()) return;
      take_tasks();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_; // one loop at a time
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> generation_{0}; // wakes the workers
  std::atomic<int> sleepers_{0};
  std::atomic<uint64_t> next_{0};
  std::atomic<int> done_{0};
  std::atomic<int> result_{0};
  std::atomic<ParallelTask> task_{nullptr};
  std::atomic<void*> user_context_{nullptr};
  std::atomic<uint8_t*> closure_{nullptr};
  std::atomic<int> min_{0};
};

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 256u));
}

std::mutex pool_mutex;            // guards the owner
std::unique_ptr<Pool> pool_owner; // the pool, replaced by set_pool_threads
std::atomic<Pool*> current_pool{nullptr};

Pool& pool() {
  if (Pool* p = current_pool.load(std::memory_order_acquire)) return *p;
  std::lock_guard lock(pool_mutex);
  if (!pool_owner) {
    pool_owner = std::make_unique<Pool>(default_threads());
    current_pool.store(pool_owner.get(), std::memory_order_release);
  }
  return *pool_owner;
}

} // namespace

int parallel_for(void* uc, ParallelTask task, int min, int extent, uint8_t* closure) {
  if (extent <= 0) return 0;
  if (extent == 1 || inside_task) return run_serially(uc, task, min, extent, closure);
  return pool().run(uc, task, min, extent, closure);
}

void set_pool_threads(int threads) {
  threads = std::clamp(threads, 1, 256);
  std::lock_guard lock(pool_mutex);
  if (pool_owner && pool_owner->threads() == threads) return;
  current_pool.store(nullptr, std::memory_order_release);
  pool_owner.reset();
  pool_owner = std::make_unique<Pool>(threads);
  current_pool.store(pool_owner.get(), std::memory_order_release);
}

int pool_threads() { return pool().threads(); }

} // namespace netc::rt
