// Performs an Operation with ordinary system calls, synchronously. The epoll backend uses
// it for its try-the-syscall-first path and its file thread pool.
#pragma once

#include "hellepoll/operation.hpp"

namespace hellepoll::detail {

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
