// Sockets read more than once are entered in io_uring's file table on Linux 6.13+ and
// their sends name them by slot (runtime/src/uring_fixed_files.cpp). The slot is the fd
// number, and numbers are reused at once after a close: a send must always reach the
// connection that owns the number now, and a closed connection must really end (the
// table holds a reference of its own), however it was closed. epoll has no table and
// must behave the same. The peer is a plain blocking socket on its own thread.
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/net/listener.hpp"
#include "hellepoll/scheduler.hpp"
#include "support/backends.hpp"
#include "support/loopback.hpp"
#include "support/uring_as_kernel.hpp"

namespace net_registered_socket_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::listen_loopback;

namespace {

constexpr int kConns = 60;

std::string reply_for(int i) { return "reply-" + std::to_string(i) + "\n"; }

bool send_byte(int fd, char c) { return ::send(fd, &c, 1, MSG_NOSIGNAL) == 1; }

std::string read_exactly(int fd, std::size_t n) {
  std::string s(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, s.data() + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  s.resize(got);
  return s;
}

// What is left on a connection after its reply: "EOF" when the server's close ended it.
std::string rest_of(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return "no EOF within 5 s";
  char buf[256];
  const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
  if (r == 0) return "EOF";
  if (r < 0) return "error";
  return "stray bytes: " + std::string(buf, static_cast<std::size_t>(r));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registered_sockets)

BOOST_DATA_TEST_CASE(each_reply_reaches_the_connection_that_owns_the_number_and_every_close_ends_it, test::backends,
                     backend) {
  Scheduler s(backend);
  Listener l = listen_loopback();
  std::vector<std::string> replies(kConns), rests(kConns);
  std::thread peer([to = l.local_address(), &replies, &rests] {
    std::vector<int> fds;
    for (int i = 0; i < kConns; ++i) {
      const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0 || ::connect(fd, to.data(), to.size()) < 0) break;
      fds.push_back(fd);
      send_byte(fd, 'a');
      (void)read_exactly(fd, 1);
      send_byte(fd, 'b');
      replies[static_cast<std::size_t>(i)] = read_exactly(fd, reply_for(i).size());
    }
    // Every connection stays open on this side to the end, so a reply sent to a closed
    // one's number would land here as stray bytes.
    for (std::size_t i = 0; i < fds.size(); ++i) {
      rests[i] = rest_of(fds[i]);
      ::close(fds[i]);
    }
  });
  const auto registered = s.block_on([](Listener& listener) -> Task<std::uint64_t> {
    for (int i = 0; i < kConns; ++i) {
      std::optional<TcpStream> c;
      {
        auto accepted = co_await listener.accept(Deadline::after(5s));
        BOOST_REQUIRE(accepted);
        c.emplace(std::move(*accepted));
      }
      char buf[4];
      BOOST_REQUIRE(co_await c->recv(buf, sizeof buf, Deadline::after(5s)));
      BOOST_REQUIRE(co_await c->send_all(std::string_view("k")));
      BOOST_REQUIRE(co_await c->recv(buf, sizeof buf, Deadline::after(5s)));  // read twice: entered
      const std::string reply = reply_for(i);
      if (i % 2 == 0) {
        BOOST_REQUIRE(co_await c->send_all(reply));
      } else {
        iovec iov[2] = {{const_cast<char*>(reply.data()), 3}, {const_cast<char*>(reply.data()) + 3, reply.size() - 3}};
        BOOST_REQUIRE(co_await c->writev_all(iov));
      }
      if (i % 3 == 0) co_await c->close();  // a CLOSE operation after the slot is left
      else c.reset();                       // a synchronous close(2) at once
      // The next accept will usually get the same number.
    }
    co_return Scheduler::current().backend().counters().registered_sockets;
  }(l));
  peer.join();
  for (int i = 0; i < kConns; ++i) {
    BOOST_TEST_CONTEXT("connection " << i) {
      BOOST_TEST(replies[static_cast<std::size_t>(i)] == reply_for(i));
      BOOST_TEST(rests[static_cast<std::size_t>(i)] == "EOF");
    }
  }
  if (backend == BackendKind::uring && test::uring_has(6, 13))
    BOOST_TEST(registered == static_cast<std::uint64_t>(kConns));
  else
    BOOST_TEST(registered == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_registered_socket_tests
