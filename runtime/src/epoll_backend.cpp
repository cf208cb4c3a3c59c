#include "epoll_backend.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include "file_fast_path.hpp"
#include "syscall_ops.hpp"

namespace hellepoll::detail {
namespace {

// backend_state values
constexpr std::uint8_t idle = 0;
constexpr std::uint8_t parked_reader = 1;
constexpr std::uint8_t parked_writer = 2;
constexpr std::uint8_t in_pool = 3;
constexpr std::uint8_t connecting = 4;

bool parks_as_reader(OpCode c) noexcept {
  return c == OpCode::accept || c == OpCode::accept_multi || c == OpCode::recv || c == OpCode::poll_read;
}
bool parks_as_writer(OpCode c) noexcept {
  return c == OpCode::send || c == OpCode::sendmsg || c == OpCode::send_file;
}

// A retry of a parked op: connect's second step reads SO_ERROR instead of connecting again.
int attempt(Operation& op) noexcept {
  if (op.backend_state == connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
  }
  return perform_syscall(op);
}

}  // namespace

void EpollBackend::Queue::push(Operation* op) noexcept {
  op->next = nullptr;
  if (tail) tail->next = op;
  else head = op;
  tail = op;
}
Operation* EpollBackend::Queue::pop() noexcept {
  Operation* op = head;
  if (op) {
    head = op->next;
    if (!head) tail = nullptr;
    op->next = nullptr;
  }
  return op;
}
bool EpollBackend::Queue::remove(Operation* op) noexcept {
  Operation* prev = nullptr;
  for (Operation* cur = head; cur; prev = cur, cur = cur->next) {
    if (cur != op) continue;
    if (prev) prev->next = cur->next;
    else head = cur->next;
    if (tail == cur) tail = prev;
    cur->next = nullptr;
    return true;
  }
  return false;
}

EpollBackend::EpollBackend(const BackendOptions& options) : options_(options) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) {
    int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: it is drained on every wake-up anyway
  ev.data.fd = wakefd_;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  slots_.resize(1024);
}

EpollBackend::~EpollBackend() {
  pool_.reset();  // joins the workers before the operations they hold can go away
  ::close(wakefd_);
  ::close(epfd_);
}

std::string EpollBackend::describe() const { return "epoll (edge-triggered, syscall first)"; }

EpollBackend::FdSlot& EpollBackend::slot(int fd) {
  if (static_cast<std::size_t>(fd) >= slots_.size()) slots_.resize(static_cast<std::size_t>(fd) * 2 + 1);
  return slots_[static_cast<std::size_t>(fd)];
}

void EpollBackend::park(Operation& op, bool reader) {
  FdSlot& s = slot(op.fd);
  if (!s.registered) {
    // Registered once, edge-triggered, for both directions: an edge is never repeated,
    // which is safe because every op tries the syscall until EAGAIN before parking.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = op.fd;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, op.fd, &ev) < 0 && errno != EEXIST) {
      int e = errno;
      throw std::system_error(e, std::generic_category(), "epoll_ctl(ADD)");
    }
    s.registered = true;
  }
  (reader ? s.readers : s.writers).push(&op);
  ++in_flight_;
}

bool EpollBackend::submit(Operation& op, int& inline_result) {
  ++submission_epoch_;  // every operation starts at once
  op.backend_state = idle;
  op.next = nullptr;
  if (is_file_op(op.code)) {
    if (offset_out_of_range(op)) {
      inline_result = -EINVAL;
      return true;
    }
    if (try_file_op_without_blocking(op, inline_result)) return true;
    if (!pool_)
      pool_ = std::make_unique<FilePool>(options_.file_threads, options_.file_queue, [this] { wake(); });
    ++in_flight_;
    op.backend_state = in_pool;
    if (pool_overflow_.head || !pool_->try_enqueue(op)) pool_overflow_.push(&op);
    return false;
  }
  // A socket operation on no descriptor (a closed or default TcpStream): EBADF, as the
  // kernel answers it on io_uring, before any per-fd state is looked up by its number.
  if (op.fd < 0 && op.code != OpCode::nop) {
    inline_result = -EBADF;
    return true;
  }
  switch (op.code) {
    case OpCode::close:
      forget_fd(op.fd);
      inline_result = perform_syscall(op);
      return true;
    case OpCode::connect: {
      int r = ::connect(op.fd, static_cast<const sockaddr*>(op.ptr), static_cast<socklen_t>(op.len));
      if (r == 0 || errno != EINPROGRESS) {
        inline_result = r == 0 ? 0 : -errno;
        return true;
      }
      op.backend_state = connecting;
      park(op, false);
      return false;
    }
    case OpCode::accept_multi:
      op.backend_state = parked_reader;
      park(op, true);
      drain_accept(op);
      return false;
    default: break;
  }
  const bool reader = parks_as_reader(op.code);
  if ((op.code == OpCode::recv || op.code == OpCode::poll_read) && slot(op.fd).read_drained) {
    op.backend_state = parked_reader;
    park(op, true);
    return false;
  }
  if (reader || parks_as_writer(op.code)) {
    int r = perform_syscall(op);
    if (op.code == OpCode::recv) note_read(op, r);
    if (r != -EAGAIN) {
      inline_result = r;
      if (op.code == OpCode::accept && r >= 0) forget_fd(r);  // a reused number: drop stale state
      return true;
    }
    op.backend_state = reader ? parked_reader : parked_writer;
    park(op, reader);
    return false;
  }
  inline_result = perform_syscall(op);  // shutdown, nop
  return true;
}

