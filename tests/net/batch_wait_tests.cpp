// Batched waits (BackendOptions::batch_wait): under load, an io_uring thread with nothing
// left to do sleeps until a batch of completions is there rather than waking for the
// first one. That must never cost a reply, hold a lone client, or make a timer late.
// epoll has no batched waits: the same cases run there, give the same results and count
// none. On io_uring the cases check that the batched path really ran when the kernel
// offers it (6.12+), and that it never ran when it does not.
//
// Whether a busy thread ends up sleeping for a batch depends on how arrivals happen to
// coincide, so the cases make it certain: a burst of 16 NOPs completes in one poll, and
// with 16 sockets being read the thread's next sleep is a batched one (batch_size: as many
// as came since the last sleep, at most a quarter of the sockets).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
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

namespace net_batch_wait_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

constexpr std::size_t kMsg = 64;

Scheduler scheduler_with(BackendKind backend, std::chrono::microseconds batch_wait) {
  SchedulerOptions o;
  o.backend = backend;
  o.backend_options.batch_wait = batch_wait;
  return Scheduler(o);
}

// Whether this scheduler's backend batches its waits (io_uring on a kernel that can).
bool batches(Scheduler& s) { return s.backend().describe().find("batched waits") != std::string::npos; }

// Whether it must: io_uring on Linux 6.12+ (IORING_FEAT_MIN_TIMEOUT).
bool must_batch(BackendKind backend) { return backend == BackendKind::uring && test::uring_has(6, 12); }

// Opens a gate once; threads wait for it.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard lock(m);
    open = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(m);
    cv.wait_for(lock, 20s, [&] { return open; });
  }
};

// Where the clients pause together: once all have arrived, 20 ms pass before any goes on.
struct Pause {
  void operator()() noexcept { std::this_thread::sleep_for(20ms); }
};
using Halfway = std::barrier<Pause>;

// A blocking client: `rounds` round trips of kMsg bytes, each tagged with the client and
// the round (pausing halfway at `halfway`, if given), then (if given) waits at `gate`,
// then closes. True if every reply was exactly what was sent.
bool round_trips(SocketAddress to, int id, int rounds, Gate* gate = nullptr, Halfway* halfway = nullptr) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0 && ::connect(fd, to.data(), to.size()) == 0;
  timeval tv{20, 0};
  if (ok) ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool arrived = false;
  for (int r = 0; ok && r < rounds; ++r) {
    if (halfway && r == rounds / 2) {
      halfway->arrive_and_wait();
      arrived = true;
    }
    std::string msg = std::to_string(id) + ":" + std::to_string(r) + ":";
    msg.resize(kMsg, static_cast<char>('a' + (id + r) % 26));
    ok = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size());
    std::string got;
    char buf[kMsg];
    while (ok && got.size() < kMsg) {
      const ssize_t n = ::recv(fd, buf, kMsg - got.size(), 0);
      ok = n > 0;
      if (ok) got.append(buf, static_cast<std::size_t>(n));
    }
    ok = ok && got == msg;
  }
  if (halfway && !arrived) halfway->arrive_and_drop();  // failed early: the others must not wait for it
  if (gate) gate->wait();
  if (fd >= 0) ::close(fd);
  return ok;
}

// Sixteen operations that complete together, in one poll.
Task<void> burst() {
  auto one = []() -> Task<int> { co_return co_await io::nop(); };
  std::vector<Task<int>> nops;
  for (int i = 0; i < 16; ++i) nops.push_back(one());
  co_await when_all(std::move(nops));
}

struct Echoed {
  std::size_t bytes = 0;
  std::size_t expected = 0;
  std::function<void()> at_expected;  // called once, by the send that reaches `expected`
};

// Echoes one connection until the peer closes, counting the bytes echoed.
Task<void> echo(TcpStream c, Echoed& echoed) {
  char buf[256];
  for (;;) {
    auto n = co_await c.recv(buf, sizeof buf, Deadline::after(20s));
    if (!n || *n == 0) break;
    if (!co_await c.send_all(std::string_view(buf, *n), Deadline::after(20s))) break;
    echoed.bytes += *n;
    if (echoed.bytes == echoed.expected && echoed.at_expected) echoed.at_expected();
  }
  co_await c.close();
}

Task<void> serve(Listener& l, int clients, Echoed& echoed) {
  std::vector<Task<void>> echoes;
  for (int i = 0; i < clients; ++i) {
    auto c = co_await l.accept(Deadline::after(20s));
    BOOST_REQUIRE(c);
    echoes.push_back(echo(std::move(*c), echoed));
  }
  co_await when_all(std::move(echoes));
}

