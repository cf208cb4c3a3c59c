// ReusableOp: one operation object used for recv, send and poll_read in turn on the same
// socket, on both backends, including after a timeout and after the peer closes; and its
// deadline timer, which stays armed between operations, firing for the right one.
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/millis.hpp"

namespace net_reusable_op_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;
using test::ms;

namespace {

// What a recv gave: its bytes, or "recv N" for EOF (0) and errors (-errno).
std::string received(const char* buf, int n) {
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "recv " + std::to_string(n);
}

// The peer: waits, says "ping", reads "pong", waits, says "bye", closes.
Task<void> peer(Listener& l) {
  auto c = co_await l.accept(Deadline::after(5s));
  if (!c) co_return;
  co_await sleep_for(200ms);  // past the first recv's deadline
  (void)co_await c->send_all(std::string_view("ping"), Deadline::after(5s));
  char buf[4];
  (void)co_await c->recv_exact(std::as_writable_bytes(std::span(buf)), Deadline::after(5s));
  co_await sleep_for(50ms);
  (void)co_await c->send_all(std::string_view(buf, 4) == "pong" ? "bye" : "bad", Deadline::after(5s));
  co_await c->close();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reusable_op)

BOOST_DATA_TEST_CASE(one_op_does_recv_send_and_poll_in_turn_and_survives_a_timeout, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn(peer(l));
  auto results = s.block_on([](SocketAddress to) -> Task<std::vector<std::string>> {
    std::vector<std::string> got;
    auto c = co_await TcpStream::connect(to, Deadline::after(5s));
    BOOST_REQUIRE(c);
    ReusableOp op;
    char buf[16];
    int n = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(50ms));
    got.push_back(n == -ETIMEDOUT ? "timed out" : "recv " + std::to_string(n));
    n = co_await op.poll_read(c->fd(), Deadline::after(5s));
    got.push_back("poll " + std::to_string(n));
    n = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(5s));
    got.push_back(received(buf, n));
    n = co_await op.send(c->fd(), "pong", 4, 0, Deadline::after(5s));
    got.push_back("sent " + std::to_string(n));
    n = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(5s));
    got.push_back(received(buf, n));
    n = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(5s));
    got.push_back(received(buf, n));  // the peer closed: "recv 0"
    co_await c->close();
    co_return got;
  }(l.local_address()));
  const std::vector<std::string> want{"timed out", "poll 0", "ping", "sent 4", "bye", "recv 0"};
  BOOST_TEST(results == want, boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(a_send_that_times_out_leaves_the_op_usable_for_a_recv, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept(Deadline::after(5s));
    if (!c) co_return;
    co_await sleep_for(500ms);  // never reads; speaks once the client's send gave up
    (void)co_await c->send_all(std::string_view("late"), Deadline::after(5s));
    co_await sleep_for(2s);
  }(l));
  auto [sent, timed_out, late] = s.block_on([](SocketAddress to) -> Task<std::tuple<std::size_t, bool, std::string>> {
    auto c = co_await TcpStream::connect(to, Deadline::after(5s));
    BOOST_REQUIRE(c);
    ReusableOp op;
    const std::string lots(1 << 20, 'z');
    std::size_t total = 0;
    int n = 0;
    for (int i = 0; i < 4096; ++i) {  // until both socket buffers are full and a send waits
      n = co_await op.send(c->fd(), lots.data(), lots.size(), 0, Deadline::after(100ms));
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    char buf[8];
    const int r = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(5s));
    co_await c->close();
    co_return std::tuple{total, n == -ETIMEDOUT, received(buf, r)};
  }(l.local_address()));
  BOOST_TEST(sent > 0u);
  BOOST_TEST(timed_out);
  BOOST_TEST(late == "late");
}

// The timer kept from a short deadline must not cut a later, longer wait short; a later,
// shorter deadline must still be kept; a kept timer firing while nothing waits is harmless.
BOOST_DATA_TEST_CASE(the_kept_timer_honours_each_operations_own_deadline, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    auto c = co_await listener.accept(Deadline::after(5s));
    if (!c) co_return;
    co_await sleep_for(20ms);  // the client's first recv waits (and arms its timer)
    (void)co_await c->send_all(std::string_view("a"), Deadline::after(5s));
    co_await sleep_for(300ms);  // past the first recv's 100 ms
    (void)co_await c->send_all(std::string_view("b"), Deadline::after(5s));
    co_await sleep_for(1200ms);  // meanwhile the client's 50 ms wait times out
    (void)co_await c->send_all(std::string_view("c"), Deadline::after(5s));
    co_await sleep_for(2s);
  }(l));
  auto got = s.block_on([](SocketAddress to) -> Task<std::vector<std::string>> {
    std::vector<std::string> got;
    auto c = co_await TcpStream::connect(to, Deadline::after(5s));
    BOOST_REQUIRE(c);
    ReusableOp op;
    char buf[8];
    got.push_back(received(buf, co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(100ms))));  // "a" after 20 ms
    got.push_back(received(buf, co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(2s))));     // "b" after 300 ms
    const auto start = Clock::now();
    const int n = co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(50ms));  // earlier than the kept timer
    const auto took = Clock::now() - start;
    got.push_back(n == -ETIMEDOUT && took >= 50ms && took < 1s ? "timed out on time"
                                                                : received(buf, n) + " after " + std::to_string(ms(took)) + " ms");
    const auto c_deadline = Deadline::after(1500ms);  // "c" comes about 1150 ms from now
    got.push_back(received(buf, co_await op.recv(c->fd(), buf, sizeof buf, c_deadline)));
    co_await sleep_until(c_deadline.at + 300ms);  // the timer kept for "c" fires: nothing waits
    got.push_back(received(buf, co_await op.recv(c->fd(), buf, sizeof buf, Deadline::after(20ms))));
    co_await c->close();
    co_return got;
  }(l.local_address()));
  const std::vector<std::string> want{"a", "b", "timed out on time", "c", "recv -110"};
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_reusable_op_tests
