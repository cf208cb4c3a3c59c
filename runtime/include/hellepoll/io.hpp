// Awaitables for single I/O operations, returning the raw result: the syscall's value or
// -errno. Higher layers (net/, file.hpp) wrap these into typed results.
//
//   int n = co_await io::recv(fd, buf, sizeof buf, 0, Deadline::after(5s));
//   if (n == -ETIMEDOUT) ...
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "hellepoll/clock.hpp"
#include "hellepoll/operation.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/timer_queue.hpp"

namespace hellepoll {

// The operation state and the awaiter in one object, living in the awaiting frame.
// Nothing starts until it is awaited, so `io::close(fd);` without co_await would do
// nothing at all: [[nodiscard]] on this and on each awaitable below (the attribute is
// not inherited) makes that a warning, an error under -Werror.
class [[nodiscard]] OpAwaitable : protected Operation, private TimerNode {
 public:
  OpAwaitable(OpCode op_code, int op_fd, Deadline deadline = {}) noexcept : deadline_(deadline) {
    code = op_code;
    fd = op_fd;
    on_complete = &OpAwaitable::completed;
  }
  OpAwaitable(const OpAwaitable&) = delete;
  OpAwaitable& operator=(const OpAwaitable&) = delete;
  ~OpAwaitable() {
    assert(!waiting_ && "an operation's frame was destroyed while the kernel held it");
    if (TimerNode::armed()) Scheduler::current().timers().disarm(*this);
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    waiter_ = h;
    Scheduler& s = Scheduler::current();
    if (s.start(*this, result_)) {
      if (s.may_continue_inline(bytes_moved())) return false;  // finished at once: no suspension
      s.schedule(h);  // finished, but this task has had its turn: others run first
      return true;
    }
    waiting_ = true;
    if (!deadline_.is_never()) arm_deadline(s);
    return true;
  }
  int await_resume() const noexcept { return result_; }

 protected:
  // Lets wrappers fill in the operation's arguments.
  Operation& op() noexcept { return *this; }
  // Starts over as a fresh operation (ReusableOp): only once the last one has completed.
  // The deadline timer stays as it is (keep_timer_).
  void reset(OpCode op_code, int op_fd, Deadline deadline) noexcept {
    assert(!waiting_);
    op() = Operation{};
    code = op_code;
    fd = op_fd;
    on_complete = &OpAwaitable::completed;
    deadline_ = deadline;
    result_ = 0;
    timed_out_ = false;
  }

 private:
  // What a finished operation moved through a socket or file, for the scheduler's budget.
  std::size_t bytes_moved() const noexcept {
    const bool moves = code == OpCode::recv || code == OpCode::send || code == OpCode::sendmsg ||
                       code == OpCode::send_file || code == OpCode::read_at || code == OpCode::write_at;
    return moves && result_ > 0 ? static_cast<std::size_t>(result_) : 0;
  }
  static void completed(Operation& o, int res, std::uint32_t) noexcept {
    auto& self = static_cast<OpAwaitable&>(o);
    self.waiting_ = false;
    Scheduler& s = Scheduler::current();
    if (!self.keep_timer_ && self.TimerNode::armed()) s.timers().disarm(self);
    self.result_ = (self.timed_out_ && res == -ECANCELED) ? -ETIMEDOUT : res;
    s.schedule(self.waiter_);
  }
  void arm_deadline(Scheduler& s) {
    // A kept timer that fires no later than this deadline stays: deadline_passed looks at
    // the deadline of whatever operation is waiting then.
    if (keep_timer_ && TimerNode::armed() && TimerNode::when <= deadline_.at) return;
    s.timers().arm(*this, deadline_.at, &OpAwaitable::deadline_passed);
  }
  static void deadline_passed(TimerNode& n, bool scheduler_stopping) noexcept {
    if (scheduler_stopping) return;  // the scheduler cancels every operation itself
    auto& self = static_cast<OpAwaitable&>(n);
    if (self.keep_timer_) {
      // Armed for an earlier operation: nothing waits, the one waiting has no limit, or
      // its deadline is later (re-armed for it; the clock is read only on this rare path).
      if (!self.waiting_ || self.deadline_.is_never()) return;
      if (!self.deadline_.expired()) {
        Scheduler::current().timers().arm(self, self.deadline_.at, &OpAwaitable::deadline_passed);
        return;
      }
    }
    self.timed_out_ = true;
    Scheduler::current().backend().cancel(self);
  }

  std::coroutine_handle<> waiter_;
  Deadline deadline_;
  int result_ = 0;
  bool timed_out_ = false;
  bool waiting_ = false;  // started and not yet completed

