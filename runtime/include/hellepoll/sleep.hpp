// Timers: co_await sleep_for(10ms). They return 0 when the time passed, or -ECANCELED
// when the sleep was cancelled (through a stop_token, or by the scheduler stopping).
#pragma once

#include <cerrno>
#include <coroutine>
#include <optional>
#include <stop_token>

#include "hellepoll/clock.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/timer_queue.hpp"

namespace hellepoll {

// A sleep starts only when awaited: `sleep_for(10ms);` without co_await returns at once
// having waited for nothing. [[nodiscard]] here and on the two awaitables below (the
// attribute is not inherited) makes that a warning, an error under -Werror.
class [[nodiscard]] SleepAwaitable : private TimerNode {
 public:
  explicit SleepAwaitable(TimePoint until) noexcept : until_(until) {}
  SleepAwaitable(const SleepAwaitable&) = delete;
  SleepAwaitable& operator=(const SleepAwaitable&) = delete;
  ~SleepAwaitable() {
    if (armed()) Scheduler::current().timers().disarm(*this);
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_ = h;
    Scheduler& s = Scheduler::current();
    if (s.stopping()) {
      result_ = -ECANCELED;
      s.schedule(h);
      return;
    }
    s.timers().arm(*this, until_, &SleepAwaitable::fired);
  }
  int await_resume() const noexcept { return result_; }

 protected:
  // Cancels a pending sleep: it will not fire and resumes with -ECANCELED.
  void cancel() noexcept {
    if (!armed()) return;
    Scheduler& s = Scheduler::current();
    s.timers().disarm(*this);
    result_ = -ECANCELED;
    s.schedule(waiter_);
  }

 private:
  static void fired(TimerNode& n, bool cancelled) noexcept {
    auto& self = static_cast<SleepAwaitable&>(n);
    self.result_ = cancelled ? -ECANCELED : 0;
    Scheduler::current().schedule(self.waiter_);
  }

  TimePoint until_;
  std::coroutine_handle<> waiter_;
  int result_ = 0;
};

// A sleep that a std::stop_source can cut short. request_stop() must be called on the
// scheduler's thread (post it from elsewhere): timers are not shared between threads.
class [[nodiscard]] CancellableSleep : public SleepAwaitable {
 public:
  CancellableSleep(TimePoint until, std::stop_token token) noexcept
      : SleepAwaitable(until), token_(std::move(token)) {}

  void await_suspend(std::coroutine_handle<> h) {
    SleepAwaitable::await_suspend(h);
    callback_.emplace(token_, Canceller{this});  // runs at once if already stopped
  }
  int await_resume() noexcept {
    callback_.reset();
    return SleepAwaitable::await_resume();
  }

 private:
  struct Canceller {
    CancellableSleep* self;
    void operator()() const noexcept { self->cancel(); }
  };
  std::stop_token token_;
  std::optional<std::stop_callback<Canceller>> callback_;
};

inline SleepAwaitable sleep_until(TimePoint t) noexcept { return SleepAwaitable(t); }
inline SleepAwaitable sleep_for(Duration d) noexcept { return SleepAwaitable(saturating_add(Clock::now(), d)); }
inline CancellableSleep sleep_until(TimePoint t, std::stop_token token) noexcept {
  return CancellableSleep(t, std::move(token));
}
inline CancellableSleep sleep_for(Duration d, std::stop_token token) noexcept {
  return CancellableSleep(saturating_add(Clock::now(), d), std::move(token));
}

// Lets every other ready coroutine run before this one continues.
struct [[nodiscard]] YieldAwaitable {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { Scheduler::current().schedule(h); }
  void await_resume() const noexcept {}
};
inline YieldAwaitable yield() noexcept { return {}; }

}  // namespace hellepoll
