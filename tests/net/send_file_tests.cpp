// Sending a file to a socket without copying it through user space (io::send_file,
// TcpStream::send_file). epoll parks the call until the socket has room; io_uring, which
// has no sendfile of its own, does the same with a POLL_ADD. Both must send exactly the
// range asked for, wait for a slow reader, honour a deadline, refuse bytes that are not
// in the page cache (ENODATA: the caller reads those asynchronously instead) and turn a
// vanished peer into an error, not a SIGPIPE. The peers are plain blocking sockets on
// their own thread, so they do not depend on the backend under test.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "hellepoll/io.hpp"
#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/page_cache.hpp"

namespace net_send_file_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed * 17 + (i >> 12)) & 0xff);
  return s;
}

// A file holding `data`, in the build tree (a disk filesystem, where POSIX_FADV_DONTNEED
// really drops pages; /tmp may be tmpfs), unlinked at once.
struct TempFile {
  explicit TempFile(const std::string& data) {
    std::string name = HELLEPOLL_BINARY_DIR "/hellepoll-send-file-XXXXXX";
    fd = ::mkstemp(name.data());
    BOOST_REQUIRE(fd >= 0);
    ::unlink(name.c_str());
    BOOST_REQUIRE(::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  }
  ~TempFile() { ::close(fd); }
  int fd = -1;
};

// A blocking client with a small receive buffer, so the server's socket fills quickly.
int connect_small_window(const SocketAddress& to) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int small = 16 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  if (::connect(fd, to.data(), to.size()) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A peer thread: connects with a small window, waits `pause_first`, then reads into `got`
// until the server closes. A jthread: a failed requirement unwinds past it (the server's
// socket closes, so the peer ends) instead of ending the whole suite in std::terminate.
std::jthread reading_peer(const SocketAddress& to, std::string& got, std::chrono::milliseconds pause_first = 0ms) {
  return std::jthread([to, &got, pause_first] {
    const int fd = connect_small_window(to);
    if (fd < 0) return;
    std::this_thread::sleep_for(pause_first);
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
  });
}

struct SendOutcome {
  std::size_t sent = 0;
  int calls = 0;
  int error = 0;  // errno of the call that failed, 0 if none did
};

// Sends [offset, offset + len) of `file` with send_file calls until done or an error.
Task<SendOutcome> send_range(TcpStream& c, int file, std::uint64_t offset, std::size_t len, Deadline d) {
  SendOutcome out;
  while (out.sent < len) {
    auto n = co_await c.send_file(file, offset + out.sent, len - out.sent, d);
    ++out.calls;
    if (!n) {
      out.error = n.error().value();
      break;
    }
    if (*n == 0) break;
    out.sent += *n;
  }
  co_return out;
}

// Accepts one connection, sends [offset, offset + len) of `file` to it, closes it.
Task<SendOutcome> accept_and_send(Listener& listener, int file, std::uint64_t offset, std::size_t len,
                                  Duration within) {
  auto c = co_await listener.accept(Deadline::after(5s));
  BOOST_REQUIRE(c);
  SendOutcome o = co_await send_range(*c, file, offset, len, Deadline::after(within));
  co_await c->close();
  co_return o;
}

BOOST_AUTO_TEST_SUITE(send_file)

BOOST_DATA_TEST_CASE(sends_exactly_the_range_asked_for_to_a_slow_reader, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string data = pattern(6 << 20, 1);
  TempFile file(data);
  const std::uint64_t offset = 1001;
  const std::size_t len = data.size() - offset - 7;
  std::string got;
  std::jthread peer = reading_peer(l.local_address(), got, 300ms);  // the server's socket is full long before
  const SendOutcome out = s.block_on(accept_and_send(l, file.fd, offset, len, 20s));
  peer.join();
  BOOST_TEST(out.error == 0);
  BOOST_TEST(out.sent == len);
  BOOST_TEST(out.calls > 1);  // a full socket made a call send less than asked, then wait
  BOOST_TEST(got.size() == len);
  BOOST_TEST((got == data.substr(offset, len)), "the bytes received are not the file's range");
}

BOOST_DATA_TEST_CASE(a_reader_that_never_reads_runs_into_the_deadline, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string data = pattern(64 << 20, 2);
  TempFile file(data);
  int client = -1;
  std::thread peer([to = l.local_address(), &client] { client = connect_small_window(to); });
  const auto started = std::chrono::steady_clock::now();
  const SendOutcome out = s.block_on(accept_and_send(l, file.fd, 0, data.size(), 500ms));
  const auto took = std::chrono::steady_clock::now() - started;
  peer.join();
  BOOST_TEST(out.error == ETIMEDOUT);
  BOOST_TEST(out.sent > 0u);
  BOOST_TEST(out.sent < data.size());
  BOOST_TEST(took < 5s);
  ::close(client);
}

BOOST_DATA_TEST_CASE(bytes_not_in_the_page_cache_are_refused_until_read, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  // Several send windows (1 MiB each): the probe is a RWF_NOWAIT read, and on a fast
  // virtual disk the readahead it starts can finish before the read looks, so a dropped
  // window is sometimes found cached and sent. Each attempt drops the rest of the file
  // again and sends from where the last one stopped; one of them must be refused.
  const std::string data = pattern(4 << 20, 3);
  TempFile file(data);
  std::string got;
  std::jthread peer = reading_peer(l.local_address(), got);
  auto [cold, warm] = s.block_on([](Listener& listener, int f, std::size_t n) -> Task<std::pair<int, SendOutcome>> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    int cold_error = 0;
    std::size_t from = 0;
    while (cold_error == 0 && from < n) {
      BOOST_REQUIRE_MESSAGE(test::drop_from_page_cache(f, from),
                            "the build tree's filesystem kept the pages after POSIX_FADV_DONTNEED: "
                            "build on a disk filesystem, not tmpfs");
      auto sent = co_await c->send_file(f, from, n - from, Deadline::after(5s));
      if (sent) from += *sent;
      else cold_error = sent.error().value();
    }
    // What a caller does with ENODATA: read the bytes (asynchronously), which caches them.
    std::string buf(n, '\0');
    for (std::size_t at = from; at < n;) {
      const int r = co_await io::read_at(f, buf.data() + at, n - at, at);
      BOOST_REQUIRE(r > 0);
      at += static_cast<std::size_t>(r);
    }
    SendOutcome o = co_await send_range(*c, f, from, n - from, Deadline::after(20s));
    co_await c->close();
    co_return std::pair{cold_error, o};
  }(l, file.fd, data.size()));
  peer.join();
  BOOST_TEST(cold == ENODATA);
  BOOST_TEST(warm.error == 0);
  BOOST_TEST((got == data), "nothing may be sent by the refused call, and all of it by the later ones");
}

// tmpfs (here a memfd) rejects RWF_NOWAIT on the kernels this was written on, so nobody
// can tell whether its bytes are cached: send_file says so (EOPNOTSUPP) instead of sending.
// A kernel whose tmpfs answers RWF_NOWAIT must get the bytes sent instead.
BOOST_DATA_TEST_CASE(a_filesystem_that_cannot_tell_what_is_cached_is_refused, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string data = pattern(256 << 10, 5);
  const int memfd = ::memfd_create("hellepoll-send-file", MFD_CLOEXEC);
  BOOST_REQUIRE(memfd >= 0);
  BOOST_REQUIRE(::pwrite(memfd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  char c;
  iovec iov{&c, 1};
  const bool filesystem_can_tell = ::preadv2(memfd, &iov, 1, 0, RWF_NOWAIT) == 1;
  std::string got;
  std::jthread peer = reading_peer(l.local_address(), got);
  const SendOutcome out = s.block_on(accept_and_send(l, memfd, 0, data.size(), 20s));
  peer.join();
  ::close(memfd);
  if (filesystem_can_tell) {
    BOOST_TEST(out.error == 0);
    BOOST_TEST((got == data));
  } else {
    BOOST_TEST(out.error == EOPNOTSUPP);
    BOOST_TEST(out.sent == 0u);
    BOOST_TEST(got.empty());
  }
}

BOOST_DATA_TEST_CASE(a_peer_that_went_away_is_an_error_not_a_signal, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string data = pattern(8 << 20, 4);
  TempFile file(data);
  std::thread peer([to = l.local_address()] {
    const int fd = connect_small_window(to);
    if (fd < 0) return;
    char buf[4096];
    (void)::recv(fd, buf, sizeof buf, 0);
    linger hard{1, 0};  // close with RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  });
  const SendOutcome out = s.block_on([](Listener& listener, int f, std::size_t n) -> Task<SendOutcome> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    SendOutcome o = co_await send_range(*c, f, 0, n, Deadline::after(10s));
    // A second round after the reset: EPIPE now, where a default SIGPIPE would kill us.
    if (o.error == 0) o = co_await send_range(*c, f, 0, n, Deadline::after(10s));
    SendOutcome again = co_await send_range(*c, f, 0, n, Deadline::after(10s));
    co_await c->close();
    co_return again.error ? again : o;
  }(l, file.fd, data.size()));
  peer.join();
  BOOST_TEST((out.error == EPIPE || out.error == ECONNRESET), "got error " << out.error);
  struct sigaction now {};
  ::sigaction(SIGPIPE, nullptr, &now);
  BOOST_TEST((now.sa_handler == SIG_IGN), "send_file should have set SIGPIPE to ignored");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_send_file_tests
