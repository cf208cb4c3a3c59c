// Reading a socket many times. On io_uring a socket read more than once is served by one
// multishot receive into provided buffers: bytes that arrive while nobody reads wait in
// the backend, a reader that stops reading must still hold the sender back, running out
// of buffers must lose nothing, and closing must really close. epoll serves the same
// calls with one recv each and must give the same results. The peers are plain blocking
// sockets on their own thread, so they do not depend on the backend under test.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/uring_as_kernel.hpp"

namespace net_recv_stream_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

namespace {

// What a reader that stops reading may leave in its stash where the kernel takes no byte
// limit for a multishot receive (before Linux 6.17): the stash's cancel lands after what
// the kernel delivered meanwhile, at most the buffer ring (512 x 4 KiB by default) per
// run of its work; twice that leaves room for a run on each side of the cancel.
constexpr std::size_t kStashBoundWithoutLimit =
    2 * std::size_t{BackendOptions{}.recv_buffers} * BackendOptions{}.recv_buffer_size;

// A blocking client socket connected to `to`, or -1.
int connect_blocking(const SocketAddress& to) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, to.data(), to.size()) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string read_exactly(int fd, std::size_t n) {
  std::string s(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, s.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  s.resize(got);
  return s;
}

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 31 + seed * 7 + (i >> 10)) & 0xff);
  return s;
}

// Reads until `want` bytes or EOF, `chunk(i)` bytes per recv; what was read, or the error.
Task<std::string> read_all(TcpStream& s, std::size_t want, std::size_t (*chunk)(std::size_t)) {
  std::string got;
  std::vector<char> buf(65536);
  for (std::size_t i = 0; got.size() < want; ++i) {
    auto n = co_await s.recv(buf.data(), chunk(i), Deadline::after(20s));
    if (!n) co_return "error: " + n.error().message();
    if (*n == 0) break;
    got.append(buf.data(), *n);
  }
  co_return got;
}

// What closing a raw fd involves: the backend forgets it first.
void s_forget(int fd) { Scheduler::current().backend().forget_fd(fd); }

Scheduler with_recv_buffers(BackendKind backend, unsigned count) {
  SchedulerOptions o;
  o.backend = backend;
  o.backend_options.recv_buffers = count;
  return Scheduler(o);
}

// A connection read twice (a stream on io_uring), then not read for 1 s while its peer
// pushes as much as it can for 800 ms, then read to the end.
struct PausedReader {
  std::size_t sent = 0;                   // by the peer, in all
  std::size_t accepted_while_paused = 0;  // of it, taken while the server did not read
  std::size_t read = 0;                   // by the server after the pause
};

PausedReader read_after_a_pause(Scheduler& s) {
  Listener l = listen_loopback();
  std::atomic<std::size_t> accepted_while_paused{0};
  std::atomic<bool> paused{false};
  std::size_t total = 0;
  std::thread peer([to = l.local_address(), &accepted_while_paused, &paused, &total] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    write_all(fd, "a");
    (void)read_exactly(fd, 1);
    write_all(fd, "b");
    while (!paused) std::this_thread::sleep_for(1ms);
    // Push as much as the server will take in 800 ms while it does not read.
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    const std::string chunk(65536, 'x');
    const auto until = std::chrono::steady_clock::now() + 800ms;
    while (std::chrono::steady_clock::now() < until) {
      const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n > 0) total += static_cast<std::size_t>(n);
      else {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 10);
      }
    }
    accepted_while_paused = total;
    ::fcntl(fd, F_SETFL, 0);
    ::shutdown(fd, SHUT_WR);
    char sink[16];
    (void)::recv(fd, sink, sizeof sink, 0);  // until the server closes
    ::close(fd);
  });
  const std::size_t read = s.block_on([](Listener& listener, std::atomic<bool>& paused) -> Task<std::size_t> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    char buf[65536];
    (void)co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    (void)co_await c->send_all(std::string_view("k"));
    (void)co_await c->recv(buf, sizeof buf, Deadline::after(5s));  // a second read: a stream on io_uring
    paused = true;
    co_await sleep_for(1s);
    std::size_t got = 0;
    for (;;) {
      auto n = co_await c->recv(buf, sizeof buf, Deadline::after(20s));
      if (!n || *n == 0) break;
      got += *n;
    }
    co_await c->close();
    co_return got;
  }(l, paused));
  peer.join();
  return {total, accepted_while_paused, read};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(recv_stream)

