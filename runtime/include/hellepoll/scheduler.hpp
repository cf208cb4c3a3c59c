// One Scheduler per thread, never shared: a ready queue of coroutines, a timer heap and
// one Backend. Its loop runs the ready coroutines, fires due timers, then submits and
// waits for completions in one call to the backend.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "hellepoll/backend.hpp"
#include "hellepoll/task.hpp"
#include "hellepoll/timer_queue.hpp"

namespace hellepoll {

struct SchedulerOptions {
  BackendKind backend = BackendKind::auto_detect;
  BackendOptions backend_options{};
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  explicit Scheduler(BackendKind kind);
  // Adopts a backend built elsewhere (tests inject one).
  explicit Scheduler(std::unique_ptr<Backend> backend);
  // Stops: cancels what is in flight, lets coroutines unwind, then destroys the frames
  // of detached tasks that can never finish. Nothing leaks.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The scheduler of the calling thread; throws std::logic_error when there is none.
  static Scheduler& current();
  static Scheduler* current_or_null() noexcept { return current_; }

  Backend& backend() noexcept { return *backend_; }
  BackendKind backend_kind() const noexcept { return backend_->kind(); }
  TimerQueue& timers() noexcept { return timers_; }
  // When the current turn of the loop began. The loop reads the clock once per turn;
  // deadlines counted from here (turn_deadline) need no read of their own. On a VM a
  // read costs ~28 ns, and a keep-alive request took three.
  TimePoint turn_started() const noexcept { return turn_started_; }

  // Runs `task` detached: the scheduler owns it until it finishes; an exception that
  // escapes it is logged, not lost. A lambda coroutine keeps its captures in the lambda
  // object, not in its frame: `spawn([x]() -> Task<void> {...}())` reads a destroyed
  // temporary once it suspends. Pass such values as parameters, which the frame copies:
  // `spawn([](int x) -> Task<void> {...}(x))`.
  void spawn(Task<void> task);
  // Runs the loop until `task` completes and returns its result (or rethrows). Not from a
  // coroutine of this scheduler (std::logic_error): there, co_await the task.
  template <typename T>
  T block_on(Task<T> task);
  // Runs the loop until stop() is called and every coroutine has unwound.
  void run();
  // Cancels every operation in flight and every timer; later operations fail at once
  // with ECANCELED. Call on this scheduler's thread (from elsewhere: post a stop).
  void stop() noexcept;
  bool stopping() const noexcept { return stopping_; }

  // Runs `fn` on this scheduler's thread soon; callable from any thread, wakes a
  // scheduler blocked in the kernel. Posted when no loop runs, `fn` waits for the next
  // block_on or run(), and is dropped unrun if the scheduler is destroyed first; posting
  // to a destroyed scheduler is the caller's use after free.
  void post(std::function<void()> fn);

  // Runs `fn(arg)` once at the end of this turn of the loop: after the ready coroutines,
  // before the loop next waits in the kernel (and before the scheduler is gone). For work
  // worth doing once per turn rather than once per request, such as the access log's write.
  void at_turn_end(void (*fn)(void*) noexcept, void* arg) { turn_end_.push_back({fn, arg}); }

  // Queues a coroutine to be resumed by the loop (never resumed inline).
  void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }
  // Starts an operation. Returns true when it finished at once (result in `result`).
  bool start(Operation& op, int& result) {
    // Stopping, every operation fails at once but a close: a descriptor must never leak
    // (a destructor's asynchronous close during shutdown).
    if (stopping_ && op.code != OpCode::close) [[unlikely]] {
      result = -125;  // -ECANCELED, spelled out to keep <cerrno> out of this header
      return true;
    }
    return backend_->submit(op, result);
  }
  // Asked when an operation finished at once, having moved `bytes` (0 for operations that
  // move none): may its task go on without a trip through the loop? Yes until it has
  // finished kInlineRun operations or moved kInlineBytes at once in this turn; then the
  // task must go to the back of the ready queue. Otherwise a task whose socket always has
  // data (or room) would keep the thread and starve every other connection on it: a fast
  // reader of a huge file, a client that never stops pipelining.
  bool may_continue_inline(std::size_t bytes) noexcept {
    if (inline_left_ == 0 || bytes >= inline_bytes_left_) [[unlikely]] {
      inline_left_ = 0;
      return false;
    }
    --inline_left_;
    inline_bytes_left_ -= bytes;
    return true;
  }
  // Per turn: 16 operations (a keep-alive request needs two or three), and 2 MiB, as
  // nginx's sendfile_max_chunk: two 1 MiB sendfile calls, or 128 reads of 16 KiB. With a
  // fast client downloading a huge file, another client's request waited up to 30-45 ms
  // behind it with only the operation count (16 MiB per turn), 5 ms with nginx.
  static constexpr int kInlineRun = 16;
  static constexpr std::size_t kInlineBytes = 2u << 20;

