// TcpStream over loopback, every case on both backends: many concurrent echoes, refused
// connects, peer resets, deadlines, half-close, gathered writes and early EOF.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <boost/test/unit_test.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/millis.hpp"
#include "support/process.hpp"

namespace net_tcp_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;
using test::ms;

namespace {

// Echoes until EOF, then closes; counts the connections it finished.
Task<void> echo_connection(TcpStream s, int* finished) {
  std::byte buf[8192];
  for (;;) {
    auto n = co_await s.recv(buf, Deadline::after(20s));
    if (!n || *n == 0) break;
    if (!co_await s.send_all(std::span<const std::byte>(buf, *n), Deadline::after(20s))) break;
  }
  co_await s.close();
  ++*finished;
}

Task<void> echo_server(Listener& l, int connections, int* finished) {
  for (int i = 0; i < connections; ++i) {
    auto c = co_await l.accept(Deadline::after(20s));
    if (!c) co_return;
    spawn(echo_connection(std::move(*c), finished));
  }
}

// A different length and different bytes for every id.
std::string pattern(int id) {
  std::string s(1024 + static_cast<std::size_t>(id * 577 % 7168), '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((id * 131 + i * 7 + (i >> 8)) & 0xff);
  return s;
}

// Sends its pattern, half-closes, and checks that exactly those bytes come back before
// EOF. Returns "" on success, else what went wrong.
Task<std::string> echo_client(SocketAddress to, int id) {
  const std::string data = pattern(id);
  const auto deadline = Deadline::after(20s);
  auto c = co_await TcpStream::connect(to, deadline);
  if (!c) co_return "connect: " + c.error().message();
  if (auto r = co_await c->send_all(data, deadline); !r) co_return "send: " + r.error().message();
  if (auto r = c->shutdown(SHUT_WR); !r) co_return "shutdown: " + r.error().message();
  std::size_t got = 0;
  char buf[4096];
  for (;;) {
    auto n = co_await c->recv(buf, sizeof buf, deadline);
    if (!n) co_return "recv after " + std::to_string(got) + " bytes: " + n.error().message();
    if (*n == 0) break;
    if (got + *n > data.size()) co_return "more bytes than were sent";
    if (std::string_view(buf, *n) != std::string_view(data).substr(got, *n))
      co_return "wrong bytes in [" + std::to_string(got) + ", " + std::to_string(got + *n) + ")";
    got += *n;
  }
  co_await c->close();
  if (got != data.size()) co_return "EOF after " + std::to_string(got) + " of " + std::to_string(data.size());
  co_return "";
}

// Runs the loop until *counter reaches target (or a generous limit passes).
Task<void> wait_for(const int* counter, int target) {
  for (auto give_up = Clock::now() + 20s; *counter < target && Clock::now() < give_up;) co_await sleep_for(1ms);
}

// Closes with RST instead of FIN: SO_LINGER {on, 0 s}, then close.
void reset(TcpStream& c) {
  linger lg{1, 0};
  BOOST_TEST(::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  c.socket().close_now();
}

// One small echo round trip: the scheduler still works after whatever came before.
bool echo_round_trip(Scheduler& s) {
  Listener l = listen_loopback();
  int finished = 0;
  s.spawn(echo_server(l, 1, &finished));
  std::string error = s.block_on(echo_client(l.local_address(), 7));
  s.block_on(wait_for(&finished, 1));
  BOOST_TEST(error == "");
  return error.empty() && finished == 1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp)

BOOST_DATA_TEST_CASE(echo_with_a_thousand_concurrent_connections, test::backends, backend) {
  test::raise_fd_limit();  // 2,000 sockets plus the suite's own
  Scheduler s(backend);
  Listener l = listen_loopback();
  constexpr int n = 1000;
  int finished = 0;
  s.spawn(echo_server(l, n, &finished));
  std::vector<Task<std::string>> clients;
  for (int i = 0; i < n; ++i) clients.push_back(echo_client(l.local_address(), i));
  auto errors = s.block_on(when_all(std::move(clients)));
  int failed = 0;
  for (int i = 0; i < n; ++i)
    if (!errors[i].empty() && ++failed <= 5) BOOST_ERROR("client " << i << ": " << errors[i]);
  BOOST_TEST(failed == 0);
  s.block_on(wait_for(&finished, n));
  BOOST_TEST(finished == n);  // every server-side handler saw EOF and closed
}

// A stream with no socket (default-made, or closed) answers every operation with EBADF,
// on both backends: the epoll backend sized its per-fd table by the number -1 and threw
// std::length_error out of recv.
BOOST_DATA_TEST_CASE(a_stream_without_a_socket_answers_ebadf, test::backends, backend) {
  Scheduler s(backend);
  s.block_on([]() -> Task<void> {
    TcpStream none;
    char buf[4];
    auto r = co_await none.recv(buf, sizeof buf, Deadline::after(1s));
    BOOST_TEST(!r);
    if (!r) BOOST_TEST(r.error().value() == EBADF, r.error().message());
    auto w = co_await none.send_all(std::string_view("x"), Deadline::after(1s));
    BOOST_TEST(!w);
    if (!w) BOOST_TEST(w.error().value() == EBADF, w.error().message());
  }());
}

BOOST_DATA_TEST_CASE(connecting_to_a_closed_port_is_refused, test::backends, backend) {
  Scheduler s(backend);
  SocketAddress closed;
  {
    Listener l = listen_loopback();  // a port that was free a moment ago, no longer listening
    closed = l.local_address();
  }
  auto r = s.block_on(TcpStream::connect(closed, Deadline::after(5s)));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::connection_refused), r.error().message());
}

BOOST_DATA_TEST_CASE(a_peer_reset_while_sending_is_an_error_not_a_crash, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  auto [sent, received] = s.block_on(when_all(
      [](Listener& listener) -> Task<Result<void>> {
        auto c = co_await listener.accept(Deadline::after(10s));
        if (!c) co_return c.error();
        const std::string mib(1 << 20, 'x');
        for (int i = 0; i < 256; ++i)  // far more than socket buffers hold: the reset lands mid-send
          if (auto r = co_await c->send_all(mib, Deadline::after(10s)); !r) co_return r;
        co_return Result<void>{};
      }(l),
      [](SocketAddress to) -> Task<std::size_t> {
        auto c = co_await TcpStream::connect(to, Deadline::after(5s));
        BOOST_REQUIRE(c);
        std::byte buf[65536];
        std::size_t got = 0;
        while (got < 256 * 1024) {  // the transfer is well under way
          auto n = co_await c->recv(buf, Deadline::after(5s));
          if (!n || *n == 0) break;
          got += *n;
        }
        reset(*c);
        co_return got;
      }(l.local_address())));
  BOOST_TEST(received >= 256u * 1024);
  BOOST_REQUIRE(!sent);
  BOOST_TEST((sent.error() == std::errc::connection_reset || sent.error() == std::errc::broken_pipe),
             sent.error().message());
  BOOST_TEST(echo_round_trip(s));
}

BOOST_DATA_TEST_CASE(a_peer_reset_while_receiving_is_an_error_not_a_crash, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  auto [server, client] = s.block_on(when_all(
      [](Listener& listener) -> Task<std::pair<std::size_t, std::error_code>> {
        auto c = co_await listener.accept(Deadline::after(10s));
        if (!c) co_return std::pair{std::size_t{0}, c.error()};
        std::byte buf[4096];
        std::size_t got = 0;
        for (;;) {  // parks in recv once the first bytes are read; the reset wakes it
          auto n = co_await c->recv(buf, Deadline::after(10s));
          if (!n) co_return std::pair{got, n.error()};
          if (*n == 0) co_return std::pair{got, std::error_code{}};
          got += *n;
        }
      }(l),
      [](SocketAddress to) -> Task<void> {
        auto c = co_await TcpStream::connect(to, Deadline::after(5s));
        BOOST_REQUIRE(c);
        BOOST_REQUIRE(co_await c->send_all(std::string_view("hello")));
        co_await sleep_for(30ms);  // let the server drain it and wait for more
        reset(*c);
      }(l.local_address())));
  std::ignore = client;
  BOOST_TEST(server.first == 5u);
  BOOST_TEST((server.second == std::errc::connection_reset), server.second.message());
  BOOST_TEST(echo_round_trip(s));
}

BOOST_DATA_TEST_CASE(recv_with_a_deadline_times_out_and_the_stream_stays_usable, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept(Deadline::after(5s));
    if (!c) co_return;
    co_await sleep_for(300ms);  // silent past the client's deadline, then speaks
    (void)co_await c->send_all(std::string_view("late"));
    co_await sleep_for(5s);
  }(l));
  auto [timed_out, took, late] = s.block_on([](SocketAddress to) -> Task<std::tuple<Result<std::size_t>, Duration, std::string>> {
    auto c = co_await TcpStream::connect(to, Deadline::after(5s));
    BOOST_REQUIRE(c);
    std::byte buf[16];
    const auto start = Clock::now();
    auto r = co_await c->recv(buf, Deadline::after(100ms));
    const auto took = Clock::now() - start;
    std::string late(4, '\0');  // a timed-out recv consumed nothing and left the stream intact
    auto ok = co_await c->recv_exact(std::as_writable_bytes(std::span(late)), Deadline::after(5s));
    co_return std::tuple{r, took, ok ? late : ok.error().message()};
  }(l.local_address()));
  BOOST_REQUIRE(!timed_out);
  BOOST_TEST((timed_out.error() == std::errc::timed_out), timed_out.error().message());
  BOOST_TEST((took >= 100ms), ms(took) << " ms");
  BOOST_TEST((took < 2s), ms(took) << " ms");
  BOOST_TEST(late == "late");
}

