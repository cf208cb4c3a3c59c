// One I/O request, described once in a backend-neutral form. Each backend translates it
// in one place (an SQE for io_uring, a syscall plus readiness parking for epoll).
//
// An Operation lives inside the awaitable that sits in the awaiting coroutine's frame, so
// an I/O call allocates nothing; its address is the io_uring user_data.
#pragma once

#include <cstdint>

namespace hellepoll {

enum class OpCode : std::uint8_t {
  nop,
  accept,        // fd=listener, ptr=sockaddr*, ptr2=socklen_t*
  accept_multi,  // multishot accept: completes once per connection, flag more_follow
  connect,       // fd, ptr=sockaddr*, len=socklen
  recv,          // fd, ptr=buf, len, flags=MSG_*
  send,          // fd, ptr=buf, len, flags=MSG_* (MSG_NOSIGNAL always added)
  sendmsg,       // fd, ptr=msghdr*, flags=MSG_* (writev of a socket)
  shutdown,      // fd, flags=SHUT_*
  close,         // fd
  read_at,       // fd, ptr=buf, len, offset
  write_at,      // fd, ptr=buf, len, offset
  openat,        // fd=dirfd, ptr=path, flags=O_*, len=mode
  openat2,       // fd=dirfd, ptr=path, ptr2=struct open_how* (e.g. RESOLVE_BENEATH)
  statx,         // fd=dirfd, ptr=path, flags=AT_*, len=mask, ptr2=struct statx*
  fsync,         // fd, flags=IORING_FSYNC_DATASYNC-like: 1 means fdatasync
  poll_read,     // fd: completes (with 0) when readable, consuming nothing
  send_file,     // fd=socket, flags=a regular file's fd, offset, len: sendfile(2), may send
                 // less; -ENODATA when the file's bytes are not in the page cache,
                 // -EOPNOTSUPP when its filesystem cannot tell
};

// Set in the completion flags when more completions of the same (multishot) operation
// will follow.
inline constexpr std::uint32_t completion_more = 1u << 0;

struct Operation {
  // Called on the scheduler's thread for every completion. `result` is the syscall's
  // return value or -errno. Never resumes a coroutine directly: it queues it.
  using Complete = void (*)(Operation&, int result, std::uint32_t flags) noexcept;

  OpCode code = OpCode::nop;
  std::uint8_t backend_state = 0;  // private to the backend
  int backend_result = 0;          // private to the backend (e.g. a worker thread's result)
  int fd = -1;
  std::uint32_t flags = 0;
  void* ptr = nullptr;
  void* ptr2 = nullptr;
  std::uint64_t len = 0;
  std::uint64_t offset = 0;
  Complete on_complete = nullptr;
  Operation* next = nullptr;  // intrusive link for backend queues
};

}  // namespace hellepoll
