// sleeping_tasks: what one parked coroutine costs. Spawns N detached Tasks that each
// co_await sleep_for(1h), then reports the resident-memory growth per task and the heap
// bytes a counting operator new saw per task (the coroutine frame with its timer node;
// the timer heap's slot). The ancestor's claim was "half a million tasks is not so
// scary"; the goal here is <= 256 bytes each.
//
//   build/bench/bench/sleeping_tasks --tasks 500000 --backend uring
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <string_view>

#include <hellepoll/scheduler.hpp>
#include <hellepoll/sleep.hpp>
#include <hellepoll/task.hpp>

namespace {

std::atomic<std::size_t> g_live_bytes{0};
std::atomic<std::size_t> g_requested_bytes{0};
std::atomic<std::size_t> g_allocations{0};

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_requested_bytes.fetch_add(n, std::memory_order_relaxed);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  g_live_bytes.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

hellepoll::Task<void> sleeper() { co_await hellepoll::sleep_for(std::chrono::hours(1)); }

// Spawns in chunks, yielding between them, as a server spawns per connection: the ready
// queue stays small, so what is measured is the tasks, not a 500,000-slot queue.
hellepoll::Task<void> spawn_all(std::size_t n) {
  constexpr std::size_t chunk = 1024;
  for (std::size_t i = 0; i < n; i += chunk) {
    for (std::size_t j = i; j < n && j < i + chunk; ++j) hellepoll::spawn(sleeper());
    co_await hellepoll::yield();  // every task spawned so far runs up to its sleep
  }
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

int main(int argc, char** argv) {
  std::size_t tasks = 500000;
  std::string backend = "uring";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--tasks" && i + 1 < argc) tasks = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--backend" && i + 1 < argc) backend = argv[++i];
    else {
      std::fprintf(a == "--help" ? stdout : stderr, "usage: sleeping_tasks [--tasks N] [--backend uring|epoll]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (tasks == 0) tasks = 1;

  using clock = std::chrono::steady_clock;
  hellepoll::Scheduler scheduler(hellepoll::parse_backend_kind(backend));
  scheduler.block_on(spawn_all(1024));  // warm up: the allocator's and the heap's first growth
  const long rss0 = rss_kib();
  const std::size_t live0 = g_live_bytes.load(), req0 = g_requested_bytes.load(), count0 = g_allocations.load();
  const auto t0 = clock::now();

  scheduler.block_on(spawn_all(tasks));

  const auto t1 = clock::now();
  const long rss1 = rss_kib();
  const std::size_t live1 = g_live_bytes.load(), req1 = g_requested_bytes.load(), count1 = g_allocations.load();
  const std::size_t parked = scheduler.detached_count();
  const double n = static_cast<double>(tasks);
  const double rss_per = static_cast<double>(rss1 - rss0) * 1024.0 / n;
  const double live_per = static_cast<double>(live1 - live0) / n;
  const double req_per = static_cast<double>(req1 - req0) / n;
  const double allocs_per = static_cast<double>(count1 - count0) / n;
  const double spawn_s = std::chrono::duration<double>(t1 - t0).count();

  std::printf("sleeping_tasks: %zu tasks parked in sleep_for(1h) on %s (%zu detached in all) in %.3f s\n", tasks,
              std::string(hellepoll::to_string(scheduler.backend_kind())).c_str(), parked, spawn_s);
  std::printf("sleeping_tasks: RSS %ld KiB -> %ld KiB: %.1f bytes per task\n", rss0, rss1, rss_per);
  std::printf("sleeping_tasks: heap %.1f bytes per task live (malloc_usable_size), %.1f requested, %.2f allocations\n",
              live_per, req_per, allocs_per);
  std::printf("RESULT tasks=%zu rss_bytes_per_task=%.1f heap_bytes_per_task=%.1f requested_bytes_per_task=%.1f "
              "allocations_per_task=%.2f spawn_seconds=%.3f\n",
              tasks, rss_per, live_per, req_per, allocs_per, spawn_s);
  std::printf("sleeping_tasks: rerun: %s --tasks %zu --backend %s\n", argv[0], tasks, backend.c_str());
  std::fflush(stdout);
  return 0;  // the scheduler's destructor cancels every sleep and lets each task unwind
}
