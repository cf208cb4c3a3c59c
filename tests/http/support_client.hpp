// Test helpers for the HTTP server suites:
//  - parse_response(): one HTTP/1.1 response off the front of a byte string, keeping the
//    exact wire bytes (so tests can assert framing) and the decoded body;
//  - Client: a raw-bytes client coroutine on the test's own scheduler (in-process tests);
//  - with_server(): a ServerThread on a loopback port plus a client coroutine, both on
//    one Scheduler, drained and finished when the client is done;
//  - SyncClient, ServerProcess, run_command(): blocking socket client, a child server
//    process (the example binaries) killed in its destructor, and a shell command runner
//    (curl, ab) for the end-to-end suite.
// Every response read through these helpers is checked never to carry both
// Content-Length and Transfer-Encoding.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "hellepoll/http/server.hpp"
#include "hellepoll/net/listener.hpp"
#include "hellepoll/net/tcp_stream.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"

extern char** environ;

namespace hellepoll::test {

using namespace std::chrono_literals;

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The thread that runs the test cases (initialised before main, so on the main thread).
inline const std::thread::id test_runner_thread = std::this_thread::get_id();

struct RawResponse {
  std::string raw;          // the whole response as it was on the wire
  std::string status_line;  // "HTTP/1.1 200 OK"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string raw_body;  // body bytes as on the wire (chunk framing included)
  std::string body;      // decoded
  bool chunked = false;
  bool close_delimited = false;

  // The first field with this name; "<absent>" if there is none (prints well in checks).
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (iequals(k, name)) return v;
    return "<absent>";
  }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers) n += iequals(h.first, name) ? 1 : 0;
    return n;
  }
  bool says_close() const { return header("Connection") == "close"; }
};

