// A connected TCP stream. Every call can take a Deadline and reports failures as
// std::error_code results: connection refused, reset, timed out (ETIMEDOUT), cancelled.
//
//   auto n = co_await stream.recv(buf, Deadline::after(5s));
//   if (!n) log(n.error().message());   else if (*n == 0) { /* peer closed */ }
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "hellepoll/clock.hpp"
#include "hellepoll/io.hpp"
#include "hellepoll/net/address.hpp"
#include "hellepoll/net/result.hpp"
#include "hellepoll/net/socket.hpp"
#include "hellepoll/task.hpp"

namespace hellepoll {

namespace detail {
// An I/O awaitable whose int result becomes Result<size_t>. [[nodiscard]] as the Op it
// wraps (not inherited): `stream.send(...);` without co_await sends nothing.
template <typename Op>
struct [[nodiscard]] SizeResult : Op {
  using Op::Op;
  Result<std::size_t> await_resume() const noexcept {
    int r = Op::await_resume();
    if (r < 0) return errno_code(r);
    return static_cast<std::size_t>(r);
  }
};
}  // namespace detail

class TcpStream {
 public:
  TcpStream() noexcept = default;
  explicit TcpStream(Socket s) noexcept : socket_(std::move(s)) {}

  static Task<Result<TcpStream>> connect(SocketAddress to, Deadline deadline = {});

  // Reads what is there (at least one byte); 0 means the peer closed its side.
  detail::SizeResult<io::BufferOp> recv(std::span<std::byte> buf, Deadline d = {}) noexcept {
    return {OpCode::recv, fd(), buf.data(), buf.size(), 0u, 0u, d};
  }
  detail::SizeResult<io::BufferOp> recv(void* buf, std::size_t len, Deadline d = {}) noexcept {
    return {OpCode::recv, fd(), buf, len, 0u, 0u, d};
  }
  // One send: may write less than asked. `flags` are MSG_* (MSG_NOSIGNAL is implied).
  detail::SizeResult<io::BufferOp> send(const void* buf, std::size_t len, Deadline d = {}, int flags = 0) noexcept {
    return {OpCode::send, fd(), buf, len, static_cast<std::uint32_t>(flags), 0u, d};
  }
  // One gathered send: may write less than asked.
  detail::SizeResult<io::SendmsgOp> writev(std::span<const iovec> iov, Deadline d = {}) noexcept {
    return {fd(), iov.data(), iov.size(), 0, d};
  }
  // Up to `len` bytes of the regular file `file_fd` from `offset`, by sendfile(2): may
  // send less. Fails with ENODATA, having sent nothing, when those bytes are not in the
  // page cache (read them with io::read_at instead), EOPNOTSUPP when the filesystem cannot
  // tell; see io::send_file.
  detail::SizeResult<io::BufferOp> send_file(int file_fd, std::uint64_t offset, std::size_t len,
                                             Deadline d = {}) noexcept {
    return {OpCode::send_file, fd(), nullptr, len, static_cast<std::uint32_t>(file_fd), offset, d};
  }
  // Fills `buf` completely; end_of_stream if the peer closes first.
  Task<Result<void>> recv_exact(std::span<std::byte> buf, Deadline d = {});
  // Sends everything, looping over short writes. MSG_MORE in `flags` says more bytes
  // follow at once (a response head before its file): the kernel holds the partial
  // segment back instead of sending it alone.
  Task<Result<void>> send_all(std::span<const std::byte> data, Deadline d = {}, int flags = 0);
  Task<Result<void>> send_all(std::string_view data, Deadline d = {}, int flags = 0);
  // Sends every iovec, looping over short writes (the array is consumed as it goes).
  Task<Result<void>> writev_all(std::span<iovec> iov, Deadline d = {});
  // The same with a limit on each wait instead of on the whole call: ETIMEDOUT only when
  // no byte could be sent for `stall` (a peer that stopped reading), never because a slow
  // but reading peer takes long over a large buffer. What a server's write timeout means.
  // A zero `stall` waits without limit.
  Task<Result<void>> send_all(std::span<const std::byte> data, Duration stall, int flags = 0);
  Task<Result<void>> send_all(std::string_view data, Duration stall, int flags = 0);
  Task<Result<void>> writev_all(std::span<iovec> iov, Duration stall);
  // The deadline for one wait of such a write, counted from this turn's start (a step's
  // timeout need not read the clock); a zero `stall`: none.
  static Deadline stall_deadline(Duration stall) {
    return stall == Duration::zero() ? Deadline::never() : turn_deadline(stall);
  }

  Result<void> shutdown(int how = 1 /* SHUT_WR */) noexcept;
  // Whether the peer sent bytes that no recv has taken yet (the backend's or the
  // kernel's): a close now would answer them with a RST, which can destroy the end of a
  // reply the peer has not read yet. On a scheduler's thread. A system call, unless
  // `after_short_read` (the last recv returned less than asked) lets the backend tell
  // without one (see Backend::input_waiting).
  bool input_waiting(bool after_short_read = false) const noexcept;
  // Closes through the backend (asynchronously on io_uring).
  Task<void> close();

  Result<SocketAddress> peer_address() const;
  Result<SocketAddress> local_address() const;
  Result<void> set_nodelay(bool on) noexcept;

  int fd() const noexcept { return socket_.fd(); }
  bool is_open() const noexcept { return socket_.is_open(); }
  Socket& socket() noexcept { return socket_; }

 private:
  // The loops behind send_all and writev_all: each step waits until `d`, or for `stall`
  // from its start when `stall` is not zero.
  Task<Result<void>> send_all_steps(std::span<const std::byte> data, Deadline d, Duration stall, int flags);
  Task<Result<void>> writev_all_steps(std::span<iovec> iov, Deadline d, Duration stall);

  Socket socket_;
};

}  // namespace hellepoll
