#include "shared_open.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <coroutine>
#include <memory>
#include <vector>

#include "hellepoll/io.hpp"

namespace hellepoll::http {
namespace {

// The open itself: openat2 beneath the root, then a stat of the fd.
Task<OpenedFile> open_beneath(int root_fd, std::string rel) {
  OpenedFile file;
  if (rel.empty()) rel = ".";
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: never hang on a FIFO
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = co_await io::openat2(root_fd, rel.c_str(), &how);
  if (fd < 0) {
    file.error = fd;
    co_return file;
  }
  // The inode is in memory once the file is open, so stat'ing the fd cannot wait for the
  // disk: a direct call is cheaper than io_uring's statx (always punted to a worker) or a
  // trip through the epoll file pool.
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &file.st) != 0) {
    file.error = -errno;
    ::close(fd);
    co_return file;
  }
  // The O_NONBLOCK stays: reads ignore it (the io_uring backend clears it itself on the
  // first read that finds the file's bytes not cached).
  file.fd = fd;
  co_return file;
}

// One open in flight and the requests waiting for it.
struct Pending {
  Pending(int root, std::string path) : root_fd(root), rel(std::move(path)) {}
  int root_fd;
  std::string rel;
  bool done = false;
  OpenedFile result;
  std::vector<std::coroutine_handle<>> waiters;

  // Hands `file` to every waiter (each gets a user of the fd), then runs each of them up
  // to its next wait (`now`), so their reads go out in this turn's submission as the
  // opener's does, or queues them for the next turn.
  void publish(OpenedFile& file, bool now) {
    if (file.fd >= 0 && !waiters.empty())
      file.shared = new SharedFd{file.fd, static_cast<std::uint32_t>(waiters.size() + 1)};
    result = file;
    done = true;
    Scheduler* s = Scheduler::current_or_null();
    for (auto h : std::exchange(waiters, {})) {
      if (now) h.resume();
      else if (s) s->schedule(h);
    }
  }
};

// The opens started under the current submission epoch of this thread's scheduler: the
// only ones a request may join.
struct Joinable {
  const Scheduler* scheduler = nullptr;
  std::uint64_t epoch = 0;
  std::vector<std::shared_ptr<Pending>> pending;

  std::shared_ptr<Pending> find(int root_fd, std::string_view rel) {
    const Scheduler* s = Scheduler::current_or_null();
    const std::uint64_t now = io::submission_epoch();
    if (now != epoch || s != scheduler) {  // everything listed has gone to the kernel
      pending.clear();
      scheduler = s;
      epoch = now;
      return nullptr;
    }
    for (auto& p : pending)
      if (p->root_fd == root_fd && p->rel == rel) return p;
    return nullptr;
  }
  void remove(const Pending* p) {
    std::erase_if(pending, [p](const std::shared_ptr<Pending>& q) { return q.get() == p; });
  }
};
thread_local Joinable joinable;

// Waits for another request's open. Leaves the wait list if its frame is destroyed first.
struct Join {
  Pending& p;
  std::coroutine_handle<> waiting{};
  bool await_ready() const noexcept { return p.done; }
  void await_suspend(std::coroutine_handle<> h) {
    waiting = h;
    p.waiters.push_back(h);
  }
  OpenedFile await_resume() noexcept {
    waiting = {};
    return p.result;
  }
  ~Join() {
    if (waiting) std::erase(p.waiters, waiting);
  }
};

// If the opening request's frame goes away before the open finishes (only as a scheduler
// shuts down), its waiters are told so rather than left waiting.
struct PublishOnExit {
  Pending& p;
  ~PublishOnExit() {
    joinable.remove(&p);
    if (p.done) return;
    OpenedFile cancelled;
    cancelled.error = -ECANCELED;
    p.publish(cancelled, false);
  }
};

}  // namespace

Task<OpenedFile> open_shared(int root_fd, std::string rel) {
  if (std::shared_ptr<Pending> p = joinable.find(root_fd, rel)) co_return co_await Join{*p};
  auto p = std::make_shared<Pending>(root_fd, rel);
  joinable.pending.push_back(p);
  PublishOnExit guard{*p};
  OpenedFile file = co_await open_beneath(root_fd, std::move(rel));
  joinable.remove(p.get());
  p->publish(file, true);
  co_return file;
}

}  // namespace hellepoll::http