BOOST_DATA_TEST_CASE(send_all_with_a_deadline_times_out_when_the_peer_never_reads, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept(Deadline::after(5s));
    co_await sleep_for(5s);  // holds the connection, never reads
  }(l));
  auto [r, took] = s.block_on([](SocketAddress to) -> Task<std::pair<Result<void>, Duration>> {
    auto c = co_await TcpStream::connect(to, Deadline::after(5s));
    BOOST_REQUIRE(c);
    const std::string lots(64 << 20, 'z');  // more than both socket buffers can take
    const auto start = Clock::now();
    auto r = co_await c->send_all(lots, Deadline::after(100ms));
    co_return std::pair{r, Clock::now() - start};
  }(l.local_address()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::timed_out), r.error().message());
  BOOST_TEST((took >= 100ms && took < 2s), ms(took) << " ms");
}

BOOST_DATA_TEST_CASE(shutdown_gives_the_peer_eof_while_the_other_direction_works, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  auto [server_saw, client_saw] = s.block_on(when_all(
      [](Listener& listener) -> Task<std::string> {
        auto c = co_await listener.accept(Deadline::after(5s));
        BOOST_REQUIRE(c);
        std::string got(4, '\0');
        BOOST_REQUIRE(co_await c->recv_exact(std::as_writable_bytes(std::span(got)), Deadline::after(5s)));
        std::byte more[16];
        auto eof = co_await c->recv(more, Deadline::after(5s));  // the client's SHUT_WR
        BOOST_TEST((eof && *eof == 0));
        BOOST_TEST(static_cast<bool>(co_await c->send_all(std::string_view("pong after eof"))));
        co_await c->close();
        co_return got;
      }(l),
      [](SocketAddress to) -> Task<std::string> {
        auto c = co_await TcpStream::connect(to, Deadline::after(5s));
        BOOST_REQUIRE(c);
        BOOST_REQUIRE(co_await c->send_all(std::string_view("ping")));
        BOOST_REQUIRE(c->shutdown(SHUT_WR));
        auto refused = co_await c->send("x", 1);  // our write side is closed
        BOOST_TEST((!refused && refused.error() == std::errc::broken_pipe));
        std::string text(14, '\0');
        auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(text)), Deadline::after(5s));
        BOOST_TEST(static_cast<bool>(r));
        std::byte more[16];
        auto eof = co_await c->recv(more, Deadline::after(5s));
        BOOST_TEST((eof && *eof == 0));
        co_return text;
      }(l.local_address())));
  BOOST_TEST(server_saw == "ping");
  BOOST_TEST(client_saw == "pong after eof");
}