BOOST_DATA_TEST_CASE(bytes_that_arrive_while_nobody_reads_come_out_in_order, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string later = pattern(200'000, 1);
  std::thread peer([to = l.local_address(), &later] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    write_all(fd, "first");
    (void)read_exactly(fd, 2);
    write_all(fd, "second");
    (void)read_exactly(fd, 2);
    // The server is not reading now: these arrive in many small pieces meanwhile.
    for (std::size_t at = 0; at < later.size(); at += 1000) {
      write_all(fd, std::string_view(later).substr(at, 1000));
      if (at % 20'000 == 0) std::this_thread::sleep_for(2ms);
    }
    ::close(fd);
  });
  auto [first, second, rest, eof1, eof2] = s.block_on([](Listener& listener, std::size_t size)
                                                          -> Task<std::tuple<std::string, std::string, std::string, int, int>> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    char buf[64];
    auto a = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    BOOST_REQUIRE(a);
    std::string first(buf, *a);
    (void)co_await c->send_all(std::string_view("ok"));
    std::string second = co_await read_all(*c, 6, [](std::size_t) -> std::size_t { return 64; });
    (void)co_await c->send_all(std::string_view("ok"));
    co_await sleep_for(300ms);
    // Odd-sized reads, so stashed bytes are handed out in pieces that straddle arrivals.
    std::string rest = co_await read_all(*c, size, [](std::size_t i) { return 1 + i * 7919 % 5000; });
    auto e1 = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    auto e2 = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    co_await c->close();
    co_return std::tuple{first, second, rest, e1 ? static_cast<int>(*e1) : -1, e2 ? static_cast<int>(*e2) : -1};
  }(l, later.size()));
  peer.join();
  BOOST_TEST(first == "first");
  BOOST_TEST(second == "second");
  BOOST_TEST(rest.size() == later.size());
  BOOST_TEST((rest == later), "the bytes after the pause differ from what was sent");
  BOOST_TEST(eof1 == 0);  // EOF, and again
  BOOST_TEST(eof2 == 0);
}

BOOST_DATA_TEST_CASE(a_reader_that_stops_reading_holds_the_sender_back, test::backends, backend) {
  Scheduler s(backend);
  const PausedReader r = read_after_a_pause(s);
  BOOST_TEST_MESSAGE(to_string(backend) << ": the peer got " << r.accepted_while_paused / 1024
                                        << " KiB into the connection while the server did not read");
  BOOST_TEST(r.read == r.sent);
  // Socket buffers (tcp_rmem/tcp_wmem maxima here: 32 MiB + 4 MiB) bound what the kernel
  // takes; a backend that kept reading into memory would take everything sent in 800 ms.
  BOOST_TEST(r.accepted_while_paused < 40u * 1024 * 1024);
  // What the server itself holds for a connection it does not read: on io_uring the
  // multishot's stash, at most 64 KiB and one 4 KiB buffer (Linux 6.17+; before the
  // byte limit it grew to whatever the kernel delivered before the stash's cancel landed:
  // see the case below); epoll, and io_uring without multishot receives (before 6.0), keep
  // nothing.
  const auto stash = s.backend().counters().largest_recv_stash;
  BOOST_TEST_MESSAGE(to_string(backend) << ": largest receive stash " << stash << " B");
  if (backend == BackendKind::uring && test::uring_has(6, 0)) BOOST_TEST(stash > 0u);  // the stash held them
  else BOOST_TEST(stash == 0u);
  BOOST_TEST(stash <= (test::uring_has(6, 17) ? 64u * 1024 + 4096 : kStashBoundWithoutLimit));
}