// Parses one response from the front of `buf`. nullopt: need more bytes (with `eof`,
// only a close-delimited body can end at the end of the input). `head_request`: the
// response answers HEAD, so it has no body whatever its headers say.
inline std::optional<RawResponse> parse_response(std::string_view buf, bool head_request, bool eof,
                                                 std::size_t& consumed) {
  const std::size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (eof) throw std::runtime_error("connection closed before a complete response head: '" + std::string(buf) + "'");
    return std::nullopt;
  }
  RawResponse r;
  std::string_view head = buf.substr(0, head_end + 2);
  std::size_t eol = head.find("\r\n");
  r.status_line = std::string(head.substr(0, eol));
  if (r.status_line.size() < 12 || r.status_line.compare(0, 5, "HTTP/") != 0)
    throw std::runtime_error("bad status line: '" + r.status_line + "'");
  r.status = std::stoi(r.status_line.substr(9, 3));
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw std::runtime_error("bad header line: '" + std::string(line) + "'");
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    pos = e + 2;
  }
  const std::size_t body_start = head_end + 4;
  std::size_t end = body_start;
  const bool no_body = head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  const bool te = r.count("Transfer-Encoding") > 0;
  const bool cl = r.count("Content-Length") > 0;
  if (no_body) {
  } else if (te) {
    if (r.header("Transfer-Encoding") != "chunked")
      throw std::runtime_error("unexpected Transfer-Encoding: " + r.header("Transfer-Encoding"));
    r.chunked = true;
    for (;;) {
      std::size_t line_end = buf.find("\r\n", end);
      if (line_end == std::string_view::npos) {
        if (eof) throw std::runtime_error("connection closed inside a chunked body");
        return std::nullopt;
      }
      std::string_view size_text = buf.substr(end, line_end - end);
      std::size_t size = 0;
      auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
      if (ec != std::errc{} || (p != size_text.data() + size_text.size() && *p != ';'))
        throw std::runtime_error("bad chunk size line: '" + std::string(size_text) + "'");
      if (size == 0) {
        // Trailer section, then the final CRLF.
        std::size_t t = line_end + 2;
        for (;;) {
          std::size_t te_end = buf.find("\r\n", t);
          if (te_end == std::string_view::npos) {
            if (eof) throw std::runtime_error("connection closed inside a chunked trailer");
            return std::nullopt;
          }
          bool empty = te_end == t;
          t = te_end + 2;
          if (empty) break;
        }
        end = t;
        break;
      }
      const std::size_t data_start = line_end + 2;
      if (buf.size() < data_start + size + 2) {
        if (eof) throw std::runtime_error("connection closed inside a chunk");
        return std::nullopt;
      }
      if (buf.substr(data_start + size, 2) != "\r\n") throw std::runtime_error("chunk data not followed by CRLF");
      r.body.append(buf.substr(data_start, size));
      end = data_start + size + 2;
    }
  } else if (cl) {
    const std::size_t n = std::stoul(r.header("Content-Length"));
    if (buf.size() < body_start + n) {
      if (eof) throw std::runtime_error("connection closed before Content-Length bytes arrived");
      return std::nullopt;
    }
    end = body_start + n;
    r.body = std::string(buf.substr(body_start, n));
  } else {
    if (!eof) return std::nullopt;
    r.close_delimited = true;
    end = buf.size();
    r.body = std::string(buf.substr(body_start));
  }
  r.raw_body = std::string(buf.substr(body_start, end - body_start));
  r.raw = std::string(buf.substr(0, end));
  consumed = end;
  // RFC 9112 §6.1: a sender must not send Content-Length with Transfer-Encoding.
  if (std::this_thread::get_id() == test_runner_thread) {
    BOOST_CHECK_MESSAGE(!(te && cl), "response carries both Content-Length and Transfer-Encoding: " << r.status_line);
    BOOST_CHECK_MESSAGE(r.count("Content-Length") <= 1, "duplicate Content-Length in " << r.status_line);
  } else if ((te && cl) || r.count("Content-Length") > 1) {
    // Boost.Test's checks are not thread-safe (ThreadSanitizer reports them): a client
    // thread of its own gets the same checks as an exception.
    throw std::runtime_error("both Content-Length and Transfer-Encoding, or Content-Length twice, in " + r.status_line);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// In-process: a client coroutine on the test's scheduler.

class Client {
 public:
  Client() = default;
  explicit Client(TcpStream s) : stream_(std::move(s)) {}

  static Task<Client> connect(SocketAddress to) {
    auto s = co_await TcpStream::connect(to, Deadline::after(5s));
    if (!s) throw std::runtime_error("connect failed: " + s.error().message());
    co_return Client(std::move(*s));
  }

  Task<void> send(std::string_view data) {
    auto r = co_await stream_.send_all(data, Deadline::after(5s));
    if (!r) throw std::runtime_error("send failed: " + r.error().message());
  }

  // Reads one complete response (waiting for EOF only for a close-delimited body).
  Task<RawResponse> read_response(bool head_request = false, Duration timeout = 5s) {
    const Deadline d = Deadline::after(timeout);
    bool eof = false;
    for (;;) {
      std::size_t consumed = 0;
      if (auto r = parse_response(buf_, head_request, eof, consumed)) {
        buf_.erase(0, consumed);
        co_return std::move(*r);
      }
      char tmp[16384];
      auto n = co_await stream_.recv(tmp, sizeof tmp, d);
      if (!n) {
        if (n.error() == std::errc::timed_out) throw std::runtime_error("timed out reading a response; have '" + buf_ + "'");
        eof = true;  // reset: treat as the end of the stream
      } else if (*n == 0) {
        eof = true;
      } else {
        buf_.append(tmp, *n);
      }
    }
  }

  // True when the server closes the connection (EOF or reset) within `timeout` without
  // sending anything more; false if bytes arrive or the connection stays open.
  Task<bool> closed_by_peer(Duration timeout = 2s) {
    if (!buf_.empty()) co_return false;
    char tmp[1024];
    auto n = co_await stream_.recv(tmp, sizeof tmp, Deadline::after(timeout));
    if (!n) co_return n.error() != std::errc::timed_out;
    if (*n == 0) co_return true;
    buf_.append(tmp, *n);
    co_return false;
  }

  // Everything until the server closes (or `timeout`).
  Task<std::string> read_until_close(Duration timeout = 5s) {
    const Deadline d = Deadline::after(timeout);
    char tmp[16384];
    for (;;) {
      auto n = co_await stream_.recv(tmp, sizeof tmp, d);
      if (!n || *n == 0) break;
      buf_.append(tmp, *n);
    }
    co_return std::exchange(buf_, {});
  }

  // How many bytes arrive until the server closes (or `timeout`), keeping none of them:
  // for downloads too big to hold (storing 50 x 32 MiB cost the test 20 s of CPU).
  Task<std::size_t> count_until_close(Duration timeout = 5s) {
    const Deadline d = Deadline::after(timeout);
    std::size_t total = std::exchange(buf_, {}).size();
    std::vector<char> tmp(256 * 1024);
    for (;;) {
      auto n = co_await stream_.recv(tmp.data(), tmp.size(), d);
      if (!n || *n == 0) break;
      total += *n;
    }
    co_return total;
  }

  TcpStream& stream() { return stream_; }
  const std::string& buffered() const { return buf_; }

 private:
  TcpStream stream_;
  std::string buf_;
};

inline Task<void> client_then_drain(http::ServerThread& st, Task<void> client, std::exception_ptr& error) {
  try {
    co_await std::move(client);
  } catch (...) {
    error = std::current_exception();
  }
  st.drain();  // also on failure: serve() must end so the test does too
}

inline Task<void> serve_and_run(http::ServerThread& st, Listener& l, Task<void> client, std::exception_ptr& error) {
  co_await when_all(st.serve(l), client_then_drain(st, std::move(client), error));
}

// Options for in-process tests: no access log, a short grace period.
inline http::ServerOptions test_options() {
  http::ServerOptions o;
  o.access_log = false;
  o.grace_period = 2s;
  return o;
}

// Runs a ServerThread for `router` on a loopback port and `client(address)` (a callable
// returning Task<void>; or `client(address, server_thread)`, to look at the thread's
// state) next to it on one scheduler of `backend`; rethrows what the client threw.
template <typename F>
void with_server(BackendKind backend, const http::Router& router, const http::ServerOptions& opts, F&& client) {
  http::ServerThread st(router, opts);  // before the scheduler: see ServerThread
  Scheduler s(backend);
  auto l = Listener::bind(SocketAddress::loopback_v4(0));
  BOOST_REQUIRE_MESSAGE(l, "bind: " << l.error().message());
  const SocketAddress at = l->local_address();
  std::exception_ptr error;
  if constexpr (std::is_invocable_v<F&, SocketAddress, http::ServerThread&>)
    s.block_on(serve_and_run(st, *l, client(at, st), error));
  else
    s.block_on(serve_and_run(st, *l, client(at), error));
  if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------------------------------
// End to end: blocking sockets and child processes.

class SyncClient {
 public:
  explicit SyncClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    SocketAddress a = SocketAddress::loopback_v4(port);
    if (::connect(fd_, a.data(), a.size()) < 0) {
      int e = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::system_error(e, std::system_category(), "connect");
    }
  }
  ~SyncClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Ends the connection with RST (SO_LINGER 0), as a client that crashed or gave up.
  void reset() {
    const linger now{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    ::close(fd_);
    fd_ = -1;
  }

  // Sends everything; false if the server has already closed (EPIPE, ECONNRESET).
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  RawResponse read_response(bool head_request = false, std::chrono::milliseconds timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    bool eof = false;
    for (;;) {
      std::size_t consumed = 0;
      if (auto r = parse_response(buf_, head_request, eof, consumed)) {
        buf_.erase(0, consumed);
        return std::move(*r);
      }
      switch (read_some(until)) {
        case Read::data: break;
        case Read::eof: eof = true; break;
        case Read::timeout: throw std::runtime_error("timed out reading a response; have '" + buf_ + "'");
      }
    }
  }

  bool closed_by_peer(std::chrono::milliseconds timeout = 2s) {
    if (!buf_.empty()) return false;
    return read_some(std::chrono::steady_clock::now() + timeout) == Read::eof && buf_.empty();
  }

  // Waits until some bytes of a response have arrived (they stay buffered).
  bool wait_for_data(std::chrono::milliseconds timeout = 5s) {
    if (!buf_.empty()) return true;
    return read_some(std::chrono::steady_clock::now() + timeout) == Read::data;
  }

 private:
  enum class Read { data, eof, timeout };
  Read read_some(std::chrono::steady_clock::time_point until) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Read::timeout;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return Read::timeout;
      char tmp[16384];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Read::eof;  // EOF or reset
      buf_.append(tmp, static_cast<std::size_t>(n));
      return Read::data;
    }
  }

  int fd_ = -1;
  std::string buf_;
};