BOOST_DATA_TEST_CASE(writev_all_keeps_order_and_recv_exact_reports_early_eof, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  // Megabytes in several buffers of odd sizes: writev is cut short inside and between
  // buffers, and writev_all must resume at the right byte.
  std::vector<std::string> parts;
  for (int i = 0; i < 6; ++i) parts.emplace_back(static_cast<std::size_t>(1 + i * 1'234'567 % 2'000'003), 'a' + i);
  parts.emplace_back("-tail-");
  std::string expected;
  for (auto& p : parts) expected += p;

  auto [sent, received] = s.block_on(when_all(
      [](Listener& listener, std::vector<std::string>& bufs) -> Task<bool> {
        auto c = co_await listener.accept(Deadline::after(5s));
        BOOST_REQUIRE(c);
        std::vector<iovec> iov;
        for (auto& b : bufs) iov.push_back({b.data(), b.size()});
        auto r = co_await c->writev_all(iov, Deadline::after(10s));
        BOOST_TEST(static_cast<bool>(r), r.error().message());
        (void)co_await c->send_all(std::string_view("12345"));  // 5 bytes, then EOF
        co_await c->close();
        co_return static_cast<bool>(r);
      }(l, parts),
      [](SocketAddress to, std::size_t size) -> Task<std::string> {
        auto c = co_await TcpStream::connect(to, Deadline::after(5s));
        BOOST_REQUIRE(c);
        co_await sleep_for(20ms);  // let the sender fill the socket and wait for room
        std::string all(size, '\0');
        auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(all)), Deadline::after(10s));
        BOOST_REQUIRE_MESSAGE(r, r.error().message());
        std::byte ten[10];  // only 5 remain before the peer closes
        auto early = co_await c->recv_exact(ten, Deadline::after(5s));
        BOOST_REQUIRE(!early);
        BOOST_TEST((early.error() == make_error_code(net_errc::end_of_stream)), early.error().message());
        BOOST_TEST((std::string_view(reinterpret_cast<const char*>(ten), 5) == "12345"));
        co_return all;
      }(l.local_address(), expected.size())));
  BOOST_TEST(sent);
  BOOST_TEST(received.size() == expected.size());
  const auto first_difference = std::mismatch(received.begin(), received.end(), expected.begin()).first;
  BOOST_TEST((received == expected), "first difference at byte " << first_difference - received.begin());
}

BOOST_DATA_TEST_CASE(ipv6_loopback_echo, test::backends, backend) {
  Scheduler s(backend);
  auto l = Listener::bind(SocketAddress::loopback_v6(0));
  BOOST_REQUIRE_MESSAGE(l, l.error().message());
  int finished = 0;
  s.spawn(echo_server(*l, 1, &finished));
  BOOST_TEST(s.block_on(echo_client(l->local_address(), 3)) == "");
  s.block_on(wait_for(&finished, 1));
  BOOST_TEST(finished == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_tcp_tests
