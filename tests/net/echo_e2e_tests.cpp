// The echo example, run as a real process, serves 1,000 concurrent clients on each
// backend and exits 0 on SIGTERM; bad flags exit 2 with a message saying what is wrong.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "hellepoll/net/tcp_stream.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"

namespace net_echo_e2e_tests {

using namespace hellepoll;
using hellepoll::test::open_fd_count;
using hellepoll::test::raise_fd_limit;
using namespace std::chrono_literals;

namespace {

// A child process that is always reaped: SIGKILL if the test did not stop it.
struct Child {
  pid_t pid = -1;
  int out = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
  int terminate() {
    ::kill(pid, SIGTERM);
    return wait();
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

// Runs `args` (a path, then its arguments) with `captured` (stdout or stderr) going to c.out.
void start(Child& c, std::vector<std::string> args, int captured = STDOUT_FILENO) {
  int p[2];
  BOOST_REQUIRE(::pipe(p) == 0);
  c.pid = ::fork();
  BOOST_REQUIRE(c.pid >= 0);
  if (c.pid == 0) {
    ::dup2(p[1], captured);
    ::close(p[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(p[1]);
  c.out = p[0];
}

std::string all_of(int fd) {
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

std::string first_line(int fd) {
  std::string line;
  char ch;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  return line;
}

Task<bool> client(SocketAddress to, int id) {
  auto c = co_await TcpStream::connect(to, Deadline::after(10s));
  if (!c) co_return false;
  std::string data(500 + static_cast<std::size_t>(id % 13) * 300, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(id + i * 31);
  if (!co_await c->send_all(data)) co_return false;
  std::string back(data.size(), '\0');
  auto r = co_await c->recv_exact(std::as_writable_bytes(std::span(back.data(), back.size())), Deadline::after(10s));
  co_await c->close();
  co_return r && back == data;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(echo_example)

BOOST_DATA_TEST_CASE(serves_a_thousand_clients_and_exits_cleanly, test::backends, backend) {
  raise_fd_limit();  // inherited by the child too

  Child echo;
  start(echo, {HELLEPOLL_BINARY_DIR "/examples/echo", "--port", "0", "--threads", "2", "--backend",
               std::string(to_string(backend))});
  const std::string line = first_line(echo.out);
  BOOST_TEST_MESSAGE(line);
  auto colon = line.find("127.0.0.1:");
  BOOST_REQUIRE_MESSAGE(colon != std::string::npos, "no address in: " << line);
  BOOST_TEST(line.find(backend == BackendKind::uring ? "io_uring" : "epoll") != std::string::npos);
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 10)));

  Scheduler s(backend);
  std::vector<Task<bool>> clients;
  for (int i = 0; i < 1000; ++i) clients.push_back(client(SocketAddress::loopback_v4(port), i));
  auto results = s.block_on(when_all(std::move(clients)));
  int ok = 0;
  for (bool r : results) ok += r;
  BOOST_TEST(ok == 1000);
  BOOST_TEST(echo.terminate() == 0);
}

// A bad value's message states the accepted range; a bad HELLEPOLL_BACKEND is named as
// such (nothing on the command line shows it).
BOOST_AUTO_TEST_CASE(bad_flags_exit_2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{HELLEPOLL_BINARY_DIR "/examples/echo", "--threads", "zero"},
       "echo: bad value for --threads: 'zero' (expected 1 to 256)\n"},
      {{HELLEPOLL_BINARY_DIR "/examples/echo", "--port", "65536"},
       "echo: bad value for --port: '65536' (expected 0 to 65535)\n"},
      {{"/usr/bin/env", "HELLEPOLL_BACKEND=bogus", HELLEPOLL_BINARY_DIR "/examples/echo"},
       "echo: HELLEPOLL_BACKEND: unknown backend 'bogus' (expected auto, uring or epoll)\n"},
  };
  for (const auto& [args, message] : cases) {
    Child echo;
    start(echo, args, STDERR_FILENO);
    const std::string text = all_of(echo.out);
    BOOST_TEST(echo.wait() == 2, args.back());
    BOOST_TEST(text.starts_with(message), text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_echo_e2e_tests
