#include "hellepoll/scheduler.hpp"

#include <cerrno>
#include <stdexcept>

#include "hellepoll/log.hpp"

namespace hellepoll {

static_assert(ECANCELED == 125, "Scheduler::start spells out -ECANCELED");

thread_local Scheduler* Scheduler::current_ = nullptr;

Scheduler::Scheduler(SchedulerOptions options)
    : Scheduler(make_backend(options.backend, options.backend_options)) {}

Scheduler::Scheduler(BackendKind kind) : Scheduler(SchedulerOptions{kind, {}}) {}

Scheduler::Scheduler(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {
  if (current_) throw std::logic_error("hellepoll: this thread already has a Scheduler");
  current_ = this;
  ready_.reserve(1024);
  running_.reserve(1024);
}

Scheduler::~Scheduler() {
  shutdown();
  current_ = nullptr;
}

Scheduler& Scheduler::current() {
  if (!current_) throw std::logic_error("hellepoll: no Scheduler on this thread");
  return *current_;
}

void Scheduler::spawn(Task<void> task) {
  auto h = task.release();
  if (!h) return;
  detached_.push(&h.promise());
  schedule(h);
}

void Scheduler::run() {
  for (;;) {
    run_ready();
    if (stopping_ && quiescent()) return;
    wait_for_completions();
  }
}

void Scheduler::stop() noexcept {
  if (stopping_) return;
  stopping_ = true;
  backend_->cancel_all();
  timers_.cancel_all();
}

void Scheduler::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  // Only the first post since the scheduler last looked pays for a wake-up syscall.
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) backend_->wake();
}

void Scheduler::run_posted() {
  // Clear the flag before taking the queue: a post that lands after the swap sees the
  // flag clear and wakes us again, so nothing posted is ever left waiting.
  wake_pending_.store(false, std::memory_order_release);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

bool Scheduler::quiescent() const noexcept {
  return ready_.empty() && backend_->in_flight() == 0 && timers_.empty();
}

void Scheduler::run_ready() {
  if (wake_pending_.load(std::memory_order_acquire)) run_posted();
  turn_started_ = Clock::now();
  if (!timers_.empty()) timers_.fire_expired(turn_started_);

  // Resume a snapshot of the ready queue: coroutines made ready meanwhile wait for the
  // next turn, so completions keep flowing even if some task keeps yielding.
  running_.swap(ready_);
  for (auto h : running_) {
    inline_left_ = kInlineRun;  // each task's turn gets its own budget
    inline_bytes_left_ = kInlineBytes;
    h.resume();
  }
  running_.clear();
  if (!turn_end_.empty()) run_turn_end();
}

void Scheduler::run_turn_end() {
  std::vector<TurnEnd> batch;
  batch.swap(turn_end_);  // what a callback asks for now is for the next turn's end
  for (const TurnEnd& t : batch) t.fn(t.arg);
  if (turn_end_.empty()) {  // keep the capacity: no allocation per turn
    batch.clear();
    turn_end_.swap(batch);
  }
}

void Scheduler::wait_for_completions() {
  std::optional<std::chrono::nanoseconds> timeout;  // nullopt: block until woken
  if (!ready_.empty() || wake_pending_.load(std::memory_order_acquire) ||
      (stopping_ && backend_->in_flight() == 0)) {
    timeout = std::chrono::nanoseconds::zero();
  } else if (auto next = timers_.next_deadline()) {
    auto now = Clock::now();
    timeout = *next > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now)
                          : std::chrono::nanoseconds::zero();
  }
  backend_->poll(timeout);
}

void Scheduler::shutdown() noexcept {
  stop();
  // Rounds: let every coroutine see its cancellation and unwind (waiting for the kernel to
  // let go of every buffer before any frame is freed), then destroy the frames of detached
  // tasks suspended on something that will never happen (no I/O, no timer): their
  // destructors release their fds. A destructor may spawn a task (an asynchronous close):
  // it runs in the next round, its operations failing with ECANCELED at once (a close
  // goes through), rather than being freed while still queued to run.
  for (int round = 0;; ++round) {
    try {
      for (;;) {
        run_ready();
        if (quiescent()) break;
        wait_for_completions();
      }
    } catch (const std::exception& e) {
      log(LogLevel::error, "scheduler shutdown: {}", e.what());
    }
    if (detached_.empty()) break;
    std::vector<detail::TaskPromiseBase*> stuck;
    while (!detached_.empty()) {
      stuck.push_back(detached_.front());
      detached_.erase(detached_.front());
    }
    for (detail::TaskPromiseBase* p : stuck)
      std::coroutine_handle<detail::TaskPromise<void>>::from_promise(*static_cast<detail::TaskPromise<void>*>(p)).destroy();
    if (round == 8) {  // destructors that spawn without end: what they spawned is leaked,
      // never run nor freed (nothing queued may outlive its frame)
      log(LogLevel::error, "scheduler shutdown: tasks still spawned by destructors after {} rounds; {} left unfreed",
          round, detached_.size());
      while (!detached_.empty()) detached_.erase(detached_.front());
      ready_.clear();
      break;
    }
  }
  // Destructors above may have closed fds through the backend.
  try {
    while (!quiescent()) {
      wait_for_completions();
      run_ready();
    }
  } catch (...) {
  }
  // What the last turns asked for, and what those callbacks ask for in turn (bounded).
  for (int rounds = 0; rounds < 16 && !turn_end_.empty(); ++rounds) run_turn_end();
  {
    std::lock_guard lock(posted_mutex_);
    posted_.clear();
  }
}

}  // namespace hellepoll