 protected:
  // ReusableOp: the deadline timer is not taken out of the heap when an operation ends.
  // Most operations end long before their deadline, so the next one usually finds the
  // timer armed no later than its own deadline and leaves it (no heap work per
  // operation); when it fires early it re-arms for the deadline of the one waiting.
  bool keep_timer_ = false;
};

// One operation at a time, its state kept in a long-lived object (a connection) and used
// again for the next, so a hot loop's waits need no coroutine frame of their own and touch
// the same few cache lines each time:
//   int n = co_await op.recv(fd, buf, len, deadline);   // later: op.send(...), op.poll_read(...)
// Results as io::recv and friends. The object must outlive the operation in flight. Its
// deadline timer stays armed between operations (see keep_timer_): a wait that ends
// before its deadline costs no timer-heap work.
class ReusableOp : private OpAwaitable {
 public:
  // What co_await sees: a reference to the operation (the object itself stays put).
  struct [[nodiscard]] Awaiter {
    ReusableOp& op;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) { return op.OpAwaitable::await_suspend(h); }
    int await_resume() const noexcept { return op.OpAwaitable::await_resume(); }
  };

  ReusableOp() noexcept : OpAwaitable(OpCode::nop, -1) { keep_timer_ = true; }
  Awaiter recv(int fd, void* buf, std::size_t len, Deadline d = {}) noexcept {
    return with_buffer(OpCode::recv, fd, buf, len, 0, d);
  }
  Awaiter send(int fd, const void* buf, std::size_t len, int flags = 0, Deadline d = {}) noexcept {
    return with_buffer(OpCode::send, fd, buf, len, static_cast<std::uint32_t>(flags), d);
  }
  Awaiter poll_read(int fd, Deadline d = {}) noexcept {
    reset(OpCode::poll_read, fd, d);
    return {*this};
  }

 private:
  Awaiter with_buffer(OpCode c, int fd, const void* buf, std::size_t len, std::uint32_t flags, Deadline d) noexcept {
    reset(c, fd, d);
    op().ptr = const_cast<void*>(buf);
    op().len = len;
    op().flags = flags;
    return {*this};
  }
};