// What kernels before 6.17 do (they refuse a multishot's byte limit with EINVAL), made to
// happen here, as on 6.16 and as on 6.0 (whose ring has no DEFER_TASKRUN, so the kernel
// runs the receive's work at any entry, not only when the thread waits): the backend says
// so, arms again without the limit, and a reader that stops reading still holds the
// sender back (the stash cancels the multishot at 64 KiB; what came before the cancel
// landed is kept too: up to the buffer ring's worth, not the megabytes sent).
BOOST_DATA_TEST_CASE(without_a_byte_limit_the_stash_still_holds_the_sender_back, test::backends, backend) {
  for (const detail::UringAsKernel kernel : {detail::UringAsKernel{6, 16}, detail::UringAsKernel{6, 0}}) {
    const test::UringAsKernelFor as(kernel.major, kernel.minor);
    Scheduler s(backend);
    BOOST_TEST_CONTEXT(to_string(backend) << " as " << kernel.major << "." << kernel.minor << ": "
                                          << s.backend().describe()) {
      const PausedReader r = read_after_a_pause(s);
      BOOST_TEST(r.read == r.sent);
      BOOST_TEST(r.accepted_while_paused < 40u * 1024 * 1024);
      const auto stash = s.backend().counters().largest_recv_stash;
      BOOST_TEST_MESSAGE("largest receive stash without a byte limit " << stash << " B");
      BOOST_TEST(stash <= kStashBoundWithoutLimit);
      if (backend == BackendKind::uring) {
        BOOST_TEST(stash > 0u);
        BOOST_TEST(s.backend().describe().find("multishot recv (no byte limit)") != std::string::npos,
                   s.backend().describe());
      } else {
        BOOST_TEST(stash == 0u);
      }
    }
  }
}

// What kernels before 6.0 do (no multishot receive at all): one recv per read, and
// every byte still arrives, in order, whether it came while the reader waited or not.
BOOST_DATA_TEST_CASE(without_multishot_receives_every_byte_still_arrives, test::backends, backend) {
  const test::UringAsKernelFor as(5, 19);
  Scheduler s(backend);
  const PausedReader r = read_after_a_pause(s);
  BOOST_TEST(r.read == r.sent);
  BOOST_TEST(r.accepted_while_paused < 40u * 1024 * 1024);
  BOOST_TEST(s.backend().counters().largest_recv_stash == 0u);  // nothing went through a stash
  BOOST_TEST(s.backend().describe().find("multishot") == std::string::npos, s.backend().describe());
}

// Without multishot receives, the second reads of several connections started in one turn
// all go on by plain recvs. (When the refusal was learnt from the first streams armed, only
// the one whose refusal came back first went on: the others' reads failed with EINVAL,
// and their connections with them. The kernel is now asked at set-up.)
BOOST_DATA_TEST_CASE(without_multishot_receives_streams_armed_together_all_go_on, test::backends, backend) {
  const test::UringAsKernelFor as(5, 19);
  Scheduler s(backend);
  Listener l = listen_loopback();
  constexpr int kConns = 8;
  std::vector<std::thread> peers;
  for (int i = 0; i < kConns; ++i)
    peers.emplace_back([to = l.local_address()] {
      const int fd = connect_blocking(to);
      if (fd < 0) return;
      write_all(fd, "a");
      (void)read_exactly(fd, 1);
      write_all(fd, "b");
      char sink[16];
      (void)::recv(fd, sink, sizeof sink, 0);  // until the server closes
      ::close(fd);
    });
  const int good = s.block_on([](Listener& listener) -> Task<int> {
    std::vector<TcpStream> conns;
    for (int i = 0; i < kConns; ++i) {
      auto c = co_await listener.accept(Deadline::after(5s));
      BOOST_REQUIRE(c);
      conns.push_back(std::move(*c));
    }
    char buf[16];
    for (TcpStream& c : conns) {
      (void)co_await c.recv(buf, sizeof buf, Deadline::after(5s));
      (void)co_await c.send_all(std::string_view("k"));
    }
    // Each connection's second read, all started in this turn (a stream each, on a kernel with them).
    std::vector<Task<std::string>> seconds;
    for (TcpStream& c : conns) seconds.push_back(read_all(c, 1, [](std::size_t) -> std::size_t { return 16; }));
    const std::vector<std::string> got = co_await when_all(std::move(seconds));
    for (TcpStream& c : conns) co_await c.close();
    co_return static_cast<int>(std::count(got.begin(), got.end(), "b"));
  }(l));
  for (auto& p : peers) p.join();
  BOOST_TEST(good == kConns);
}

