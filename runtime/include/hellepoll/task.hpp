// Task<T>: a lazy, move-only coroutine. Nothing runs until it is awaited (or spawned);
// when it finishes it hands control straight back to its awaiter (symmetric transfer, so
// deep chains of co_await use no stack), and an exception escaping it is rethrown in the
// awaiter.
#pragma once

#include <coroutine>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "hellepoll/detail/frame_allocator.hpp"

namespace hellepoll {

template <typename T = void>
class [[nodiscard]] Task;

namespace detail {

struct TaskPromiseBase;

// Detached tasks (spawn) belong to their scheduler until they finish: this intrusive
// list lets the scheduler destroy, at shutdown, the frames that never finished.
class DetachedList {
 public:
  void push(TaskPromiseBase* p) noexcept;
  void erase(TaskPromiseBase* p) noexcept;
  TaskPromiseBase* front() const noexcept { return head_; }
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

 private:
  TaskPromiseBase* head_ = nullptr;
  std::size_t size_ = 0;
};

// Logs an exception that escaped a detached task (defined in runtime/src/task.cpp).
void report_detached_exception(std::exception_ptr e) noexcept;

struct TaskPromiseBase {
  // Frames come from a per-thread recycler (detail/frame_allocator.hpp).
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  // Set only for detached tasks.
  DetachedList* owner = nullptr;
  TaskPromiseBase* prev = nullptr;
  TaskPromiseBase* next = nullptr;

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      TaskPromiseBase& p = h.promise();
      if (p.continuation) return p.continuation;
      if (p.owner) {
        // A detached task ends here: nobody will read its result, so errors are
        // logged rather than lost, and the frame frees itself.
        if (p.error) report_detached_exception(p.error);
        p.owner->erase(&p);
        h.destroy();
      }
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

inline void DetachedList::push(TaskPromiseBase* p) noexcept {
  p->owner = this;
  p->prev = nullptr;
  p->next = head_;
  if (head_) head_->prev = p;
  head_ = p;
  ++size_;
}

inline void DetachedList::erase(TaskPromiseBase* p) noexcept {
  if (p->prev) p->prev->next = p->next;
  else head_ = p->next;
  if (p->next) p->next->prev = p->prev;
  p->owner = nullptr;
  p->prev = p->next = nullptr;
  --size_;
}

template <typename T>
struct TaskPromise final : TaskPromiseBase {
  Task<T> get_return_object() noexcept;
  template <typename U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(&storage)) T(std::forward<U>(v));
    has_value = true;
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*std::launder(reinterpret_cast<T*>(&storage)));
  }
  ~TaskPromise() {
    if (has_value) std::launder(reinterpret_cast<T*>(&storage))->~T();
  }

  alignas(T) unsigned char storage[sizeof(T)];
  bool has_value = false;
};

template <>
struct TaskPromise<void> final : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  Task(Task&& o) noexcept : handle_(std::exchange(o.handle_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(o.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return handle_ && handle_.done(); }

  // What co_await sees. It does not own the coroutine: the Task must outlive it (as the
  // temporary in `co_await task()` does). Awaiting an empty Task (default-constructed, or
  // moved from) throws std::logic_error instead of resuming a null handle.
  struct Awaiter {
    std::coroutine_handle<promise_type> h;
    bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h.promise().continuation = awaiting;
      return h;
    }
    T await_resume() {
      if (!h) throw std::logic_error("co_await on an empty Task");
      return h.promise().take();
    }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

  // Gives up ownership of the coroutine (used by spawn and by the scheduler).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace hellepoll
