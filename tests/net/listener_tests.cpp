// Listener on both backends: accept deadlines, close() waking a pending accept, the queue
// of connections that arrive while nobody is accepting, and SO_REUSEPORT.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/millis.hpp"

namespace net_listener_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;
using test::ms;

namespace {

Task<Result<TcpStream>> accept_once(Listener& l, Deadline d) { co_return co_await l.accept(d); }

Task<Result<TcpStream>> connect_to(SocketAddress to) { co_return co_await TcpStream::connect(to, Deadline::after(5s)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(listener)

BOOST_DATA_TEST_CASE(accept_with_a_deadline_times_out_and_the_listener_still_works, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  const auto start = Clock::now();
  auto r = s.block_on(accept_once(l, Deadline::after(100ms)));
  const auto took = Clock::now() - start;
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::timed_out), r.error().message());
  BOOST_TEST((took >= 100ms), ms(took) << " ms");
  BOOST_TEST((took < 2s), ms(took) << " ms");

  auto [accepted, connected] = s.block_on(when_all(accept_once(l, Deadline::after(5s)), connect_to(l.local_address())));
  BOOST_REQUIRE_MESSAGE(accepted, accepted.error().message());
  BOOST_REQUIRE_MESSAGE(connected, connected.error().message());
  BOOST_TEST((accepted->peer_address().value() == connected->local_address().value()));
}

BOOST_DATA_TEST_CASE(close_wakes_a_pending_accept_with_an_error, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  s.spawn([](Listener& listener) -> Task<void> {
    co_await sleep_for(30ms);
    listener.close();
  }(l));
  const auto start = Clock::now();
  auto r = s.block_on(accept_once(l, Deadline::never()));
  const auto took = Clock::now() - start;
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::operation_canceled), r.error().message());
  BOOST_TEST((took >= 30ms && took < 2s), ms(took) << " ms");
  BOOST_TEST(l.fd() == -1);

  // A closed listener refuses at once, and nobody can connect any more.
  auto again = s.block_on(accept_once(l, Deadline::after(5s)));
  BOOST_TEST(!again);
  auto refused = s.block_on(connect_to(l.local_address()));
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error() == std::errc::connection_refused), refused.error().message());
}

// Regression: a Listener destroyed while a coroutine awaited accept() left that
// coroutine pointing into the freed accept state (heap-use-after-free under ASan when the
// coroutine resumed or its frame was destroyed).
BOOST_DATA_TEST_CASE(destroying_the_listener_wakes_a_pending_accept_with_an_error, test::backends, backend) {
  Scheduler s(backend);
  std::optional<Listener> l = listen_loopback();
  s.spawn([](std::optional<Listener>* listener) -> Task<void> {
    co_await sleep_for(30ms);
    listener->reset();
  }(&l));
  auto r = s.block_on(accept_once(*l, Deadline::never()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::operation_canceled), r.error().message());
  BOOST_TEST(!l.has_value());
}

// The same when the accept was already woken (here by its deadline) but had not run yet:
// both timers fire in one turn and the destroyer, armed first, runs first.
BOOST_DATA_TEST_CASE(destroying_the_listener_after_an_accept_was_woken_is_safe, test::backends, backend) {
  Scheduler s(backend);
  std::optional<Listener> l = listen_loopback();
  const TimePoint at = Clock::now() + 30ms;
  s.spawn([](std::optional<Listener>* listener, TimePoint t) -> Task<void> {
    co_await sleep_until(t);
    listener->reset();
  }(&l, at));
  auto r = s.block_on(accept_once(*l, Deadline::at_time(at)));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == std::errc::operation_canceled), r.error().message());
}

BOOST_DATA_TEST_CASE(connections_that_arrive_before_accept_are_queued, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  // Arm the accept machinery once, then let five clients connect while nobody accepts.
  BOOST_TEST(!s.block_on(accept_once(l, Deadline::after(10ms))));
  std::vector<Task<Result<TcpStream>>> connects;
  for (int i = 0; i < 5; ++i) connects.push_back(connect_to(l.local_address()));
  auto clients = s.block_on(when_all(std::move(connects)));
  std::vector<SocketAddress> expected;
  for (auto& c : clients) {
    BOOST_REQUIRE(c);
    expected.push_back(c->local_address().value());
  }
  for (int i = 0; i < 5; ++i) {
    auto a = s.block_on(accept_once(l, Deadline::after(5s)));
    BOOST_REQUIRE_MESSAGE(a, a.error().message());
    auto peer = a->peer_address().value();
    BOOST_TEST((std::find(expected.begin(), expected.end(), peer) != expected.end()), peer.to_string());
  }
}

BOOST_DATA_TEST_CASE(reuse_port_lets_listeners_share_a_port, test::backends, backend) {
  Scheduler s(backend);
  auto first = Listener::bind(SocketAddress::loopback_v4(0), {.reuse_port = true});
  BOOST_REQUIRE_MESSAGE(first, first.error().message());
  auto second = Listener::bind(first->local_address(), {.reuse_port = true});
  BOOST_REQUIRE_MESSAGE(second, second.error().message());
  BOOST_TEST(second->local_address().port() == first->local_address().port());
  auto exclusive = Listener::bind(first->local_address(), {.reuse_port = false});
  BOOST_REQUIRE(!exclusive);
  BOOST_TEST((exclusive.error() == std::errc::address_in_use), exclusive.error().message());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_listener_tests
