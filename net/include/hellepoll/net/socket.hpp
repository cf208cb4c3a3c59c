// An owned socket descriptor. Closing goes through the backend so it can forget what it
// knew about the fd (an fd number is reused by the next socket at once).
#pragma once

#include <utility>

#include "hellepoll/net/result.hpp"

namespace hellepoll {

class Socket {
 public:
  Socket() noexcept = default;
  explicit Socket(int fd) noexcept : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      close_now();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Socket() { close_now(); }

  // A TCP socket with the blocking mode the current scheduler's backend wants (blocking
  // when this thread has no scheduler).
  static Result<Socket> open_tcp(int family);

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes synchronously (close(2) on a socket does not block).
  void close_now() noexcept;

  Result<void> set_option(int level, int name, int value) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace hellepoll
