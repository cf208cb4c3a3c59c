#include "file_fast_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace hellepoll::detail {
namespace {

// EAGAIN: it would block. EINVAL: a kernel older than RESOLVE_CACHED / RWF_NOWAIT, or
// arguments the blocking call will reject with its own error. EOPNOTSUPP: a filesystem
// without non-blocking reads. ENOSYS: no openat2 at all (before 5.6, or a seccomp filter),
// which the pool's open works around. In all four cases the pool does the real call.
bool would_block(int err) noexcept { return err == EAGAIN || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS; }

// Runs `call` (a system call: >= 0, or -1 with errno), retrying on EINTR. True with its
// result (or -errno) when that is final; false when it would block.
template <typename Call>
bool without_blocking(Call call, int& result) noexcept {
  for (;;) {
    const long r = call();
    if (r >= 0) {
      result = static_cast<int>(r);
      return true;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return false;
    result = -errno;
    return true;
  }
}

bool try_open(Operation& op, open_how how, int& result) noexcept {
  // (O_TMPFILE includes the O_DIRECTORY bit: test all of it, or directories never qualify.)
  const bool may_write = (how.flags & (O_CREAT | O_TRUNC)) || (how.flags & O_TMPFILE) == O_TMPFILE;
  if (!(how.flags & O_NONBLOCK) || may_write) return false;
  how.flags |= O_CLOEXEC;
  how.resolve |= RESOLVE_CACHED;
  return without_blocking(
      [&] { return ::syscall(SYS_openat2, op.fd, static_cast<const char*>(op.ptr), &how, sizeof how); }, result);
}

}  // namespace

bool try_file_op_without_blocking(Operation& op, int& result) noexcept {
  switch (op.code) {
    case OpCode::openat: {
      open_how how{};
      how.flags = op.flags;
      return try_open(op, how, result);
    }
    case OpCode::openat2: return try_open(op, *static_cast<const open_how*>(op.ptr2), result);
    case OpCode::read_at: {
      // The result is an int: a larger request is a short read, as from io_uring.
      iovec iov{op.ptr, op.len > (1u << 30) ? (1u << 30) : op.len};
      return without_blocking([&] { return ::preadv2(op.fd, &iov, 1, static_cast<off_t>(op.offset), RWF_NOWAIT); },
                              result);
    }
    case OpCode::statx: {
      const char* path = static_cast<const char*>(op.ptr);
      if (!(op.flags & AT_EMPTY_PATH) || !path || *path) return false;
      int r = ::statx(op.fd, "", static_cast<int>(op.flags), static_cast<unsigned>(op.len),
                      static_cast<struct statx*>(op.ptr2));
      result = r == 0 ? 0 : -errno;
      return true;
    }
    default: return false;
  }
}

}  // namespace hellepoll::detail
