#include "syscall_ops.hpp"

#include "openat2_compat.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>

namespace hellepoll::detail {
namespace {

// sendfile reads the file on the calling thread: a page missing from the page cache would
// stall every connection of this thread behind a disk read. So each call first asks, with
// a 1-byte RWF_NOWAIT read of the last byte it may send (the pages before it are read
// ahead first, so the last one is the one missing), whether the bytes are in memory, and
// sends at most send_file_window bytes. -ENODATA when they are not; -EOPNOTSUPP when the
// filesystem cannot say (tmpfs, procfs, FUSE, ... reject RWF_NOWAIT). Either way the
// caller reads the bytes another way, which also brings them into the cache.
constexpr std::uint64_t send_file_window = 1 << 20;

long send_cached_file(Operation& op) noexcept {
  // sendfile has no MSG_NOSIGNAL: a peer that went away would kill the process with
  // SIGPIPE. Ignore it, once, unless the program installed its own handler (Rust's std
  // does the same at start-up; http::Server does it too).
  static const bool sigpipe_ignored = [] {
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  const int file = static_cast<int>(op.flags);
  const std::size_t count = static_cast<std::size_t>(op.len < send_file_window ? op.len : send_file_window);
  if (count == 0) return 0;
  char probe;
  iovec iov{&probe, 1};
  if (::preadv2(file, &iov, 1, static_cast<off_t>(op.offset + count - 1), RWF_NOWAIT) < 0) {
    if (errno == EINTR) return -1;
    if (errno == EAGAIN) errno = ENODATA;
    else if (errno == EINVAL) errno = EOPNOTSUPP;  // kernels before RWF_NOWAIT (4.14)
    return -1;
  }
  off_t offset = static_cast<off_t>(op.offset);
  return ::sendfile(op.fd, file, &offset, count);
}

long once(Operation& op) noexcept {
  switch (op.code) {
    case OpCode::nop: return 0;
    case OpCode::accept:
    case OpCode::accept_multi:
      return sys::accept4(op.fd, op.ptr, op.ptr2, SOCK_NONBLOCK | SOCK_CLOEXEC);
    case OpCode::recv: return sys::recv(op.fd, op.ptr, op.len, static_cast<int>(op.flags));
    case OpCode::send: return sys::send(op.fd, op.ptr, op.len, static_cast<int>(op.flags) | MSG_NOSIGNAL);
    case OpCode::sendmsg: return sys::sendmsg(op.fd, op.ptr, static_cast<int>(op.flags) | MSG_NOSIGNAL);
    case OpCode::shutdown: return ::shutdown(op.fd, static_cast<int>(op.flags));
    case OpCode::close: return sys::close(op.fd);
    case OpCode::read_at: return sys::pread(op.fd, op.ptr, op.len, static_cast<off_t>(op.offset));
    case OpCode::write_at: return sys::pwrite(op.fd, op.ptr, op.len, static_cast<off_t>(op.offset));
    case OpCode::openat:
      return ::openat(op.fd, static_cast<const char*>(op.ptr), static_cast<int>(op.flags) | O_CLOEXEC,
                      static_cast<mode_t>(op.len));
    case OpCode::openat2:
      return openat2_compat(op.fd, static_cast<const char*>(op.ptr), *static_cast<const open_how*>(op.ptr2));
    case OpCode::statx:
      return ::statx(op.fd, static_cast<const char*>(op.ptr), static_cast<int>(op.flags),
                     static_cast<unsigned>(op.len), static_cast<struct statx*>(op.ptr2));
    case OpCode::fsync: return op.flags ? ::fdatasync(op.fd) : ::fsync(op.fd);
    case OpCode::poll_read: {
      // Readiness without consuming anything: 0 once readable (or at EOF/error).
      pollfd p{op.fd, POLLIN, 0};
      long r = ::poll(&p, 1, 0);
      if (r == 0) {
        errno = EAGAIN;
        return -1;
      }
      return r < 0 ? -1 : 0;
    }
    case OpCode::send_file: return send_cached_file(op);
    case OpCode::connect: break;
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

int perform_syscall(Operation& op) noexcept {
  for (;;) {
    long r = once(op);
    if (r >= 0) return static_cast<int>(r);
    // close() must not be retried on EINTR: the fd is gone either way on Linux.
    if (errno != EINTR || op.code == OpCode::close) return -errno;
  }
}

bool is_stream_socket(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

bool kernel_input_waiting(int fd) noexcept {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

}  // namespace hellepoll::detail
