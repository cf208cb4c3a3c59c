#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"

using namespace hellepoll;
using hellepoll::test::open_fd_count;
using hellepoll::test::raise_fd_limit;
using namespace std::chrono_literals;

namespace {



Listener listen_loopback() {
  auto l = Listener::bind(SocketAddress::loopback_v4(0));
  BOOST_REQUIRE_MESSAGE(l, l.error().message());
  return std::move(*l);
}

Task<void> echo_connection(TcpStream s) {
  std::byte buf[8192];
  for (;;) {
    auto n = co_await s.recv(buf);
    if (!n || *n == 0) break;
    if (!co_await s.send_all(std::span<const std::byte>(buf, *n))) break;
  }
  co_await s.close();
}

Task<void> echo_server(Listener& l, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto c = co_await l.accept();
    if (!c) co_return;
    spawn(echo_connection(std::move(*c)));
  }
}

std::string pattern(int id, std::size_t len) {
  std::string s(len, '\0');
  for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>((id * 131 + i * 7) & 0xff);
  return s;
}

// Sends a distinct pattern and checks every byte that comes back.
Task<bool> echo_client(SocketAddress to, int id) {
  auto c = co_await TcpStream::connect(to, Deadline::after(10s));
  if (!c) co_return false;
  const std::string data = pattern(id, 1000 + static_cast<std::size_t>(id % 7) * 1000);
  if (!co_await c->send_all(data)) co_return false;
  std::string back(data.size(), '\0');
  auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(back.data(), back.size())), Deadline::after(10s));
  co_await c->close();
  co_return r && back == data;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp)

BOOST_DATA_TEST_CASE(echo_with_a_thousand_concurrent_connections, test::backends, backend) {
  raise_fd_limit();
  Scheduler s(backend);
  Listener l = listen_loopback();
  constexpr int n = 1000;
  s.spawn(echo_server(l, n));
  std::vector<Task<bool>> clients;
  for (int i = 0; i < n; ++i) clients.push_back(echo_client(l.local_address(), i));
  auto results = s.block_on(when_all(std::move(clients)));
  int ok = 0;
  for (bool r : results) ok += r;
  BOOST_TEST(ok == n);
}

BOOST_DATA_TEST_CASE(connecting_to_a_closed_port_is_refused, test::backends, backend) {
  Scheduler s(backend);
  SocketAddress closed;
  {
    Listener l = listen_loopback();  // find a free port, then stop listening on it
    closed = l.local_address();
  }
  auto r = s.block_on(TcpStream::connect(closed, Deadline::after(5s)));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message() == std::make_error_code(std::errc::connection_refused).message());
  BOOST_TEST((r.error() == std::errc::connection_refused));
}

BOOST_DATA_TEST_CASE(a_peer_reset_mid_transfer_is_an_error_not_a_crash, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::error_code server_error;
  s.spawn([](Listener& listener, std::error_code* err) -> Task<void> {
    auto c = co_await listener.accept();
    BOOST_REQUIRE(c);
    std::string big(1 << 20, 'x');
    for (int i = 0; i < 64; ++i) {
      auto r = co_await c->send_all(big, Deadline::after(10s));
      if (!r) {
        *err = r.error();
        break;
      }
    }
    co_await c->close();
  }(l, &server_error));
  s.block_on([](SocketAddress to) -> Task<void> {
    auto c = co_await TcpStream::connect(to);
    BOOST_REQUIRE(c);
    std::byte buf[4096];
    (void)co_await c->recv(buf);  // the transfer has started
    linger lg{1, 0};              // close with RST instead of FIN
    ::setsockopt(c->fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c->socket().close_now();
    co_await sleep_for(100ms);
  }(l.local_address()));
  BOOST_TEST(static_cast<bool>(server_error));
  BOOST_TEST((server_error == std::errc::connection_reset || server_error == std::errc::broken_pipe),
             server_error.message());
}

BOOST_DATA_TEST_CASE(recv_with_a_deadline_times_out, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept();
    co_await sleep_for(1s);  // hold the connection open, silent
    co_await c->close();
  }(l));
  auto start = Clock::now();
  auto r = s.block_on([](SocketAddress to) -> Task<Result<std::size_t>> {
    auto c = co_await TcpStream::connect(to);
    std::byte buf[16];
    co_return co_await c->recv(buf, Deadline::after(100ms));
  }(l.local_address()));
  auto took = Clock::now() - start;
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::timed_out));
  BOOST_TEST((took >= 100ms));
  BOOST_TEST((took < 2s));
}

