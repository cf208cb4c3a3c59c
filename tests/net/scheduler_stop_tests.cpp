// Stopping or destroying a Scheduler while net operations are in flight: every coroutine
// unwinds or is destroyed, every socket is closed, nothing leaks (LeakSanitizer checks the
// memory in the ASan build; the descriptor count is checked here).
#include <boost/test/unit_test.hpp>
#include <string>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

namespace net_scheduler_stop_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

namespace {

// Counts live coroutine frames of this test: one in each coroutine below.
struct Alive {
  static inline int count = 0;
  Alive() { ++count; }
  ~Alive() { --count; }
  Alive(const Alive&) = delete;
};

// Server side: blocked in recv (the clients never speak).
Task<void> silent_reader(TcpStream s) {
  Alive alive;
  std::byte buf[64];
  (void)co_await s.recv(buf);
  co_await s.close();
}

// Accepts forever: after the last client it stays blocked in accept.
Task<void> acceptor(Listener& l) {
  Alive alive;
  for (;;) {
    auto c = co_await l.accept();
    if (!c) co_return;
    spawn(silent_reader(std::move(*c)));
  }
}

// Client side: blocked in recv with a deadline far away (an op and a timer in flight).
Task<void> waiting_client(SocketAddress to) {
  Alive alive;
  auto c = co_await TcpStream::connect(to, Deadline::after(5s));
  if (!c) co_return;
  std::byte buf[64];
  (void)co_await c->recv(buf, Deadline::after(1h));
}

// Holds an accepted connection and never reads from it.
Task<void> deaf_server(Listener& l) {
  Alive alive;
  auto c = co_await l.accept(Deadline::after(5s));
  co_await sleep_for(1h);
}

// Blocked in send: the peer does not read and both socket buffers are full.
Task<void> blocked_sender(SocketAddress to) {
  Alive alive;
  auto c = co_await TcpStream::connect(to, Deadline::after(5s));
  if (!c) co_return;
  const std::string lots(64 << 20, 's');
  (void)co_await c->send_all(lots);
}

// Suspended on nothing the scheduler knows about: never resumed, so the scheduler must
// destroy the frame, whose TcpStream then closes its socket.
Task<void> forgotten(SocketAddress to) {
  Alive alive;
  auto c = co_await TcpStream::connect(to, Deadline::after(5s));
  co_await std::suspend_always{};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scheduler_stop)

// explicit_stop: stop() then run() until everything unwound, then destroy. Otherwise the
// destructor alone does it.
BOOST_DATA_TEST_CASE(stopping_with_operations_in_flight_leaks_nothing,
                     test::backends * boost::unit_test::data::make({true, false}), backend, explicit_stop) {
  const int fds_before = test::open_fd_count();
  {
    Scheduler s(backend);
    Listener readers = listen_loopback();
    Listener deaf = listen_loopback();
    s.spawn(acceptor(readers));
    for (int i = 0; i < 20; ++i) s.spawn(waiting_client(readers.local_address()));
    s.spawn(deaf_server(deaf));
    s.spawn(blocked_sender(deaf.local_address()));
    s.spawn(forgotten(readers.local_address()));
    s.block_on([]() -> Task<void> { co_await sleep_for(100ms); }());  // everyone reaches their wait

    // acceptor + 21 readers (20 clients and the forgotten one) + 20 clients + deaf + sender + forgotten
    BOOST_TEST(Alive::count == 1 + 21 + 20 + 1 + 1 + 1);
    BOOST_TEST(s.detached_count() == 45u);
    BOOST_TEST(test::open_fd_count() > fds_before + 40);

    if (explicit_stop) {
      s.stop();
      s.run();  // returns once every operation has completed and every timer is gone
      BOOST_TEST(s.detached_count() == 1u);  // the forgotten task: nothing will ever resume it
      BOOST_TEST(Alive::count == 1);
    }
  }
  BOOST_TEST(Alive::count == 0);
  BOOST_TEST(test::open_fd_count() == fds_before);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_scheduler_stop_tests
