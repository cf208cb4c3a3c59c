#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <stop_token>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/timer_queue.hpp"
#include "support/backends.hpp"

namespace runtime_timer_tests {

using namespace hellepoll;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(timers)

BOOST_AUTO_TEST_CASE(timer_queue_orders_by_deadline_then_arming_order) {
  TimerQueue q;
  std::vector<int> order;
  struct Node : TimerNode {
    int id;
    std::vector<int>* out;
  };
  auto fire = [](TimerNode& n, bool) noexcept {
    auto& me = static_cast<Node&>(n);
    me.out->push_back(me.id);
  };
  const TimePoint t0{};
  std::vector<Node> nodes(200);
  for (int i = 0; i < 200; ++i) {
    nodes[static_cast<std::size_t>(i)].id = i;
    nodes[static_cast<std::size_t>(i)].out = &order;
    // Deadlines in a scrambled order, with ties.
    q.arm(nodes[static_cast<std::size_t>(i)], t0 + std::chrono::milliseconds((i * 37) % 50), fire);
  }
  // Cancel every third: they must never fire.
  for (int i = 0; i < 200; i += 3) q.disarm(nodes[static_cast<std::size_t>(i)]);
  q.fire_expired(t0 + 1h);
  BOOST_TEST(q.empty());
  BOOST_TEST(order.size() == 200u - 67u);
  for (std::size_t k = 1; k < order.size(); ++k) {
    auto ms = [](int id) { return (id * 37) % 50; };
    bool in_order = ms(order[k - 1]) < ms(order[k]) || (ms(order[k - 1]) == ms(order[k]) && order[k - 1] < order[k]);
    BOOST_TEST(in_order);
  }
  for (int id : order) BOOST_TEST(id % 3 != 0);
}

BOOST_DATA_TEST_CASE(sleeps_fire_in_deadline_order, test::backends, backend) {
  Scheduler s(backend);
  std::vector<int> order;
  auto sleeper = [](std::vector<int>* out, int id, Duration d) -> Task<void> {
    co_await sleep_for(d);
    out->push_back(id);
  };
  s.spawn(sleeper(&order, 3, 60ms));
  s.spawn(sleeper(&order, 1, 20ms));
  s.spawn(sleeper(&order, 2, 40ms));
  s.spawn(sleeper(&order, 0, 0ms));
  auto start = Clock::now();
  s.block_on([](std::vector<int>* out) -> Task<void> {
    while (out->size() < 4) co_await sleep_for(5ms);
  }(&order));
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}));
  BOOST_TEST((Clock::now() - start >= 60ms));
}

BOOST_DATA_TEST_CASE(a_sleep_lasts_at_least_its_duration, test::backends, backend) {
  Scheduler s(backend);
  auto start = Clock::now();
  int r = s.block_on([]() -> Task<int> { co_return co_await sleep_for(30ms); }());
  auto took = Clock::now() - start;
  BOOST_TEST(r == 0);
  BOOST_TEST((took >= 30ms));
  BOOST_TEST((took < 2s));
}

BOOST_DATA_TEST_CASE(cancelled_sleeps_never_fire, test::backends, backend) {
  Scheduler s(backend);
  std::stop_source cancel_these;
  int fired = 0, cancelled = 0;
  auto sleeper = [](std::stop_token t, int* f, int* c) -> Task<void> {
    int r = co_await sleep_for(50ms, t);
    if (r == 0) ++*f;
    if (r == -ECANCELED) ++*c;
  };
  for (int i = 0; i < 10; ++i) s.spawn(sleeper(cancel_these.get_token(), &fired, &cancelled));
  for (int i = 0; i < 5; ++i) s.spawn(sleeper(std::stop_token{}, &fired, &cancelled));
  auto start = Clock::now();
  s.block_on([](std::stop_source* src) -> Task<void> {
    co_await sleep_for(10ms);
    src->request_stop();
    co_await yield();  // the cancelled sleepers were queued first: they have run now
  }(&cancel_these));
  BOOST_TEST(cancelled == 10);  // resumed at once, well before their deadline
  BOOST_TEST(fired == 0);
  BOOST_TEST((Clock::now() - start < 50ms));
  s.block_on([]() -> Task<void> { co_await sleep_for(100ms); }());
  BOOST_TEST(fired == 5);
  BOOST_TEST(cancelled == 10);
  // A token stopped before the sleep starts cancels it at once.
  int r = s.block_on([](std::stop_token t) -> Task<int> { co_return co_await sleep_for(1h, t); }(cancel_these.get_token()));
  BOOST_TEST(r == -ECANCELED);
}