void EpollBackend::finish(Operation& op, int result, std::uint32_t flags) noexcept {
  if (!(flags & completion_more)) {
    op.backend_state = idle;
    --in_flight_;
  }
  op.on_complete(op, result, flags);
}

// Multishot accept emulated: on readiness, accept until EAGAIN, one completion each.
void EpollBackend::drain_accept(Operation& op) {
  for (;;) {
    int r = perform_syscall(op);
    if (r == -EAGAIN) return;
    if (r >= 0) {
      forget_fd(r);
      op.on_complete(op, r, completion_more);
      continue;
    }
    // Transient per-connection failures: the next connection may well succeed.
    if (r == -ECONNABORTED || r == -EPROTO) continue;
    slot(op.fd).readers.remove(&op);
    finish(op, r);  // EMFILE and friends end the multishot, as io_uring does
    return;
  }
}

void EpollBackend::retry(Queue& q) {
  while (Operation* op = q.head) {
    if (op->code == OpCode::accept_multi) {
      drain_accept(*op);
      return;
    }
    int r = attempt(*op);
    if (op->code == OpCode::recv) note_read(*op, r);
    if (r == -EAGAIN) return;  // still not ready: stays parked, the next edge retries it
    q.pop();
    if (op->code == OpCode::accept && r >= 0) forget_fd(r);
    finish(*op, r);
  }
}

void EpollBackend::note_read(const Operation& op, int result) noexcept {
  if (result <= 0 || static_cast<std::uint64_t>(result) >= op.len || op.flags != 0) return;
  FdSlot& s = slots_[static_cast<std::size_t>(op.fd)];  // slot() ran in submit or park
  // The FIN's edge may be behind us: after it, only a recv can tell EOF from data.
  if (s.peer_done) return;
  if (s.kind == 0) {
    // Only a socket read more than once is worth the question (Connection: close reads once).
    if (++s.short_reads < 2) return;
    s.kind = is_stream_socket(op.fd) ? 1 : 2;
  }
  if (s.kind == 1) s.read_drained = true;
}

void EpollBackend::cancel(Operation& op) {
  switch (op.backend_state) {
    case parked_reader:
      if (slot(op.fd).readers.remove(&op)) finish(op, -ECANCELED);
      break;
    case parked_writer:
    case connecting:
      if (slot(op.fd).writers.remove(&op)) finish(op, -ECANCELED);
      break;
    case in_pool:
      // Running on a worker or queued there: it completes soon with its real result.
      // One still waiting for room in the queue can be withdrawn.
      if (pool_overflow_.remove(&op)) finish(op, -ECANCELED);
      break;
    default: break;
  }
}

void EpollBackend::fail_parked(int fd, int error) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return;
  FdSlot& s = slots_[static_cast<std::size_t>(fd)];
  while (Operation* op = s.readers.pop()) finish(*op, error);
  while (Operation* op = s.writers.pop()) finish(*op, error);
}

void EpollBackend::cancel_all() {
  for (std::size_t fd = 0; fd < slots_.size(); ++fd) fail_parked(static_cast<int>(fd), -ECANCELED);
  while (Operation* op = pool_overflow_.pop()) finish(*op, -ECANCELED);
}

void EpollBackend::forget_fd(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return;
  // Closing an fd removes it from the epoll set; ops parked on it would never wake.
  fail_parked(fd, -ECANCELED);
  FdSlot& s = slots_[static_cast<std::size_t>(fd)];
  s.registered = s.read_drained = s.peer_done = false;
  s.kind = s.short_reads = 0;
}

// A short recv of a stream socket found its queue empty then.
bool EpollBackend::input_waiting(int fd, bool after_short_read) const noexcept {
  return !after_short_read && kernel_input_waiting(fd);
}

void EpollBackend::feed_pool() {
  while (Operation* op = pool_overflow_.head) {
    if (!pool_->try_enqueue(*op)) return;
    pool_overflow_.pop();
  }
}

void EpollBackend::collect_pool() {
  if (!pool_) return;
  pool_done_.clear();
  pool_->take_completed(pool_done_);
  for (Operation* op : pool_done_) finish(*op, op->backend_result);
  feed_pool();
}

void EpollBackend::poll(std::optional<std::chrono::nanoseconds> timeout) {
  epoll_event events[256];
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout) {
    ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
    tsp = &ts;
  }
  int n = static_cast<int>(sys::epoll_wait(epfd_, events, 256, tsp));
  if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond resolution, rounded up
    int ms = timeout ? static_cast<int>((timeout->count() + 999'999) / 1'000'000) : -1;
    n = ::epoll_wait(epfd_, events, 256, ms);
  }
  if (n < 0) {
    if (errno == EINTR) return;
    throw std::system_error(errno, std::generic_category(), "epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    const std::uint32_t ev = events[i].events;
    if (fd == wakefd_) {
      std::uint64_t v;
      while (::read(wakefd_, &v, sizeof v) > 0) {
      }
      collect_pool();
      continue;
    }
    if (static_cast<std::size_t>(fd) >= slots_.size()) continue;
    FdSlot& s = slots_[static_cast<std::size_t>(fd)];
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      s.read_drained = false;  // something arrived (or ended) since the short read
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.peer_done = true;
      retry(s.readers);
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) retry(s.writers);
  }
}

void EpollBackend::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wakefd_, &one, sizeof one);
}

}  // namespace hellepoll::detail