  std::size_t detached_count() const noexcept { return detached_.size(); }
  std::size_t ready_count() const noexcept { return ready_.size(); }

 private:
  template <typename T>
  struct Outcome;
  template <typename T>
  static Task<void> run_into(Task<T> task, Outcome<T>* out);

  // One loop turn is run_ready() then wait_for_completions(); callers check their exit
  // condition in between, never after blocking.
  void run_ready();
  void wait_for_completions();
  void run_posted();
  void run_turn_end();
  void shutdown() noexcept;
  bool quiescent() const noexcept;

  static thread_local Scheduler* current_;

  std::unique_ptr<Backend> backend_;
  TimerQueue timers_;
  TimePoint turn_started_ = Clock::now();
  std::vector<std::coroutine_handle<>> ready_;
  std::vector<std::coroutine_handle<>> running_;
  detail::DetachedList detached_;
  struct TurnEnd {
    void (*fn)(void*) noexcept;
    void* arg;
  };
  std::vector<TurnEnd> turn_end_;
  bool stopping_ = false;

  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> wake_pending_{false};
  int inline_left_ = kInlineRun;
  std::size_t inline_bytes_left_ = kInlineBytes;
};

// `d` after the start of the current scheduler turn: for timeouts where the time a turn
// has run so far (microseconds; a handler that computes for long delays its whole thread
// anyway) does not matter. Deadline::after(d) reads the clock.
inline Deadline turn_deadline(Duration d) {
  return Deadline::at_time(saturating_add(Scheduler::current().turn_started(), d));
}

// Detaches `task` onto the current thread's scheduler.
inline void spawn(Task<void> task) { Scheduler::current().spawn(std::move(task)); }

template <typename T>
struct Scheduler::Outcome {
  std::optional<T> value;
  std::exception_ptr error;
  bool done = false;
};
template <>
struct Scheduler::Outcome<void> {
  std::exception_ptr error;
  bool done = false;
};

template <typename T>
Task<void> Scheduler::run_into(Task<T> task, Outcome<T>* out) {
  try {
    if constexpr (std::is_void_v<T>) co_await std::move(task);
    else out->value.emplace(co_await std::move(task));
  } catch (...) {
    out->error = std::current_exception();
  }
  out->done = true;
}

template <typename T>
T Scheduler::block_on(Task<T> task) {
  // From inside a coroutine this scheduler is running, a nested loop would resume the
  // coroutines of the turn in progress a second time.
  if (!running_.empty())
    throw std::logic_error("hellepoll: block_on/sync_wait called from a coroutine on its own scheduler: co_await the task instead");
  Outcome<T> out;
  Task<void> wrapper = run_into(std::move(task), &out);
  auto h = wrapper.release();
  schedule(h);
  for (;;) {
    run_ready();
    if (out.done) break;
    wait_for_completions();
  }
  h.destroy();  // finished (suspended at its final point): free the frame
  if (out.error) std::rethrow_exception(out.error);
  if constexpr (!std::is_void_v<T>) return std::move(*out.value);
}

// Runs `task` to completion on the current thread's scheduler, creating one (backend
// from HELLEPOLL_BACKEND, else auto) if the thread has none.
template <typename T>
T sync_wait(Task<T> task) {
  if (Scheduler* s = Scheduler::current_or_null()) return s->block_on(std::move(task));
  Scheduler s(SchedulerOptions{backend_kind_from(std::nullopt), {}});
  return s.block_on(std::move(task));
}

}  // namespace hellepoll