// Duration::max() means never, wherever a duration becomes a deadline: now + max used to
// overflow into the past, so such a sleep returned at once and such a timeout fired at
// once. A huge negative one is already due.
BOOST_DATA_TEST_CASE(the_largest_durations_mean_never, test::backends, backend) {
  Scheduler s(backend);
  BOOST_TEST(Deadline::after(Duration::max()).is_never());
  BOOST_TEST(Deadline::after(Duration::min()).expired());
  std::stop_source stop;
  int forever = 1, soon = 1;
  s.spawn([](std::stop_token t, int* r) -> Task<void> { *r = co_await sleep_for(Duration::max(), t); }(stop.get_token(), &forever));
  s.spawn([](int* r) -> Task<void> { *r = co_await sleep_for(Duration::min()); }(&soon));
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
  s.spawn([](int fd) -> Task<void> {
    co_await sleep_for(30ms);
    if (::write(fd, "x", 1) != 1) throw std::runtime_error("write to a socketpair failed");
  }(sv[1]));
  const int got = s.block_on([](std::stop_source* stop, int* forever, int fd) -> Task<int> {
    BOOST_TEST(turn_deadline(Duration::max()).is_never());
    char c;
    const int n = co_await io::recv(fd, &c, 1, 0, Deadline::after(Duration::max()));  // not -ETIMEDOUT
    BOOST_TEST(*forever == 1);  // still asleep
    stop->request_stop();
    co_await yield();
    co_return n;
  }(&stop, &forever, sv[0]));
  BOOST_TEST(got == 1);
  BOOST_TEST(forever == -ECANCELED);
  BOOST_TEST(soon == 0);
  ::close(sv[0]);
  ::close(sv[1]);
}

BOOST_DATA_TEST_CASE(an_operation_with_a_deadline_times_out, test::backends, backend) {
  Scheduler s(backend);
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (backend == BackendKind::epoll ? SOCK_NONBLOCK : 0),
                             0, sv) == 0);
  auto start = Clock::now();
  int r = s.block_on([](int fd) -> Task<int> {
    char buf[8];
    co_return co_await io::recv(fd, buf, sizeof buf, 0, Deadline::after(50ms));
  }(sv[0]));
  auto took = Clock::now() - start;
  BOOST_TEST(r == -ETIMEDOUT);
  BOOST_TEST((took >= 50ms));
  BOOST_TEST((took < 2s));
  // The same operation with data waiting completes normally and leaves no timer behind.
  BOOST_REQUIRE(::write(sv[1], "hi", 2) == 2);
  r = s.block_on([](int fd) -> Task<int> {
    char buf[8];
    co_return co_await io::recv(fd, buf, sizeof buf, 0, Deadline::after(5s));
  }(sv[0]));
  BOOST_TEST(r == 2);
  BOOST_TEST(s.timers().empty());
  s.backend().forget_fd(sv[0]);
  ::close(sv[0]);
  ::close(sv[1]);
}

// The loop reads the clock once per turn; turn_deadline counts from that reading, which
// must move with every turn (a stale one would make every timeout early) and never run
// ahead of the clock.
BOOST_DATA_TEST_CASE(turn_deadlines_count_from_the_current_turn, test::backends, backend) {
  Scheduler s(backend);
  int fds[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (backend == BackendKind::epoll ? SOCK_NONBLOCK : 0),
                             0, fds) == 0);
  s.block_on([](int fd) -> Task<void> {
    Scheduler& sched = Scheduler::current();
    const TimePoint first = sched.turn_started();
    BOOST_TEST((first <= Clock::now()));
    BOOST_TEST((turn_deadline(5s).at == first + 5s));
    co_await sleep_for(20ms);
    const TimePoint later = sched.turn_started();
    BOOST_TEST((later - first >= 20ms));
    BOOST_TEST((later <= Clock::now()));
    // A deadline taken from it times out an operation no earlier than asked.
    char buf[8];
    const TimePoint turn = sched.turn_started();
    const int r = co_await io::recv(fd, buf, sizeof buf, 0, turn_deadline(30ms));
    BOOST_TEST(r == -ETIMEDOUT);
    BOOST_TEST((Clock::now() >= turn + 30ms));
  }(fds[0]));
  s.backend().forget_fd(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_timer_tests
