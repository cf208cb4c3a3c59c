// Performs an Operation with ordinary system calls, synchronously. The epoll backend uses
// it for its try-the-syscall-first path and its file thread pool.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <type_traits>

#include "hellepoll/operation.hpp"

namespace hellepoll::detail {

// A system call without glibc's wrapper. recv, send, accept4, close, pread, epoll_pwait2
// ... are cancellation points: in a process with more than one thread (every http::Server
// has its signal watcher; the epoll backend its file pool) each call turns asynchronous
// cancellation on and off around the system call, two calls and two atomic
// read-modify-writes (perf: 1.6% of the epoll backend's samples at keep-alive c256, over
// 2% with Connection: close). hellepoll never cancels a thread, and syscall(2) is no
// cancellation point. Returns what syscall(2) does: the result, or -1 with errno set.
template <typename... Args>
long raw_syscall(long number, Args... args) noexcept {
  const auto word = [](auto v) {
    if constexpr (std::is_null_pointer_v<decltype(v)>) return 0L;
    else if constexpr (std::is_pointer_v<decltype(v)>) return reinterpret_cast<long>(v);
    else return static_cast<long>(v);
  };
  return ::syscall(number, word(args)...);
}

// Returns the syscall's result or -errno (EINTR is retried). Sockets made here are
// O_NONBLOCK|O_CLOEXEC, as the epoll backend needs. `connect` is not handled here.
int perform_syscall(Operation& op) noexcept;

// True for a SOCK_STREAM socket: its reads may be merged and a short read means an empty
// queue. Both backends ask before relying on that (datagram and seqpacket sockets keep
// message boundaries).
bool is_stream_socket(int fd) noexcept;

// True for the operations that act on regular files, which readiness cannot help with.
inline bool is_file_op(OpCode c) noexcept {
  return c == OpCode::read_at || c == OpCode::write_at || c == OpCode::openat || c == OpCode::openat2 ||
         c == OpCode::statx ||
         c == OpCode::fsync;
}

}  // namespace hellepoll::detail
