#include "file_pool.hpp"

#include "syscall_ops.hpp"

namespace hellepoll::detail {

FilePool::FilePool(unsigned threads, unsigned queue_bound, std::function<void()> notify)
    : thread_count_(threads ? threads : 1), queue_bound_(queue_bound ? queue_bound : 1), notify_(std::move(notify)) {}

FilePool::~FilePool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool FilePool::try_enqueue(Operation& op) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() - queue_head_ >= queue_bound_) return false;
    // Threads start on first use: a socket-only program never pays for them.
    if (threads_.empty())
      for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { work(); });
    queue_.push_back(&op);
  }
  cv_.notify_one();
  return true;
}

void FilePool::take_completed(std::vector<Operation*>& out) {
  std::lock_guard lock(mutex_);
  out.insert(out.end(), completed_.begin(), completed_.end());
  completed_.clear();
}

void FilePool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || queue_head_ < queue_.size(); });
    if (queue_head_ == queue_.size()) return;  // stopping and nothing left to do
    Operation* op = queue_[queue_head_++];
    if (queue_head_ == queue_.size()) {
      queue_.clear();
      queue_head_ = 0;
    }
    lock.unlock();
    op->backend_result = perform_syscall(*op);
    lock.lock();
    bool first = completed_.empty();
    completed_.push_back(op);
    // Only the first completion of a batch needs to wake the scheduler.
    if (first) {
      lock.unlock();
      notify_();
      lock.lock();
    }
  }
}

}  // namespace hellepoll::detail
