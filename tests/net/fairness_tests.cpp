// One task must not keep the thread because its socket always has data. An operation that
// finishes at once lets its task go on without a trip through the loop (no syscall, no
// queue), but only a bounded number of times per turn: a reader that never has to wait
// (a peer writing faster than it reads) still leaves turns to every other task. Without
// the bound an epoll reader never parks, an io_uring reader drains all that its multishot
// receive has stashed, and the other task below gets no turn until the reader is done.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"

namespace net_fairness_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

constexpr std::size_t kTotal = 512 * 1024;
constexpr std::size_t kPiece = 16;  // tiny reads: the socket is never short of 16 bytes

// Connects to `to` and writes kTotal bytes (byte i is i % 251) as fast as it can, then closes.
void blast(SocketAddress to) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (::connect(fd, to.data(), to.size()) == 0) {
    std::string data(kTotal, '\0');
    for (std::size_t i = 0; i < kTotal; ++i) data[i] = static_cast<char>(i % 251);
    for (std::size_t at = 0; at < kTotal;) {
      const ssize_t n = ::send(fd, data.data() + at, kTotal - at, MSG_NOSIGNAL);
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

struct Progress {
  std::size_t read = 0;     // bytes the reader has read so far
  bool reader_done = false;
  bool in_order = true;     // every byte was the one sent at its position
  std::size_t longest = 0;  // most bytes the reader read between two turns of the other task
  std::size_t turns = 0;    // turns the other task had while the reader was reading
};

Task<void> read_in_pieces(Listener& l, Progress& p) {
  auto c = co_await l.accept(Deadline::after(5s));
  BOOST_REQUIRE(c);
  char buf[kPiece];
  for (;;) {
    auto n = co_await c->recv(buf, sizeof buf, Deadline::after(20s));
    if (!n || *n == 0) break;
    for (std::size_t i = 0; i < *n; ++i)
      if (buf[i] != static_cast<char>((p.read + i) % 251)) p.in_order = false;
    p.read += *n;
  }
  co_await c->close();
  p.reader_done = true;
}

// Yields over and over while the reader works, noting how far it got in between.
Task<void> take_turns(Progress& p) {
  std::size_t seen = 0;
  while (!p.reader_done) {
    co_await yield();
    p.longest = std::max(p.longest, p.read - seen);
    seen = p.read;
    if (!p.reader_done) ++p.turns;
  }
}

BOOST_AUTO_TEST_SUITE(fairness)

BOOST_DATA_TEST_CASE(a_reader_whose_socket_always_has_data_leaves_turns_to_other_tasks, test::backends, backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  Progress p;
  std::thread peer(blast, l.local_address());
  s.block_on(when_all(read_in_pieces(l, p), take_turns(p)));
  peer.join();
  BOOST_TEST(p.read == kTotal);
  BOOST_TEST(p.in_order);
  BOOST_TEST_MESSAGE(to_string(backend) << ": the other task had " << p.turns << " turns; the reader read at most "
                                        << p.longest << " bytes in between");
  // The scheduler lets a task finish Scheduler::kInlineRun operations at once per turn.
  // Twice that is the bound, to allow for one turn where the reader also waited.
  BOOST_TEST(p.longest <= 2 * Scheduler::kInlineRun * kPiece);
  BOOST_TEST(p.turns >= kTotal / (2 * Scheduler::kInlineRun * kPiece));
}

// The rule itself, on each backend's scheduler: per turn a task may finish 16 operations,
// or move 2 MiB (nginx's sendfile_max_chunk), at once; the next turn starts afresh.
BOOST_DATA_TEST_CASE(the_per_turn_budget_counts_operations_and_bytes, test::backends, backend) {
  Scheduler s(backend);
  constexpr std::size_t mib = 1u << 20;
  auto spend = [](Scheduler& s) -> Task<std::vector<bool>> {
    std::vector<bool> said;
    co_await yield();  // a turn of its own
    for (int i = 0; i < Scheduler::kInlineRun; ++i) said.push_back(s.may_continue_inline(0));
    said.push_back(s.may_continue_inline(0));  // the 17th: no
    co_await yield();
    said.push_back(s.may_continue_inline(mib));      // 1 MiB moved: on
    said.push_back(s.may_continue_inline(mib));      // 2 MiB: the task must yield
    said.push_back(s.may_continue_inline(0));        // and stays out of budget this turn
    co_await yield();
    said.push_back(s.may_continue_inline(2 * mib - 1));  // just under
    said.push_back(s.may_continue_inline(1));            // 2 MiB
    co_return said;
  };
  std::vector<bool> expected(Scheduler::kInlineRun, true);
  for (bool b : {false, true, false, false, true, false}) expected.push_back(b);
  BOOST_TEST(Scheduler::kInlineBytes == 2 * mib);
  BOOST_TEST(s.block_on(spend(s)) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_fairness_tests
