#include "hellepoll/net/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>

namespace hellepoll {

Task<Result<TcpStream>> TcpStream::connect(SocketAddress to, Deadline deadline) {
  auto sock = Socket::open_tcp(to.family());
  if (!sock) co_return sock.error();
  int r = co_await io::connect(sock->fd(), to.data(), to.size(), deadline);
  if (r < 0) co_return errno_code(r);
  co_return TcpStream(std::move(*sock));
}

Task<Result<void>> TcpStream::recv_exact(std::span<std::byte> buf, Deadline d) {
  while (!buf.empty()) {
    auto n = co_await recv(buf, d);
    if (!n) co_return n.error();
    if (*n == 0) co_return make_error_code(net_errc::end_of_stream);
    buf = buf.subspan(*n);
  }
  co_return Result<void>{};
}

namespace {
// The deadline for the next step of a *_all call: the caller's, or (the stall forms, which
// pass none) `stall` from this turn's start.
Deadline next_step(Deadline d, Duration stall) { return d.is_never() ? TcpStream::stall_deadline(stall) : d; }
}  // namespace

Task<Result<void>> TcpStream::send_all_steps(std::span<const std::byte> data, Deadline d, Duration stall, int flags) {
  while (!data.empty()) {
    auto n = co_await send(data.data(), data.size(), next_step(d, stall), flags);
    if (!n) co_return n.error();
    data = data.subspan(*n);
  }
  co_return Result<void>{};
}

Task<Result<void>> TcpStream::writev_all_steps(std::span<iovec> iov, Deadline d, Duration stall) {
  while (!iov.empty()) {
    auto n = co_await writev(iov, next_step(d, stall));
    if (!n) co_return n.error();
    std::size_t done = *n;
    while (!iov.empty() && done >= iov.front().iov_len) {
      done -= iov.front().iov_len;
      iov = iov.subspan(1);
    }
    if (!iov.empty()) {
      iov.front().iov_base = static_cast<char*>(iov.front().iov_base) + done;
      iov.front().iov_len -= done;
    }
  }
  co_return Result<void>{};
}

Task<Result<void>> TcpStream::send_all(std::span<const std::byte> data, Deadline d, int flags) {
  return send_all_steps(data, d, Duration::zero(), flags);
}
Task<Result<void>> TcpStream::send_all(std::string_view data, Deadline d, int flags) {
  return send_all_steps(std::as_bytes(std::span(data.data(), data.size())), d, Duration::zero(), flags);
}
Task<Result<void>> TcpStream::writev_all(std::span<iovec> iov, Deadline d) {
  return writev_all_steps(iov, d, Duration::zero());
}
Task<Result<void>> TcpStream::send_all(std::span<const std::byte> data, Duration stall, int flags) {
  return send_all_steps(data, Deadline::never(), stall, flags);
}
Task<Result<void>> TcpStream::send_all(std::string_view data, Duration stall, int flags) {
  return send_all_steps(std::as_bytes(std::span(data.data(), data.size())), Deadline::never(), stall, flags);
}
Task<Result<void>> TcpStream::writev_all(std::span<iovec> iov, Duration stall) {
  return writev_all_steps(iov, Deadline::never(), stall);
}

Result<void> TcpStream::shutdown(int how) noexcept {
  if (::shutdown(fd(), how) < 0) return errno_code(-errno);
  return {};
}

bool TcpStream::input_waiting(bool after_short_read) const noexcept {
  return Scheduler::current().backend().input_waiting(fd(), after_short_read);
}

Task<void> TcpStream::close() {
  int fd = socket_.release();
  if (fd < 0) co_return;
  Scheduler& s = Scheduler::current();
  // The close operation makes the backend forget the fd first, in order with what it has
  // queued for it. A stopping scheduler refuses new operations, but a close must still
  // happen.
  if (!s.stopping() && co_await io::close(fd) != -ECANCELED) co_return;
  s.backend().forget_fd(fd);
  ::close(fd);
}

Result<SocketAddress> TcpStream::peer_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return errno_code(-errno);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> TcpStream::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return errno_code(-errno);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<void> TcpStream::set_nodelay(bool on) noexcept { return socket_.set_option(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }

}  // namespace hellepoll