BOOST_DATA_TEST_CASE(accept_with_a_deadline_times_out_and_close_wakes_an_acceptor, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  auto r = s.block_on([](Listener& listener) -> Task<Result<TcpStream>> {
    co_return co_await listener.accept(Deadline::after(50ms));
  }(l));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::timed_out));

  s.spawn([](Listener& listener) -> Task<void> {
    co_await sleep_for(20ms);
    listener.close();
  }(l));
  auto start = Clock::now();
  auto r2 = s.block_on([](Listener& listener) -> Task<Result<TcpStream>> { co_return co_await listener.accept(); }(l));
  BOOST_REQUIRE(!r2);
  BOOST_TEST((r2.error() == std::errc::operation_canceled), r2.error().message());
  BOOST_TEST((Clock::now() - start < 2s));
}

BOOST_DATA_TEST_CASE(shutdown_gives_the_peer_eof_while_the_other_direction_works, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept();
    std::byte buf[64];
    auto n = co_await c->recv(buf);  // the client's EOF
    BOOST_TEST((n && *n == 0));
    (void)co_await c->send_all(std::string_view("after-eof"));
    co_await c->close();
  }(l));
  auto got = s.block_on([](SocketAddress to) -> Task<std::string> {
    auto c = co_await TcpStream::connect(to);
    BOOST_REQUIRE(c->shutdown(SHUT_WR));
    std::string text(9, '\0');
    auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(text.data(), text.size())), Deadline::after(5s));
    BOOST_TEST(static_cast<bool>(r));
    co_return text;
  }(l.local_address()));
  BOOST_TEST(got == "after-eof");
}

BOOST_DATA_TEST_CASE(writev_all_keeps_order_and_recv_exact_reports_early_eof, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept();
    std::string a(100'000, 'a'), b = "-middle-", cc(300'000, 'c');
    iovec iov[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {cc.data(), cc.size()}};
    BOOST_TEST(static_cast<bool>(co_await c->writev_all(iov, Deadline::after(10s))));
    co_await c->close();
  }(l));
  s.block_on([](SocketAddress to) -> Task<void> {
    auto c = co_await TcpStream::connect(to);
    std::string all(400'008, '\0');
    auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(all.data(), all.size())), Deadline::after(10s));
    BOOST_REQUIRE(r);
    BOOST_TEST((all == std::string(100'000, 'a') + "-middle-" + std::string(300'000, 'c')));
    std::byte more[10];
    auto eof = co_await c->recv_exact(more, Deadline::after(10s));
    BOOST_REQUIRE(!eof);
    BOOST_TEST((eof.error() == make_error_code(net_errc::end_of_stream)));
  }(l.local_address()));
}

BOOST_DATA_TEST_CASE(ipv6_loopback_works, test::backends, backend) {
  Scheduler s(backend);
  auto l = Listener::bind(SocketAddress::loopback_v6(0));
  BOOST_REQUIRE_MESSAGE(l, l.error().message());
  s.spawn(echo_server(*l, 1));
  BOOST_TEST(s.block_on(echo_client(l->local_address(), 3)));
}

BOOST_DATA_TEST_CASE(stopping_with_operations_in_flight_leaks_nothing, test::backends, backend) {
  const int fds_before = open_fd_count();
  {
    Scheduler s(backend);
    Listener l = listen_loopback();
    s.spawn(echo_server(l, 20));
    // 20 connected clients, each blocked in recv on a server that waits for it to speak.
    for (int i = 0; i < 20; ++i)
      s.spawn([](SocketAddress to) -> Task<void> {
        auto c = co_await TcpStream::connect(to);
        if (!c) co_return;
        std::byte buf[16];
        (void)co_await c->recv(buf);
      }(l.local_address()));
    s.block_on([]() -> Task<void> { co_await sleep_for(50ms); }());
    BOOST_TEST(s.detached_count() >= 40u);
    s.stop();
    s.run();
    BOOST_TEST(s.detached_count() == 0u);
  }
  BOOST_TEST(open_fd_count() == fds_before);
}

BOOST_AUTO_TEST_SUITE_END()