struct Clients {
  std::vector<std::thread> threads;
  std::vector<char> ok;
  Clients(SocketAddress to, int n, int rounds, Gate* gate = nullptr, Halfway* halfway = nullptr)
      : ok(static_cast<std::size_t>(n), 0) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([=, this] { ok[static_cast<std::size_t>(i)] = round_trips(to, i, rounds, gate, halfway); });
  }
  int join() {
    for (auto& t : threads) t.join();
    int good = 0;
    for (char c : ok) good += c;
    return good;
  }
};

BOOST_AUTO_TEST_SUITE(batch_wait)

// Sixteen clients doing round trips; halfway they all pause for 20 ms together. The reply
// that completes the first half starts a burst, so the thread's sleep in that pause is a
// batched one (on io_uring); the second half is served after it. Every reply must be
// exactly what was sent.
BOOST_DATA_TEST_CASE(sixteen_busy_clients_get_every_reply_and_the_thread_sleeps_for_batches, test::backends,
                     backend) {
  Scheduler s = scheduler_with(backend, 200us);
  Listener l = listen_loopback();
  constexpr int kClients = 16, kRounds = 300;
  Halfway halfway(kClients);
  Echoed echoed;
  echoed.expected = std::size_t{kClients} * (kRounds / 2) * kMsg;
  echoed.at_expected = [&] { s.spawn(burst()); };
  Clients clients(l.local_address(), kClients, kRounds, nullptr, &halfway);
  s.block_on(serve(l, kClients, echoed));
  BOOST_TEST(clients.join() == kClients);
  BOOST_TEST(echoed.bytes == std::size_t{kClients} * kRounds * kMsg);
  const auto waits = s.backend().counters().batched_waits;
  BOOST_TEST_MESSAGE(to_string(backend) << ": " << waits << " batched waits; " << s.backend().describe());
  BOOST_TEST(batches(s) == must_batch(backend), s.backend().describe());
  if (batches(s)) BOOST_TEST(waits > 0u);
  else BOOST_TEST(waits == 0u);
}

// One client alone: its every request is the only thing the thread waits for, and no
// batch may hold it, however long batch_wait is.
BOOST_DATA_TEST_CASE(a_lone_client_is_never_held_for_a_batch, test::backends, backend) {
  Scheduler s = scheduler_with(backend, 1s);
  Listener l = listen_loopback();
  Echoed echoed;
  Clients client(l.local_address(), 1, 300);
  s.block_on(serve(l, 1, echoed));
  BOOST_TEST(client.join() == 1);
  BOOST_TEST(echoed.bytes == 300 * kMsg);
  BOOST_TEST(s.backend().counters().batched_waits == 0u);
}

// Sixteen clients go quiet after their round trips, connections open. The send of the
// last reply starts a burst and then a 30 ms timer, so the thread's next sleep (a batch
// wait on io_uring) has only that timer to end it, with batch_wait at 1 s. The timer must
// end it on time.
BOOST_DATA_TEST_CASE(a_timer_ends_a_batched_wait_on_time, test::backends, backend) {
  Scheduler s = scheduler_with(backend, 1s);
  Listener l = listen_loopback();
  constexpr int kClients = 16, kRounds = 50;
  Gate gate;
  Clients clients(l.local_address(), kClients, kRounds, &gate);
  std::uint64_t waits_during = 0;
  Duration slept{};
  auto timed = [&]() -> Task<void> {
    co_await burst();
    const auto waits_before = s.backend().counters().batched_waits;
    const auto start = Clock::now();
    co_await sleep_for(30ms);
    slept = Clock::now() - start;
    waits_during = s.backend().counters().batched_waits - waits_before;
    gate.release();
  };
  Echoed echoed;
  echoed.expected = std::size_t{kClients} * kRounds * kMsg;
  echoed.at_expected = [&] { s.spawn(timed()); };
  s.block_on(serve(l, kClients, echoed));
  BOOST_TEST(clients.join() == kClients);
  BOOST_TEST(echoed.bytes == echoed.expected);
  BOOST_TEST_MESSAGE(to_string(backend) << ": the 30 ms timer took "
                                        << std::chrono::duration_cast<std::chrono::microseconds>(slept).count()
                                        << " us; batched waits meanwhile: " << waits_during);
  BOOST_TEST(slept >= 30ms);
  BOOST_TEST(slept < 500ms);  // a batch wait that outlived the timer would take 1 s
  BOOST_TEST(batches(s) == must_batch(backend), s.backend().describe());
  if (batches(s)) BOOST_TEST(waits_during > 0u);
  else BOOST_TEST(waits_during == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_batch_wait_tests
