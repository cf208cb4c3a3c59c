#include "hellepoll/timer_queue.hpp"

namespace hellepoll {

void TimerQueue::arm(TimerNode& node, TimePoint when, TimerNode::Fire fire) {
  if (node.armed()) disarm(node);
  node.when = when;
  node.seq = next_seq_++;
  node.fire = fire;
  heap_.push_back(&node);
  node.index = heap_.size() - 1;
  sift_up(node.index);
}

void TimerQueue::disarm(TimerNode& node) noexcept {
  if (node.armed()) remove_at(node.index);
}

std::optional<TimePoint> TimerQueue::next_deadline() const noexcept {
  if (heap_.empty()) return std::nullopt;
  return heap_.front()->when;
}

std::size_t TimerQueue::fire_expired(TimePoint now) {
  std::size_t fired = 0;
  while (!heap_.empty() && heap_.front()->when <= now) {
    TimerNode* n = heap_.front();
    remove_at(0);
    n->fire(*n, false);
    ++fired;
  }
  return fired;
}

void TimerQueue::cancel_all() noexcept {
  while (!heap_.empty()) {
    TimerNode* n = heap_.back();
    heap_.pop_back();
    n->index = TimerNode::not_armed;
    n->fire(*n, true);
  }
}

void TimerQueue::sift_up(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!before(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerQueue::sift_down(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], n)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

void TimerQueue::remove_at(std::size_t i) noexcept {
  TimerNode* gone = heap_[i];
  TimerNode* last = heap_.back();
  heap_.pop_back();
  gone->index = TimerNode::not_armed;
  if (last == gone) return;
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2])) sift_up(i);
  else sift_down(i);
}

}  // namespace hellepoll