// True when nothing listens on the port any more (connect is refused).
inline bool connection_refused(std::uint16_t port) {
  try {
    SyncClient c(port);
    return false;
  } catch (const std::system_error& e) {
    return e.code() == std::errc::connection_refused;
  }
}

// Polls until new connections are refused (a server that began draining closes its
// listener on its own thread, a moment after being asked).
inline bool becomes_refused(std::uint16_t port, std::chrono::milliseconds timeout = 2s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!connection_refused(port)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// How ServerProcess starts its child, beyond the binary and the backend.
struct ProcessOptions {
  std::string stderr_file;  // where the child's stderr goes; empty: the test's stderr
  int nofile_limit = 0;     // RLIMIT_NOFILE in force from exec on (via prlimit(1)); 0: inherited
  // Run as nobody (via setpriv(1)) when the tests run as root, where no file permission
  // is ever checked. The binary and what it serves must then be readable by others.
  bool unprivileged = false;
  // Run with openat2 refused (ENOSYS) by a seccomp filter, as on kernels before 5.6.
  bool without_openat2 = false;
};

// One of the example servers as a child process on a free port. The destructor kills it.
// The child starts with descriptors 0, 1 and 2 only (nothing the test runner holds).
class ServerProcess {
 public:
  ServerProcess(const std::string& binary, BackendKind backend, std::vector<std::string> extra = {},
                const ProcessOptions& options = {}) {
    std::vector<std::string> args;
    if (options.nofile_limit > 0) {
      // Set before exec: io_uring takes the limit in force when an accept is armed.
      args = {"/usr/bin/prlimit", "--nofile=" + std::to_string(options.nofile_limit) + ":4096", "--"};
    }
    if (options.without_openat2) args.emplace_back(HELLEPOLL_BINARY_DIR "/tests/refuse_openat2");
    if (options.unprivileged && ::geteuid() == 0)
      for (const char* a : {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"})
        args.emplace_back(a);
    for (std::string a : {binary, std::string("--port"), std::string("0"), std::string("--backend"),
                          std::string(to_string(backend)), std::string("--access-log"), std::string("off")})
      args.push_back(std::move(a));
    for (auto& e : extra) args.push_back(std::move(e));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) throw std::runtime_error("pipe failed");
    out_fd_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (!options.stderr_file.empty())
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_file.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A clean signal state: the test runner's mask or dispositions must not leak in.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid_, args[0].c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    if (rc != 0) {
      pid_ = -1;
      throw std::system_error(rc, std::system_category(), "posix_spawn " + binary);
    }
    // The first stdout line: "<name>: listening on http://127.0.0.1:PORT/ with ...".
    std::string line;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{out_fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw std::runtime_error(binary + " did not print its listening line in time");
      char c[256];
      ssize_t n = ::read(out_fd_, c, sizeof c);
      if (n <= 0) throw std::runtime_error(binary + " exited before listening; stdout: '" + line + "'");
      line.append(c, static_cast<std::size_t>(n));
    }
    first_line_ = line.substr(0, line.find('\n'));
    const std::string marker = "http://127.0.0.1:";
    auto at = first_line_.find(marker);
    if (at == std::string::npos) throw std::runtime_error("unexpected first line: " + first_line_);
    port_ = static_cast<std::uint16_t>(std::stoi(first_line_.substr(at + marker.size())));
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& first_line() const { return first_line_; }
  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  void signal(int sig) { ::kill(pid_, sig); }
  // What the child wrote to stdout after its first line, up to its end: call once it has
  // exited (stop() or wait()), or it blocks until it does.
  std::string rest_of_stdout() {
    std::string out;
    char c[4096];
    for (ssize_t n; (n = ::read(out_fd_, c, sizeof c)) > 0;) out.append(c, static_cast<std::size_t>(n));
    return out;
  }
  // Reads stdout (after the first line) until it holds `lines` newlines or `timeout`
  // passes, for a process still running; what came.
  std::string stdout_lines(std::size_t lines, std::chrono::milliseconds timeout) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (std::size_t seen = 0; seen < lines;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{out_fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char c[4096];
      const ssize_t n = ::read(out_fd_, c, sizeof c);
      if (n <= 0) break;
      out.append(c, static_cast<std::size_t>(n));
      seen = static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
    }
    return out;
  }
  // Graceful stop: SIGTERM, then the exit code (0 expected; a sanitizer report or a
  // crash makes it non-zero or -1).
  int stop(std::chrono::milliseconds timeout = 5s) {
    signal(SIGTERM);
    return wait(timeout);
  }
  // Waits for the process to end; its exit code, or -1 if it was killed by a signal or
  // did not end within `timeout` (then it is killed).
  int wait(std::chrono::milliseconds timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      if (std::chrono::steady_clock::now() >= until) return -1;  // the destructor kills it
      std::this_thread::sleep_for(5ms);
    }
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string first_line_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `command` through the shell and collects its stdout.
inline CommandResult run_command(const std::string& command) {
  CommandResult res;
  FILE* f = ::popen(command.c_str(), "r");
  if (!f) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) res.output.append(buf, n);
  int st = ::pclose(f);
  res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return res;
}

}  // namespace hellepoll::test

namespace hellepoll::test {

// Requests the parser must refuse, each with the exact reply body the server sends.
struct Rejection {
  std::string name;
  std::string request;
  int status;
  std::string body;
};

inline std::vector<Rejection> parser_rejections() {
  std::string many_headers = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  return {
      {"CL+TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400, "400 Bad Request: Content-Length and Transfer-Encoding both present\n"},
      {"bare LF", "GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400,
       "400 Bad Request: bare LF in the header section\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", 400,
       "400 Bad Request: obs-fold (line folding) is not accepted\n"},
      {"CL over limit", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413,
       "413 Content Too Large: request body too large\n"},
      {"long URI", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414,
       "414 URI Too Long: request-target too long\n"},
      {"too many headers", many_headers, 431, "431 Request Header Fields Too Large: too many header fields\n"},
      {"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n", 431,
       "431 Request Header Fields Too Large: request header section too large\n"},
      {"TE gzip, chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       "501 Not Implemented: unsupported transfer coding\n"},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "505 HTTP Version Not Supported: HTTP version not supported\n"},
      {"fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "400 Bad Request: '#' (a fragment) in the request-target\n"},
      {"bad escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "400 Bad Request: malformed percent-encoding in the path\n"},
  };
}

}  // namespace hellepoll::test