namespace io {

inline OpAwaitable nop() { return OpAwaitable(OpCode::nop, -1); }

struct [[nodiscard]] AcceptOp : OpAwaitable {
  AcceptOp(int listen_fd, sockaddr* addr, socklen_t* addrlen, Deadline d) : OpAwaitable(OpCode::accept, listen_fd, d) {
    op().ptr = addr;
    op().ptr2 = addrlen;
  }
};
inline AcceptOp accept(int listen_fd, sockaddr* addr = nullptr, socklen_t* addrlen = nullptr, Deadline d = {}) {
  return AcceptOp(listen_fd, addr, addrlen, d);
}

struct [[nodiscard]] ConnectOp : OpAwaitable {
  ConnectOp(int fd, const sockaddr* addr, socklen_t len, Deadline d) : OpAwaitable(OpCode::connect, fd, d) {
    op().ptr = const_cast<sockaddr*>(addr);
    op().len = len;
  }
};
inline ConnectOp connect(int fd, const sockaddr* addr, socklen_t len, Deadline d = {}) {
  return ConnectOp(fd, addr, len, d);
}

struct [[nodiscard]] BufferOp : OpAwaitable {
  BufferOp(OpCode c, int fd, const void* buf, std::size_t len, std::uint32_t flags, std::uint64_t offset, Deadline d)
      : OpAwaitable(c, fd, d) {
    op().ptr = const_cast<void*>(buf);
    op().len = len;
    op().flags = flags;
    op().offset = offset;
  }
};
inline BufferOp recv(int fd, void* buf, std::size_t len, int flags = 0, Deadline d = {}) {
  return BufferOp(OpCode::recv, fd, buf, len, static_cast<std::uint32_t>(flags), 0, d);
}
inline BufferOp send(int fd, const void* buf, std::size_t len, int flags = 0, Deadline d = {}) {
  return BufferOp(OpCode::send, fd, buf, len, static_cast<std::uint32_t>(flags), 0, d);
}
// Like pread: on a regular file it waits for the disk even if the file is O_NONBLOCK (io_uring
// would answer EAGAIN; its backend then clears the flag and reads again).
inline BufferOp read_at(int fd, void* buf, std::size_t len, std::uint64_t offset) {
  return BufferOp(OpCode::read_at, fd, buf, len, 0, offset, {});
}
inline BufferOp write_at(int fd, const void* buf, std::size_t len, std::uint64_t offset) {
  return BufferOp(OpCode::write_at, fd, buf, len, 0, offset, {});
}

// sendmsg with a gather list: one system call (or SQE) for a whole response.
struct [[nodiscard]] SendmsgOp : OpAwaitable {
  SendmsgOp(int fd, const iovec* iov, std::size_t iovcnt, int flags, Deadline d) : OpAwaitable(OpCode::sendmsg, fd, d) {
    msg_.msg_iov = const_cast<iovec*>(iov);
    msg_.msg_iovlen = iovcnt;
    op().flags = static_cast<std::uint32_t>(flags);
  }
  bool await_suspend(std::coroutine_handle<> h) {
    op().ptr = &msg_;  // here, not in the constructor: the object has its final address now
    return OpAwaitable::await_suspend(h);
  }
  msghdr msg_{};
};
inline SendmsgOp sendmsg(int fd, const iovec* iov, std::size_t iovcnt, int flags = 0, Deadline d = {}) {
  return SendmsgOp(fd, iov, iovcnt, flags, d);
}

// Sends up to `len` bytes of the regular file `file_fd` from `offset` to the socket `fd`
// without copying them through user space (sendfile(2)); may send less, like send. Ends
// with -ENODATA, having sent nothing, when those bytes are not in the page cache: sending
// them would stall the thread on the disk, so read them with read_at and send that (which
// also caches them). Ends with -EOPNOTSUPP when the file's filesystem cannot tell what is
// cached (tmpfs, procfs, FUSE): read such a file with read_at throughout. sendfile has no
// MSG_NOSIGNAL, so the first send_file sets SIGPIPE to ignored unless the program has its
// own handler for it. On io_uring the socket is left O_NONBLOCK (io_uring's own socket
// operations wait regardless).
inline BufferOp send_file(int fd, int file_fd, std::uint64_t offset, std::size_t len, Deadline d = {}) {
  return BufferOp(OpCode::send_file, fd, nullptr, len, static_cast<std::uint32_t>(file_fd), offset, d);
}

// Waits until `fd` is readable (or at EOF) without reading: lets an idle connection wait
// without holding a buffer.
inline OpAwaitable poll_read(int fd, Deadline d = {}) { return OpAwaitable(OpCode::poll_read, fd, d); }

struct [[nodiscard]] FdOp : OpAwaitable {
  FdOp(OpCode c, int fd, std::uint32_t flags) : OpAwaitable(c, fd) { op().flags = flags; }
};
inline FdOp shutdown(int fd, int how) { return FdOp(OpCode::shutdown, fd, static_cast<std::uint32_t>(how)); }
// The backend forgets what it knew of `fd` (Backend::forget_fd) as the close starts.
inline FdOp close(int fd) { return FdOp(OpCode::close, fd, 0); }
// Closes `fd` without waiting for the result: on io_uring the close goes out with the next
// batch of submissions instead of costing a system call of its own; elsewhere, and off a
// scheduler's thread, at once. For a descriptor nothing refers to any more (a served file).
inline void close_detached(int fd) noexcept {
  if (Scheduler* s = Scheduler::current_or_null()) s->backend().close_detached(fd);
  else ::close(fd);
}
// The current thread's Backend::submission_epoch (0 off a scheduler's thread): two
// operations started while it reads the same reach the kernel together.
inline std::uint64_t submission_epoch() noexcept {
  Scheduler* s = Scheduler::current_or_null();
  return s ? s->backend().submission_epoch() : 0;
}
inline FdOp fsync(int fd, bool data_only = false) { return FdOp(OpCode::fsync, fd, data_only ? 1u : 0u); }

struct [[nodiscard]] PathOp : OpAwaitable {
  PathOp(OpCode c, int dirfd, const char* path, std::uint32_t flags, std::uint64_t len, void* out)
      : OpAwaitable(c, dirfd) {
    op().ptr = const_cast<char*>(path);
    op().flags = flags;
    op().len = len;
    op().ptr2 = out;
  }
};
// `path` must stay alive until the operation completes.
inline PathOp openat(int dirfd, const char* path, int flags, unsigned mode = 0) {
  return PathOp(OpCode::openat, dirfd, path, static_cast<std::uint32_t>(flags), mode, nullptr);
}
// openat2(2): `how` (a struct open_how*, e.g. with RESOLVE_BENEATH) and `path` must stay
// alive until the operation completes.
inline PathOp openat2(int dirfd, const char* path, void* how) {
  return PathOp(OpCode::openat2, dirfd, path, 0, 0, how);
}
// `out` is a struct statx*.
inline PathOp statx(int dirfd, const char* path, int flags, unsigned mask, void* out) {
  return PathOp(OpCode::statx, dirfd, path, static_cast<std::uint32_t>(flags), mask, out);
}

}  // namespace io
}  // namespace hellepoll