BOOST_DATA_TEST_CASE(running_out_of_receive_buffers_loses_nothing, test::backends, backend) {
  // Two provided buffers for 32 sockets that all receive in the same instant.
  Scheduler s = with_recv_buffers(backend, 2);
  Listener l = listen_loopback();
  constexpr int kConns = 32;
  std::atomic<bool> go{false};
  std::atomic<int> echoed_right{0};
  std::thread peer([to = l.local_address(), &go, &echoed_right] {
    std::vector<int> fds;
    for (int i = 0; i < kConns; ++i) {
      fds.push_back(connect_blocking(to));
      write_all(fds.back(), "hello " + std::to_string(i) + ".");
    }
    for (int i = 0; i < kConns; ++i) (void)read_exactly(fds[i], 6 + std::to_string(i).size() + 1);
    while (!go) std::this_thread::sleep_for(1ms);
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < kConns; ++i) write_all(fds[i], pattern(3000, static_cast<unsigned>(i + round)));
      for (int i = 0; i < kConns; ++i)
        echoed_right += read_exactly(fds[i], 3000) == pattern(3000, static_cast<unsigned>(i + round));
    }
    for (int fd : fds) ::close(fd);
  });
  s.block_on([](Listener& listener, std::atomic<bool>& go) -> Task<void> {
    int idle = 0;
    std::vector<Task<void>> conns;
    for (int i = 0; i < kConns; ++i) {
      auto c = co_await listener.accept(Deadline::after(5s));
      BOOST_REQUIRE(c);
      conns.push_back([](TcpStream c, int& idle) -> Task<void> {
        char buf[8192];
        for (bool first = true;; first = false) {
          if (!first) ++idle;  // the next recv is the one that waits on a stream
          auto n = co_await c.recv(buf, sizeof buf, Deadline::after(20s));
          if (!first) --idle;
          if (!n || *n == 0) break;
          if (!co_await c.send_all(std::string_view(buf, *n))) break;
        }
        co_await c.close();
      }(std::move(*c), idle));
    }
    co_await when_all([](int& idle, std::atomic<bool>& go) -> Task<void> {
      while (idle < kConns) co_await sleep_for(1ms);
      go = true;
      // Block the thread while the peer writes to every socket: the kernel then receives
      // into all 32 streams in one batch, with two buffers.
      std::this_thread::sleep_for(100ms);
    }(idle, go), when_all(std::move(conns)));
  }(l, go));
  peer.join();
  BOOST_TEST(echoed_right == 3 * kConns);
  const auto shortages = s.backend().counters().recv_buffer_shortages;
  BOOST_TEST_MESSAGE(to_string(backend) << ": " << shortages << " buffer shortages");
  // The case means something only if the buffers really ran out (multishot receives
  // take them: Linux 6.0+).
  if (backend == BackendKind::uring && test::uring_has(6, 0)) BOOST_TEST(shortages > 0u);
  else BOOST_TEST(shortages == 0u);
}

