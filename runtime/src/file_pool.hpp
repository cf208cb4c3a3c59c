// Worker threads for regular-file operations under the epoll backend: regular files are
// always "ready" to epoll, so their reads would block the scheduler. Bounded queue,
// threads started on first use, completions handed back through notify() (which wakes
// the scheduler).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "hellepoll/operation.hpp"

namespace hellepoll::detail {

class FilePool {
 public:
  FilePool(unsigned threads, unsigned queue_bound, std::function<void()> notify);
  ~FilePool();
  FilePool(const FilePool&) = delete;
  FilePool& operator=(const FilePool&) = delete;

  // False when the queue is at its bound; the caller keeps the operation and retries.
  bool try_enqueue(Operation& op);
  // Moves finished operations to `out`; each one's result is in backend_result.
  void take_completed(std::vector<Operation*>& out);

 private:
  void work();

  unsigned thread_count_;
  unsigned queue_bound_;
  std::function<void()> notify_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Operation*> queue_;  // FIFO by index
  std::size_t queue_head_ = 0;
  std::vector<Operation*> completed_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace hellepoll::detail
