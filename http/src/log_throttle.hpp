// "At most once every N seconds", across threads: for log lines that clients can make the
// server repeat (a full stdout, descriptor exhaustion), where a line per event would flood
// the log.
#pragma once

#include <atomic>
#include <ctime>

namespace hellepoll::http::detail {

class LogThrottle {
 public:
  explicit constexpr LogThrottle(std::time_t every_seconds) noexcept : every_(every_seconds) {}
  // True for the first caller, then for the first one after each `every_seconds`.
  bool allow() noexcept {
    const std::time_t now = std::time(nullptr);
    std::time_t last = last_.load(std::memory_order_relaxed);
    return now - last >= every_ && last_.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  const std::time_t every_;
  std::atomic<std::time_t> last_{0};
};

}  // namespace hellepoll::http::detail
