// Time as the scheduler sees it: a monotonic clock, and deadlines for operations.
#pragma once

#include <chrono>

namespace hellepoll {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// `from + d`, saturating at TimePoint::max() ("never") and min() instead of overflowing:
// a timeout of Duration::max() means no timeout.
constexpr TimePoint saturating_add(TimePoint from, Duration d) noexcept {
  if (d > Duration::zero() && from.time_since_epoch() > Duration::max() - d) return TimePoint::max();
  if (d < Duration::zero() && from.time_since_epoch() < Duration::min() - d) return TimePoint::min();
  return from + d;
}

// A point in time after which an operation gives up with ETIMEDOUT. The default is
// "never", so every I/O call can take one without forcing callers to think about it.
struct Deadline {
  TimePoint at = TimePoint::max();

  static Deadline never() noexcept { return {}; }
  static Deadline after(Duration d) noexcept { return {saturating_add(Clock::now(), d)}; }
  static Deadline at_time(TimePoint t) noexcept { return {t}; }
  bool is_never() const noexcept { return at == TimePoint::max(); }
  bool expired(TimePoint now = Clock::now()) const noexcept { return now >= at; }
};

}  // namespace hellepoll
