// An intrusive binary min-heap of timers. Nodes live inside the awaiting coroutine's
// frame (no allocation per timer); each node knows its heap slot so cancelling one is
// O(log n) and a cancelled timer is simply gone: it can never fire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "hellepoll/clock.hpp"

namespace hellepoll {

struct TimerNode {
  static constexpr std::size_t not_armed = static_cast<std::size_t>(-1);
  // Called when the deadline passes (cancelled == false) or when the scheduler shuts
  // down with the timer still armed (cancelled == true). The node is already unlinked.
  using Fire = void (*)(TimerNode&, bool cancelled) noexcept;

  TimePoint when{};
  std::uint64_t seq = 0;  // equal deadlines fire in the order they were armed
  std::size_t index = not_armed;
  Fire fire = nullptr;

  bool armed() const noexcept { return index != not_armed; }
};

class TimerQueue {
 public:
  void arm(TimerNode& node, TimePoint when, TimerNode::Fire fire);
  void disarm(TimerNode& node) noexcept;
  std::optional<TimePoint> next_deadline() const noexcept;
  // Fires every timer due at or before now, earliest first; returns how many fired.
  std::size_t fire_expired(TimePoint now);
  // Unlinks every timer and fires it with cancelled == true (scheduler shutdown).
  void cancel_all() noexcept;
  std::size_t size() const noexcept { return heap_.size(); }
  bool empty() const noexcept { return heap_.empty(); }

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
  }
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace hellepoll