BOOST_DATA_TEST_CASE(a_timed_out_read_or_a_poll_leaves_the_stream_readable, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::thread peer([to = l.local_address()] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    write_all(fd, "1");
    write_all(fd, "2");  // may arrive together with "1"
    (void)read_exactly(fd, 1);
    write_all(fd, "3");  // after the server's recv timed out
    (void)read_exactly(fd, 1);
    write_all(fd, "4");  // while the server polls
    (void)read_exactly(fd, 1);
  });
  auto got = s.block_on([](Listener& listener) -> Task<std::vector<std::string>> {
    std::vector<std::string> got;
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    got.push_back(co_await read_all(*c, 2, [](std::size_t) -> std::size_t { return 16; }));
    char buf[16];
    auto timed_out = co_await c->recv(buf, sizeof buf, Deadline::after(100ms));
    got.push_back(timed_out ? "data" : timed_out.error() == std::errc::timed_out ? "timed out" : timed_out.error().message());
    (void)co_await c->send_all(std::string_view("a"));
    got.push_back(co_await read_all(*c, 1, [](std::size_t) -> std::size_t { return 16; }));
    (void)co_await c->send_all(std::string_view("b"));
    int polled = co_await io::poll_read(c->fd(), Deadline::after(5s));
    got.push_back(polled == 0 ? "readable" : "poll " + std::to_string(polled));
    got.push_back(co_await read_all(*c, 1, [](std::size_t) -> std::size_t { return 16; }));
    (void)co_await c->send_all(std::string_view("c"));
    co_await c->close();
    co_return got;
  }(l));
  peer.join();
  const std::vector<std::string> want{"12", "timed out", "3", "readable", "4"};
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(closing_a_stream_that_was_read_twice_closes_the_connection, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  constexpr int kConns = 300;  // streams are retired and reused, fds too
  std::atomic<int> saw_eof{0};
  std::thread peer([to = l.local_address(), &saw_eof] {
    for (int i = 0; i < kConns; ++i) {
      const int fd = connect_blocking(to);
      if (fd < 0) continue;
      write_all(fd, "x");
      (void)read_exactly(fd, 1);
      write_all(fd, "y");
      // The server closes without reading again; EOF must come (not a hang).
      pollfd p{fd, POLLIN, 0};
      char c;
      if (::poll(&p, 1, 5000) == 1 && ::recv(fd, &c, 1, 0) == 0) ++saw_eof;
      ::close(fd);
    }
  });
  s.block_on([](Listener& listener) -> Task<void> {
    for (int i = 0; i < kConns; ++i) {
      auto c = co_await listener.accept(Deadline::after(5s));
      BOOST_REQUIRE(c);
      char buf[4];
      (void)co_await c->recv(buf, sizeof buf, Deadline::after(5s));
      (void)co_await c->send_all(std::string_view("k"));
      (void)co_await c->recv(buf, sizeof buf, Deadline::after(5s));  // armed from here on io_uring
      co_await c->close();
    }
  }(l));
  peer.join();
  BOOST_TEST(saw_eof == kConns);
}

BOOST_DATA_TEST_CASE(a_scheduler_destroyed_with_streams_armed_and_waiting_ends_cleanly, test::backends, backend) {
  std::vector<int> peers;
  {
    Scheduler s(backend);
    Listener l = listen_loopback();
    int waiting = 0;
    s.spawn([](Listener& listener, int& waiting) -> Task<void> {
      for (int i = 0; i < 8; ++i) {
        auto c = co_await listener.accept(Deadline::after(5s));
        if (!c) co_return;
        spawn([](TcpStream c, int& waiting, bool wait) -> Task<void> {
          char buf[8];
          // "1" then "2" 5 ms apart: two reads (a stream on io_uring), or one when a busy
          // machine let both arrive first.
          std::size_t got = 0;
          for (int reads = 0; got < 2 && reads < 2; ++reads) {
            auto n = co_await c.recv(buf, sizeof buf);
            if (!n || *n == 0) co_return;
            got += *n;
          }
          if (!wait) co_return;  // armed, nobody reading, fd still open
          ++waiting;
          (void)co_await c.recv(buf, sizeof buf);  // parked when the scheduler goes
        }(std::move(*c), waiting, i % 2 == 0));
      }
    }(l, waiting));
    std::thread peer([to = l.local_address(), &peers] {
      for (int i = 0; i < 8; ++i) {
        peers.push_back(connect_blocking(to));
        write_all(peers.back(), "1");
        std::this_thread::sleep_for(5ms);
        write_all(peers.back(), "2");
      }
    });
    s.block_on([](int& waiting) -> Task<void> {
      for (auto give_up = Clock::now() + 5s; waiting < 4 && Clock::now() < give_up;) co_await sleep_for(1ms);
    }(waiting));
    peer.join();
    BOOST_TEST(waiting == 4);
  }  // must neither hang nor touch freed memory (ASan)
  for (int fd : peers) ::close(fd);
}

