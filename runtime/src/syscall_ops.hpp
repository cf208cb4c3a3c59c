// Performs an Operation with ordinary system calls, synchronously. The epoll backend uses
// it for its try-the-syscall-first path and its file thread pool.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <ctime>

#include "hellepoll/detail/sanitizers.hpp"
#include "hellepoll/operation.hpp"

namespace hellepoll::detail {

// The hot system calls, without glibc's wrappers. recv, send, accept4, close, pread,
// epoll_pwait2 ... are cancellation points: in a process with more than one thread (every
// http::Server has its signal watcher; the epoll backend its file pool) each call turns
// asynchronous cancellation on and off around the system call, two calls and two atomic
// read-modify-writes (perf: 1.6% of the epoll backend's samples at keep-alive c256, over
// 2% with Connection: close). hellepoll never cancels a thread, and syscall(2) is no
// cancellation point. Each returns the result, or -1 with errno set.
// ThreadSanitizer follows descriptors through glibc's calls (a close it does not see
// leaves it taking the number's next owner for a racing thread): its builds keep them.
namespace sys {
#if HELLEPOLL_TSAN
inline long accept4(int fd, void* addr, void* len, int flags) {
  return ::accept4(fd, static_cast<sockaddr*>(addr), static_cast<socklen_t*>(len), flags);
}
inline long recv(int fd, void* buf, std::size_t n, int flags) { return ::recv(fd, buf, n, flags); }
inline long send(int fd, const void* buf, std::size_t n, int flags) { return ::send(fd, buf, n, flags); }
inline long sendmsg(int fd, const void* msg, int flags) {
  return ::sendmsg(fd, static_cast<const msghdr*>(msg), flags);
}
inline long close(int fd) { return ::close(fd); }
inline long pread(int fd, void* buf, std::size_t n, off_t at) { return ::pread(fd, buf, n, at); }
inline long pwrite(int fd, const void* buf, std::size_t n, off_t at) { return ::pwrite(fd, buf, n, at); }
inline long epoll_wait(int epfd, epoll_event* events, int max, const timespec* timeout) {
  return ::epoll_pwait2(epfd, events, max, timeout, nullptr);
}
#else
inline long accept4(int fd, void* addr, void* len, int flags) { return ::syscall(SYS_accept4, fd, addr, len, flags); }
inline long recv(int fd, void* buf, std::size_t n, int flags) {
  return ::syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr);
}
inline long send(int fd, const void* buf, std::size_t n, int flags) {
  return ::syscall(SYS_sendto, fd, buf, n, flags, nullptr, 0);
}
inline long sendmsg(int fd, const void* msg, int flags) { return ::syscall(SYS_sendmsg, fd, msg, flags); }
inline long close(int fd) { return ::syscall(SYS_close, fd); }
inline long pread(int fd, void* buf, std::size_t n, off_t at) { return ::syscall(SYS_pread64, fd, buf, n, at); }
inline long pwrite(int fd, const void* buf, std::size_t n, off_t at) {
  return ::syscall(SYS_pwrite64, fd, buf, n, at);
}
// No signal mask, so no size for one.
inline long epoll_wait(int epfd, epoll_event* events, int max, const timespec* timeout) {
  return ::syscall(SYS_epoll_pwait2, epfd, events, max, timeout, nullptr, 0);
}
#endif
}  // namespace sys

// Returns the syscall's result or -errno (EINTR is retried). Sockets made here are
// O_NONBLOCK|O_CLOEXEC, as the epoll backend needs. `connect` is not handled here.
int perform_syscall(Operation& op) noexcept;

// True for a SOCK_STREAM socket: its reads may be merged and a short read means an empty
// queue. Both backends ask before relying on that (datagram and seqpacket sockets keep
// message boundaries).
bool is_stream_socket(int fd) noexcept;

// True when the kernel holds bytes received on the socket `fd` that no read has taken
// (FIONREAD; false on any error).
bool kernel_input_waiting(int fd) noexcept;

// True for the operations that act on regular files, which readiness cannot help with.
// A file offset pread/pwrite would refuse (EINVAL: negative as an off_t). io_uring takes
// -1 as "the current file position" and would read or write there instead, so the
// backends refuse such offsets themselves, alike.
inline bool offset_out_of_range(const Operation& op) noexcept {
  return (op.code == OpCode::read_at || op.code == OpCode::write_at) && op.offset > static_cast<std::uint64_t>(INT64_MAX);
}

inline bool is_file_op(OpCode c) noexcept {
  return c == OpCode::read_at || c == OpCode::write_at || c == OpCode::openat || c == OpCode::openat2 ||
         c == OpCode::statx ||
         c == OpCode::fsync;
}

}  // namespace hellepoll::detail
