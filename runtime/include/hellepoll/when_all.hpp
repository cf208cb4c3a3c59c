// when_all: run several tasks concurrently on the current scheduler and resume when
// all have finished. Results come back in order; if any task threw, the first
// exception (in argument order) is rethrown after all have finished.
//
//   auto [a, b] = co_await when_all(fetch(1), fetch(2));
//   std::vector<int> all = co_await when_all(std::move(tasks));
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "hellepoll/task.hpp"

namespace hellepoll {
namespace detail {

struct WhenAllCounter {
  std::size_t remaining;
  std::coroutine_handle<> parent;
};

// A child coroutine that counts itself down when it ends and resumes the parent when it
// is the last one.
struct WhenAllChild {
  struct promise_type {
    WhenAllCounter* counter = nullptr;
    WhenAllChild get_return_object() noexcept {
      return WhenAllChild{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct Last {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          WhenAllCounter* c = h.promise().counter;
          return --c->remaining == 0 ? c->parent : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
      };
      return Last{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // bodies catch all
  };
  explicit WhenAllChild(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
  WhenAllChild(WhenAllChild&& o) noexcept : handle(std::exchange(o.handle, {})) {}
  ~WhenAllChild() {
    if (handle) handle.destroy();
  }
  std::coroutine_handle<promise_type> handle;
};

template <typename T>
using WhenAllValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
struct WhenAllSlot {
  std::optional<WhenAllValue<T>> value;
  std::exception_ptr error;
  WhenAllValue<T> take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <typename T>
WhenAllChild when_all_child(Task<T> task, WhenAllSlot<T>& slot) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      slot.value.emplace();
    } else {
      slot.value.emplace(co_await std::move(task));
    }
  } catch (...) {
    slot.error = std::current_exception();
  }
}

// Starts every child; the count includes one extra for ourselves so a child that
// finishes synchronously cannot resume the parent before it has suspended.
struct WhenAllStart {
  std::vector<WhenAllChild>& children;
  WhenAllCounter counter{0, {}};
  bool await_ready() const noexcept { return children.empty(); }
  bool await_suspend(std::coroutine_handle<> parent) noexcept {
    counter.remaining = children.size() + 1;
    counter.parent = parent;
    for (auto& c : children) {
      c.handle.promise().counter = &counter;
      c.handle.resume();
    }
    return --counter.remaining != 0;
  }
  void await_resume() const noexcept {}
};

}  // namespace detail

template <typename T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(std::vector<Task<T>> tasks) {
  std::vector<detail::WhenAllSlot<T>> slots(tasks.size());
  std::vector<detail::WhenAllChild> children;
  children.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) children.push_back(detail::when_all_child(std::move(tasks[i]), slots[i]));
  co_await detail::WhenAllStart{children};
  if constexpr (std::is_void_v<T>) {
    for (auto& s : slots) s.take();
  } else {
    std::vector<T> out;
    out.reserve(slots.size());
    for (auto& s : slots) out.push_back(s.take());
    co_return out;
  }
}

template <typename... Ts>
Task<std::tuple<detail::WhenAllValue<Ts>...>> when_all(Task<Ts>... tasks) {
  std::tuple<detail::WhenAllSlot<Ts>...> slots;
  std::vector<detail::WhenAllChild> children;
  children.reserve(sizeof...(Ts));
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (children.push_back(detail::when_all_child(std::move(tasks), std::get<I>(slots))), ...);
  }(std::index_sequence_for<Ts...>{});
  co_await detail::WhenAllStart{children};
  // Braced initialisation evaluates left to right: the first error in argument order wins.
  co_return std::apply([](auto&... s) { return std::tuple<detail::WhenAllValue<Ts>...>{s.take()...}; }, slots);
}

}  // namespace hellepoll