// On epoll a short read of a stream socket means its queue is empty, so the next recv
// waits for a readable edge instead of trying. Bytes that arrive while nobody is reading
// (their edge seen by the loop with no reader parked) must still be read at once.
BOOST_DATA_TEST_CASE(bytes_that_arrive_after_a_short_read_while_nobody_reads_are_read_at_once, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::thread peer([to = l.local_address()] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    for (const char* m : {"1", "2"}) {
      write_all(fd, m);
      (void)read_exactly(fd, 1);
    }
    write_all(fd, "3");  // while the server sleeps
    (void)read_exactly(fd, 1);
    ::close(fd);
  });
  auto [got, took] = s.block_on([](Listener& listener) -> Task<std::pair<std::string, Duration>> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    std::string got;
    char buf[64];
    for (int i = 0; i < 2; ++i) {  // two short reads
      auto n = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
      BOOST_REQUIRE(n);
      got.append(buf, *n);
      (void)co_await c->send_all(std::string_view("k"));
    }
    co_await sleep_for(200ms);  // "3" arrives; the loop sees its edge with no reader
    const auto start = Clock::now();
    auto n = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    const auto took = Clock::now() - start;
    if (n) got.append(buf, *n);
    (void)co_await c->send_all(std::string_view("k"));
    co_await c->close();
    co_return std::pair{got, took};
  }(l));
  peer.join();
  BOOST_TEST(got == "123");
  BOOST_TEST((took < 1s), std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
}

// A burst of bytes arriving while a recv waits with room for them goes into that recv's
// buffer, not the stash. The recv was woken at the burst's first piece (one provided
// buffer, 4 KiB) and the rest of the burst went to the stash: copied twice, and the
// stash's memory (~60 KB for a 63 KB request body) stayed with the connection.
BOOST_DATA_TEST_CASE(a_burst_fills_the_waiting_read_not_the_stash, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const std::string burst = pattern(60'000, 3);
  std::thread peer([to = l.local_address(), &burst] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    write_all(fd, "a");
    (void)read_exactly(fd, 1);
    write_all(fd, burst);
    (void)read_exactly(fd, 1);
    ::close(fd);
  });
  const auto [got, reads] = s.block_on([](Listener& listener, std::size_t size) -> Task<std::pair<std::string, int>> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    char first[8];
    auto n = co_await c->recv(first, sizeof first, Deadline::after(5s));
    BOOST_REQUIRE(n);
    (void)co_await c->send_all(std::string_view("k"));
    // Waiting, with room for all of it, before the burst is sent (on io_uring this second
    // read arms the multishot).
    std::string got;
    std::vector<char> buf(256 * 1024);
    int reads = 0;
    while (got.size() < size) {
      n = co_await c->recv(buf.data(), buf.size(), Deadline::after(5s));
      if (!n || *n == 0) break;
      got.append(buf.data(), *n);
      ++reads;
    }
    (void)co_await c->send_all(std::string_view("k"));
    co_await c->close();
    co_return std::pair{got, reads};
  }(l, burst.size()));
  peer.join();
  BOOST_TEST((got == burst));
  BOOST_TEST_MESSAGE(to_string(backend) << ": 60,000 bytes in " << reads << " reads");
  BOOST_TEST(s.backend().counters().largest_recv_stash == 0u);
}

