// A TCP echo server on the runtime and net/ alone (no HTTP). Shows: one Scheduler per
// thread, SO_REUSEPORT listeners sharing a port, a coroutine per connection, and a clean
// stop on SIGINT/SIGTERM.
//
//   build/examples/echo --port 7000 --threads 2 --backend epoll
//   echo: listening on 127.0.0.1:7000, backend epoll (edge-triggered, syscall first), 2 thread(s)
//
// --port 0 picks a free port; the line above names the real one.
#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <future>
#include <hellepoll/io.hpp>
#include <hellepoll/net/listener.hpp>
#include <hellepoll/scheduler.hpp>
#include <hellepoll/sleep.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

using namespace hellepoll;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> worker_failed{false};

Task<void> echo(TcpStream stream) {
  std::array<std::byte, 16384> buf;
  for (;;) {
    auto n = co_await stream.recv(buf);
    if (!n || *n == 0) break;  // error (reset, cancelled by stop) or EOF
    if (!co_await stream.send_all(std::span(buf.data(), *n))) break;
  }
  co_await stream.close();
}

Task<void> serve(Listener& listener) {
  for (;;) {
    auto conn = co_await listener.accept();
    if (conn) {
      spawn(echo(std::move(*conn)));
    } else if (Scheduler::current().stopping()) {
      co_return;
    } else {
      // EMFILE and friends last until some connection closes: back off, don't spin.
      fmt::print(stderr, "echo: accept: {}\n", conn.error().message());
      co_await sleep_for(100ms);
    }
  }
}

// main() closes the write end of the stop pipe; every worker sees EOF here and stops its
// own scheduler, which cancels whatever is in flight and lets each coroutine unwind.
Task<void> stop_on_eof(int stop_fd) {
  co_await io::poll_read(stop_fd);
  Scheduler::current().stop();
}

struct Started {
  SocketAddress address;
  std::string backend;
};

void worker(BackendKind kind, SocketAddress at, int stop_fd, std::promise<Started> started) {
  bool reported = false;
  try {
    Scheduler sched(kind);
    auto listener = Listener::bind(at, {.reuse_port = true});
    if (!listener) throw std::system_error(listener.error(), "cannot listen on " + at.to_string());
    started.set_value({listener->local_address(), sched.backend().describe()});
    reported = true;
    sched.spawn(serve(*listener));
    sched.spawn(stop_on_eof(stop_fd));
    sched.run();
  } catch (const std::exception& e) {
    if (!reported) {
      started.set_exception(std::current_exception());  // main reports it
      return;
    }
    fmt::print(stderr, "echo: {}\n", e.what());
    worker_failed = true;
    ::kill(::getpid(), SIGTERM);  // bring the others down the way a signal does
  }
}

int usage(int code) {
  fmt::print(code ? stderr : stdout,
             "usage: echo [--host ADDR] [--port P] [--threads N] [--backend auto|uring|epoll]\n"
             "  --host     numeric IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
             "  --port     0 picks a free port; the first line printed names the address (default 7000)\n"
             "  --threads  schedulers, one per thread, sharing the port (default 1)\n"
             "  --backend  default: $HELLEPOLL_BACKEND, else auto\n");
  return code;
}

// A numeric flag's accepted values, both ends included.
struct Range {
  unsigned min, max;
};

bool parse_number(std::string_view s, unsigned& out, Range range) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && out >= range.min && out <= range.max;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view host = "127.0.0.1";
  unsigned port = 7000, threads = 1;
  std::optional<std::string_view> backend_flag;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i], value;
    bool has_value = false;
    if (flag == "--help" || flag == "-h") return usage(0);
    if (auto eq = flag.find('='); eq != std::string_view::npos) {  // --port=7000 as well as --port 7000
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag != "--host" && flag != "--port" && flag != "--threads" && flag != "--backend") {
      fmt::print(stderr, "echo: unknown flag {}\n", flag);
      return usage(2);
    }
    if (!has_value) {
      if (i + 1 == argc) {
        fmt::print(stderr, "echo: {} needs a value\n", flag);
        return usage(2);
      }
      value = argv[++i];
    }
    if (flag == "--host") {
      host = value;
    } else if (flag == "--backend") {
      backend_flag = value;
    } else {
      const bool is_port = flag == "--port";
      const Range range = is_port ? Range{0, 65535} : Range{1, 256};
      if (!parse_number(value, is_port ? port : threads, range)) {
        // The accepted range is in the message, so that one retry is enough.
        fmt::print(stderr, "echo: bad value for {}: '{}' (expected {} to {})\n", flag, value, range.min, range.max);
        return usage(2);
      }
    }
  }
  BackendKind kind;
  try {
    kind = backend_kind_from(backend_flag);
  } catch (const std::exception& e) {
    fmt::print(stderr, "echo: {}\n", e.what());
    return usage(2);
  }
  auto address = SocketAddress::parse(host, static_cast<std::uint16_t>(port));
  if (!address) {
    fmt::print(stderr, "echo: --host must be a numeric IPv4 or IPv6 address, not '{}'\n", host);
    return 2;
  }

  // Signals are blocked in every thread (the workers inherit this mask) and taken by
  // sigwait() below, so no handler ever interrupts a scheduler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int stop_pipe[2];
  if (::pipe2(stop_pipe, O_CLOEXEC) < 0) {
    fmt::print(stderr, "echo: pipe: {}\n", std::strerror(errno));
    return 1;
  }

  // Start the workers one by one: the first binds (port 0 becomes a real port), the
  // others join it on that port.
  std::vector<std::thread> pool;
  std::string backend;
  bool ok = true;
  for (unsigned i = 0; i < threads && ok; ++i) {
    std::promise<Started> started;
    auto bound = started.get_future();
    pool.emplace_back(worker, kind, *address, stop_pipe[0], std::move(started));
    try {
      Started s = bound.get();
      address = s.address;
      backend = s.backend;
    } catch (const std::exception& e) {
      fmt::print(stderr, "echo: {}\n", e.what());
      ok = false;
    }
  }
  if (ok) {
    fmt::print("echo: listening on {}, backend {}, {} thread(s)\n", address->to_string(), backend, threads);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
  }

  ::close(stop_pipe[1]);
  for (auto& t : pool) t.join();
  ::close(stop_pipe[0]);
  return ok && !worker_failed ? 0 : 1;
}