// Reads of one byte take every byte in order. On io_uring the byte handed straight to such
// a reader was overwritten with the stash's next one (the count 1 doubled as wake_waiter's
// "read the stash"), so "bcdef" read as "cdef" and a fifth read waited for nothing.
BOOST_DATA_TEST_CASE(one_byte_reads_take_every_byte_in_order, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::thread peer([to = l.local_address()] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    for (const char* m : {"a", "bcdef"}) {
      write_all(fd, m);
      (void)read_exactly(fd, 1);
    }
    ::close(fd);
  });
  const std::string got = s.block_on([](Listener& listener) -> Task<std::string> {
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    std::string got;
    char buf[64];
    for (std::size_t want : {1u, 5u}) {  // the second read arms io_uring's multishot
      for (std::size_t i = 0; i < want; ++i) {
        auto n = co_await c->recv(buf, 1, Deadline::after(2s));
        if (!n) co_return got + "<" + n.error().message() + ">";
        got.append(buf, *n);
      }
      (void)co_await c->send_all(std::string_view("k"));
    }
    co_await c->close();
    co_return got;
  }(l));
  peer.join();
  BOOST_TEST(got == "abcdef");
}

// TcpStream::input_waiting tells whether the peer sent bytes no recv has taken, whether
// the kernel still holds them or (io_uring) the multishot's stash does: a close then
// would answer them with a RST (http's lingering close asks it).
BOOST_DATA_TEST_CASE(input_waiting_sees_bytes_no_recv_has_taken, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::thread peer([to = l.local_address()] {
    const int fd = connect_blocking(to);
    if (fd < 0) return;
    for (const char* m : {"a", "bc", "de"}) {
      write_all(fd, m);
      (void)read_exactly(fd, 1);
    }
    ::close(fd);
  });
  const std::vector<std::string> seen = s.block_on([](Listener& listener) -> Task<std::vector<std::string>> {
    std::vector<std::string> seen;
    auto c = co_await listener.accept(Deadline::after(5s));
    BOOST_REQUIRE(c);
    const auto look = [&](std::string what) { seen.push_back(what + (c->input_waiting() ? ", more waiting" : ", none")); };
    char buf[64];
    // "a", then "bc" a byte at a time: on io_uring the second read arms the multishot, and
    // the "c" it brought waits in its stash.
    for (std::size_t len : {64u, 1u, 1u}) {
      auto n = co_await c->recv(buf, len, Deadline::after(5s));
      if (!n) co_return seen;
      look(std::string(buf, *n));
      if (len == 64 || buf[0] == 'c') (void)co_await c->send_all(std::string_view("k"));
    }
    co_await sleep_for(200ms);  // "de" arrives while nobody reads
    look("slept");
    auto n = co_await c->recv(buf, sizeof buf, Deadline::after(5s));
    if (n) look(std::string(buf, *n));
    (void)co_await c->send_all(std::string_view("k"));
    co_await c->close();
    co_return seen;
  }(l));
  peer.join();
  const std::vector<std::string> want{"a, none", "b, more waiting", "c, none", "slept, more waiting", "de, none"};
  BOOST_TEST(seen == want, boost::test_tools::per_element());
}

// Datagram-like sockets return one message per recv: a short read there does not mean
// the queue is empty, and the next message must be read without waiting for an edge.
BOOST_DATA_TEST_CASE(queued_seqpacket_messages_are_each_read_without_waiting, test::backends, backend) {
  Scheduler s(backend);
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  if (s.backend().wants_nonblocking_sockets()) ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  const std::vector<std::string> sent{"a", "bb", "ccc", "dddd"};
  for (const auto& m : sent) BOOST_REQUIRE(::send(sv[1], m.data(), m.size(), 0) == static_cast<ssize_t>(m.size()));
  auto got = s.block_on([](int fd) -> Task<std::vector<std::string>> {
    std::vector<std::string> got;
    char buf[64];
    for (int i = 0; i < 4; ++i) {
      int n = co_await io::recv(fd, buf, sizeof buf, 0, Deadline::after(2s));
      got.push_back(n >= 0 ? std::string(buf, static_cast<std::size_t>(n)) : "error " + std::to_string(n));
    }
    s_forget(fd);
    co_return got;
  }(sv[0]));
  BOOST_TEST(got == sent, boost::test_tools::per_element());
  ::close(sv[0]);
  ::close(sv[1]);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_recv_stream_tests
